"""``make soak``: mockserver at full speed for SOAK_SECONDS (default 600), RSS sampled as it goes.

The store is on disk, not in a growing in-memory journal: RSS must stay flat. Writes
bench/results/soak.md and exits 1 if RSS grew by more than SOAK_MAX_GROWTH_MIB (default 10).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (
    LOAD_CORE,
    RESULTS,
    SCENARIOS,
    _free_port,
    _rss_mib,
    _server,
    _wrk_script,
    mockserver_command,
)

SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
MAX_GROWTH_MIB = float(os.environ.get("SOAK_MAX_GROWTH_MIB", "10"))
SAMPLE_EVERY = 10


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        path, headers, body, _ = SCENARIOS["click valid"]
        script = Path(tmp) / "soak.lua"
        _wrk_script(script, headers, body)
        serve = mockserver_command(port, Path(tmp) / "soak.db")
        with _server("mockserver", serve, base + "/_mock/health") as process:
            load = subprocess.Popen(
                ["taskset", "-c", LOAD_CORE, "wrk", "-t", "2", "-c", "16", "-d", f"{SECONDS}s",
                 "-s", str(script), base + path],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            samples: list[tuple[int, float]] = []
            started = time.monotonic()
            while load.poll() is None:
                samples.append((round(time.monotonic() - started), _rss_mib(process.pid)))
                print(f"  t={samples[-1][0]:4d}s  rss {samples[-1][1]} MiB", flush=True)
                time.sleep(SAMPLE_EVERY)
            output = load.communicate()[0]
    settled = samples[min(3, len(samples) - 1)][1]  # after warm-up
    growth = round(max(rss for _, rss in samples) - settled, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    rate = next((line for line in output.splitlines() if line.startswith("Requests/sec")), "")
    (RESULTS / "soak.md").write_text(
        f"Soak: {SECONDS} s of valid clicks at c=16. {rate.strip()}. RSS after warm-up "
        f"{settled} MiB, growth {growth} MiB (limit {MAX_GROWTH_MIB}).\n\n"
        "| t (s) | RSS MiB |\n|---:|---:|\n" + "".join(f"| {t} | {rss} |\n" for t, rss in samples)
    )
    print(f"RSS growth after warm-up: {growth} MiB")
    return 0 if growth <= MAX_GROWTH_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
