"""Schemathesis, as a black box, against a live server: the vendor specs and /_mock/openapi.json.

Each run is the ``st`` command a person would type. The number of generated cases per operation
is ``SCHEMATHESIS_MAX_EXAMPLES`` (default 10; raise it for a longer run). What cannot apply, and
why, is in docs/validation.md ("Schemathesis").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver import MockServer
from mockserver.validation.openapi import SpecSet
from tests.conftest import ROOT
from tests.effective_openapi import effective_openapi

# schemathesis runs thousands of generated requests against a live server
pytestmark = pytest.mark.slow

LUCIDWORKS = ROOT / "schemas" / "lucidworks"
CLICK_SPEC = "lucidworks-signals-click.openapi.yaml"
RECONSTRUCTED_SPEC = "signals-reconstructed.openapi.yaml"
TOKEN = ["-H", "Authorization: embed-token-1"]
ST = Path(sys.executable).parent / "st"  # a dev dependency, installed beside this interpreter


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as running:
        yield running


def _st(tmp_path: Path, spec: str, url: str, *options: str) -> subprocess.CompletedProcess[str]:
    examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10")
    hooks = {"PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"}
    return subprocess.run(
        [str(ST), "run", spec, "--url", url, "-n", examples, "--seed", "20261122",
         "--generation-database", "none", "--no-color",
         # The hook's skipping of 2.0-style integers is intended filtering, not a problem.
         "--suppress-health-check", "filter_too_much", *options],
        cwd=tmp_path,
        env={**os.environ, **hooks},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip


def _assert_passed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.parametrize("spec_file", [CLICK_SPEC, RECONSTRUCTED_SPEC])
def test_every_check_passes_on_the_effective_vendor_spec(
    server: MockServer, tmp_path: Path, spec_file: str
) -> None:
    spec = tmp_path / "effective.json"
    spec.write_text(json.dumps(effective_openapi(SpecSet(LUCIDWORKS), spec_file)))
    _assert_passed(_st(tmp_path, str(spec), server.url, "--checks", "all", *TOKEN))


def test_the_published_click_spec_passes_every_check_that_applies(
    server: MockServer, tmp_path: Path
) -> None:
    excluded = "positive_data_acceptance,status_code_conformance"
    result = _st(
        tmp_path, str(LUCIDWORKS / CLICK_SPEC), server.url,
        "--checks", "all", "--exclude-checks", excluded, *TOKEN,
    )  # fmt: skip
    _assert_passed(result)


def test_the_published_click_spec_alone_cannot_predict_acceptance(
    server: MockServer, tmp_path: Path
) -> None:
    # Why positive_data_acceptance is left out above: the spec's own example (ipAddress
    # 111.222.333) is schema-valid and breaks its validator tag; the real server refuses it too.
    result = _st(
        tmp_path, str(LUCIDWORKS / CLICK_SPEC), server.url,
        "--checks", "positive_data_acceptance", "--phases", "examples", *TOKEN,
    )  # fmt: skip
    assert result.returncode != 0
    assert "111.222.333" in result.stdout


def test_the_inspection_api_passes_every_check(server: MockServer, tmp_path: Path) -> None:
    result = _st(
        tmp_path, f"{server.url}/_mock/openapi.json", server.url,
        "--checks", "all", "--exclude-path", "/_mock/wait", "--exclude-path", "/_mock/stream",
    )  # fmt: skip
    _assert_passed(result)
