"""A real wheel in a fresh virtualenv finds its schemas and serves (not only a checkout)."""

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


@pytest.mark.slow
def test_wheel_installs_and_serves_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("mockserver-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, timeout=600
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
