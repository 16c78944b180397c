"""mockserver.simulate.traffic: each client mistake and each sloppiness changes a correct
request as its name says, and only a request it applies to; what a live run says it will do."""

from __future__ import annotations

import copy
import random
import uuid
from typing import Any

import pytest

from mockserver.simulate import traffic
from mockserver.simulate.catalogue import Catalogue, Product
from mockserver.simulate.payloads import (
    Credentials,
    Request,
    lucidworks_requests,
    neuralens_requests,
)
from mockserver.simulate.shoppers import Session, Step
from mockserver.simulate.traffic import (
    MISTAKES,
    SLOPPINESS,
    WARM_UP_REQUESTS,
    Plan,
    duration_text,
    live_outline,
    make_sloppy,
    requests,
    spoil,
)

T = 1_764_460_800_500  # not on a whole second
DAY = 86_400_000
SHOE = Product("SKU-1", "Red Shoe", "Shoes", 9.5, "USD", "https://img.example.com/1.jpg",
               ("red", "shoe"), 0)  # fmt: skip
STEPS = [
    Step(T, "search", "red shoe", "query-1", (SHOE,)),
    Step(T + 1000, "click", "red shoe", "query-1", (SHOE,), 1),
    Step(T + 2000, "view", "red shoe", "query-1", (SHOE,), 1),
    Step(T + 3000, "cart", "red shoe", "query-1", (SHOE,), 1),
    Step(T + 4000, "search", "gift card", "query-2", ()),
    Step(T + 5000, "purchase", products=(SHOE,)),
]


def _requests() -> dict[str, Request]:
    """A correct request of each kind, by a short name."""
    session = Session("", "0123456789abcdef", "session-1", "203.0.113.9", "cart-1", STEPS)
    credentials = Credentials("tok-1", "key-2")
    lucidworks = list(lucidworks_requests(session, "", "shop", credentials))
    neuralens = list(neuralens_requests(session, "", "app", credentials))
    return {
        "lw query": lucidworks[0],
        "lw click": lucidworks[1],
        "lw cartadd": lucidworks[2],
        "lw query, no results": lucidworks[3],
        "lw purchase": lucidworks[4],
        "nl view product": neuralens[0],
        "nl click": neuralens[1],
        "nl product page": neuralens[2],
        "nl purchase": neuralens[-1],
    }


