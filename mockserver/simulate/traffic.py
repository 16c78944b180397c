"""The requests of a simulation run, in the order of their simulated time.

Sessions start as a Poisson process: spread over the backfill window (``--backfill 7d``: the
week before ``--start``), or live at the rate that gives ``--rate`` events a second (from
``--start`` with ``--sessions``, else among shoppers already on the site: WARM_UP_MS). Each
session is drawn whole when it starts and its requests wait in a heap, so the requests of
overlapping sessions interleave by time as real traffic does. Four random
streams, all from ``--seed``: arrivals, shoppers, client mistakes and sloppiness; so a run with
mistakes or sloppy requests sends the same shoppers as one without, and a run with sloppy
requests the same mistakes.
"""

from __future__ import annotations

import functools
import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mockserver.simulate.catalogue import Catalogue
from mockserver.simulate.payloads import (
    Credentials,
    Request,
    lucidworks_requests,
    neuralens_requests,
)
from mockserver.simulate.shoppers import Session, Shoppers, arrivals, new_id

DEFAULT_BACKFILL_SESSIONS = 1000
# A live run without --sessions starts among shoppers already on the site, as a shop's traffic
# is: sessions last minutes, so a run whose first shoppers arrive at its start sent well under
# --rate for its first ten minutes (0.8 a second for 2). Sessions begun this long before the
# start are drawn and what they do after it is sent; capped at WARM_UP_REQUESTS drawn for
# nothing, so that a high --rate does not wait to start.
WARM_UP_MS = 30 * 60_000
WARM_UP_REQUESTS = 5_000
VENDOR_REQUESTS = {"lucidworks": lucidworks_requests, "neuralens": neuralens_requests}


@dataclass(frozen=True)
class Plan:
    start_ms: int
    seed: int = 1
    vendors: tuple[str, ...] = ("lucidworks", "neuralens")
    sessions: int | None = None  # stop after this many sessions
    backfill_ms: int | None = None  # spread the sessions over this long before start_ms
    duration_ms: int | None = None  # live: stop this long after start_ms
    rate: float = 2.0  # live: events a second
    invalid_rate: float = 0.0  # requests with a client mistake: refused
    sloppy_rate: float = 0.0  # requests valid but sloppy: accepted, with a warning
    # The first request spoiled and the second sloppy (where their rates are above 0), so
    # that a demo of a handful of sessions still has a rejection and a warning to show.
    one_of_each_first: bool = False
    namespace: str | None = None
    tenant: str = "demo-shop"
    credentials: Credentials = field(default_factory=Credentials)


def requests(plan: Plan, catalogue: Catalogue) -> Iterator[Request]:
    if plan.backfill_ms is not None or plan.sessions is not None:
        return _requests(plan, catalogue, warm_up_ms=0)  # whole sessions, from the first
    warm_up_ms = min(WARM_UP_MS, round(WARM_UP_REQUESTS / plan.rate * 1000))
    stream = _requests(plan, catalogue, warm_up_ms)
    return (request for request in stream if request.at_ms >= plan.start_ms)


