"""``mockserver check-shared`` (``testing/shared_check.py``) against servers in this process:
one server is one store; two servers with stores of their own are not, and it says how; a
token it lacks is a clear error. Two servers on one PostgreSQL database pass it in
tests/test_storage_postgres_processes.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mockserver import Settings
from mockserver.cli import main
from mockserver.testing.client import MockClient
from mockserver.testing.server import MockServer
from mockserver.testing.shared_check import check_shared


@pytest.fixture
def servers() -> Iterator[list[MockServer]]:
    started = [MockServer().start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()


def test_one_server_is_one_store_and_the_check_leaves_nothing_behind(
    servers: list[MockServer],
) -> None:
    outcome = check_shared([servers[0].url], events=20, timeout=5)
    assert outcome.failed == []
    assert len(outcome.lines) == 6  # healthy, acknowledged, the wait, ids, analytics, reset
    with MockClient(servers[0].url) as everything:  # its namespace was deleted at the end
        assert everything.summary()["events"]["total"] == 0


def test_servers_with_stores_of_their_own_fail_it_saying_what_differs(
    servers: list[MockServer], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["check-shared", "--events", "10", "--timeout", "1", *(s.url for s in servers)])
    printed = capsys.readouterr().out
    assert status == 1
    assert "was not answered within 1 s" in printed
    assert "shows 5 events" in printed  # each shows only what was sent through it
    assert "analytics count [5, 5] events of 10" in printed


def test_a_token_the_check_lacks_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOCKSERVER_ADMIN_TOKEN", raising=False)
    with MockServer(Settings(db=":memory:", port=0, admin_token="s3cret")) as server:
        status = main(["check-shared", "--events", "5", "--timeout", "2", server.url])
    assert status == 2
    assert "MOCKSERVER_ADMIN_TOKEN" in capsys.readouterr().err
