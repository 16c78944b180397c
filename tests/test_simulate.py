"""mockserver simulate: reproducible, a correct client of both vendors, and shoppers whose
analytics look like a shop's."""

from __future__ import annotations

import io
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import MockServer, Settings
from mockserver.cli import SIMULATE_EPILOG, build_parser
from mockserver.simulate.catalogue import Catalogue
from mockserver.simulate.sender import Tally, send
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
    sent = list(requests(Plan(start_ms=START, duration_ms=120_000, rate=rate), catalogue))
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
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_demo_fills_a_week_with_some_mistakes_goes_live_and_stops_with_its_server(
    tmp_path: Path, stop: signal.Signals
) -> None:
    # SIGTERM (kill, docker stop) once ended the demo alone and left its server running.
    demo = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "demo", "--port", "0", "--db",
         str(tmp_path / "demo.db"), "--sessions", "40", "--rate", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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
        (server,) = _children(demo.pid)
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
