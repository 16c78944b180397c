"""``make bench``, part four: what the ``mockserver`` pytest fixture costs a downstream suite.

A throwaway project with TESTS tests is run by pytest twice in fresh processes: each test
empty, then each test taking the ``mockserver`` fixture (and doing nothing else). The
difference over the count is the fixture's setup and teardown a test (the issue's target:
5 ms). The session's server start is counted apart: ``MockServer().start()`` to the first
accepted request, measured in this process (target: 1 s). Each run is repeated RUNS times,
interleaved; medians are reported. Writes bench/results/fixture.md and fixture.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import RESULTS

from mockserver.testing.server import MockServer

TESTS = int(os.environ.get("FIXTURE_TESTS", "200"))
RUNS = 3
TARGET_MS_A_TEST = 5.0
TARGET_START_SECONDS = 1.0

_WITHOUT = "def test_{n}():\n    pass\n"
_WITH = "def test_{n}(mockserver):\n    pass\n"


def _suite_seconds(folder: Path, template: str) -> float:
    (folder / "test_many.py").write_text("".join(template.format(n=n) for n in range(TESTS)))
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder, check=True, capture_output=True,
    )  # fmt: skip
    return time.monotonic() - started


def _first_accepted_seconds() -> float:
    click = Path(__file__).resolve().parent.parent / "fixtures/lucidworks/valid/click-full.json"
    body = click.read_bytes()
    headers = {"Authorization": "t", "Accept": "application/json",
               "Content-Type": "application/json"}  # fmt: skip
    started = time.monotonic()
    with MockServer() as server:
        answer = httpx.post(f"{server.url}/retail/signals/click", content=body, headers=headers)
        took = time.monotonic() - started
        assert answer.status_code == 202, answer.text
    return took


def main() -> int:
    without, with_fixture, starts = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for _ in range(RUNS):
            without.append(_suite_seconds(folder, _WITHOUT))
            with_fixture.append(_suite_seconds(folder, _WITH))
            starts.append(_first_accepted_seconds())
    # The session's one server start is in the suite with the fixture: take it out.
    start = statistics.median(starts)
    per_test_ms = (statistics.median(with_fixture) - statistics.median(without) - start) / TESTS
    per_test_ms *= 1000
    result = {
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "tests": TESTS,
        "suite_without_seconds": [round(t, 2) for t in without],
        "suite_with_seconds": [round(t, 2) for t in with_fixture],
        "start_to_first_accepted_seconds": [round(t, 3) for t in starts],
        "fixture_ms_a_test": round(per_test_ms, 2),
        "target_ms_a_test": TARGET_MS_A_TEST,
        "start_seconds": round(start, 3),
        "target_start_seconds": TARGET_START_SECONDS,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fixture.json").write_text(json.dumps(result, indent=2) + "\n")
    verdicts = [
        "met" if per_test_ms <= TARGET_MS_A_TEST else "NOT met",
        "met" if start <= TARGET_START_SECONDS else "NOT met",
    ]
    (RESULTS / "fixture.md").write_text(
        f"Measured {result['measured']}: {TESTS} empty tests, {RUNS} runs each, interleaved: "
        f"{statistics.median(without):.2f} s without the `mockserver` fixture, "
        f"{statistics.median(with_fixture):.2f} s with it (medians). The fixture's setup and "
        f"teardown: **{per_test_ms:.1f} ms a test** (target ≤ {TARGET_MS_A_TEST:g} ms: "
        f"{verdicts[0]}). `MockServer().start()` to the first accepted request: "
        f"**{start:.2f} s** (target ≤ {TARGET_START_SECONDS:g} s: {verdicts[1]}).\n"
    )
    print((RESULTS / "fixture.md").read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
