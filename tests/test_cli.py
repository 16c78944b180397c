"""The ``mockserver`` command as a user runs it: a real process on a real socket."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import mockserver
from mockserver.cli import build_parser, main
from mockserver.serving import GRACEFUL_SHUTDOWN_SECONDS
from tests.conftest import LUCIDWORKS_HEADERS, ROOT, load_fixture


def test_help_lists_the_serve_command() -> None:
    help_text = build_parser().format_help()
    assert "serve" in help_text
    assert "start the mock server" in help_text


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([flag])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mockserver {mockserver.__version__}"


@pytest.mark.parametrize(
    ("command", "store"),
    [("serve", "default ./mockserver.db"), ("run", "default :memory:")],
)
def test_each_command_says_which_store_it_uses_by_default(
    command: str, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    assert store in " ".join(capsys.readouterr().out.split())


def test_serve_help_explains_flags_and_where_to_point_an_app(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["serve", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for expected in (
        "--db",
        "--neuralens-key",
        "--lucidworks-token",
        "MOCKSERVER_",
        "/analytics/event",
        "/ns/",
    ):
        assert expected in out


@pytest.mark.parametrize("command", ["serve", "validate", "run", "report"])
def test_each_command_help_shows_its_examples_cleanly(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert "examples:" in lines
    assert "\\" not in lines  # an epilog's line continuation printed as a stray backslash


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    process = _start(tmp_path, "--db", "events.db")
    assert process.stdout is not None
    first_line = process.stdout.readline()
    match = re.search(r"listening on (http://\S+)", first_line)
    assert match, first_line + (process.stderr.read() if process.stderr else "")
    try:
        yield match.group(1), tmp_path
    finally:
        process.terminate()
        process.communicate(timeout=10)  # reaps the process and closes its pipes


def test_serve_prints_its_urls_and_records_to_the_db_file(server: tuple[str, Path]) -> None:
    base, directory = server
    assert base.startswith("http://127.0.0.1:")
    _post_click(base)
    with urllib.request.urlopen(f"{base}/_mock/events", timeout=10) as response:
        assert json.load(response)["total"] == 1
    assert (directory / "events.db").is_file()


def test_serve_prints_the_dashboard_url_first(tmp_path: Path) -> None:
    process = _start(tmp_path, "--db", ":memory:")
    try:
        assert process.stdout is not None
        base = re.search(r"listening on (http://\S+)", process.stdout.readline())
        assert base
        assert process.stdout.readline().split() == ["dashboard", f"{base.group(1)}/_mock/ui/"]
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_the_descriptions_name_both_stores() -> None:
    # "records ... in SQLite" predates the PostgreSQL store.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for description in (build_parser().description, pyproject["project"]["description"]):
        assert "SQLite" in (description or "")
        assert "PostgreSQL" in (description or "")


def _post_click(base: str) -> None:
    body = json.dumps(load_fixture("lucidworks", "valid", "click-full.json")).encode()
    request = urllib.request.Request(
        f"{base}/retail/signals/click", data=body, headers=LUCIDWORKS_HEADERS, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


@pytest.mark.slow  # a real process
@pytest.mark.parametrize(("level", "logged"), [("info", True), ("warning", False)])
def test_each_request_is_logged_from_log_level_info(
    tmp_path: Path, level: str, logged: bool
) -> None:
    process = _start(tmp_path, "--db", ":memory:", "--log-level", level)
    assert process.stdout is not None
    match = re.search(r"listening on (http://\S+)", process.stdout.readline())
    assert match
    _post_click(match.group(1))
    process.terminate()
    stdout, _ = process.communicate(timeout=10)  # uvicorn writes access lines to stdout
    assert ('"POST /retail/signals/click HTTP/1.1" 202' in stdout) is logged, stdout


@pytest.mark.slow  # a real process
@pytest.mark.parametrize("workers", ["1", "2"])
def test_each_refused_request_prints_one_line_that_says_why(tmp_path: Path, workers: str) -> None:
    process = _start(tmp_path, "--db", "events.db", "--workers", workers)
    assert process.stdout is not None
    match = re.search(r"listening on (http://\S+)", process.stdout.readline())
    assert match
    base = match.group(1)
    _post_click(base)  # accepted: quiet at the default level
    signal = {**load_fixture("lucidworks", "valid", "click-full.json")[0], "sessionId": ""}
    del signal["visitorId"]
    refused = urllib.request.Request(
        f"{base}/ns/team-a/retail/signals/click",
        data=json.dumps([signal]).encode(),
        headers=LUCIDWORKS_HEADERS,
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(refused, timeout=10)
    error.value.close()
    process.terminate()
    _, stderr = process.communicate(timeout=10)
    lines = [line for line in stderr.splitlines() if line.startswith(("2", "4"))]
    assert lines == ["400 lucidworks click ns=team-a [0].visitorId required (+1 more)"], stderr


@pytest.mark.slow  # a real process
def test_a_pending_wait_ends_with_a_shutdown_and_says_so(tmp_path: Path) -> None:
    process = _start(tmp_path, "--db", ":memory:")
    assert process.stdout is not None
    match = re.search(r"listening on (http://\S+)", process.stdout.readline())
    assert match
    answers: list[tuple[int, str]] = []
    waiting = threading.Thread(
        target=lambda: answers.append(_get(f"{match.group(1)}/_mock/wait?count=1&timeout=300")),
        daemon=True,
    )
    waiting.start()
    time.sleep(0.5)  # the wait is in
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    waiting.join(timeout=10)
    # At once, not after the 2 s grace period (nor the 300 s the wait asked for), with an
    # answer, and no traceback of a cancelled request on the terminal.
    assert time.monotonic() - started < GRACEFUL_SHUTDOWN_SECONDS
    assert answers == [(503, '{"error":"mockserver is stopping: fewer than 1 events matched"}')]
    assert "Traceback" not in stderr, stderr
    assert "Cancel" not in stderr, stderr
    assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it ended on


@pytest.mark.slow  # a real process
def test_ctrl_c_stops_the_server_without_a_traceback(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--db", ":memory:"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal's Ctrl-C finds it (a test runner's child may ignore SIGINT)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "inspect" in line:  # the banner's last line: serving
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr, stderr
    assert process.returncode == 130


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


@pytest.mark.slow  # a real process
def test_serving_loads_nothing_of_the_client_side() -> None:
    # The server's resident memory is a budget (make bench): httpx and the client cost MiBs.
    probe = "import sys, mockserver.cli; print(sorted(m for m in sys.modules if 'httpx' in m))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


@pytest.mark.slow  # a real process
def test_serve_says_what_to_do_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert "choose another --port" in result.stderr


@pytest.mark.slow  # a real process
def test_serve_reports_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"MOCKSERVER_PORT": "eighty", "PATH": ""},
    )
    assert result.returncode == 2
    assert "MOCKSERVER_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_warns_when_exposed_without_an_admin_token(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--host", "0.0.0.0", "--port", "0",
         "--db", ":memory:"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert "listening on" in process.stdout.readline()
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "without --admin-token" in err


@pytest.mark.slow  # a real process
def test_an_admin_token_from_a_file_guards_and_stays_out_of_the_command_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "token").write_text("file-secret-1\n", encoding="utf-8")
    process = _start(tmp_path, "--db", ":memory:", "--admin-token-file", "token")
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (http://\S+)", process.stdout.readline())
        assert match
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"file-secret-1" not in command_line
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{match.group(1)}/_mock/events", timeout=10)
        assert refused.value.code == 401
        refused.value.close()
        request = urllib.request.Request(
            f"{match.group(1)}/_mock/events", headers={"Authorization": "Bearer file-secret-1"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_the_admin_token_is_never_stored(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from mockserver import Settings, create_app

    settings = Settings(db=str(tmp_path / "a.db"), admin_token="admin-secret-1")
    with TestClient(create_app(settings)) as client:
        client.get("/_mock/events", headers={"Authorization": "Bearer admin-secret-1"})
        client.get("/analytics/event", headers={"Authorization": "Bearer admin-secret-1"})
    assert b"admin-secret-1" not in (tmp_path / "a.db").read_bytes()


def test_a_wrong_fault_flag_stops_serve_and_names_what_is_wrong(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--db", ":memory:", "--fault", "lucidworks.click:status=418"]) == 2
    assert "status: must be one of 500, 502, 503, 504" in capsys.readouterr().err


@pytest.mark.slow  # a real pipe to a reader that leaves
def test_output_piped_into_a_reader_that_leaves_ends_without_a_traceback(tmp_path: Path) -> None:
    # More than a pipe holds (64 KiB), so the writer meets the closed pipe.
    bodies = tmp_path / "clicks.ndjson"
    invalid = (ROOT / "fixtures/lucidworks/invalid/click-currency-lowercase.json").read_text()
    bodies.write_text("".join(" ".join(invalid.split()) + "\n" for _ in range(2000)))
    result = subprocess.run(
        f"{sys.executable} -m mockserver validate --format json {bodies} | head -c 20",
        shell=True, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.stdout) == 20
