"""A real wheel in a fresh virtualenv: it finds its schemas, serves, and another project's
tests find the fixture and the public names (not only a checkout)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
import venv
from pathlib import Path

import pytest

from tests.conftest import LUCIDWORKS_HEADERS, ROOT, load_fixture

pytestmark = pytest.mark.slow  # builds a wheel and installs it in a fresh virtualenv


def test_wheel_installs_and_serves_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("search_tracking_mock-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel), "pytest"],
        check=True,
        timeout=600,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    process = subprocess.Popen(
        [str(env_dir / "bin" / "mockserver"), "serve", "--port", "0", "--db", ":memory:"],
        cwd=elsewhere,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, line + (process.stderr.read() if process.stderr else "")
        body = json.dumps(load_fixture("lucidworks", "valid", "click-full.json")).encode()
        request = urllib.request.Request(
            f"{match.group(1)}/retail/signals/click",
            data=body,
            headers=LUCIDWORKS_HEADERS,
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 202
        # The dashboard's files came in the wheel: / redirects to the page, and its script loads.
        with urllib.request.urlopen(f"{match.group(1)}/", timeout=10) as response:
            assert response.url.endswith("/_mock/ui/")
            assert b'<script type="module" src="app.js">' in response.read()
        with urllib.request.urlopen(f"{match.group(1)}/_mock/ui/app.js", timeout=10) as response:
            assert response.headers["content-type"].startswith("text/javascript")
            assert b'from "./json.js"' in response.read()
    finally:
        process.terminate()
        process.communicate(timeout=10)
    installed = subprocess.run(
        [str(python), "-c", "import mockserver.settings as s; print(s.data_dir())"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "site-packages" in installed  # the schemas came from the wheel, not this checkout
    # Another project's tests: the fixture comes from the pytest11 entry point, and the
    # public names import from the package root.
    (elsewhere / "test_downstream.py").write_text(DOWNSTREAM_TEST, encoding="utf-8")
    downstream = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_downstream.py"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert downstream.returncode == 0, downstream.stdout + downstream.stderr
    assert "2 passed" in downstream.stdout


DOWNSTREAM_TEST = """
from mockserver import MockClient, MockServer


def test_the_fixture_is_found(mockserver):
    assert isinstance(mockserver, MockClient)
    assert mockserver.events() == []


def test_a_server_of_its_own():
    with MockServer() as server, server.client() as client:
        assert client.summary()["events"]["total"] == 0
"""
