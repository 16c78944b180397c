"""mockserver simulate: reproducible, a correct client of both vendors, and shoppers whose
analytics look like a shop's."""

from __future__ import annotations

import io
import itertools
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import MockServer, Settings
from mockserver.cli import SIMULATE_EPILOG, build_parser
from mockserver.simulate.catalogue import Catalogue
from mockserver.simulate.sender import Tally, send
from mockserver.simulate.shoppers import MAX_CLICKS_PER_SEARCH, Shoppers, Step
from mockserver.simulate.traffic import Plan, duration_text, live_outline, requests

START = 1_764_460_800_000  # 2025-11-30T00:00:00Z
WEEK = 7 * 86_400_000


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def _wire(plan: Plan, catalogue: Catalogue) -> list[tuple[str, dict[str, str], bytes]]:
    return [(r.path, r.headers, r.content()) for r in requests(plan, catalogue)]


def test_the_same_seed_and_start_send_the_same_bytes_in_the_same_order(
    catalogue: Catalogue,
) -> None:
    plan = Plan(start_ms=START, seed=7, sessions=40, backfill_ms=WEEK, invalid_rate=0.1)
    first = _wire(plan, catalogue)
    assert len(first) > 100
    assert _wire(plan, catalogue) == first
    assert _wire(Plan(start_ms=START, seed=8, sessions=40, backfill_ms=WEEK), catalogue) != first
    later = Plan(start_ms=START + 1000, seed=7, sessions=40, backfill_ms=WEEK, invalid_rate=0.1)
    assert _wire(later, catalogue) != first


def test_mistakes_leave_the_shoppers_as_they_were(catalogue: Catalogue) -> None:
    clean = list(requests(Plan(start_ms=START, sessions=30, backfill_ms=WEEK), catalogue))
    spoiled = list(
        requests(Plan(start_ms=START, sessions=30, backfill_ms=WEEK, invalid_rate=0.5), catalogue)
    )
    assert [r.path for r in clean] == [r.path for r in spoiled]
    assert 0 < sum(r.mistake is not None for r in spoiled) < len(spoiled)


def test_sessions_interleave_in_time_order_within_the_backfill_week(
    catalogue: Catalogue,
) -> None:
    sent = list(requests(Plan(start_ms=START, sessions=200, backfill_ms=WEEK), catalogue))
    times = [r.at_ms for r in sent]
    assert times == sorted(times)
    assert START - WEEK <= times[0] < START - WEEK + 86_400_000  # the first day has shoppers
    assert times[-1] < START + 3_600_000  # the last sessions end soon after the start


def test_a_live_run_of_some_sessions_says_first_how_long_it_will_take(
    catalogue: Catalogue,
) -> None:
    # 50 sessions at 2 events a second read as 150 s; they took 12 minutes, said nowhere.
    plan = Plan(start_ms=START, sessions=50, rate=2.0)
    sent = list(requests(plan, catalogue))
    took = duration_text(sent[-1].at_ms - START)
    assert f"50 sessions, {len(sent)} requests, over {took}" in live_outline(plan, catalogue)
    assert "min" in took
    assert "until Ctrl-C" in live_outline(Plan(start_ms=START), catalogue)
    assert "for 1 min 30 s" in live_outline(Plan(start_ms=START, duration_ms=90_000), catalogue)


@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_a_live_run_sends_at_its_rate_from_its_start(catalogue: Catalogue, rate: float) -> None:
    # Its first shoppers once arrived at its start: at 2 a second, the first 30 s sent 22.
    sent = []
    for request in requests(Plan(start_ms=START, duration_ms=120_000, rate=rate), catalogue):
        assert request.at_ms < START + 120_000  # at once: a run that does not end fails here
        sent.append(request)
    assert 0.75 * rate <= len(sent) / 120 <= 1.25 * rate
    assert START <= sent[0].at_ms < START + 5_000


@pytest.mark.parametrize(
    ("sent", "seconds", "shown"), [(3, 7.5, "0.40/s"), (30, 12.5, "2.4/s"), (5000, 2.0, "2,500/s")]
)
def test_the_rate_shows_decimals_where_they_matter(sent: int, seconds: float, shown: str) -> None:
    # A live run's summary said 0/s.
    tally = Tally(sent=sent, started=time.monotonic() - seconds)
    assert tally.line().endswith(shown)


