"""mockserver demo (``mockserver.simulate.demo``), in-process: what it says, the week and the
live stream it plans, the server it starts and stops, and how it waits for that server. The
real thing, processes and all, is the slow test in tests/test_simulate.py."""

from __future__ import annotations

import io
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from mockserver.simulate import demo as demo_module
from mockserver.simulate.catalogue import Catalogue
from mockserver.simulate.demo import WEEK_MS, Demo
from mockserver.simulate.sender import Tally
from mockserver.simulate.traffic import Plan

URL = "http://127.0.0.1:8123"


class Shop:
    """The demo's sends, caught: each plan it draws requests from, and how it sends them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[str, Plan, int | None]] = []
        monkeypatch.setattr(demo_module, "requests", self.requests)
        monkeypatch.setattr(demo_module, "send", self.send)

    def requests(self, plan: Plan, catalogue: Catalogue) -> Plan:
        assert len(catalogue.products) == 300  # the demo shop's
        return plan

    def send(self, url: str, plan: Plan, live_from_ms: int | None = None) -> Tally:
        self.sent.append((url, plan, live_from_ms))
        return Tally(sent=120, accepted=117, rejected=3, spoiled=3, sloppy=4)


def _shop(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Shop, int, int]:
    shop = Shop(monkeypatch)
    said: list[str] = []
    before = round(time.time() * 1000)
    demo_module._shop(URL, demo, said.append)
    return said, shop, before, round(time.time() * 1000)


def test_the_demo_says_where_its_dashboard_is_what_it_sends_and_when_it_goes_live(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said, _, _, _ = _shop(Demo(sessions=3000, rate=1.0, seed=1), monkeypatch)
    assert said[0] == f"dashboard: {URL}/   (analytics: {URL}/_mock/ui/?view=analytics)"
    assert said[1] == (
        "sending a week of shoppers (3,000 sessions, 3% with a client mistake, 5% sloppy, seed 1)"
    )
    assert said[2].startswith("the week: sent 120 requests (3 with a mistake, 4 sloppy on purpose)")
    assert said[3] == "live now, 1 event a second; Ctrl-C stops the shoppers and the server"
    assert len(said) == 4


@pytest.mark.parametrize(("rate", "shown"), [(2.0, "2 events"), (0.5, "0.5 events")])
def test_the_demo_says_its_live_rate_in_events_a_second(
    monkeypatch: pytest.MonkeyPatch, rate: float, shown: str
) -> None:
    said, _, _, _ = _shop(Demo(rate=rate), monkeypatch)
    assert said[3] == f"live now, {shown} a second; Ctrl-C stops the shoppers and the server"


def test_the_demo_sends_the_week_before_now_at_once_then_live_shoppers_from_now(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo = Demo(sessions=40, rate=3.0, seed=9, invalid_rate=0.1, sloppy_rate=0.2)
    _, shop, before, after = _shop(demo, monkeypatch)
    (week_url, week, week_live), (live_url, live, live_from_ms) = shop.sent
    assert (week_url, live_url) == (URL, URL)
    assert before <= week.start_ms <= after
    assert replace(week, start_ms=0) == Plan(
        start_ms=0, seed=9, sessions=40, backfill_ms=WEEK_MS, invalid_rate=0.1,
        sloppy_rate=0.2, one_of_each_first=True,
    )  # fmt: skip
    assert week_live is None  # as fast as the server takes it
    assert WEEK_MS == 7 * 86_400_000
    assert before <= live.start_ms <= after
    assert live_from_ms == live.start_ms  # each live request at its own time, from now
    # Other shoppers than the week's (its seed, plus one); no end.
    assert replace(live, start_ms=0) == Plan(
        start_ms=0, seed=10, rate=3.0, invalid_rate=0.1, sloppy_rate=0.2
    )


class Server:
    """A stand-in for the server process: what the demo asks of it, recorded."""

    def __init__(self, lines: str = "", exited: int | None = None, stubborn: bool = False):
        self.stdout = io.StringIO(lines)
        self.exited = exited
        self.stubborn = stubborn  # does not stop when asked
        self.calls: list[str] = []

    def poll(self) -> int | None:
        return self.exited

    def terminate(self) -> None:
        self.calls.append("terminate")

    def wait(self, timeout: float | None = None) -> int:
        self.calls.append(f"wait {timeout}")
        if self.stubborn:
            raise subprocess.TimeoutExpired("mockserver", timeout or 0)
        return 0

    def kill(self) -> None:
        self.calls.append("kill")


def _start(
    monkeypatch: pytest.MonkeyPatch, server: Server, shop: Any
) -> list[tuple[list[str], dict[str, Any]]]:
    started: list[tuple[list[str], dict[str, Any]]] = []

    def popen(command: list[str], **options: Any) -> Server:
        started.append((command, options))
        return server

    def wait_until_listening(waited_for: Server) -> str:
        assert waited_for is server
        return URL

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(demo_module, "_wait_until_listening", wait_until_listening)
    monkeypatch.setattr(demo_module, "_shop", shop)
    return started


def test_the_demo_starts_its_server_on_a_fresh_store_quiet_and_in_its_own_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "demo.db"
    left = [Path(f"{db}{suffix}") for suffix in ("", "-wal", "-shm")]
    other = tmp_path / "other.db"
    for path in [*left, other]:
        path.write_text("last week")
    shopped: list[tuple[str, Demo]] = []

    def shop(url: str, demo: Demo, say: Any) -> None:
        assert not any(path.exists() for path in left)  # gone before the server starts
        shopped.append((url, demo))
        say("shopping")

    server = Server()
    started = _start(monkeypatch, server, shop)
    demo = Demo(port=8123, db=str(db))
    out = io.StringIO()
    assert demo_module.run(demo, out) == 0
    assert out.getvalue() == "demo: shopping\n"
    ((command, options),) = started
    assert command == [sys.executable, "-m", "mockserver", "serve", "--port", "8123",
                       "--db", str(db), "--log-level", "error"]  # fmt: skip
    assert options == {"stdout": subprocess.PIPE, "text": True, "start_new_session": True}
    assert shopped == [(URL, demo)]
    assert other.exists()
    assert server.calls == ["terminate", "wait 10"]  # stopped with the shoppers


def test_ctrl_c_stops_the_shoppers_then_the_server_and_the_demo_ends_well(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def shop(url: str, demo: Demo, say: Any) -> None:
        raise KeyboardInterrupt

    server = Server()
    _start(monkeypatch, server, shop)
    assert demo_module.run(Demo(db=str(tmp_path / "demo.db")), io.StringIO()) == 0
    assert server.calls == ["terminate", "wait 10"]


def test_a_server_that_does_not_stop_within_ten_seconds_is_killed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def shop(url: str, demo: Demo, say: Any) -> None:
        raise KeyboardInterrupt

    server = Server(stubborn=True)
    _start(monkeypatch, server, shop)
    assert demo_module.run(Demo(db=str(tmp_path / "demo.db")), io.StringIO()) == 0
    assert server.calls == ["terminate", "wait 10", "kill"]


def test_what_the_demo_says_is_on_its_own_lines_and_reaches_a_pipe_at_once() -> None:
    class Out(io.StringIO):
        flushed = 0

        def flush(self) -> None:
            self.flushed += 1
            super().flush()

    out = Out()
    say = demo_module._printer(out)
    say("dashboard: here")
    assert (out.getvalue(), out.flushed) == ("demo: dashboard: here\n", 1)


class Health:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[tuple[str, float]] = []
        monkeypatch.setattr(httpx, "get", self.get)

    def get(self, url: str, timeout: float) -> httpx.Response:
        self.asked.append((url, timeout))
        return httpx.Response(200, request=httpx.Request("GET", url))


@pytest.fixture
def ticking(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's clock, a second further on each time it is read: a wait of 30 s is 30 reads."""
    ticks = itertools.count()
    monkeypatch.setattr(demo_module, "time", SimpleNamespace(monotonic=lambda: next(ticks)))


