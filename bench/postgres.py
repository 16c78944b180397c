"""``make bench``, part five: the PostgreSQL store beside SQLite, with one and two servers.

Valid clicks under wrk at c=16 and c=64 against: mockserver on a SQLite file; mockserver on
PostgreSQL (one process); two mockserver processes on the same PostgreSQL database, the load
split between them; and, for contrast, ``--workers 2`` on one SQLite file. PostgreSQL runs with
its defaults (fsync on: each commit durable on disk, stricter than SQLite's WAL with
synchronous=NORMAL). Nothing is pinned to a core here: with two server processes and a
database on a 2-core machine, pinning would measure the pinning. Each cell RUNS times,
interleaved; medians reported, with how busy the machine's cores were (a second server adds
throughput only where a core is idle), and a PostgreSQL server that does not fold the
analytics' running totals, for what folding costs the requests. Then ``/_mock/analytics``
on PostgreSQL over a demo week of simulated shoppers (20,000 events), five times that and a
million, from the running totals and from the events. Writes bench/results/postgres.md and
postgres.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from analytics import _simulated  # noqa: E402
from run import RESULTS, SCENARIOS, _free_port, _wait_for, _wrk_script  # noqa: E402

from mockserver.storage.postgres import PostgresStore  # noqa: E402
from mockserver.vendors.registry import ANALYTICS  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402 (the tests' server, durable)

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
RUNS = 3
CONCURRENCY = (16, 64)
# A demo week (3,000 sessions), five of them, and a million (bench/analytics.py's SQLite size).
ANALYTICS_EVENTS = (20_000, 100_000, 1_000_000)


# A server whose store folds nothing into the analytics' running totals: what folding costs
# the requests, measured beside the real thing (not an option of the product).
_NOT_FOLDING = (
    "import sys; from mockserver.storage.postgres import PostgresStore; "
    "PostgresStore._fold_in_background = lambda self: None; "
    "from mockserver.cli import main; sys.exit(main(sys.argv[1:]))"
)


@contextmanager
def _mockserver(db: str, workers: int = 1, folding: bool = True) -> Iterator[str]:
    port = _free_port()
    launch = ["-m", "mockserver"] if folding else ["-c", _NOT_FOLDING]
    command = [sys.executable, *launch, "serve", "--port", str(port), "--db", db]
    if workers > 1:
        command += ["--workers", str(workers)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_for(f"http://127.0.0.1:{port}/_mock/health", process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(15)


def _wrk_split(urls: list[str], script: Path, concurrency: int) -> tuple[float, float]:
    """Requests a second over all ``urls`` at once, the connections split between them, and
    how many of the machine's cores were busy meanwhile."""
    each = max(1, concurrency // len(urls))

    def wrk(url: str) -> list[str]:
        return ["wrk", "-t", "1", "-c", str(each), "-d", f"{SECONDS}s", "-s", str(script),
                f"{url}/retail/signals/click"]  # fmt: skip

    before = _cpu_ticks()
    runs = [subprocess.Popen(wrk(url), stdout=subprocess.PIPE, text=True) for url in urls]
    total = 0.0
    for run in runs:
        output, _ = run.communicate()
        found = re.search(r"Requests/sec:\s+([\d.]+)", output)
        total += float(found.group(1)) if found else 0.0
    busy, idle = (after - earlier for after, earlier in zip(_cpu_ticks(), before, strict=True))
    return total, (os.cpu_count() or 1) * busy / (busy + idle)


def _cpu_ticks() -> tuple[int, int]:
    """The machine's busy and idle CPU time so far (/proc/stat), in ticks."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields[:8]) - idle, idle


def _analytics_seconds(database: PostgresServer, events: int) -> dict[str, list[float]]:
    """``GET /_mock/analytics`` through a server on a PostgreSQL database holding ``events``
    simulated events (bench/analytics.py's, stored as the server stores them, 1,000 a
    commit): from the running totals, and from the events (a session gap other than the
    default, which the totals do not answer); and how long after the last event was stored
    the totals had caught up."""
    url = database.database()
    store = PostgresStore(url, ANALYTICS)
    try:
        batch = list(_simulated(events))
        for start in range(0, len(batch), 1_000):
            store.add(batch[start : start + 1_000])
        stored = time.monotonic()
        store.fold_analytics()
        behind = time.monotonic() - stored
    finally:
        store.close()
    took: dict[str, list[float]] = {"totals": [], "events": [], "behind": [behind]}
    with _mockserver(url) as base:
        for way, query in (("totals", ""), ("events", "?lucidworks_session_minutes=31")):
            for _ in range(RUNS if way == "totals" else 1):
                began = time.monotonic()
                with urllib.request.urlopen(f"{base}/_mock/analytics{query}", timeout=600) as got:  # noqa: S310
                    got.read()
                took[way].append(time.monotonic() - began)
    return took


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench: wrk is missing; `make bench` installs it", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="mockserver-bench-postgres-"))
    database = PostgresServer(folder, durable=True)
    results: dict[str, dict[int, list[float]]] = {}
    busy: dict[str, dict[int, list[float]]] = {}
    analytics: dict[int, dict[str, list[float]]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp, ExitStack() as running:
            _, headers, body, _ = SCENARIOS["click valid"]
            script = Path(tmp) / "click.lua"
            _wrk_script(script, headers, body)
            url = database.database()
            setups = {
                "sqlite, 1 process": [running.enter_context(_mockserver(f"{tmp}/a.db"))],
                "sqlite, --workers 2 on one file": [
                    running.enter_context(_mockserver(f"{tmp}/b.db", workers=2))
                ],
                "postgresql, 1 process": [running.enter_context(_mockserver(url))],
                "postgresql, 1 process, not folding the totals": [
                    running.enter_context(_mockserver(database.database(), folding=False))
                ],
                "postgresql, 2 processes": [
                    running.enter_context(_mockserver(url)) for _ in range(2)
                ],
            }
            for urls in setups.values():  # warm up
                _wrk_split(urls, script, 16)
            for _ in range(RUNS):
                for concurrency in CONCURRENCY:
                    for name, urls in setups.items():
                        rps, cores = _wrk_split(urls, script, concurrency)
                        results.setdefault(name, {}).setdefault(concurrency, []).append(rps)
                        busy.setdefault(name, {}).setdefault(concurrency, []).append(cores)
                        print(
                            f"  {name:32} c={concurrency:<3} {rps:8.0f} req/s, "
                            f"{cores:.2f} cores busy",
                            flush=True,
                        )
        for events in ANALYTICS_EVENTS:
            analytics[events] = _analytics_seconds(database, events)
            print(f"  analytics over {events:,} events: {analytics[events]}", flush=True)
    finally:
        database.stop(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    _write(results, busy, analytics)
    return 0


def _write(
    results: dict[str, dict[int, list[float]]],
    busy: dict[str, dict[int, list[float]]],
    analytics: dict[int, dict[str, list[float]]],
) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    medians = {
        name: {c: round(statistics.median(v)) for c, v in cells.items()}
        for name, cells in results.items()
    }
    cores = {
        name: {c: round(statistics.median(v), 2) for c, v in cells.items()}
        for name, cells in busy.items()
    }
    seconds = {
        events: {way: round(statistics.median(took), 2) for way, took in ways.items()}
        for events, ways in analytics.items()
    }
    summary = {
        "measured": when, "seconds": SECONDS, "req_per_s": medians, "cores_busy": cores,
        "analytics_median_seconds": seconds,
    }  # fmt: skip
    (RESULTS / "postgres.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        f"Measured {when}: valid clicks, {SECONDS} s a cell, median of {RUNS} interleaved runs, "
        f"{os.cpu_count()} cores shared by wrk, the servers and PostgreSQL (fsync on); cores "
        "busy: the whole machine's, during the cell.",
        "",
        "| store | " + " | ".join(f"c={c} req/s (cores busy)" for c in CONCURRENCY) + " |",
        "|---|" + "---:|" * len(CONCURRENCY),
        *[
            f"| {name} | "
            + " | ".join(f"{cells[c]} ({cores[name][c]:.2f})" for c in CONCURRENCY)
            + " |"
            for name, cells in medians.items()
        ],
        "",
        f"`GET /_mock/analytics` on PostgreSQL (median of {RUNS}), from the running totals / "
        "from the events (a session gap the totals do not answer, once), and how far behind "
        "the last stored event the totals were:",
        "",
        "| events | from the totals | from the events | totals behind |",
        "|---:|---:|---:|---:|",
        *[
            f"| {events:,} | {s['totals']:.2f} s | {s['events']:.2f} s | {s['behind']:.1f} s |"
            for events, s in seconds.items()
        ],
    ]
    (RESULTS / "postgres.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
