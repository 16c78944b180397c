"""A real PostgreSQL server for the tests, started once a session from Debian's packages
(``initdb`` and ``pg_ctl`` into a temporary folder, on a free port), and a fresh database for
each test that asks. No mock of the database anywhere.

Without PostgreSQL the tests that need it skip on a workstation, saying how to install it, and
fail in CI (``CI`` set), where ``.ci/run`` installs it. As root, the server runs as the
``postgres`` user the package creates (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

INSTALL = "apt-get install postgresql"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    def __init__(self, folder: Path, durable: bool = False) -> None:
        """``durable``: PostgreSQL's defaults (fsync on), as a benchmark runs it; the tests
        turn fsync off (their durability is the transaction's, not the disk's)."""
        self.durable = durable
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise LookupError(f"PostgreSQL is not installed ({INSTALL})")
        self.pg_ctl = pg_ctl
        self.user: Any = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres").pw_uid
            except KeyError as exc:
                raise LookupError("running as root needs the postgres user") from exc
        self.data = folder / "data"
        self.port = _free_port()
        folder.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(folder, self.user, -1)
        self._run(initdb, "-D", str(self.data), "-U", "mockserver", "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")  # fmt: skip
        self.start()
        self.url = f"postgresql://mockserver@127.0.0.1:{self.port}"

    def start(self) -> None:
        folder = self.data.parent
        options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off"
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(folder / "log"),
                  "-w", "start")  # fmt: skip

    def _run(self, *command: str) -> None:
        folder = self.data.parent
        subprocess.run(command, check=True, capture_output=True, user=self.user, cwd=folder)

    def database(self, encoding: str = "UTF8") -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} ENCODING '{encoding}' TEMPLATE template0")
        return f"{self.url}/{name}"

    def stop(self, missing_ok: bool = False) -> None:
        """Stop at once, as a crash would (``immediate``: no checkpoint, clients cut off)."""
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            if not missing_ok:
                raise


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    # Not under pytest's tmp dir: that is private to this user, and the server may run as
    # another (postgres) that must reach its data folder.
    folder = Path(tempfile.mkdtemp(prefix="mockserver-postgres-"))
    try:
        server = PostgresServer(folder)
    except LookupError as exc:
        shutil.rmtree(folder)
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(f"{exc}: the PostgreSQL store's tests skip")
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def _postgres_reused_database(postgres_server: PostgresServer) -> str:
    return postgres_server.database()


@pytest.fixture
def postgres_url(_postgres_reused_database: str) -> str:
    """An empty database on the session's server: one per session, emptied before each test
    (a new database each time cost ~0.3 s a test). A test that needs a database no store has
    opened yet asks ``postgres_server.database()``."""
    import psycopg

    with psycopg.connect(_postgres_reused_database, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename NOT LIKE '\\_mockserver\\_%'"
        ).fetchone()
        if tables and tables[0]:
            conn.execute(f"TRUNCATE {tables[0]} RESTART IDENTITY")
    return _postgres_reused_database