@pytest.mark.usefixtures("ticking")
def test_the_demo_reads_the_servers_address_from_its_banner_and_checks_its_health(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    health = Health(monkeypatch)
    server = Server("mockserver 1.0\nlistening on http://127.0.0.1:8123/\nmore\nbanner\n")
    url = demo_module._wait_until_listening(server)  # type: ignore[arg-type]
    assert url == URL
    assert health.asked == [(f"{URL}/_mock/health", 5)]
    deadline = time.monotonic() + 5
    while server.stdout.tell() < len(server.stdout.getvalue()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stdout.readline() == ""  # the rest of the banner is read, the pipe never fills


@pytest.mark.usefixtures("ticking")
class EndlessBanner:
    """A server's output that goes on until it is stopped."""

    def __init__(self, first: str) -> None:
        self.first = [first]
        self.stopped = threading.Event()

    def readline(self) -> str:
        return self.first.pop(0)

    def __iter__(self) -> EndlessBanner:
        return self

    def __next__(self) -> str:
        self.stopped.wait(5)
        raise StopIteration


@pytest.mark.usefixtures("ticking")
def test_reading_the_rest_of_the_banner_never_keeps_the_demo_from_exiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Health(monkeypatch)
    server = Server()
    banner = EndlessBanner("listening on http://127.0.0.1:8123\n")
    server.stdout = banner  # type: ignore[assignment]
    before = set(threading.enumerate())
    try:
        assert demo_module._wait_until_listening(server) == URL  # type: ignore[arg-type]
        (reader,) = set(threading.enumerate()) - before
        assert reader.daemon
    finally:
        banner.stopped.set()


@pytest.mark.usefixtures("ticking")  # not half a minute of waiting if it is not reported
def test_a_server_that_exits_before_it_listens_is_reported() -> None:
    with pytest.raises(RuntimeError, match=r"^the server did not start; its error is above$"):
        demo_module._wait_until_listening(Server("", exited=1))  # type: ignore[arg-type]


@pytest.mark.usefixtures("ticking")
def test_a_server_still_silent_after_30_seconds_is_given_up_on() -> None:
    server = Server("\n" * 100)  # lines, but never where it listens
    with pytest.raises(RuntimeError) as raised:
        demo_module._wait_until_listening(server)  # type: ignore[arg-type]
    assert str(raised.value) == "the server did not say where it listens within 30 s"
    assert server.stdout.getvalue().count("\n", 0, server.stdout.tell()) == 29  # s 1 to 29


@pytest.mark.usefixtures("ticking")
def test_a_server_still_running_is_waited_for_even_while_it_says_nothing() -> None:
    with pytest.raises(RuntimeError, match="did not say where it listens within 30 s"):
        demo_module._wait_until_listening(Server("", exited=None))  # type: ignore[arg-type]


def test_sigterm_ends_the_demo_as_ctrl_c_does_and_leaves_the_handler_as_it_was() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), demo_module._sigterm_as_ctrl_c():
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises before the next statement
    assert signal.getsignal(signal.SIGTERM) == before


def test_the_demo_run_from_another_thread_leaves_sigterm_alone() -> None:
    errors: list[BaseException] = []
    handlers: list[Any] = []

    def other() -> None:
        try:
            with demo_module._sigterm_as_ctrl_c():
                handlers.append(signal.getsignal(signal.SIGTERM))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert errors == []
    assert handlers == [signal.getsignal(signal.SIGTERM)]


def test_the_demo_takes_sigterm_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    out = io.StringIO()

    def run(demo: Demo, to: Any) -> int:
        seen.append((signal.getsignal(signal.SIGTERM), to))
        return 7

    monkeypatch.setattr(demo_module, "_run", run)
    assert demo_module.run(Demo(), out) == 7
    assert seen == [(demo_module._interrupt, out)]