def _signal(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = request.body[0]
    return body


def _product(request: Request) -> dict[str, Any]:
    product: dict[str, Any] = _signal(request)["productDetails"][0]["product"]
    return product


# What each mistake does to a copy of the request as expected; None: it does not apply.
MISTAKEN: dict[str, dict[str, Any]] = {
    "lowercase currency": dict.fromkeys(
        ["lw query", "lw click", "lw cartadd", "lw purchase"],
        lambda r: _product(r).update(currencyCode="usd"),
    ),
    "empty sessionId": dict.fromkeys(
        ["lw query", "lw click", "lw cartadd", "lw query, no results", "lw purchase"],
        lambda r: _signal(r).update(sessionId=""),
    ),
    "0-based selectedPosition": {"lw click": lambda r: _signal(r).update(selectedPosition=0)},
    "'Bearer ' before the embed token": dict.fromkeys(
        ["lw query", "lw click", "lw cartadd", "lw query, no results", "lw purchase"],
        lambda r: r.headers.update(Authorization="Bearer tok-1"),
    ),
    "milliseconds in a Neuralens timestamp": dict.fromkeys(
        ["nl view product", "nl click", "nl product page", "nl purchase"],
        lambda r: r.body.update(timestamp=r.at_ms),
    ),
    "no X-Neuralens-Application-ID": dict.fromkeys(
        ["nl view product", "nl click", "nl product page", "nl purchase"],
        lambda r: r.headers.pop("X-Neuralens-Application-ID"),
    ),
    "no index on a positional event": dict.fromkeys(
        ["nl view product", "nl click"], lambda r: r.body.pop("index")
    ),
}


def _as_data(request: Request) -> tuple[Any, ...]:
    return (request.at_ms, request.vendor, request.path, request.headers, request.body)


@pytest.mark.parametrize("name", list(MISTAKES))
def test_each_mistake_changes_what_it_says_on_the_requests_it_applies_to(name: str) -> None:
    assert set(MISTAKEN) == set(MISTAKES)
    for kind, request in _requests().items():
        expected = copy.deepcopy(request)
        change = MISTAKEN[name].get(kind)
        if change is not None:
            change(expected)
            assert _as_data(expected) != _as_data(request), (name, kind)
        assert MISTAKES[name](request) is (change is not None), (name, kind)
        assert _as_data(request) == _as_data(expected), (name, kind)


def test_a_spoiled_request_says_which_mistake_it_has() -> None:
    rng = random.Random(3)
    for kind, request in _requests().items():
        before = copy.deepcopy(request)
        spoil(request, rng)
        assert request.mistake in MISTAKEN
        assert kind in MISTAKEN[request.mistake]
        MISTAKEN[request.mistake][kind](before)
        assert _as_data(request) == _as_data(before)


# What each sloppiness does, as above; "timestamp days ahead" has a test of its own.
SLOPPIED: dict[str, dict[str, Any]] = {
    "timestamp in seconds": dict.fromkeys(
        ["lw query", "lw click", "lw cartadd", "lw query, no results", "lw purchase"],
        lambda r: _signal(r).update(timestamp=r.at_ms // 1000),
    ),
    "click without selectedPosition": {"lw click": lambda r: _signal(r).pop("selectedPosition")},
    "e-mail address as visitorId": dict.fromkeys(
        ["lw query", "lw click", "lw cartadd", "lw query, no results", "lw purchase"],
        lambda r: _signal(r).update(visitorId="shopper.01234567@example.com"),
    ),
}


@pytest.mark.parametrize("name", list(SLOPPIED))
def test_each_sloppiness_changes_what_it_says_on_the_requests_it_applies_to(name: str) -> None:
    for kind, request in _requests().items():
        expected = copy.deepcopy(request)
        change = SLOPPIED[name].get(kind)
        if change is not None:
            change(expected)
        assert SLOPPINESS[name](request, random.Random(1), T) is (change is not None), kind
        assert _as_data(request) == _as_data(expected), (name, kind)


def test_a_query_id_never_sent_is_a_fresh_one_on_clicks_and_cart_adds_only() -> None:
    unsent = SLOPPINESS["queryId of a query never sent"]
    for kind, request in _requests().items():
        before = copy.deepcopy(request)
        applies = kind in ("lw click", "lw cartadd")
        assert unsent(request, random.Random(1), T) is applies, kind
        if not applies:
            assert _as_data(request) == _as_data(before), kind
            continue
        query_id = _signal(request).pop("queryId")
        assert query_id != "query-1"
        assert uuid.UUID(query_id).version == 4
        _signal(before).pop("queryId")
        assert _as_data(request) == _as_data(before)


@pytest.mark.parametrize("start_ms", [T - 10 * DAY, T + 10 * DAY])
def test_a_timestamp_days_ahead_is_two_to_six_whole_days_past_the_later_of_now_and_its_time(
    start_ms: int,
) -> None:
    ahead = SLOPPINESS["timestamp days ahead"]
    rng = random.Random(5)
    days: set[int] = set()
    for _ in range(10):
        for kind, request in _requests().items():
            assert ahead(request, rng, start_ms)
            later_ms = max(request.at_ms, start_ms)
            if request.vendor == "lucidworks":
                past_ms = _signal(request)["timestamp"] - later_ms
            else:  # in seconds
                past_ms = request.body["timestamp"] * 1000 - later_ms // 1000 * 1000
            whole, rest = divmod(past_ms, DAY)
            assert rest == 0, kind
            days.add(whole)
    assert days == {2, 3, 4, 5, 6}


def test_every_request_can_be_made_sloppy_and_says_how() -> None:
    rng = random.Random(2)
    for request in _requests().values():
        make_sloppy(request, rng, T)
        assert request.sloppiness in SLOPPINESS


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0 s"),
        (40_000, "40 s"),
        (59_400, "59 s"),
        (59_600, "1 min 0 s"),
        (715_000, "11 min 55 s"),
        (3_599_000, "59 min 59 s"),
        (3_600_000, "1 h 0 min"),
        (7_500_000, "2 h 5 min"),
    ],
)
def test_a_duration_reads_in_hours_minutes_or_seconds(ms: int, text: str) -> None:
    assert duration_text(ms) == text


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def test_a_live_run_says_what_it_will_do_before_it_starts(catalogue: Catalogue) -> None:
    plan = Plan(start_ms=T, sessions=5, rate=2.5)
    sent = list(requests(plan, catalogue))
    assert live_outline(plan, catalogue) == (
        f"live, in real time, 2.5 events a second: 5 sessions, {len(sent)} requests, over "
        f"{duration_text(sent[-1].at_ms - T)} (a shopper takes minutes; --backfill sends the "
        "sessions as fast as the server takes them)"
    )
    assert live_outline(Plan(start_ms=T, rate=2), catalogue) == (
        "live, in real time, 2 events a second, until Ctrl-C (--sessions or --duration to stop;"
        " --backfill to send at once)"
    )
    assert live_outline(Plan(start_ms=T, duration_ms=7_500_000), catalogue) == (
        "live, in real time, 2 events a second, for 2 h 5 min"
    )


