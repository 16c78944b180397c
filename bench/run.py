"""``make bench``: mockserver beside Stoplight Prism and a bare Starlette app, in one run.

Each server runs on core 0 (taskset), the load generator (wrk) on core 1. Machines here are
noisy, so the results are read as ratios to Prism and to bare Starlette from the same run.
Writes bench/results/latest.md and latest.json. BENCH_SECONDS sets each measurement's length.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
CONCURRENCY = (1, 16, 64)
SERVER_CORE, LOAD_CORE = "0", "1"
PRISM = ROOT / "bench" / ".prism" / "node_modules" / ".bin" / "prism"
CLICK_SPEC = ROOT / "schemas" / "lucidworks" / "lucidworks-signals-click.openapi.yaml"

LUCIDWORKS_HEADERS = {
    "Authorization": "bench-token",
    "Accept": "application/json",
    "Content-Type": "application/json",
}
NEURALENS_HEADERS = {
    "X-Neuralens-API-Key": "Bearer bench-key",
    "X-Neuralens-Application-ID": "bench",
    "Content-Type": "application/json",
}


def _fixture(vendor: str, kind: str, name: str) -> Any:
    return json.loads((ROOT / "fixtures" / vendor / kind / name).read_bytes())


CLICK = _fixture("lucidworks", "valid", "click-full.json")
SCENARIOS: dict[str, tuple[str, dict[str, str], Any, int]] = {
    # name: (path, headers, body, events a request)
    "click valid": ("/retail/signals/click", LUCIDWORKS_HEADERS, CLICK, 1),
    "click invalid": (
        "/retail/signals/click",
        LUCIDWORKS_HEADERS,
        [{**CLICK[0], "ipAddress": "111.222.333", "timestamp": 1.0}],
        0,
    ),
    "neuralens event": (
        "/analytics/event",
        NEURALENS_HEADERS,
        _fixture("neuralens", "valid", "click-product-docs-example-fixed.json"),
        1,
    ),
    "click batch of 100": ("/retail/signals/click", LUCIDWORKS_HEADERS, CLICK * 100, 100),
}
PRISM_SCENARIOS = ("click valid", "click invalid", "click batch of 100")


@dataclass
class Result:
    server: str
    scenario: str
    concurrency: int
    requests_per_second: float
    events_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    rss_mib: float


def mockserver_command(port: int, db: Path | str) -> list[str]:
    return [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--db", str(db)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - loopback
            return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def _server(name: str, command: list[str], probe: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_for(probe, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stderr:
            process.stderr.close()


def _rss_mib(pid: int) -> float:
    """Resident memory of the process and its children (Prism runs under a node launcher)."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{candidate}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return round(total / 1024, 1)


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in found] + [
        grand for child in found for grand in _children(int(child))
    ]


def _wrk_script(path: Path, headers: dict[str, str], body: object) -> None:
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        return float("nan")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _percentile(output: str, which: str) -> float:
    # Anchored to its own line: "Req/Sec ... 72.50%" also contains "50%".
    match = re.search(rf"^\s+{which}%\s+(\S+)\s*$", output, re.M)
    return _duration_ms(match.group(1)) if match else float("nan")


