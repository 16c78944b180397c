"""Each Lucidworks profile against the Go libraries it stands for (``tests/goref``).

Thousands of seeded, mutated click bodies (``tests/goref/bodies.py``) go to the mock and to the
Go reference in the matching configuration:

- ``strict``: every layer on (kin-openapi request validation without its defaults, the
  decoder refusing trailing data, the validator with ``dive`` into productDetails), with
  ipAddress optional as documented ("extracted from the request" when absent);
- ``lenient``: the generated types' decoder (``Decoder.Decode``) and validator only, with
  ipAddress optional as documented.

The bare generated code (``ip`` on a nil ipAddress, no ``-ip-optional``) is measured too, as a
variant no profile follows: it refuses exactly the bodies whose signals leave ipAddress out or
send it null, and nothing else.

A profile must accept exactly what its configuration accepts, except where docs/validation.md
lists a difference with its reason (``STRICT_ONLY``). Any other disagreement fails and names
the body. No body may make the mock answer 5xx in either profile. ``make test`` sends
MOCKSERVER_GOREF_BODIES (default 800); CI sends 5,333.

Needs Go and Debian's golang-github-go-playground-validator-v10-dev and
golang-github-getkin-kin-openapi-dev (``.ci/run`` installs them); without them the test is
skipped on a workstation and fails in CI.
"""

from __future__ import annotations

import base64
import contextlib
import operator
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import MockServer, Settings, SqliteStore, create_app
from mockserver.cli import main
from mockserver.validation import LucidworksContract, load_contracts
from mockserver.validation.contracts import Profile
from mockserver.validation.errors import FieldError
from mockserver.validation.profiles import STRICT_ONLY
from mockserver.vendors.registry import ANALYTICS
from tests.conftest import LUCIDWORKS_HEADERS, ROOT
from tests.goref.bodies import bodies

pytestmark = pytest.mark.slow

GOREF = ROOT / "tests" / "goref"
GOPATH = Path("/usr/share/gocode")
SPEC = ROOT / "schemas" / "lucidworks" / "lucidworks-signals-click.openapi.yaml"
COUNT = int(os.environ.get("MOCKSERVER_GOREF_BODIES", "800"))
SEED = 20261130

CONFIGURATIONS = {
    "strict": ["-openapi=true", "-defaults=false", "-dive=true", "-ip-optional"],
    "lenient": ["-openapi=false", "-dive=false", "-trailing", "-ip-optional"],
    # What the generated code alone would do with a nil ipAddress: documented, followed by none.
    "bare-generated-ip": ["-openapi=true", "-defaults=false", "-dive=true", "-ip-optional=false"],
}
# What both profiles refuse and Go does not: nesting deeper than Python walks (Go: 10,000).
BOTH = {"depth"}
# What the strict profile refuses although every Go layer accepts it, on purpose: the rules of
# docs/validation.md's profiles table that rest on the documentation or on the layers reading
# one body differently, rather than on a Go layer lenient leaves out.
GO_ACCEPTS = tuple(rule for rule in STRICT_ONLY if rule.go_accepts)


def documented(profile: str, errors: tuple[FieldError, ...]) -> bool:
    """Whether the mock's refusal of a body Go accepts is a documented difference: every
    error is one of the profile's own rules, or follows from one (a key matched only
    case-insensitively leaves its field absent for the layers after it; of a repeated key,
    strict's later layers check the last value, where Go's decoder may keep an earlier one)."""
    follow_on = {
        e.path.lower() for e in errors if e.rule in ("case-insensitive-key", "duplicate-key")
    }

    def explained(error: FieldError) -> bool:
        strict_only = profile == "strict" and any(rule.claims(error) for rule in GO_ACCEPTS)
        return error.rule in BOTH or strict_only or error.path.lower() in follow_on

    return bool(errors) and all(explained(e) for e in errors)


@pytest.fixture(scope="session")
def goref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/github.com/getkin/kin-openapi").is_dir():
        message = (
            "the Go reference needs Go and Debian's Go libraries: apt-get install golang-go "
            "golang-github-go-playground-validator-v10-dev golang-github-getkin-kin-openapi-dev"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    binary = tmp_path_factory.mktemp("goref") / "goref"
    env = {**os.environ, "GOPATH": str(GOPATH), "GO111MODULE": "off", "GOFLAGS": ""}
    if "HOME" not in env and "XDG_CACHE_HOME" not in env:
        env.setdefault("GOCACHE", str(tmp_path_factory.mktemp("gocache")))
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=GOREF, env=env, check=True)
    return binary


