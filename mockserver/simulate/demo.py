"""``mockserver demo`` (``make demo``): a server on its own database, a week of seeded shoppers
sent into it, then a gentle live stream, until Ctrl-C stops all of it."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

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


def run(demo: Demo, out: IO[str] = sys.stdout) -> int:
    for suffix in ("", "-wal", "-shm"):  # a fresh store: the same seed gives the same week
        Path(demo.db + suffix).unlink(missing_ok=True)
    server = subprocess.Popen(  # noqa: S603 (this interpreter, this package, fixed arguments)
        [sys.executable, "-m", "mockserver", "serve", "--port", str(demo.port), "--db", demo.db],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = _wait_until_listening(server)
        say = _printer(out)
        say(f"dashboard: {url}/   (analytics: {url}/_mock/ui/?view=analytics)")
        say(f"sending a week of shoppers ({demo.sessions:,} sessions, seed {demo.seed})...")
        catalogue = Catalogue.load()
        now_ms = round(time.time() * 1000)
        week = Plan(start_ms=now_ms, seed=demo.seed, sessions=demo.sessions, backfill_ms=WEEK_MS)
        say(f"the week: {send(url, requests(week, catalogue)).line()}")
        say(f"live now, {demo.rate:g} events a second; Ctrl-C stops the shoppers and the server")
        live_ms = round(time.time() * 1000)
        live = Plan(start_ms=live_ms, seed=demo.seed + 1, rate=demo.rate)
        send(url, requests(live, catalogue), live_from_ms=live_ms)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


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