def test_a_run_in_a_namespace_sends_every_request_under_it(catalogue: Catalogue) -> None:
    plan = Plan(start_ms=T, sessions=4, backfill_ms=DAY, namespace="team-a")
    sent = list(requests(plan, catalogue))
    assert sent
    assert all(r.path.startswith("/ns/team-a/") for r in sent)
    plain = list(requests(Plan(start_ms=T, sessions=4, backfill_ms=DAY), catalogue))
    assert all(r.path.startswith(("/signal-store/", "/analytics/")) for r in plain)


def test_a_live_run_for_a_duration_sends_until_its_end_and_nothing_after(
    catalogue: Catalogue,
) -> None:
    sent: list[Request] = []
    for request in requests(Plan(start_ms=T, duration_ms=120_000, rate=0.5, seed=3), catalogue):
        assert T <= request.at_ms < T + 120_000  # at once: a run that does not end fails here
        sent.append(request)
    assert sent[-1].at_ms > T + 100_000


def test_a_live_run_at_a_high_rate_draws_a_few_thousand_requests_before_it_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Shoppers already on the site, but not half an hour of them: 90,000 requests at 50 a second.
    shop = Catalogue(
        [SHOE, Product("SKU-2", "Blue Shoe", "Shoes", 5.0, "USD", "", ("blue", "shoe"), 1)]
    )
    plan = Plan(start_ms=T, rate=50.0)
    traffic.mean_requests_per_session(shop, plan.vendors)  # drawn once, beforehand
    drawn = 0
    vendor_requests = traffic._vendor_requests

    def counted(session: Session, prefix: str, plan: Plan) -> Any:
        nonlocal drawn
        for request in vendor_requests(session, prefix, plan):
            drawn += 1
            assert drawn < 10_000, "far more than WARM_UP_REQUESTS drawn before the start"
            yield request

    monkeypatch.setattr(traffic, "_vendor_requests", counted)
    first = next(requests(plan, shop))
    assert first.at_ms >= T
    assert 0.7 * WARM_UP_REQUESTS <= drawn <= 1.3 * WARM_UP_REQUESTS


Window = tuple[int, int | None, float]