@pytest.fixture(scope="module")
def sent() -> list[bytes]:
    return list(bodies(SEED, COUNT))


def go_verdicts(binary: Path, profile: str, sent: list[bytes]) -> list[tuple[int, str]]:
    lines = "".join(base64.b64encode(body).decode() + "\n" for body in sent)
    answer = subprocess.run(
        [str(binary), "-spec", str(SPEC), "-batch", *CONFIGURATIONS[profile]],
        input=lines, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    verdicts = []
    for line in answer.stdout.splitlines():
        status, _, reason = line.partition(" ")
        verdicts.append((int(status), reason.split(" Schema:")[0][:300]))
    assert len(verdicts) == len(sent)
    return verdicts


@pytest.mark.parametrize("profile", ["strict", "lenient"])
def test_each_profile_accepts_what_its_go_reading_accepts(
    goref: Path, sent: list[bytes], profile: Profile
) -> None:
    click = load_contracts(Settings().schema_dir, profile).lucidworks["click"]
    disagreements = []
    both_accept = both_refuse = 0
    for body, (status, reason) in zip(sent, go_verdicts(goref, profile, sent), strict=True):
        errors = click.validate(body).errors
        mock_accepts, go_accepts = not errors, status == 202
        both_accept += mock_accepts and go_accepts
        both_refuse += not mock_accepts and not go_accepts
        if mock_accepts == go_accepts:
            continue
        if documented(profile, errors):
            continue
        mock = "; ".join(f"{e.rule} at {e.path}" for e in errors) or "accepted"
        go = reason or "accepted"
        disagreements.append(f"{body[:300]!r}\n    mock: {mock}\n    go: {go}")
    assert not disagreements, (
        f"{len(disagreements)} of {len(sent)} bodies judged otherwise than Go "
        f"({profile}):\n" + "\n".join(disagreements[:40])
    )
    # Not a vacuous agreement: both verdicts are common.
    assert both_accept > len(sent) // 5
    assert both_refuse > len(sent) // 5


def _leaves_out_or_nulls_ip_address(lenient: LucidworksContract, body: bytes) -> bool:
    value = lenient.validate(body).value  # as Go's decoder reads it: any key case, bad bytes
    if value is None:  # nested deeper than Python walks: the bytes say it
        text = body.lower()
        return b'"ipaddress":' not in text or b'"ipaddress":null' in text
    signals = value if isinstance(value, list) else []
    return any(isinstance(s, dict) and s.get("ipAddress") is None for s in signals)


def test_the_bare_generated_code_also_refuses_an_absent_or_null_ip_address(
    goref: Path, sent: list[bytes]
) -> None:
    """A documented variant no profile follows: the generated ``ip`` tag without omitempty
    fails a nil pointer. It differs from strict's configuration on exactly the bodies that
    leave ipAddress out (or send null, which kin-openapi refuses first anyway)."""
    lenient = load_contracts(Settings().schema_dir, "lenient").lucidworks["click"]
    strict, bare = go_verdicts(goref, "strict", sent), go_verdicts(goref, "bare-generated-ip", sent)
    only_bare = [body for body, s, b in zip(sent, strict, bare, strict=True) if s[0] == 202 != b[0]]
    assert all(s[0] == 202 for s, b in zip(strict, bare, strict=True) if b[0] == 202)
    unexplained = [
        body for body in only_bare
        if not _leaves_out_or_nulls_ip_address(lenient, body)
    ]  # fmt: skip
    assert not unexplained, unexplained[:5]
    assert len(only_bare) > len(sent) // 50  # bodies without ipAddress are common enough


@pytest.fixture(params=["strict", "lenient"])
def profile_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(db=str(tmp_path / "mock.db"), profile=request.param)
    store = SqliteStore(settings.db, ANALYTICS)
    app = create_app(settings, store, load_contracts(settings.schema_dir, request.param))
    with TestClient(app) as client:
        yield client
    store.close()


def test_no_body_makes_either_profile_fail(profile_client: TestClient, sent: list[bytes]) -> None:
    post = profile_client.post
    statuses = {
        post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS).status_code
        for body in sent
    }
    assert statuses <= {202, 400}, statuses


