"""The README's curl examples run, in order, against a fresh app, and get what they promise.

Each ``curl`` command in a ```bash block is followed by ``# → STATUS [JSON]``; the JSON, when
given, must equal the reply. Commands are translated to in-process requests (no curl binary).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.cli import build_parser
from tests.conftest import ROOT

EXPECTATION = re.compile(r"#\s*→\s*(\d{3})\s*(.*)")


@dataclass
class CurlExample:
    command: str
    status: int
    body: Any = None
    method: str = "GET"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None


def _examples() -> list[CurlExample]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        command = ""
        for line in block.splitlines():
            stripped = line.strip()
            if stripped.startswith("curl") or (command and not stripped.startswith("#")):
                command += " " + stripped.removesuffix("\\")
                continue
            match = EXPECTATION.match(stripped)
            if command and match:
                body = json.loads(match.group(2)) if match.group(2) else None
                examples.append(_parse(command.strip(), int(match.group(1)), body))
                command = ""
    return examples


def _parse(command: str, status: int, body: Any) -> CurlExample:
    example = CurlExample(command=command, status=status, body=body)
    args = iter(shlex.split(command)[1:])
    for arg in args:
        if arg == "-X":
            example.method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            example.headers[name.strip()] = value.strip()
        elif arg in ("-d", "--data-binary"):
            value = next(args)
            example.data = (
                (ROOT / value[1:]).read_bytes() if value.startswith("@") else value.encode()
            )
            if example.method == "GET":
                example.method = "POST"
        elif arg.startswith("http"):
            example.url = arg
        elif arg != "-s":
            raise AssertionError(f"test_readme does not understand curl option {arg!r}")
    return example


def test_the_readme_has_examples_for_both_vendors_and_the_inspection_api() -> None:
    urls = " ".join(example.url for example in _examples())
    for path in ("/analytics/event", "/retail/signals/", "/_mock/events", "/_mock/wait"):
        assert path in urls


def test_readme_examples_get_what_they_promise(client: TestClient) -> None:
    for example in _examples():
        response = client.request(
            example.method, example.url, headers=example.headers, content=example.data
        )
        assert response.status_code == example.status, (example.command, response.text)
        if example.body is not None:
            assert response.json() == example.body, example.command


def test_every_relative_link_in_the_docs_points_at_a_file() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    assert len(pages) > 1


@pytest.mark.slow  # pytest in a subprocess, as a downstream project runs it
def test_the_python_fault_example_passes_as_a_downstream_test(pytester: pytest.Pytester) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = [
        block for block in re.findall(r"```python\n(.*?)```", text, re.S)
        if block.startswith("# test_tracking_retries.py")
    ]  # fmt: skip
    pytester.makepyfile(test_tracking_retries=example)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_each_fault_flag_example_starts_a_server_with_those_rules() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("mockserver serve --fault")]
    assert len(lines) >= 3
    for line in lines:
        command = shlex.split(line.split("  #")[0])[1:]
        args = build_parser().parse_args(command)
        settings = Settings.load({"faults": tuple(args.faults), "fault_seed": args.fault_seed})
        with TestClient(create_app(Settings(db=":memory:", faults=settings.faults))) as client:
            rules = client.get("/_mock/faults").json()["rules"]
        assert len(rules) == len(args.faults), line


def test_the_performance_table_is_the_latest_full_benchmark_run() -> None:
    # bench/run.py writes the table with the run; a figure from any other run, or typed by
    # hand, fails here.
    table = (ROOT / "bench" / "results" / "readme.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert table in readme
    performance = readme.split("## Performance", 1)[1].split("\n## ", 1)[0]
    quoted = set(re.findall(r"\d+\.\d+×", performance))
    assert quoted <= set(re.findall(r"\d+\.\d+×", table)), "a ratio not from the latest run"


def test_make_test_installs_what_the_tests_need_and_not_the_benchmark_peers() -> None:
    # A rule that lost its target line once made the PostgreSQL step install wrk, Java,
    # Prism and WireMock too: CI took 60% longer.
    planned = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "postgresql" in planned
    assert "chromium" in planned
    for peer in ("wrk", "default-jre", "prism", "wiremock", "granian"):
        assert peer not in planned
