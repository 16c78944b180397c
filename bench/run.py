"""``make bench``: mockserver beside its peers, each in its fastest honest configuration, in
one interleaved run (bench/README.md says which configuration and why).

Each server runs on core 0 (taskset), the load generator (wrk) on core 1. Machines here are
noisy, so the results are read as ratios from the same run, measured cell by cell: every
server in turn on one scenario and concurrency, seconds apart. Every server is warmed up
first (the JVM compiles WireMock's hot paths only after thousands of requests). Writes
bench/results/latest.md and latest.json. BENCH_SECONDS sets each measurement's length.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
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
WARMUP_SECONDS = int(os.environ.get("BENCH_WARMUP_SECONDS", "10"))
CONCURRENCY = (1, 16, 64)
# A JVM peer is measured from its start in slices until it stops getting faster (its JIT at
# work): its first slice is published apart, as what a short CI job meets.
JVM_PEERS = ("wiremock",)
SLICE_SECONDS = int(os.environ.get("BENCH_SLICE_SECONDS", "10"))
PLATEAU_SECONDS = int(os.environ.get("BENCH_PLATEAU_SECONDS", "180"))
PLATEAU_TOLERANCE = 0.05
# Two slices alike are not enough alone: WireMock measured 1.4k, 2.7k, 2.9k, 2.8k req/s in its
# first 40 s and 8.7k in the cells after (2026-12-07); the performance issue saw it climb for
# about 100 s.
PLATEAU_MIN_SECONDS = int(os.environ.get("BENCH_PLATEAU_MIN_SECONDS", "120"))
COLD = f"click valid, first {SLICE_SECONDS} s"
SERVER_CORE, LOAD_CORE = "0", "1"
PRISM = ROOT / "bench" / ".prism" / "node_modules" / ".bin" / "prism"
WIREMOCK_JARS = ROOT / "bench" / ".wiremock" / "node_modules" / "wiremock" / "build"
GRANIAN = Path(sys.executable).parent / "granian"
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
# The peers mock the Lucidworks click spec only (mockserver's other scenarios have no peer).
PEER_SCENARIOS = ("click valid", "click invalid", "click batch of 100")


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
    # Its log goes to a file, never a pipe: mockserver prints a line a rejected request, and
    # a pipe nobody reads fills in a second and stops the server mid-run.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *command],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # a process group of its own: _alone pauses it whole
        )
        try:
            try:
                _wait_for(probe, process)
            except RuntimeError:
                log.seek(0)
                print(f"bench: {name} did not start:", log.read()[-2000:].decode(), file=sys.stderr)
                raise
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGCONT)  # paused servers must hear terminate
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def _alone(measured: subprocess.Popen[bytes], servers: list[Any]) -> Iterator[None]:
    """Every other server paused (SIGSTOP to its process group) while ``measured`` is: a
    JVM's collector and compiler threads, and any server's background work, ran on the
    server core during its neighbours' cells (WireMock with its journal grew to 1.5 GB and
    collected while the next server was measured)."""
    others = [process.pid for _, process, _, _ in servers if process is not measured]
    for pid in others:
        os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            os.killpg(pid, signal.SIGCONT)


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


def _wrk(
    url: str, script: Path, concurrency: int, seconds: int = SECONDS
) -> tuple[float, float, float, int]:
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
            f"{seconds}s",
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

    def add(name: str, command: list[str], port: int, scenarios: tuple[str, ...]) -> None:
        servers.append((name, command, f"http://127.0.0.1:{port}", scenarios))

    port = _free_port()
    add("mockserver", mockserver_command(port, workdir / "bench.db"), port, tuple(SCENARIOS))
    port = _free_port()
    bare = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]  # fmt: skip
    add("bare", bare, port, tuple(SCENARIOS))
    if GRANIAN.exists():
        # The same bare app on granian, in the configuration that measured fastest on one
        # core (a single-threaded runtime; its default, multi-threaded, was slower still).
        port = _free_port()
        granian = [str(GRANIAN), "--interface", "asgi", "--port", str(port), "--log-level",
                   "warning", "--no-access-log", "--runtime-mode", "st", "--runtime-threads",
                   "1", "bench.bare_app:app"]  # fmt: skip
        add("bare granian", granian, port, ("click valid",))
    else:
        _missing("granian", "pip install granian")
    if PRISM.exists():
        port = _free_port()
        # Quiet: at its default level Prism logs every request, which halves its throughput.
        prism = [str(PRISM), "mock", str(CLICK_SPEC), "-p", str(port), "--errors",
                 "-v", "silent"]  # fmt: skip
        add("prism", prism, port, PEER_SCENARIOS)
    else:
        _missing("Prism", "npm install --prefix bench/.prism @stoplight/prism-cli@5")
    jars = sorted(WIREMOCK_JARS.glob("wiremock-standalone-*.jar"))
    if jars and shutil.which("java"):
        for journal in (False, True):
            port = _free_port()
            root = workdir / f"wiremock-{journal}"
            _wiremock_mappings(root)
            java = ["java", "-jar", str(jars[-1]), "--port", str(port), "--root-dir", str(root),
                    "--disable-banner"]  # fmt: skip
            name = "wiremock journal" if journal else "wiremock"
            add(name, java if journal else [*java, "--no-request-journal"], port, PEER_SCENARIOS)
    else:
        _missing("WireMock", "npm install --prefix bench/.wiremock wiremock; Java: "
                 "apt-get install default-jre-headless")  # fmt: skip
    return servers


def _missing(peer: str, how: str) -> None:
    print(f"bench: {peer} is not installed (make bench installs it: {how})", file=sys.stderr)


def _wiremock_mappings(root: Path) -> None:
    """WireMock as people set it up to validate: the click body against the spec's JSON Schema
    (WireMock's matchesJsonSchema), 202 when it matches, 400 otherwise."""
    from mockserver.settings import Settings
    from mockserver.validation import load_contracts

    schema = load_contracts(Settings().schema_dir).lucidworks["click"].body_schema
    path = "/retail/signals/click"
    valid = {
        "priority": 1,
        "request": {"method": "POST", "url": path,
                    "bodyPatterns": [{"matchesJsonSchema": schema, "schemaVersion": "V4"}]},
        "response": {"status": 202},
    }  # fmt: skip
    invalid = {
        "priority": 10,
        "request": {"method": "POST", "url": path},
        "response": {"status": 400, "body": "INVALID REQUEST"},
    }
    (root / "mappings").mkdir(parents=True)
    (root / "mappings" / "click.json").write_text(json.dumps({"mappings": [valid, invalid]}))


def _warm_up(servers: list[tuple[str, Any, str, tuple[str, ...]]], workdir: Path) -> None:
    for name in ("click valid", "click invalid"):
        path, headers, body, _ = SCENARIOS[name]
        script = workdir / "warm-up.lua"
        _wrk_script(script, headers, body)
        for server, _, base, _ in servers:
            if not server.startswith(JVM_PEERS):  # warmed to their plateau already
                _wrk(base + path, script, 16, WARMUP_SECONDS // 2 or 1)


def _to_plateau(
    server: str, process: subprocess.Popen[bytes], base: str, workdir: Path
) -> tuple[Result, list[float]]:
    """A JVM peer from its start: its first slice (valid clicks at c=16, what a short CI job
    meets) as a result of its own, then slices until two in a row are within
    PLATEAU_TOLERANCE of each other (the JIT has compiled its hot paths), or PLATEAU_SECONDS
    in all (and not before PLATEAU_MIN_SECONDS). Returns the cold result and every slice's
    req/s."""
    path, headers, body, _ = SCENARIOS["click valid"]
    script = workdir / "plateau.lua"
    _wrk_script(script, headers, body)
    rps, p50, p99, errors = _wrk(base + path, script, 16, SLICE_SECONDS)
    cold = Result(
        server, COLD, 16, round(rps, 1), round(rps, 1), p50, p99, errors, _rss_mib(process.pid)
    )
    slices = [rps]
    while len(slices) * SLICE_SECONDS < PLATEAU_SECONDS:
        slices.append(_wrk(base + path, script, 16, SLICE_SECONDS)[0])
        settled = abs(slices[-1] - slices[-2]) <= PLATEAU_TOLERANCE * slices[-2]
        if settled and len(slices) * SLICE_SECONDS >= PLATEAU_MIN_SECONDS:
            break
    print(f"  {server:12} slices to plateau (req/s): {', '.join(f'{r:.0f}' for r in slices)}")
    return cold, slices


def main() -> int:
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is missing; `make bench` installs it", file=sys.stderr)
            return 2
    results: list[Result] = []
    plateaus: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as running:
        workdir = Path(tmp)
        servers = []
        for server, command, base, names in _commands(workdir):
            probe = base + ("/_mock/health" if server == "mockserver" else "/retail/signals/click")
            if server.startswith("wiremock"):
                probe = base + "/__admin/health"
            process = running.enter_context(_server(server, command, probe))
            servers.append((server, process, base, names))
            if server.startswith(JVM_PEERS):
                with _alone(process, servers):
                    cold, slices = _to_plateau(server, process, base, workdir)
                results.append(cold)
                plateaus[server] = slices
        _warm_up(servers, workdir)
        # Cell by cell, every server in turn: the servers being compared are measured seconds
        # apart, not minutes, so the machine's drift hardly moves the ratios.
        for name, (path, headers, body, _) in SCENARIOS.items():
            script = workdir / f"{name.replace(' ', '-')}.lua"
            _wrk_script(script, headers, body)
            for concurrency in CONCURRENCY:
                for server, process, base, names in servers:
                    if name in names:
                        with _alone(process, servers):
                            results.append(
                                _measure(server, process, base + path, name, concurrency, script)
                            )
    _write(sorted(results, key=lambda r: [s for s, *_ in servers].index(r.server)), plateaus)
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


def _write(results: list[Result], plateaus: dict[str, list[float]]) -> None:
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
    valid16 = {r.server: r for r in results if (r.scenario, r.concurrency) == ("click valid", 16)}
    ratios = {
        "mockserver / prism (quiet), click valid, c=16": _ratio(mock16, valid16.get("prism")),
        "mockserver / wiremock (journal off), click valid, c=16": _ratio(
            mock16, valid16.get("wiremock")
        ),
        "mockserver / wiremock (journal on), click valid, c=16": _ratio(
            mock16, valid16.get("wiremock journal")
        ),
        f"mockserver / wiremock (journal off) {COLD}": _ratio(
            mock16, _lookup(results, "wiremock", COLD, 16)
        ),
        "mockserver / bare starlette on uvicorn, click valid, c=16": _ratio(
            mock16, valid16.get("bare")
        ),
        "bare starlette on granian / on uvicorn, c=16": _ratio(
            valid16.get("bare granian"), valid16.get("bare")
        ),
        "mockserver invalid / valid, c=16": _ratio(
            _lookup(results, "mockserver", "click invalid", 16), mock16
        ),
    }
    mock1 = _lookup(results, "mockserver", "click valid", 1)
    mock_rss = max((r.rss_mib for r in results if r.server == "mockserver"), default=None)
    batch = _lookup(results, "mockserver", "click batch of 100", 16)
    targets = _targets(ratios, mock1, mock16, batch, mock_rss)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "date": when,
                "machine": machine,
                "seconds": SECONDS,
                "ratios": ratios,
                "mockserver_p50_ms_c1": mock1.p50_ms if mock1 else None,
                "mockserver_max_rss_mib": mock_rss,
                "plateau_slices_rps": plateaus,
                "targets": targets,
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
        "| target (the performance issue's) | wanted | measured | met |",
        "|---|---:|---:|---|",
        *[f"| {t['measure']} | {t['wanted']} | {t['measured']} | {t['met']} |" for t in targets],
        "",
        *[
            f"{server} from its start, {SLICE_SECONDS} s slices of valid clicks at c=16 until "
            f"two in a row were within {PLATEAU_TOLERANCE:.0%}: "
            + ", ".join(f"{r:.0f}" for r in slices)
            + " req/s."
            for server, slices in plateaus.items()
        ],
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
    (RESULTS / "readme.md").write_text(_readme_table(when, machine, ratios, mock1, mock_rss))


def _targets(
    ratios: dict[str, float | None],
    mock1: Result | None,
    mock16: Result | None,
    batch: Result | None,
    rss: float | None,
) -> list[dict[str, str]]:
    """Each target of the performance issue, what this run measured, and whether it is met."""
    rows = []

    def add(measure: str, wanted: str, value: float | None, unit: str, met: bool | None) -> None:
        measured = "n/a" if value is None else f"{value:,.2f}{unit}"
        verdict = "n/a" if met is None else ("yes" if met else "no")
        rows.append({"measure": measure, "wanted": wanted, "measured": measured, "met": verdict})

    def at_least(value: float | None, floor: float) -> bool | None:
        return None if value is None else value >= floor

    def at_most(value: float | None, ceiling: float) -> bool | None:
        return None if value is None else value <= ceiling

    plateau = ratios["mockserver / wiremock (journal off), click valid, c=16"]
    add(
        "valid click c=16 / wiremock at its plateau", "≥ 1.0×", plateau, "×", at_least(plateau, 1.0)
    )
    prism = ratios["mockserver / prism (quiet), click valid, c=16"]
    add("valid click c=16 / quiet prism", "≥ 5×", prism, "×", at_least(prism, 5.0))
    cold = ratios[f"mockserver / wiremock (journal off) {COLD}"]
    add(f"valid click c=16 / wiremock {COLD}", "≥ 5×", cold, "×", at_least(cold, 5.0))
    events = batch.events_per_second if batch else None
    add("batch of 100 clicks, c=16", "≥ 60,000 events/s", events, "", at_least(events, 60_000))
    p50 = mock1.p50_ms if mock1 else None
    add("p50 at c=1", "≤ 0.25 ms", p50, " ms", at_most(p50, 0.25))
    p99 = mock16.p99_ms if mock16 else None
    add("p99 at c=16", "≤ 5 ms", p99, " ms", at_most(p99, 5.0))
    invalid = ratios["mockserver invalid / valid, c=16"]
    add("invalid / valid, c=16", "≥ 0.8×", invalid, "×", at_least(invalid, 0.8))
    add("RSS, highest of any cell", "≤ 60 MiB", rss, " MiB", at_most(rss, 60.0))
    return rows


def _readme_table(
    when: str, machine: str, ratios: dict[str, float | None], mock1: Result | None,
    rss: float | None,
) -> str:  # fmt: skip
    """The README's performance table, from this run only (tests/test_readme.py checks that
    the README quotes it as written here)."""
    rows = [f"| {name} | {'n/a' if value is None else f'{value:.2f}×'} |"
            for name, value in ratios.items()]  # fmt: skip
    if mock1 is not None:
        rows.append(f"| mockserver p50 latency, click valid, c=1 | {mock1.p50_ms:.2f} ms |")
    if rss is not None:
        rows.append(f"| mockserver RSS, highest of any cell | {rss:.1f} MiB |")
    return (
        f"Latest full run: {when}, {machine}; each server on one core, wrk on the other.\n\n"
        "| measured in the same run | value |\n|---|---:|\n" + "\n".join(rows) + "\n"
    )


if __name__ == "__main__":
    sys.exit(main())