def _requests(plan: Plan, catalogue: Catalogue, warm_up_ms: int) -> Iterator[Request]:
    # Simulation, not security: reproducible streams are the point.
    arrival_rng, shopper_rng, mistake_rng, sloppy_rng = (
        random.Random(f"{plan.seed}:{n}")  # noqa: S311
        for n in range(4)
    )
    shoppers = Shoppers(catalogue, shopper_rng, plan.vendors)
    prefix = f"/ns/{plan.namespace}" if plan.namespace else ""
    end: int | None = None  # live: when the run stops
    if plan.backfill_ms is not None:
        per_second = (plan.sessions or DEFAULT_BACKFILL_SESSIONS) / (plan.backfill_ms / 1000)
        begin = plan.start_ms - plan.backfill_ms
        starts = arrivals(arrival_rng, begin, plan.start_ms, per_second)
    else:
        if plan.duration_ms is not None:
            end = plan.start_ms + plan.duration_ms
        per_session = mean_requests_per_session(catalogue, plan.vendors)
        begin = plan.start_ms - warm_up_ms
        starts = arrivals(arrival_rng, begin, end, plan.rate / per_session)
    pending: list[tuple[int, int, Request]] = []
    order = 0
    for begun, start in enumerate(starts, start=1):
        while pending and pending[0][0] <= start:
            yield heapq.heappop(pending)[2]
        session = shoppers.session(start)
        for request in _vendor_requests(session, prefix, plan):
            # Both streams draw for every request, so that each rate leaves the other's
            # choices as they were; a request with a mistake is refused, so it is not made
            # sloppy as well (its warning would never be seen).
            spoiled = mistake_rng.random() < plan.invalid_rate
            sloppy = sloppy_rng.random() < plan.sloppy_rate
            if plan.one_of_each_first:
                spoiled = spoiled or (order == 0 and plan.invalid_rate > 0)
                sloppy = sloppy or (order == 1 and plan.sloppy_rate > 0)
            if spoiled:
                spoil(request, mistake_rng)
            elif sloppy:
                make_sloppy(request, sloppy_rng, plan.start_ms)
            heapq.heappush(pending, (request.at_ms, order, request))
            order += 1
        if plan.sessions is not None and begun >= plan.sessions:
            break
    while pending:
        request = heapq.heappop(pending)[2]
        if end is not None and request.at_ms >= end:
            return  # a live run for a duration ends then, sessions and all
        yield request


def _vendor_requests(session: Session, prefix: str, plan: Plan) -> Iterator[Request]:
    return VENDOR_REQUESTS[session.vendor](session, prefix, plan.tenant, plan.credentials)


def live_outline(plan: Plan, catalogue: Catalogue) -> str:
    """What a live run will do, said before it starts: a session lasts minutes (searches, clicks
    and a purchase minutes apart), so ``--sessions 50`` at 2 events a second takes about a
    quarter of an hour, not the 150 s its 300 requests suggest."""
    pace = f"live, in real time, {plan.rate:g} events a second"
    if plan.sessions is None and plan.duration_ms is None:
        return (
            f"{pace}, until Ctrl-C (--sessions or --duration to stop; --backfill to send at once)"
        )
    if plan.sessions is None:
        return f"{pace}, for {duration_text(plan.duration_ms or 0)}"
    count, last_ms = 0, plan.start_ms
    for request in requests(plan, catalogue):  # drawn once to count, again to send
        count, last_ms = count + 1, request.at_ms
    return (
        f"{pace}: {plan.sessions:,} sessions, {count:,} requests, over "
        f"{duration_text(last_ms - plan.start_ms)} (a shopper takes minutes; --backfill sends "
        "the sessions as fast as the server takes them)"
    )


def duration_text(ms: int) -> str:
    """``11 min 55 s``, ``2 h 5 min``, ``40 s``."""
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


@functools.lru_cache(maxsize=8)  # holds the catalogue: an id is never reused under it
def mean_requests_per_session(catalogue: Catalogue, vendors: tuple[str, ...]) -> float:
    """Requests a session sends on average, from 300 sessions of a fixed seed: what turns
    ``--rate`` (events a second) into sessions a second."""
    shoppers = Shoppers(catalogue, random.Random(0), vendors)  # noqa: S311
    plan = Plan(start_ms=0)
    total = sum(sum(1 for _ in _vendor_requests(shoppers.session(0), "", plan)) for _ in range(300))
    return max(total / 300, 1.0)


# -- client mistakes (--invalid-rate) ------------------------------------------------------
# Each changes a correct request the way a real client gets it wrong; each is one the vendor
# refuses, so that the rejections view has something to explain.

Mistake = Callable[[Request], bool]  # changes the request and says so, or leaves it


def _lucidworks_signal(request: Request) -> dict[str, Any] | None:
    if request.vendor == "lucidworks" and isinstance(request.body, list) and request.body:
        signal: dict[str, Any] = request.body[0]
        return signal
    return None


def _lowercase_currency(request: Request) -> bool:
    signal = _lucidworks_signal(request)
    if signal is None or not signal.get("productDetails"):
        return False
    product = signal["productDetails"][0]["product"]
    product["currencyCode"] = product["currencyCode"].lower()
    return True


def _empty_session_id(request: Request) -> bool:
    signal = _lucidworks_signal(request)
    if signal is None:
        return False
    signal["sessionId"] = ""
    return True