def test_the_reference_also_serves_http(goref: Path) -> None:
    port = _free_port()
    server = subprocess.Popen([str(goref), "-spec", str(SPEC), "-listen", f"127.0.0.1:{port}"])
    try:
        url = f"http://127.0.0.1:{port}/retail/signals/click"
        valid = (ROOT / "fixtures/lucidworks/valid/click-full.json").read_bytes()
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = httpx.post(url, content=valid, headers=LUCIDWORKS_HEADERS)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the Go reference did not start"
                time.sleep(0.05)
        assert answer.status_code == 202
        wrong = httpx.post(url, content=b'[{"timestamp": "1"}]', headers=LUCIDWORKS_HEADERS)
        assert wrong.status_code == 400
        assert "timestamp" in wrong.text
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def go_serving(goref: Path, configuration: str) -> Iterator[str]:
    """The Go reference over HTTP, in one of CONFIGURATIONS: its base URL."""
    port = _free_port()
    command = [str(goref), "-spec", str(SPEC), "-listen", f"127.0.0.1:{port}"]
    server = subprocess.Popen([*command, *CONFIGURATIONS[configuration]])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Go reference did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


SHADOWED = 200  # bodies sent through a mock whose upstream is the Go reference


@pytest.mark.parametrize("mode", ["shadow", "passthrough"])
@pytest.mark.parametrize("upstream", ["strict", "lenient"])
def test_against_go_as_the_upstream_the_disagreements_are_exactly_those_known_in_advance(
    goref: Path, sent: list[bytes], upstream: str, mode: str
) -> None:
    """Shadow mode (vendors/upstream.py) with Go as the real service: a strict mock disagrees
    with Go on exactly the bodies the two verdicts, worked out beforehand, part on; the
    client gets the mock's verdict in shadow mode and Go's in passthrough."""
    bodies = sent[:SHADOWED]
    click = load_contracts(Settings().schema_dir, "strict").lucidworks["click"]
    mock_accepts = [not click.validate(body).errors for body in bodies]
    go_accepts = [status == 202 for status, _ in go_verdicts(goref, upstream, bodies)]
    expected = [b for b, m, g in zip(bodies, mock_accepts, go_accepts, strict=True) if m != g]
    assert expected if upstream == "lenient" else True  # not vacuous where they part
    with go_serving(goref, upstream) as url:
        settings = Settings(upstreams=(f"lucidworks={url}",), upstream_mode=mode)
        with MockServer(settings) as mock, httpx.Client() as http:
            replies = [
                http.post(f"{mock.url}/retail/signals/click", content=body,
                          headers=LUCIDWORKS_HEADERS).status_code
                for body in bodies
            ]  # fmt: skip
            with mock.client() as inspect:
                # in the order sent: shadow calls overlap, and are stored as each ends
                by_request = operator.itemgetter("request_id")  # a counter, in hex
                calls = sorted(inspect.upstream_calls(limit=1000), key=by_request)
                found = sorted(inspect.disagreements(limit=1000), key=by_request)
    client_got = go_accepts if mode == "passthrough" else mock_accepts
    assert [status == 202 for status in replies] == client_got
    assert [call["upstream_status"] == 202 for call in calls] == go_accepts
    assert [call["body"].encode("utf-8") for call in found] == [
        body.decode("utf-8", "replace").encode("utf-8") for body in expected
    ]


@pytest.mark.parametrize("configuration", ["strict", "lenient"])
def test_probe_names_the_reading_each_go_configuration_follows(
    goref: Path, configuration: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mockserver probe`` against Go: in strict's configuration each rule reads strict but
    where every Go layer accepts what it refuses (``go_accepts``); in lenient's, all lenient."""
    rules = {rule.name: rule for rule in STRICT_ONLY}
    with go_serving(goref, configuration) as url:
        report = tmp_path / "probe.md"
        argv = ["probe", "--upstream", url, "--lucidworks-token", "t", "--yes", "--markdown"]
        assert main([*argv, str(report)]) == 0
    text = report.read_text()
    assert text == capsys.readouterr().out
    found = dict(re.findall(r"^\| (\S+(?: \S+)?) \| \d+ \| (\w+) \|$", text, re.MULTILINE))
    expected = {
        name: "lenient" if configuration == "lenient" or rules[name].go_accepts else "strict"
        for name in found
        if name in rules
    }
    assert {name: found[name] for name in expected} == expected
    assert len(expected) >= 8  # every Lucidworks rule of the profiles table is probed
    assert (found["(both accept)"], found["(both refuse)"]) == ("agrees", "agrees")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
