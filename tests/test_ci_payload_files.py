"""``mockserver validate``: offline checks, exit codes and outputs, as a CI job runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.ci.payload_files import Payload, UsageError, infer_target, read_payloads
from mockserver.cli import main
from tests.conftest import FIXTURES

VALID_CLICK = FIXTURES / "lucidworks" / "valid" / "click-full.json"
DOCS_QUERY = FIXTURES / "lucidworks" / "invalid" / "query-docs-example.json"
VALID_EVENT = FIXTURES / "neuralens" / "valid" / "anonymous-user.json"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(["validate", *args])
    except SystemExit as exit_info:  # argparse's own usage errors
        code = int(exit_info.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_all_valid_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(VALID_CLICK), str(VALID_EVENT))
    assert code == 0
    assert "checked 2 payloads: 2 valid, 0 invalid" in out


def test_any_invalid_exits_1_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(VALID_CLICK), str(DOCS_QUERY))
    assert code == 1
    assert f"INVALID {DOCS_QUERY}  (lucidworks query)" in out
    assert "$[0].ipAddress  [validator/ip]" in out


def test_json_format_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--format", "json", str(DOCS_QUERY))
    report = json.loads(out)
    assert code == 1
    assert (report["checked"], report["valid"], report["invalid"]) == (1, 0, 1)
    assert report["results"][0]["errors"][0] == {
        "path": "$[0].ipAddress",
        "rule": "ip",
        "layer": "validator",
        "message": "ipAddress must be an IPv4 or IPv6 address that Go's net.ParseIP accepts",
    }


def test_ndjson_is_one_body_a_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps(json.loads(VALID_EVENT.read_bytes())), "", '{"event": "SHOUT"}']
    source = tmp_path / "events.ndjson"
    source.write_text("\n".join(lines) + "\n")
    code, out, _ = _run(capsys, str(source))
    assert code == 1
    assert f"valid   {source}:1" in out
    assert f"INVALID {source}:3" in out


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (["missing.json"], "cannot read missing.json"),
        (["--endpoint", "pageview", "x.json"], "invalid choice"),
        (["--profile", "loose", "x.json"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], usage: list[str], message: str
) -> None:
    code, _, err = _run(capsys, *usage)
    assert code == 2
    assert message in err


def test_an_ambiguous_endpoint_exits_2_and_says_which_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    basket = tmp_path / "basket.json"
    basket.write_text(json.dumps([{"cartId": "7f626d8c-4176-4f55-b17d-e89531e92ef7"}]))
    code, out, _ = _run(capsys, str(basket))
    assert code == 2
    assert f"UNCHECKED {basket}" in out
    assert "--endpoint cartadd or --endpoint purchase" in out
    code, out, _ = _run(capsys, "--endpoint", "cartadd", str(basket))
    assert code == 1
    assert "(lucidworks cartadd)" in out


def test_a_file_that_cannot_be_classified_is_reported_and_the_rest_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = tmp_path / "number.json"
    number.write_text("42")
    code, out, _ = _run(capsys, str(number), str(VALID_CLICK))
    assert code == 2  # nothing invalid, but one file was not checked
    assert f"UNCHECKED {number}  {number}: cannot tell the vendor" in out
    assert f"valid   {VALID_CLICK}  (lucidworks click)" in out
    assert "checked 2 payloads: 1 valid, 0 invalid, 1 could not be checked" in out
    code, out, _ = _run(capsys, str(number), str(DOCS_QUERY))
    assert code == 1  # an invalid payload is the failure that matters
    assert f"INVALID {DOCS_QUERY}" in out


def test_a_payload_the_server_would_refuse_as_too_large_is_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "--max-body-bytes", "100", str(VALID_CLICK))
    assert code == 1
    size = VALID_CLICK.stat().st_size
    assert f"$  [http/body-too-large]  the body is {size} bytes, over the limit of 100" in out
    code, out, _ = _run(capsys, "--format", "json", str(VALID_CLICK))
    assert (code, json.loads(out)["valid"]) == (0, 1)


def test_the_lenient_profile_is_available_offline(capsys: pytest.CaptureFixture[str]) -> None:
    mismatch = FIXTURES / "lucidworks" / "invalid" / "click-key-case-mismatch.json"
    assert _run(capsys, str(mismatch))[0] == 1
    assert _run(capsys, "--profile", "lenient", str(mismatch))[0] == 0


@pytest.mark.slow  # a real process
def test_standard_input(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "validate", "-"],
        input=VALID_CLICK.read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"valid   -  (lucidworks click)" in result.stdout


@pytest.mark.parametrize(
    ("name", "body", "target"),
    [
        ("a.json", b'{"event": "VIEW_PRODUCT"}', ("neuralens", "event")),
        ("a.json", b'{"uid": 1,}', ("neuralens", "event")),
        ("a.json", b'[{"selectedPosition": 1}]', ("lucidworks", "click")),
        ("a.json", b"[]", ("lucidworks", "click")),
        ("a.json", b'[{"searchTerms": "x"}]', ("lucidworks", "query")),
        ("a.json", b'[{"cartId": "c", "orderId": "o"}]', ("lucidworks", "purchase")),
        ("a.json", b'[{"cartId": "c", "revenue": 1}]', ("lucidworks", "purchase")),
        ("cartadd-1.json", b'[{"cartId": "c"}]', ("lucidworks", "cartadd")),
        ("x/query_signals.json", b"[{}]", ("lucidworks", "query")),
    ],
)
def test_vendor_and_endpoint_inference(name: str, body: bytes, target: tuple[str, str]) -> None:
    assert infer_target(Payload(name, body), None, None) == target


def test_a_body_that_is_neither_object_nor_array_needs_a_vendor() -> None:
    with pytest.raises(UsageError, match="--vendor"):
        infer_target(Payload("a.json", b"42"), None, None)


def test_a_json_document_spanning_lines_is_one_payload() -> None:
    assert len(read_payloads("a.json", b'{\n"a": 1\n}\n')) == 1
    assert len(read_payloads("a.json", b'{"a": 1}\n{"a": 2}\n')) == 2