def test_each_help_example_ends_within_a_minute_or_says_it_runs_in_real_time() -> None:
    # The README's `simulate --sessions 50 --invalid-rate 0.1` took 12 minutes, unannounced.
    examples = [
        line.strip() for line in SIMULATE_EPILOG.splitlines() if "mockserver simulate" in line
    ]
    assert len(examples) >= 4
    for example in examples:
        command, _, comment = example.partition("#")
        args = build_parser().parse_args(shlex.split(command)[1:])
        quick = args.backfill is not None or (args.duration or 61_000) <= 60_000
        assert quick or "in real time" in comment, example
        assert args.duration is None or "in real time" in comment, example


def test_the_catalogue_spells_jewelry_as_a_shop_does(catalogue: Catalogue) -> None:
    words = {p.category.lower() for p in catalogue.products}
    words |= {term for p in catalogue.products for term in p.terms}
    assert "jewelry" in words
    assert "jewelery" not in words  # faker-commerce's spelling


def _app_client(tmp_db: str) -> TestClient:
    from mockserver import create_app

    return TestClient(create_app(Settings(db=tmp_db)))


@pytest.mark.parametrize("vendor", ["lucidworks", "neuralens"])
def test_every_request_is_accepted_by_the_mock(
    catalogue: Catalogue, tmp_path: Any, vendor: str
) -> None:
    plan = Plan(start_ms=START, sessions=30, backfill_ms=WEEK, vendors=(vendor,), seed=3)
    with _app_client(str(tmp_path / "sim.db")) as client:
        tally = send("", requests(plan, catalogue), out=io.StringIO(), client=client)
        assert tally.sent > 0
        assert tally.unexpected == []
        assert (tally.accepted, tally.rejected) == (tally.sent, 0)
        summary = client.get("/_mock/summary").json()
    assert summary["events"]["total"] == tally.sent  # one event a request
    assert summary["events"]["by_tenant"] == {"demo-shop": tally.sent}


def test_each_mistake_is_refused_and_nothing_else(catalogue: Catalogue, tmp_path: Any) -> None:
    plan = Plan(start_ms=START, sessions=30, backfill_ms=WEEK, invalid_rate=0.3, seed=5)
    with _app_client(str(tmp_path / "sim.db")) as client:
        tally = send("", requests(plan, catalogue), out=io.StringIO(), client=client)
        reasons = client.get("/_mock/rejections/reasons", params={"limit": 50}).json()
    assert tally.spoiled > 5
    assert tally.rejected == tally.spoiled
    assert tally.unexpected == []
    rules = {reason["rule"] for reason in reasons["reasons"]}
    assert {"iso4217", "maximum"} <= rules  # lowercase currency; milliseconds


# The warning each kind of sloppiness draws (the warnings core's rule ids).
SLOPPY_RULES = {
    "timestamp in seconds": "timestamp-in-seconds",
    "click without selectedPosition": "click-without-position",
    "e-mail address as visitorId": "personal-data-in-id",
    "timestamp days ahead": "timestamp-in-future",
    "queryId of a query never sent": "unknown-query",
}


def test_sloppy_requests_leave_the_shoppers_and_the_mistakes_as_they_were(
    catalogue: Catalogue,
) -> None:
    plan = Plan(start_ms=START, sessions=30, backfill_ms=WEEK, invalid_rate=0.1)
    plain = list(requests(plan, catalogue))
    sloppy = list(requests(replace(plan, sloppy_rate=0.3), catalogue))
    assert [r.path for r in plain] == [r.path for r in sloppy]
    assert [r.mistake for r in plain] == [r.mistake for r in sloppy]
    assert 0 < sum(r.sloppiness is not None for r in sloppy) < len(sloppy)
    assert not any(r.mistake and r.sloppiness for r in sloppy)  # refused: its warning unseen
    assert _wire(replace(plan, sloppy_rate=0.3), catalogue) == [
        (r.path, r.headers, r.content()) for r in sloppy
    ]  # reproducible


