from __future__ import annotations

import json
import os
import threading
import time
import urllib.request

import pytest

from mockserver import MockServer, Settings
from tests.conftest import LUCIDWORKS_HEADERS, load_fixture


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _post(url: str, body: object) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=LUCIDWORKS_HEADERS, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_serves_on_a_free_loopback_port() -> None:
    with MockServer() as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.neuralens_event_url == server.url + "/analytics/event"
        assert server.lucidworks_base_url("shop") == server.url + "/signal-store/shop"
        body = load_fixture("lucidworks", "valid", "click-full.json")
        assert _post(server.lucidworks_signal_url("click", "shop"), body) == 202
        with server.client() as client:
            assert client.events()[0]["tenant"] == "shop"


@pytest.mark.slow  # ten servers started and stopped
def test_many_servers_in_one_process_leave_nothing_behind() -> None:
    # The first server in a process opens what lives as long as the process (the event loop
    # policy's descriptors): count from after it, or the test fails when it happens to run first.
    with MockServer():
        pass
    # The threads alive before, not their count: an earlier test's may end meanwhile.
    threads, descriptors = set(threading.enumerate()), _open_descriptors()
    for _ in range(10):
        with MockServer() as server, server.client() as client:
            assert client.summary()["events"]["total"] == 0
    # A server's reads run in its loop's worker threads, which end just after the loop does:
    # give the last one a moment, then nothing of the ten may be left.
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(threading.enumerate()) - threads == set()
    assert _open_descriptors() <= descriptors  # (an earlier test's may close meanwhile)


def test_servers_running_side_by_side_are_independent() -> None:
    body = load_fixture("lucidworks", "valid", "click-full.json")
    with MockServer() as first, MockServer() as second:
        assert first.url != second.url
        _post(first.url + "/retail/signals/click", body)
        with first.client() as a, second.client() as b:
            assert (len(a.events()), len(b.events())) == (1, 0)


def test_settings_reach_the_server() -> None:
    settings = Settings(db=":memory:", port=0, lucidworks_tokens=("only-this",))
    body = load_fixture("lucidworks", "valid", "click-full.json")
    with MockServer(settings) as server:
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(server.url + "/retail/signals/click", body)
        assert refused.value.code == 401
        refused.value.close()


def test_urls_before_start_say_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="start the MockServer first"):
        _ = MockServer().url


def test_a_started_server_cannot_be_started_again() -> None:
    with MockServer() as server, pytest.raises(RuntimeError, match="already started"):
        server.start()
