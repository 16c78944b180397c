"""``mockserver demo`` (``make demo``): a server on its own database, a week of seeded shoppers
sent into it, then a gentle live stream, until Ctrl-C or SIGTERM stops all of it."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

import httpx

from mockserver.simulate import DEMO_INVALID_RATE, DEMO_SLOPPY_RATE
from mockserver.simulate.catalogue import Catalogue
from mockserver.simulate.sender import send
from mockserver.simulate.traffic import Plan, requests

WEEK_MS = 7 * 86_400_000
STARTUP_SECONDS = 30.0
LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass(frozen=True)
class Demo:
    port: int = 8080
    db: str = "demo.db"
    sessions: int = 3000  # in the backfilled week
    rate: float = 1.0  # live events a second afterwards
    seed: int = 1
    invalid_rate: float = DEMO_INVALID_RATE  # requests sent with a client mistake
    sloppy_rate: float = DEMO_SLOPPY_RATE  # requests sent valid but sloppy (warnings)


def run(demo: Demo, out: IO[str] = sys.stdout) -> int:
    with _sigterm_as_ctrl_c():
        return _run(demo, out)


def _run(demo: Demo, out: IO[str]) -> int:
    for suffix in ("", "-wal", "-shm"):  # a fresh store: the same seed gives the same week
        Path(demo.db + suffix).unlink(missing_ok=True)
    # --log-level error: the server would print a line for each deliberate mistake (hundreds
    # in the week); the demo says how many there were, and the dashboard shows them.
    command = [sys.executable, "-m", "mockserver", "serve", "--port", str(demo.port),
               "--db", demo.db, "--log-level", "error"]  # fmt: skip
    # Its own session: Ctrl-C in a terminal signals the whole foreground group, and a server
    # that stopped first made the shoppers fail on a refused connection (exit 2). The demo
    # stops it, in the finally below, once its shoppers have stopped.
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)  # noqa: S603 (ours)
    try:
        _shop(_wait_until_listening(server), demo, _printer(out))
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _shop(url: str, demo: Demo, say: Callable[[str], None]) -> None:
    """The week, as fast as the server takes it, then live shoppers until interrupted."""
    say(f"dashboard: {url}/   (analytics: {url}/_mock/ui/?view=analytics)")
    mistakes = f"{demo.invalid_rate:.0%} with a client mistake, {demo.sloppy_rate:.0%} sloppy"
    say(f"sending a week of shoppers ({demo.sessions:,} sessions, {mistakes}, seed {demo.seed})")
    catalogue = Catalogue.load()
    now_ms = round(time.time() * 1000)
    # one_of_each_first: however few the sessions, Rejected, Rejection reasons and Warnings
    # each have something to show.
    week = Plan(start_ms=now_ms, seed=demo.seed, sessions=demo.sessions, backfill_ms=WEEK_MS,
                invalid_rate=demo.invalid_rate, sloppy_rate=demo.sloppy_rate,
                one_of_each_first=True)  # fmt: skip
    say(f"the week: {send(url, requests(week, catalogue)).line()}")
    rate = f"{demo.rate:g} event{'' if demo.rate == 1 else 's'} a second"
    say(f"live now, {rate}; Ctrl-C stops the shoppers and the server")
    live_ms = round(time.time() * 1000)
    live = Plan(start_ms=live_ms, seed=demo.seed + 1, rate=demo.rate,
                invalid_rate=demo.invalid_rate, sloppy_rate=demo.sloppy_rate)  # fmt: skip
    send(url, requests(live, catalogue), live_from_ms=live_ms)


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (kill, docker stop, a supervisor) ends the demo as Ctrl-C does, through the
    ``finally`` that stops the server: by default it ended this process alone, and left the
    server it started running. Only the main thread may set a handler; elsewhere, as before."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _wait_until_listening(server: subprocess.Popen[str]) -> str:
    assert server.stdout is not None
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line and server.poll() is not None:
            raise RuntimeError("the server did not start; its error is above")
        match = LISTENING.search(line)
        if match:
            url = match.group(1).rstrip("/")
            httpx.get(f"{url}/_mock/health", timeout=5).raise_for_status()
            # Its banner is read and dropped (the demo says what matters), so that the pipe
            # never fills; its errors still reach the terminal on stderr.
            threading.Thread(target=_drain, args=(server.stdout,), daemon=True).start()
            return url
    raise RuntimeError(f"the server did not say where it listens within {STARTUP_SECONDS:g} s")


def _drain(lines: IO[str]) -> None:
    for _ in lines:
        pass


def _printer(out: IO[str]) -> Callable[[str], None]:
    def say(text: str) -> None:
        print(f"demo: {text}", file=out, flush=True)

    return say