def test_each_sloppiness_changes_what_it_says_and_nothing_else(catalogue: Catalogue) -> None:
    plan = Plan(start_ms=START, sessions=40, backfill_ms=WEEK, seed=4)
    clean = list(requests(plan, catalogue))
    sloppy = list(requests(replace(plan, sloppy_rate=0.5), catalogue))
    seen = set()
    for before, after in zip(clean, sloppy, strict=True):
        if after.sloppiness is None:
            assert after.body == before.body
            continue
        seen.add((after.vendor, after.sloppiness))
        was = before.body[0] if after.vendor == "lucidworks" else before.body
        now = after.body[0] if after.vendor == "lucidworks" else after.body
        changed = {k for k in was.keys() | now.keys() if was.get(k) != now.get(k)}
        field = {
            "timestamp in seconds": "timestamp", "timestamp days ahead": "timestamp",
            "click without selectedPosition": "selectedPosition",
            "e-mail address as visitorId": "visitorId", "queryId of a query never sent": "queryId",
        }[after.sloppiness]  # fmt: skip
        assert changed == {field}, after.sloppiness
        if after.sloppiness == "timestamp in seconds":
            assert now["timestamp"] < 100_000_000_000 <= was["timestamp"]
        elif after.sloppiness == "timestamp days ahead":
            unit = 1000 if after.vendor == "lucidworks" else 1
            assert now["timestamp"] * (1000 // unit) >= START + 2 * 86_400_000
        elif after.sloppiness == "e-mail address as visitorId":
            assert re.fullmatch(r"[^@\s]+@example\.com", now["visitorId"])
    lucidworks = {(("lucidworks", name)) for name in SLOPPY_RULES}
    assert seen == lucidworks | {("neuralens", "timestamp days ahead")}


def test_a_demo_of_one_session_still_has_a_mistake_and_a_sloppy_request(
    catalogue: Catalogue,
) -> None:
    # The dashboard's Rejected and Warnings views must never be empty in a fresh demo.
    plan = Plan(start_ms=START, sessions=1, backfill_ms=WEEK, invalid_rate=0.03,
                sloppy_rate=0.05, seed=2)  # fmt: skip
    assert not any(r.mistake or r.sloppiness for r in requests(plan, catalogue))
    shown = list(requests(replace(plan, one_of_each_first=True), catalogue))
    # The first request has the mistake, the second is sloppy, and no other is either.
    assert [r.mistake is not None for r in shown] == [True, False, False]
    assert [r.sloppiness is not None for r in shown] == [False, True, False]
    none = replace(plan, invalid_rate=0, sloppy_rate=0, one_of_each_first=True)
    assert not any(r.mistake or r.sloppiness for r in requests(none, catalogue))  # 0 is none


def test_the_summary_counts_sloppy_requests_apart_from_mistakes() -> None:
    tally = Tally(sent=100, accepted=97, rejected=3, spoiled=3, sloppy=5)
    assert tally.line().startswith(
        "sent 100 requests (3 with a mistake, 5 sloppy on purpose): 97 accepted, 3 rejected"
    )
    assert Tally(sent=9, accepted=9, sloppy=2).line().startswith("sent 9 requests (2 sloppy on")


@pytest.mark.parametrize("vendor", ["lucidworks", "neuralens"])
def test_every_sloppy_request_is_accepted(catalogue: Catalogue, tmp_path: Any, vendor: str) -> None:
    plan = Plan(start_ms=START, sessions=30, backfill_ms=WEEK, vendors=(vendor,), seed=3,
                sloppy_rate=0.4)  # fmt: skip
    with _app_client(str(tmp_path / "sim.db")) as client:
        tally = send("", requests(plan, catalogue), out=io.StringIO(), client=client)
    assert tally.sloppy > 10
    assert tally.unexpected == []
    assert (tally.accepted, tally.rejected, tally.spoiled) == (tally.sent, 0, 0)


def test_a_sloppy_request_refused_is_unexpected_and_says_how_it_was_sloppy() -> None:
    from mockserver.simulate.payloads import Request

    class Refusing:
        def post(self, url: str, *, content: bytes, headers: Any) -> httpx.Response:
            return httpx.Response(400, text="no")

    request = Request(0, "lucidworks", "/retail/signals/click", {}, [{}],
                      sloppiness="timestamp in seconds")  # fmt: skip
    tally = send("", [request], out=io.StringIO(), client=Refusing())
    assert tally.unexpected == [
        "400 for a sloppy (timestamp in seconds) request to /retail/signals/click: no"
    ]


def test_each_sloppy_request_draws_its_warning_and_no_other(
    catalogue: Catalogue, tmp_path: Any
) -> None:
    # Timed from now: "days ahead" is counted from the server's clock.
    now_ms = round(time.time() * 1000)
    plan = Plan(start_ms=now_ms, sessions=80, backfill_ms=WEEK, seed=6, sloppy_rate=0.3)
    sent = list(requests(plan, catalogue))
    with _app_client(str(tmp_path / "sim.db")) as client:
        tally = send("", sent, out=io.StringIO(), client=client)
        summary = client.get("/_mock/summary").json()
        warned = client.get("/_mock/events", params={"warned": "true", "limit": 1000}).json()
    expected: dict[str, int] = {}
    for request in sent:
        if request.sloppiness is not None:
            rule = SLOPPY_RULES[request.sloppiness]
            expected[rule] = expected.get(rule, 0) + 1
    assert tally.unexpected == []
    assert len(expected) == len(SLOPPY_RULES)
    assert {k: v for k, v in summary["warnings"].items() if v} == expected
    assert len(warned["events"]) == tally.sloppy  # one warning a sloppy request, none else


@pytest.mark.slow  # 500 sessions: a long generated run
def test_a_simulated_week_reads_like_a_shop(catalogue: Catalogue, tmp_path: Any) -> None:
    # The ranges docs/demo.md states for the default model.
    plan = Plan(start_ms=START, sessions=500, backfill_ms=WEEK, seed=11)
    with _app_client(str(tmp_path / "sim.db")) as client:
        send("", requests(plan, catalogue), out=io.StringIO(), client=client)
        figures = client.get("/_mock/analytics").json()
    assert 0.30 <= figures["ctr"] <= 0.60
    assert 2.0 <= figures["avg_click_position"] <= 4.5
    assert 0.10 <= figures["add_to_cart_rate"] <= 0.30
    assert 0.04 <= figures["conversion_rate"] <= 0.15
    assert figures["zero_result_queries"]  # typos and things the shop does not sell
    clicks = figures["clicks_by_position"]
    assert clicks["1"] > clicks["2"] > clicks["5"]  # position bias
    assert 7 <= len(figures["series"]) <= 8  # a week by day (and the last sessions' ends)


@pytest.mark.slow
def test_the_command_sends_live_traffic_timed_now_and_says_what_it_sent() -> None:
    with MockServer() as server:
        started = time.time()
        result = subprocess.run(
            [sys.executable, "-m", "mockserver", "simulate", "--url", server.url,
             "--duration", "2s", "--rate", "20", "--seed", "2"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        took = time.time() - started
        with server.client() as client:
            events = client.events(limit=1000)
    assert result.returncode == 0, result.stderr
    assert "simulate: live, in real time, 20 events a second, for 2 s" in result.stderr
    assert re.search(r"accepted, 0 rejected, \d+\.\d/s", result.stderr), result.stderr
    assert 1.5 <= took <= 20
    assert events  # about 40 at 20 a second
    newest = max(e["timestamp_ms"] for e in events)
    assert abs(newest / 1000 - time.time()) < 30  # live: event times are now, not the past


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if not children.is_file():
        pytest.skip("needs Linux's /proc/<pid>/task/<pid>/children")
    return [int(child) for child in children.read_text().split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "to_group"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGINT", "SIGTERM", "Ctrl-C in a terminal"],
)
def test_the_demo_fills_a_week_with_some_mistakes_goes_live_and_stops_with_its_server(
    tmp_path: Path, stop: signal.Signals, to_group: bool
) -> None:
    # SIGTERM (kill, docker stop) once ended the demo alone and left its server running; Ctrl-C
    # in a terminal, which signals the whole group, stopped the server under its shoppers.
    demo = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "demo", "--port", "0", "--db",
         str(tmp_path / "demo.db"), "--sessions", "40", "--rate", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=to_group,
        # A runner started in the background (nohup, &) ignores SIGINT, and a child inherits
        # that; the demo, as a terminal starts it, does not.
        preexec_fn=_sigint_as_in_a_terminal,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if "live now" in line:
                break
        text = "".join(lines)
        url = re.search(r"dashboard: (http://\S+)/", text)
        assert url, text
        assert re.search(r"accepted, [1-9]\d* rejected", text), text  # mistakes by default
        figures = httpx.get(f"{url.group(1)}/_mock/analytics").json()
        assert figures["searches"] > 0
        assert figures["series"][0]["start"] < figures["series"][-1]["start"]  # a week of days
        reasons = httpx.get(f"{url.group(1)}/_mock/rejections/reasons").json()["reasons"]
        assert reasons  # the dashboard's Rejection reasons are not empty
        assert re.search(r"\(\d+ with a mistake, [1-9]\d* sloppy on purpose\)", text), text
        summary = httpx.get(f"{url.group(1)}/_mock/summary").json()
        assert any(summary["warnings"].values())  # nor is the Warnings view
        (server,) = _children(demo.pid)
        if to_group:
            # A terminal's Ctrl-C reaches the demo alone, which stops the shoppers, then its
            # server (a race the machine's load decides, so the groups are asserted too).
            assert os.getpgid(server) != os.getpgid(demo.pid)
            os.killpg(demo.pid, stop)
        else:
            demo.send_signal(stop)
        assert demo.wait(timeout=20) == 0
        deadline = time.monotonic() + 10
        while _running(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(server), "the demo's server outlived it"
        assert demo.stderr is not None
        errors = demo.stderr.read()
        assert not re.search(r"^40\d ", errors, re.M), errors  # no line for each mistake
    finally:
        demo.kill()
        demo.wait()
        for pipe in (demo.stdout, demo.stderr):
            if pipe is not None:
                pipe.close()


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("command", ["simulate", "demo"])
def test_a_sloppy_rate_outside_0_to_1_is_refused_before_anything_is_sent(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from mockserver.cli import main

    assert main([command, "--sloppy-rate", "1.5"]) == 2
    assert "--sloppy-rate are fractions from 0 to 1" in capsys.readouterr().err


def test_the_demo_defaults_are_a_few_mistakes_and_a_few_more_sloppy_requests() -> None:
    args = build_parser().parse_args(["demo"])
    assert (args.invalid_rate, args.sloppy_rate) == (0.03, 0.05)
    assert build_parser().parse_args(["simulate"]).sloppy_rate == 0  # a correct client


# -- the traffic and the shoppers' model, each on a few hundred sessions (issue 29) ------------

DAY = 86_400_000


@pytest.fixture(scope="module")
def steps(catalogue: Catalogue) -> list[Step]:
    """What 300 shoppers of both vendors did."""
    shoppers = Shoppers(catalogue, random.Random(4), ("lucidworks", "neuralens"))
    return [step for _ in range(300) for step in shoppers.session(START).steps]


def test_a_run_of_n_sessions_sends_n_sessions(catalogue: Catalogue) -> None:
    plan = Plan(start_ms=START, sessions=40, backfill_ms=WEEK, vendors=("lucidworks",))
    session_ids = {request.body[0]["sessionId"] for request in requests(plan, catalogue)}
    assert len(session_ids) == 40


def test_a_backfill_spreads_its_sessions_over_the_whole_window(catalogue: Catalogue) -> None:
    plan = Plan(start_ms=START, sessions=200, backfill_ms=WEEK)
    days = Counter((request.at_ms - (START - WEEK)) // DAY for request in requests(plan, catalogue))
    assert set(days) >= set(range(7))  # every day of the week has shoppers, the last one too


def test_a_search_gets_at_most_two_clicks(steps: list[Step]) -> None:
    per_search = Counter(step.query_id for step in steps if step.kind == "click")
    assert max(per_search.values()) == MAX_CLICKS_PER_SEARCH == 2


def test_the_higher_a_result_the_more_often_it_is_clicked(steps: list[Step]) -> None:
    # Position bias, as a rate: a search of three results has no fifth one to click.
    clicks = Counter(step.position for step in steps if step.kind == "click")
    shown = Counter(
        rank for step in steps if step.kind == "search" for rank in range(1, len(step.products) + 1)
    )
    rates = [clicks[rank] / shown[rank] for rank in (1, 2, 3, 5, 10)]
    assert all(higher > lower for higher, lower in itertools.pairwise(rates)), rates
