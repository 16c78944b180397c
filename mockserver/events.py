"""The shapes that travel from the vendor modules to the store: accepted events and rejections.

This module imports nothing from mockserver, and nothing outside the standard library: the
client side (``testing/client.py``) reads ``describe_error`` from here too.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def utc_now() -> str:
    """UTC ISO 8601 with microseconds: sorts as text, which the store's time filters rely on."""
    global _second
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    cached = _second  # read once: another thread may replace it (whole) meanwhile
    if cached[0] != seconds:  # the date is formatted once a second, not once a request
        cached = _second = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{cached[1]}.{nanoseconds // 1000:06d}Z"


_second: tuple[int, str] = (-1, "")
_PROCESS = secrets.token_hex(6)
_SEQUENCE = itertools.count()


def new_request_id() -> str:
    """Unique across processes and restarts: a random per-process prefix and a counter."""
    return f"{_PROCESS}{next(_SEQUENCE):010x}"


@dataclass(frozen=True, slots=True)
class Event:
    """One accepted signal (a Lucidworks array of three clicks is three events)."""

    vendor: str
    endpoint: str
    type: str
    namespace: str
    tenant: str | None
    user: str | None
    session: str | None
    query: str | None
    query_id: str | None
    items: Sequence[str]
    position: int | None  # 1-based for both vendors
    timestamp_ms: int | None
    payload: str  # the signal as sent: JSON text, stored without re-encoding
    request_id: str
    received_at: str
    # What the analytics need beyond the filters: the Neuralens page (a search is an event on
    # SEARCH_RESULT_PAGE) and the revenue of a Lucidworks purchase.
    page: str | None = None
    revenue: float | None = None
    # Signal-quality warnings found at intake: ``{"rule", "path", "message"}`` each, the path
    # into ``payload``. The reply never depends on them.
    warnings: Sequence[Mapping[str, str]] = ()
    # How the event stands to a search named by ``query_id``: QUERY_SEARCH (it is one),
    # QUERY_FOLLOWS (it should follow one that was stored), or None. The store evaluates
    # UNKNOWN_QUERY from it when read: the search may arrive after the signal that follows it.
    query_link: str | None = None


QUERY_SEARCH = "search"
QUERY_FOLLOWS = "follows"
# The one warning that depends on other events, so is evaluated when read, never stored.
UNKNOWN_QUERY = "unknown-query"
UNKNOWN_QUERY_WARNING: Mapping[str, str] = {
    "rule": UNKNOWN_QUERY,
    "path": "$.queryId",
    "message": "no query signal stored in this namespace and tenant carries this queryId: send "
    "the query signal, with the same queryId, for the search this signal follows (analytics "
    "tie clicks and cart adds to their search by it)",
}


def describe_error(error: Mapping[str, str]) -> str:
    """One reason of a rejection as a line of text: ``$[0].timestamp  [decode/integer]  …``.
    The one rendering the terminal, the CLI, the pytest plugin and the reports share."""
    return f"{error['path']}  [{error['layer']}/{error['rule']}]  {error['message']}"


def short_reason(errors: Sequence[Mapping[str, str]]) -> str:
    """The first reason, in a few words: ``[0].sessionId required (+1 more)``."""
    if not errors:
        return "rejected"
    first = errors[0]
    path = first["path"].removeprefix("$").lstrip(".") or "$"
    if len(path) > 80:  # a path 600 levels deep is no line for a terminal
        path = f"{path[:60]}…{path[-16:]}"
    words = f"{path} {first['rule']}"
    return f"{words} (+{len(errors) - 1} more)" if len(errors) > 1 else words


def plural(count: int, noun: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused request with every reason, its headers (credentials fingerprinted) and body."""

    vendor: str | None
    method: str
    endpoint: str
    namespace: str
    tenant: str | None
    status: int
    errors: Sequence[Mapping[str, str]]
    headers: Mapping[str, str]
    body: str | None
    request_id: str
    received_at: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """A request a fault rule touched, whatever came of it: which rule, which fault, the
    status the client got (None: no reply at all) and whether its events were stored."""

    request_id: str
    rule_id: int
    fault: str
    vendor: str | None
    endpoint: str
    namespace: str
    tenant: str | None
    status: int | None
    stored: bool
    received_at: str


# How a request's verdicts compare, the mock's and the upstream's (shadow mode): the same
# class (2xx, 4xx), a disagreement (one accepted what the other refused), or no comparison
# (the upstream timed out, failed to connect or answered 5xx; the mock could not store).
AGREE, DISAGREE, UNAVAILABLE, NOT_COMPARED = (
    "agree",
    "disagree",
    "upstream-unavailable",
    "not-compared",
)
OUTCOMES = (AGREE, DISAGREE, UNAVAILABLE, NOT_COMPARED)


# Statuses about the moment, not the body: the service could not judge it now.
_BUSY = frozenset({408, 429})
# Statuses about the credentials, not the body: the mock takes any token unless told.
_CREDENTIALS = frozenset({401, 403})


def outcome_of(mock_status: int, upstream_status: int | None) -> str:
    """``upstream_status`` None: no reply came (a timeout, a connection error)."""
    if upstream_status is None or upstream_status >= 500 or upstream_status in _BUSY:
        return UNAVAILABLE
    if mock_status in _CREDENTIALS or upstream_status in _CREDENTIALS:
        return NOT_COMPARED
    mock_class, upstream_class = mock_status // 100, upstream_status // 100
    if {mock_class, upstream_class} == {2, 4}:
        return DISAGREE
    if mock_class == upstream_class and mock_class in (2, 4):
        return AGREE
    return NOT_COMPARED


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """A vendor request forwarded to the real service (``--upstream``): both verdicts, the
    mock's reasons, and what came back (its body's first ``UPSTREAM_BODY_CHARS``). The
    request's body is kept only when the two disagree: it is what a person then reads."""

    request_id: str
    vendor: str
    endpoint: str
    namespace: str
    tenant: str | None
    profile: str
    mode: str
    mock_status: int
    mock_errors: Sequence[Mapping[str, str]]
    upstream_url: str
    upstream_status: int | None
    upstream_body: str | None
    upstream_ms: float | None
    upstream_error: str | None  # why no reply came: a timeout, a refused connection
    outcome: str
    body: str | None
    received_at: str


UPSTREAM_BODY_CHARS = 4096
