"""The README and the pages of docs/ say what is true.

Each page's ``curl`` examples run, in order, against a fresh app, and get what they promise:
each ``curl`` command in a ```bash block is followed by ``# → STATUS [JSON]``; the JSON, when
given, must equal the reply. Commands are translated to in-process requests (no curl binary).
Each ``pip install`` line is run as written in a fresh virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.cli import build_parser
from tests.conftest import ROOT, ClientFactory

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


README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
# The README routes, the pages in docs/ explain (issue 26: a newcomer reads it in ten minutes).
README_MAX_LINES = 250


def _read(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _examples(page: Path = README) -> list[CurlExample]:
    text = _read(page)
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
    for path in ("/analytics/event", "/retail/signals/", "/_mock/events"):
        assert path in urls
    local = " ".join(e.url for e in _examples(ROOT / "docs" / "local-development.md"))
    assert "/_mock/wait" in local


PAGES_WITH_EXAMPLES = [page for page in PAGES if _examples(page)]


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=lambda page: page.name)
def test_curl_examples_get_what_they_promise(page: Path, client_with: ClientFactory) -> None:
    # A fresh app a page: each page's examples build on each other, not on another page's.
    _run_examples(client_with(), _examples(page))


def test_the_docs_pages_hold_the_moved_examples() -> None:
    names = {page.name for page in PAGES_WITH_EXAMPLES}
    assert {"README.md", "local-development.md", "faults.md"} <= names


def _run_examples(client: TestClient, examples: list[CurlExample]) -> None:
    for example in examples:
        response = client.request(
            example.method, example.url, headers=example.headers, content=example.data
        )
        assert response.status_code == example.status, (example.command, response.text)
        if example.body is not None:
            assert response.json() == example.body, example.command


def test_every_relative_link_in_the_docs_points_at_a_file() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", _read(page)):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    assert len(PAGES) > 1


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_anchor_link_names_a_heading_of_its_page() -> None:
    for page in PAGES:
        for target, anchor in re.findall(r"\]\(([^)#:]*)#([^)]+)\)", _read(page)):
            linked = page.parent / target if target else page
            headings = re.findall(r"^#+ (.+)$", _read(linked), re.M)
            assert anchor in {_anchor(h) for h in headings}, f"{page.name} → {target}#{anchor}"


def test_the_readme_is_short_and_routes_with_a_table_of_contents() -> None:
    text = _read(README)
    assert len(text.splitlines()) <= README_MAX_LINES
    sections = re.findall(r"^## (.+)$", text, re.M)
    contents = text.split("\n## ", 1)[0]
    for heading in sections:
        assert f"(#{_anchor(heading)})" in contents, f"the contents do not list {heading!r}"
    # One short section per use, each linking to its page in docs/.
    for page in ("local-development.md", "pytest.md", "ci.md", "demo.md", "shared-deployment.md"):
        assert f"(docs/{page})" in text


@pytest.mark.slow  # pytest in a subprocess, as a downstream project runs it
def test_the_python_fault_example_passes_as_a_downstream_test(pytester: pytest.Pytester) -> None:
    text = _read(ROOT / "docs" / "faults.md")
    (example,) = [
        block for block in re.findall(r"```python\n(.*?)```", text, re.S)
        if block.startswith("# test_tracking_retries.py")
    ]  # fmt: skip
    pytester.makepyfile(test_tracking_retries=example)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_each_fault_flag_example_starts_a_server_with_those_rules() -> None:
    text = _read(ROOT / "docs" / "faults.md")
    lines = [line for line in text.splitlines() if line.startswith("mockserver serve --fault")]
    assert len(lines) >= 3
    for line in lines:
        command = shlex.split(line.split("  #")[0])[1:]
        args = build_parser().parse_args(command)
        settings = Settings.load({"faults": tuple(args.faults), "fault_seed": args.fault_seed})
        with TestClient(create_app(Settings(db=":memory:", faults=settings.faults))) as client:
            rules = client.get("/_mock/faults").json()["rules"]
        assert len(rules) == len(args.faults), line


def test_the_performance_figures_are_the_latest_full_benchmark_run() -> None:
    # bench/run.py writes the table with the run; a figure from any other run, or typed by
    # hand, fails here. The README quotes at most one line of it.
    table = _read(ROOT / "bench" / "results" / "readme.md")
    assert table in _read(ROOT / "docs" / "performance.md")
    readme = _read(README)
    quoted_lines = [line for line in readme.splitlines() if re.search(r"\d+\.\d+×", line)]
    assert len(quoted_lines) <= 1
    quoted = set(re.findall(r"\d+\.\d+×", readme))
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


@pytest.mark.parametrize("target", ["run", "demo"])
def test_make_run_and_demo_install_the_runtime_dependencies_only(
    target: str, tmp_path: Path
) -> None:
    # As on a fresh clone: no virtualenv yet (VENV points at an empty place).
    planned = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "pip install --quiet -e ." in planned
    assert "[dev]" not in planned
    assert f"mockserver {'serve' if target == 'run' else 'demo'}" in planned


# ``pip install ARG`` with one shell word as ARG, in a page or in a command's --help.
PIP_INSTALL = re.compile(r"pip install (?P<arg>'[^']+'|\"[^\"]+\"|[^\s`)'\"]+)")


def _help_texts() -> list[str]:
    parser = build_parser()
    (subcommands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands: dict[str, argparse.ArgumentParser] = subcommands.choices
    # Wide enough that argparse wraps no line (it breaks words at hyphens).
    with mock.patch.dict(os.environ, {"COLUMNS": "100000"}):
        return [parser.format_help(), *(command.format_help() for command in commands.values())]


def _install_lines() -> list[str]:
    """Every ``pip install`` a user is told to run: each must be one we can run as written."""
    texts = [_read(page) for page in PAGES] + [" ".join(text.split()) for text in _help_texts()]
    lines: list[str] = []
    for text in texts:
        found = [m.group(0) for m in PIP_INSTALL.finditer(text)]
        assert len(found) == text.count("pip install"), "an install line this test cannot run"
        lines += [line for line in found if line not in lines]
    return lines


def test_the_install_lines_are_found() -> None:
    lines = _install_lines()
    assert "pip install ./mockserver" in lines
    assert any("[postgresql]" in line for line in lines)
    assert any(line.endswith(".whl") for line in lines)


@pytest.mark.slow  # a wheel and a fresh virtualenv for each install line
def test_every_install_line_works_as_written(tmp_path: Path) -> None:
    # The docs speak from the directory holding a clone called mockserver, whose dist/ holds
    # the wheel make dist builds (pip wheel, as make dist runs it).
    clone = tmp_path / "mockserver"
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True, text=True,
    ).stdout.split("\0")  # fmt: skip
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", "dist", "."],
        cwd=clone, check=True, timeout=300,
    )  # fmt: skip

    def install(numbered: tuple[int, str]) -> str:
        number, line = numbered
        env_dir = tmp_path / f"venv-{number}"
        venv.create(env_dir, with_pip=True)
        bin_dir = env_dir / "bin"
        run = subprocess.run(
            f"{bin_dir}/{line}", shell=True, cwd=tmp_path, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
        if run.returncode != 0:
            return f"{line}: {run.stderr[-2000:]}"
        # The server runs (pytest is the user's own: the plugin needs it only under pytest).
        check = "from mockserver.cli import main; main(['--version'])"
        if "[postgresql]" in line:
            check += "; import psycopg, psycopg_pool"
        imported = subprocess.run(
            [str(bin_dir / "python"), "-c", check], cwd=tmp_path, capture_output=True,
            text=True, check=False,
        )  # fmt: skip
        return "" if imported.returncode == 0 else f"{line}: {imported.stderr[-2000:]}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(install, enumerate(_install_lines())) if f]
    assert not failures, "\n\n".join(failures)
