"""``make bench``, part two: readers must not stall the writers.

A store of READERS_ROWS events (default 1,000,000) is filled first. Then, with mockserver on
core 0 and wrk on core 1, valid clicks at c=16 are measured three ways, interleaved:
idle; while 500 ``/_mock/wait`` requests that never match are pending; and while a client
asks ``/_mock/summary`` over the whole store in a loop. The target: vendor POST p50 within 2x
of the idle figure in both. Writes bench/results/readers.md and readers.json.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (
    RESULTS,
    SCENARIOS,
    _free_port,
    _server,
    _wrk,
    _wrk_script,
    mockserver_command,
)

from mockserver.events import Event
from mockserver.storage.sqlite import SqliteStore
from mockserver.vendors.registry import ANALYTICS

ROWS = int(os.environ.get("READERS_ROWS", "1000000"))
PENDING_WAITS = 500
TARGET = 2.0


def _fill(path: Path, rows: int) -> None:
    store = SqliteStore(str(path), ANALYTICS)
    batch = 20_000
    for start in range(0, rows, batch):
        store.add(
            [
                Event(
                    vendor="lucidworks", endpoint="/retail/signals/click", type="click",
                    namespace=f"ns-{n % 50}", tenant="shop", user=f"u-{n % 5000}",
                    session=f"s-{n % 20000}", query=None, query_id=f"q-{n}", items=["p-1"],
                    position=1, timestamp_ms=1_700_000_000_000 + n,
                    payload='{"visitorId":"u"}', request_id=f"r-{n}",
                    received_at="2026-11-30T00:00:00.000000Z",
                )
                for n in range(start, min(start + batch, rows))
            ]
        )  # fmt: skip
    store.close()


@contextmanager
def _pending_waits(port: int, count: int) -> Iterator[None]:
    """``count`` waits that never match, held open on their own connections."""
    sockets = []
    request = (
        b"GET /_mock/wait?count=1&query_id=never-sent&timeout=300 HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\n\r\n"
    )
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(request)
            sockets.append(sock)
        time.sleep(1)  # every wait is in
        yield
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def _summaries_in_a_loop(base: str) -> Iterator[list[float]]:
    """Summaries over the whole store, one after another, for as long as the block runs."""
    took: list[float] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            started = time.monotonic()
            urllib.request.urlopen(f"{base}/_mock/summary", timeout=120).close()  # noqa: S310
            took.append(time.monotonic() - started)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    try:
        yield took
    finally:
        stop.set()
        thread.join(120)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "readers.db"
        started = time.monotonic()
        _fill(db, ROWS)
        print(f"filled {ROWS:,} events in {time.monotonic() - started:.0f} s", flush=True)
        path, headers, body, _ = SCENARIOS["click valid"]
        script = Path(tmp) / "click.lua"
        _wrk_script(script, headers, body)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        with _server("mockserver", mockserver_command(port, db), f"{base}/_mock/health"):
            idle = _wrk(base + path, script, 16)[1]
            with _pending_waits(port, PENDING_WAITS):
                waits = _wrk(base + path, script, 16)[1]
            with _summaries_in_a_loop(base) as took:
                summary = _wrk(base + path, script, 16)[1]
            idle_after = _wrk(base + path, script, 16)[1]
    idle_p50 = (idle + idle_after) / 2
    rows = {
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "stored_events": ROWS,
        "idle_p50_ms": round(idle_p50, 2),
        "pending_waits_p50_ms": waits,
        "summary_loop_p50_ms": summary,
        "summary_seconds_each": round(sum(took) / len(took), 2) if took else None,
    }
    ratios = {"pending waits": waits / idle_p50, "summary loop": summary / idle_p50}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "readers.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        f"Measured {rows['measured']}; {ROWS:,} events stored; valid clicks at c=16 under wrk.",
        "",
        "| while | click p50 ms | / idle | target |",
        "|---|---:|---:|---|",
        f"| idle (mean of before and after) | {idle_p50:.2f} | 1.00 | |",
        f"| {PENDING_WAITS} pending /_mock/wait | {waits:.2f} | {ratios['pending waits']:.2f} "
        f"| ≤ {TARGET:g} |",
        f"| /_mock/summary in a loop ({rows['summary_seconds_each']} s each) | {summary:.2f} "
        f"| {ratios['summary loop']:.2f} | ≤ {TARGET:g} |",
    ]
    (RESULTS / "readers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