class Drawn(Exception):
    """The window a run draws its sessions' starts from: (from, until, sessions a second)."""


def _window(monkeypatch: pytest.MonkeyPatch, plan: Plan, catalogue: Catalogue) -> Window:
    def arrivals(rng: random.Random, start_ms: int, end_ms: int | None, per_second: float) -> Any:
        raise Drawn(start_ms, end_ms, per_second)  # no session drawn: the run stops here

    monkeypatch.setattr(traffic, "arrivals", arrivals)
    with pytest.raises(Drawn) as drawn:
        next(requests(plan, catalogue))
    start_ms, end_ms, per_second = drawn.value.args
    return start_ms, end_ms, per_second


def test_a_backfill_draws_its_sessions_over_the_window_before_the_start_at_the_rate_they_need(
    monkeypatch: pytest.MonkeyPatch, catalogue: Catalogue
) -> None:
    plan = Plan(start_ms=T, sessions=50, backfill_ms=DAY)
    assert _window(monkeypatch, plan, catalogue) == (T - DAY, T, 50 / 86_400)
    default = Plan(start_ms=T, backfill_ms=DAY)  # a thousand sessions, unless told
    assert _window(monkeypatch, default, catalogue) == (T - DAY, T, 1000 / 86_400)


@pytest.mark.parametrize(
    ("plan", "warm_up_ms", "duration_ms"),
    [
        (Plan(start_ms=T, sessions=3, rate=2.0), 0, None),  # whole sessions, from the start
        (Plan(start_ms=T, rate=2.0), traffic.WARM_UP_MS, None),  # half an hour already on
        (Plan(start_ms=T, rate=50.0, duration_ms=60_000), 100_000, 60_000),  # 5,000 requests on
    ],
    ids=["sessions", "until Ctrl-C", "high rate, for a minute"],
)
def test_a_live_run_draws_its_sessions_at_its_rate_from_its_start_or_among_shoppers_on_the_site(
    monkeypatch: pytest.MonkeyPatch,
    catalogue: Catalogue,
    plan: Plan,
    warm_up_ms: int,
    duration_ms: int | None,
) -> None:
    per_session = traffic.mean_requests_per_session(catalogue, plan.vendors)
    end_ms = None if duration_ms is None else T + duration_ms
    assert _window(monkeypatch, plan, catalogue) == (
        T - warm_up_ms,
        end_ms,
        plan.rate / per_session,
    )


def _sessions_begin_at(monkeypatch: pytest.MonkeyPatch, *starts: int) -> None:
    """Sessions that begin exactly when given, whatever the run's rate."""
    monkeypatch.setattr(traffic, "arrivals", lambda rng, start, end, per_second: iter(starts))


def test_a_live_run_sends_from_its_very_first_millisecond_but_nothing_before(
    monkeypatch: pytest.MonkeyPatch, catalogue: Catalogue
) -> None:
    _sessions_begin_at(monkeypatch, T - 1, T)
    plan = Plan(start_ms=T, seed=4)
    whole = list(traffic._requests(plan, catalogue, warm_up_ms=60_000))
    sent = list(requests(plan, catalogue))
    assert sent == [r for r in whole if r.at_ms >= T]
    assert [r.at_ms for r in sent].count(T) == 1  # the first of the session begun at the start
    assert T - 1 not in [r.at_ms for r in sent]  # the other one's first, a millisecond before


def test_a_live_run_for_a_duration_sends_nothing_due_at_its_very_end(
    monkeypatch: pytest.MonkeyPatch, catalogue: Catalogue
) -> None:
    _sessions_begin_at(monkeypatch, T)
    whole = list(requests(Plan(start_ms=T, seed=4), catalogue))
    assert len(whole) >= 3
    end_ms = whole[2].at_ms
    cut = list(requests(Plan(start_ms=T, seed=4, duration_ms=end_ms - T), catalogue))
    assert cut == whole[:2]