def _zero_based_position(request: Request) -> bool:
    signal = _lucidworks_signal(request)
    if signal is None or "selectedPosition" not in signal:
        return False
    signal["selectedPosition"] = 0
    return True


def _bearer_token(request: Request) -> bool:
    if request.vendor != "lucidworks":
        return False
    request.headers["Authorization"] = "Bearer " + request.headers["Authorization"]
    return True


def _milliseconds(request: Request) -> bool:
    if request.vendor != "neuralens":
        return False
    request.body["timestamp"] = request.at_ms
    return True


def _no_application_id(request: Request) -> bool:
    if request.vendor != "neuralens":
        return False
    del request.headers["X-Neuralens-Application-ID"]
    return True


def _no_index(request: Request) -> bool:
    if request.vendor != "neuralens" or "index" not in request.body:
        return False
    del request.body["index"]
    return True


MISTAKES: dict[str, Mistake] = {
    "lowercase currency": _lowercase_currency,
    "empty sessionId": _empty_session_id,
    "0-based selectedPosition": _zero_based_position,
    "'Bearer ' before the embed token": _bearer_token,
    "milliseconds in a Neuralens timestamp": _milliseconds,
    "no X-Neuralens-Application-ID": _no_application_id,
    "no index on a positional event": _no_index,
}


def spoil(request: Request, rng: random.Random) -> None:
    """One mistake that applies to ``request``, chosen by ``rng``."""
    names = list(MISTAKES)
    rng.shuffle(names)
    for name in names:
        if MISTAKES[name](request):
            request.mistake = name
            return


# -- sloppy requests (--sloppy-rate) --------------------------------------------------------
# Each changes a correct request into one the vendor accepts but whose analytics it spoils:
# the warnings the mock gives on accepted events (docs/signal-quality.md). Each takes
# the run's start (now, or --start) as the clock that "days ahead" is counted from.

Sloppiness = Callable[[Request, random.Random, int], bool]
FUTURE_DAYS = (2, 6)  # well past the 24 h a clock may be wrong by


def _seconds_timestamp(request: Request, rng: random.Random, start_ms: int) -> bool:
    signal = _lucidworks_signal(request)
    if signal is None:
        return False
    signal["timestamp"] = request.at_ms // 1000
    return True


def _no_position(request: Request, rng: random.Random, start_ms: int) -> bool:
    signal = _lucidworks_signal(request)
    if signal is None or "selectedPosition" not in signal:
        return False
    del signal["selectedPosition"]
    return True


def _email_visitor(request: Request, rng: random.Random, start_ms: int) -> bool:
    signal = _lucidworks_signal(request)
    if signal is None:
        return False
    # Still one visitor's: a login e-mail used as the id, the mistake the docs warn of.
    signal["visitorId"] = f"shopper.{signal['visitorId'][:8]}@example.com"
    return True


def _days_ahead(request: Request, rng: random.Random, start_ms: int) -> bool:
    ahead_ms = max(request.at_ms, start_ms) + rng.randint(*FUTURE_DAYS) * 86_400_000
    signal = _lucidworks_signal(request)
    if signal is not None:
        signal["timestamp"] = ahead_ms
    elif request.vendor == "neuralens":
        request.body["timestamp"] = ahead_ms // 1000
    else:
        return False
    return True


def _unsent_query(request: Request, rng: random.Random, start_ms: int) -> bool:
    signal = _lucidworks_signal(request)
    if signal is None or not request.path.endswith(("/click", "/cartadd")):
        return False
    signal["queryId"] = new_id(rng)  # a search the client never reported
    return True


SLOPPINESS: dict[str, Sloppiness] = {
    "timestamp in seconds": _seconds_timestamp,
    "click without selectedPosition": _no_position,
    "e-mail address as visitorId": _email_visitor,
    "timestamp days ahead": _days_ahead,
    "queryId of a query never sent": _unsent_query,
}


def make_sloppy(request: Request, rng: random.Random, start_ms: int) -> None:
    """One sloppiness that applies to ``request``, chosen by ``rng`` (one always does: a
    timestamp days ahead)."""
    names = list(SLOPPINESS)
    rng.shuffle(names)
    for name in names:
        if SLOPPINESS[name](request, rng, start_ms):
            request.sloppiness = name
            return
