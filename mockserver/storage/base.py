"""The store interface: what the request path, the inspection API and the reports need.

``SqliteStore`` and ``PostgresStore`` implement it; any store must pass the same conformance
suite (``tests/test_storage_conformance.py``). Every write commits before it returns: a caller
that replies after ``add`` never acknowledges something that lives only in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from mockserver.events import Attempt, Event, Rejection, UpstreamCall

# since/until: when received (ISO text); event_since/event_until: the event's own time (epoch
# ms; a backfilled week arrives in minutes). text: a substring of an event's query, user or
# one of its product ids, of a rejection's body; ASCII letters match in either case.
# warned: True selects events with any signal-quality warning (those found when read
# included), False those without; warning: events with that rule's warning.
EVENT_FILTERS = (
    "namespace", "vendor", "type", "tenant", "user", "session", "query", "query_id", "item",
    "text", "since", "until", "event_since", "event_until", "warned", "warning",
)  # fmt: skip
ATTEMPT_FILTERS = ("namespace", "vendor", "fault", "rule")
# Requests forwarded to the real service (shadow mode). outcome: agree, disagree, ...
# (events.OUTCOMES); text: a substring of the body a disagreement kept.
UPSTREAM_FILTERS = ("namespace", "vendor", "tenant", "outcome", "text", "since", "until")
# rule and path select rejections with a reason of that rule or path; both: one reason has both.
REJECTION_FILTERS = (
    "namespace", "vendor", "tenant", "status", "rule", "path", "text", "since", "until",
)  # fmt: skip
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_case(text: str) -> str:
    """How ``text`` compares: ASCII letters folded, nothing else (as SQLite's LIKE does)."""
    return text.translate(_ASCII_LOWER)


UNKNOWN = "unknown"  # summary key for rows without a vendor or tenant (e.g. a 404 on /favicon.ico)


def redacted(db: str) -> str:
    """``--db`` as messages and logs may show it: a database URL's password as ***."""
    parts = urlsplit(db)
    if "://" not in db or parts.password is None:
        return db
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


class StoreUnavailable(Exception):
    """The store cannot take writes now, and nothing of this write was stored. The message
    says why and what to do; callers answer 503 with it and keep serving."""


@dataclass(frozen=True)
class Change:
    """What one commit did, for listeners: added ``events`` (the first with id
    ``first_event_id``, the rest numbered on from it, or each with its id in ``event_ids``
    where a store's ids need not run on), ``rejections`` and ``attempts``, or a ``reset``."""

    events: Sequence[Event] = ()
    first_event_id: int = 0
    rejections: Sequence[Rejection] = ()
    reset: bool = False
    attempts: Sequence[Attempt] = ()
    event_ids: Sequence[int] = ()

    def numbered(self) -> Iterator[tuple[int, Event]]:
        if self.event_ids:
            return zip(self.event_ids, self.events, strict=True)
        return enumerate(self.events, start=self.first_event_id)


ANALYTICS_TOP = 20  # queries in each top list of the analytics
LAST_POSITION = 20  # clicks by position: 1 to 20, then "21+"


@dataclass(frozen=True)
class AnalyticsQuery:
    """What ``Store.analytics`` counts over: the events of a namespace, vendor and tenant
    (None: all) whose event time is in [since_ms, until_ms); series in buckets of
    ``bucket_ms``; a new session after ``session_gap_ms[vendor]`` of a user's inactivity,
    for a vendor it names, else after the gap the vendor declares (``VendorAnalytics``)."""

    namespace: str | None = None
    vendor: str | None = None
    tenant: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    bucket_ms: int = 86_400_000
    session_gap_ms: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[dict[str, Any]]


class Store(Protocol):
    salt: bytes  # random per store, kept with it: credential fingerprints are salted with it
    # Whether a commit's event ids are all above every earlier commit's (then a wait counts,
    # and keeps no ids).
    ids_commit_in_order: bool

    def add(
        self,
        events: Sequence[Event] = (),
        rejections: Sequence[Rejection] = (),
        headers: Mapping[str, str] | None = None,
        attempts: Sequence[Attempt] = (),
        upstream_calls: Sequence[UpstreamCall] = (),
    ) -> None:
        """Insert and commit ``events``, ``rejections``, ``attempts`` and ``upstream_calls``
        in one transaction, or raise ``StoreUnavailable`` having stored none of them.
        ``headers``: each request's headers as stored (JSON text, credentials already
        fingerprinted), by request id; the events of one request share them. A rejection
        without them there has its own ``headers`` encoded."""

    def reset(self, namespace: str | None = None) -> None:
        """Delete every row (events, rejections, attempts, upstream calls), or one
        namespace's."""

    def events(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        """Events matching ``filters`` (names from EVENT_FILTERS), newest first. Each row's
        ``warnings`` lists those stored with it and ``unknown-query`` as of this read."""

    def count_events(self, filters: Mapping[str, Any]) -> int: ...

    def count_new_events(self, filters: Mapping[str, Any], after_id: int) -> tuple[int, int]:
        """Events matching ``filters`` whose id is above ``after_id``, and the highest event id
        in the store, read together: a waiter counts only the rows written since it looked.
        Sound only where ids are committed in order (one SQLite file: one writer at a time)."""

    def matching_event_ids(self, filters: Mapping[str, Any], limit: int) -> list[int]:
        """The ids of up to ``limit`` events matching ``filters``, in no particular order."""

    def event(self, event_id: int) -> dict[str, Any] | None: ...

    def rejections(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        """Rejections matching ``filters`` (names from REJECTION_FILTERS), newest first."""

    def rejection(self, rejection_id: int) -> dict[str, Any] | None: ...

    def attempts(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        """Requests a fault touched (names from ATTEMPT_FILTERS; ``rule`` is a rule id),
        newest first."""

    def upstream_calls(self, filters: Mapping[str, Any], limit: int = 100, offset: int = 0) -> Page:
        """Requests forwarded upstream (names from UPSTREAM_FILTERS), newest first."""

    def rejection_reasons(
        self, filters: Mapping[str, Any], limit: int = 100
    ) -> list[dict[str, Any]]:
        """The reasons of the rejections matching ``filters``, grouped by rule and path, most
        frequent first: ``rule``, ``path``, ``layer``, ``count`` (rejections with that reason)
        and one ``message``."""

    def analytics(self, query: AnalyticsQuery) -> dict[str, Any]:
        """The counts behind the search analytics, computed in the database (see
        ``storage/from_events.py`` for their shape and meaning)."""

    def summary(self, namespace: str | None = None) -> dict[str, Any]:
        """Counts of events by vendor, type, tenant and namespace; of rejections by vendor,
        status and namespace; of events by warning rule (``warnings``, as of this read); of
        upstream calls by outcome."""

    def add_listener(
        self, listener: Callable[[Change], None], wanted: Callable[[], bool] = lambda: True
    ) -> Callable[[], None]:
        """Call ``listener`` (from the writing thread) after each commit of this process with
        what it changed; returns a remover. ``wanted``: whether the listener cares now; a
        store that must read another process's changes back may skip that when none does."""

    def problem(self) -> str | None:
        """Why the store cannot take writes now (what ``StoreUnavailable`` would say), or None.
        Cleared by itself once a write succeeds again."""

    def close(self) -> None: ...