def _wrk(url: str, script: Path, concurrency: int) -> tuple[float, float, float, int]:
    threads = min(concurrency, 2)
    output = subprocess.run(
        [
            "taskset",
            "-c",
            LOAD_CORE,
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(concurrency),
            "-d",
            f"{SECONDS}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50, p99 = _percentile(output, "50"), _percentile(output, "99")
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = sum(map(int, socket_errors.groups())) if socket_errors else 0
    return rps, p50, p99, errors


def _measure(
    server: str,
    process: subprocess.Popen[bytes],
    url: str,
    name: str,
    concurrency: int,
    script: Path,
) -> Result:
    events = SCENARIOS[name][3]
    rps, p50, p99, errors = _wrk(url, script, concurrency)
    row = Result(
        server,
        name,
        concurrency,
        round(rps, 1),
        round(rps * events, 1),
        p50,
        p99,
        errors,
        _rss_mib(process.pid),
    )
    print(
        f"  {server:12} {name:20} c={concurrency:<3} {rps:9.0f} req/s "
        f"p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  rss {row.rss_mib} MiB",
        flush=True,
    )
    return row


def _commands(workdir: Path) -> list[tuple[str, list[str], str, tuple[str, ...]]]:
    """Each server: its name, command, the URL that answers once it is up, its scenarios."""
    servers = []
    port = _free_port()
    serve = mockserver_command(port, workdir / "bench.db")
    servers.append(("mockserver", serve, f"http://127.0.0.1:{port}", tuple(SCENARIOS)))
    port = _free_port()
    bare = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]  # fmt: skip
    servers.append(("bare", bare, f"http://127.0.0.1:{port}", tuple(SCENARIOS)))
    if PRISM.exists():
        port = _free_port()
        prism = [str(PRISM), "mock", str(CLICK_SPEC), "-p", str(port), "--errors"]
        servers.append(("prism", prism, f"http://127.0.0.1:{port}", PRISM_SCENARIOS))
    else:
        print(
            "bench: Prism is not installed (make bench installs it); measuring without it",
            file=sys.stderr,
        )
    return servers


def main() -> int:
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is missing; `make bench` installs it", file=sys.stderr)
            return 2
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as running:
        workdir = Path(tmp)
        servers = []
        for server, command, base, names in _commands(workdir):
            probe = base + ("/_mock/health" if server == "mockserver" else "/retail/signals/click")
            process = running.enter_context(_server(server, command, probe))
            servers.append((server, process, base, names))
        # Cell by cell, every server in turn: the servers being compared are measured seconds
        # apart, not minutes, so the machine's drift hardly moves the ratios.
        for name, (path, headers, body, _) in SCENARIOS.items():
            script = workdir / f"{name.replace(' ', '-')}.lua"
            _wrk_script(script, headers, body)
            for concurrency in CONCURRENCY:
                results += [
                    _measure(server, process, base + path, name, concurrency, script)
                    for server, process, base, names in servers
                    if name in names
                ]
    _write(sorted(results, key=lambda r: [s for s, *_ in servers].index(r.server)))
    return 0


def _lookup(results: list[Result], server: str, scenario: str, concurrency: int) -> Result | None:
    return next(
        (
            r
            for r in results
            if (r.server, r.scenario, r.concurrency) == (server, scenario, concurrency)
        ),
        None,
    )


def _ratio(a: Result | None, b: Result | None) -> float | None:
    return (
        round(a.requests_per_second / b.requests_per_second, 2)
        if a and b and b.requests_per_second
        else None
    )


def _write(results: list[Result]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    machine = f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    mock16 = _lookup(results, "mockserver", "click valid", 16)
    ratios = {
        "mockserver / prism, click valid, c=16": _ratio(
            mock16, _lookup(results, "prism", "click valid", 16)
        ),
        "mockserver / bare starlette, click valid, c=16": _ratio(
            mock16, _lookup(results, "bare", "click valid", 16)
        ),
        "mockserver invalid / valid, c=16": _ratio(
            _lookup(results, "mockserver", "click invalid", 16), mock16
        ),
    }
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "date": when,
                "machine": machine,
                "seconds": SECONDS,
                "ratios": ratios,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
        + "\n"
    )
    lines = [
        f"Measured {when} on {machine}; {SECONDS} s a cell; servers on one core, wrk on the other.",
        "",
        "| ratio | value |",
        "|---|---:|",
        *[f"| {k} | {v if v is not None else 'n/a'} |" for k, v in ratios.items()],
        "",
        "| server | scenario | c | req/s | events/s | p50 ms | p99 ms | RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.server} | {r.scenario} | {r.concurrency} | {r.requests_per_second:.0f} "
        f"| {r.events_per_second:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.rss_mib} |"
        for r in results
    ]
    (RESULTS / "latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
