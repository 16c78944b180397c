"""``make bench``, part five: the PostgreSQL store beside SQLite, with one and two servers.

Valid clicks under wrk at c=16 and c=64 against: mockserver on a SQLite file; mockserver on
PostgreSQL (one process); two mockserver processes on the same PostgreSQL database, the load
split between them; and, for contrast, ``--workers 2`` on one SQLite file. PostgreSQL runs with
its defaults (fsync on: each commit durable on disk, stricter than SQLite's WAL with
synchronous=NORMAL). Nothing is pinned to a core here: with two server processes and a
database on a 2-core machine, pinning would measure the pinning. Each cell RUNS times,
interleaved; medians reported. Writes bench/results/postgres.md and postgres.json.
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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import RESULTS, SCENARIOS, _free_port, _wait_for, _wrk_script  # noqa: E402

from tests.postgres_server import PostgresServer  # noqa: E402 (the tests' server, durable)

SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
RUNS = 3
CONCURRENCY = (16, 64)


@contextmanager
def _mockserver(db: str, workers: int = 1) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--db", db]
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


def _wrk_split(urls: list[str], script: Path, concurrency: int) -> float:
    """Requests a second over all ``urls`` at once, the connections split between them."""
    each = max(1, concurrency // len(urls))

    def wrk(url: str) -> list[str]:
        return ["wrk", "-t", "1", "-c", str(each), "-d", f"{SECONDS}s", "-s", str(script),
                f"{url}/retail/signals/click"]  # fmt: skip

    runs = [subprocess.Popen(wrk(url), stdout=subprocess.PIPE, text=True) for url in urls]
    total = 0.0
    for run in runs:
        output, _ = run.communicate()
        found = re.search(r"Requests/sec:\s+([\d.]+)", output)
        total += float(found.group(1)) if found else 0.0
    return total


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench: wrk is missing; `make bench` installs it", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="mockserver-bench-postgres-"))
    database = PostgresServer(folder, durable=True)
    results: dict[str, dict[int, list[float]]] = {}
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
                "postgresql, 2 processes": [
                    running.enter_context(_mockserver(url)) for _ in range(2)
                ],
            }
            for urls in setups.values():  # warm up
                _wrk_split(urls, script, 16)
            for _ in range(RUNS):
                for concurrency in CONCURRENCY:
                    for name, urls in setups.items():
                        rps = _wrk_split(urls, script, concurrency)
                        results.setdefault(name, {}).setdefault(concurrency, []).append(rps)
                        print(f"  {name:32} c={concurrency:<3} {rps:8.0f} req/s", flush=True)
    finally:
        database.stop(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    _write(results)
    return 0


def _write(results: dict[str, dict[int, list[float]]]) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    medians = {
        name: {c: round(statistics.median(v)) for c, v in cells.items()}
        for name, cells in results.items()
    }
    (RESULTS / "postgres.json").write_text(
        json.dumps({"measured": when, "seconds": SECONDS, "req_per_s": medians}, indent=2) + "\n"
    )
    lines = [
        f"Measured {when}: valid clicks, {SECONDS} s a cell, median of {RUNS} interleaved runs, "
        f"{os.cpu_count()} cores shared by wrk, the servers and PostgreSQL (fsync on).",
        "",
        "| store | " + " | ".join(f"c={c} req/s" for c in CONCURRENCY) + " |",
        "|---|" + "---:|" * len(CONCURRENCY),
        *[
            f"| {name} | " + " | ".join(str(cells[c]) for c in CONCURRENCY) + " |"
            for name, cells in medians.items()
        ],
    ]
    (RESULTS / "postgres.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
