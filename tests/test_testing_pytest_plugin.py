"""The fixture as other teams use it: generated test modules run by pytest's own pytester."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from mockserver import MockServer
from tests.conftest import ROOT

DOWNSTREAM = """
import httpx

CLICK = [{
    "timestamp": 1744305461169, "visitorId": "v-1", "sessionId": "s-1", "queryId": "q-1",
    "ipAddress": "203.0.113.7",
    "productDetails": [{"product": {"productId": "p-1", "currencyCode": "USD", "price": 10,
                                    "title": "Chair", "imageuri": "https://example.com/p.jpg"}}],
    "sourceId": "web", "uri": "https://example.com/p", "selectedPosition": 2,
}]
HEADERS = {"Authorization": "token", "Accept": "application/json",
           "Content-Type": "application/json"}

def send(mockserver, body):
    return httpx.post(mockserver.lucidworks_signal_url("click", "shop"), json=body, headers=HEADERS)
"""

pytestmark = pytest.mark.slow  # runs pytest in subprocesses


def test_a_downstream_test_posts_and_asserts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        DOWNSTREAM
        + """
def test_click_is_tracked(mockserver):
    assert send(mockserver, CLICK).status_code == 202
    (event,) = mockserver.assert_received(type="click", user="v-1")
    assert event["tenant"] == "shop"
    assert event["position"] == 2

def test_next_test_starts_empty(mockserver):
    assert mockserver.events() == []
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


BAD_PAYLOAD_TEST = (
    DOWNSTREAM
    + """
def test_app_sends_a_bad_click(mockserver):
    send(mockserver, [{**CLICK[0], "timestamp": 1.0}])
"""
)


def test_contract_mode_fails_a_test_whose_traffic_was_rejected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(BAD_PAYLOAD_TEST)
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 0  # not strict: passes
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockserver-strict")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "contract mode: mockserver rejected 1 request in namespace" in output
    # Said once in the failure report, not twice (the short summary may repeat it in CI,
    # where pytest does not cut its lines to the terminal's width).
    report = output.split("short test summary info")[0]
    assert report.count("$[0].timestamp  [decode/integer]") == 1
    assert "During handling" not in output
    assert "pytest_plugin.py" not in output  # the reasons, not the plugin's traceback


def test_contract_mode_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmockserver_fail_on_rejection = true\n")
    pytester.makepyfile(BAD_PAYLOAD_TEST)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)


def test_contract_mode_per_test_with_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        BAD_PAYLOAD_TEST.replace(
            "def test_app_sends_a_bad_click",
            "import pytest\n\n@pytest.mark.mockserver_strict\ndef test_app_sends_a_bad_click",
        )
        + """
@pytest.mark.mockserver_strict(False)
def test_strictness_can_be_turned_off(mockserver):
    send(mockserver, [{}])
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockserver-strict")
    result.assert_outcomes(passed=1, failed=1)


def test_settings_fixture_can_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest
from mockserver import Settings

@pytest.fixture(scope="session")
def mockserver_settings():
    return Settings(db=":memory:", port=0, lucidworks_tokens=("the-real-one",))
"""
    )
    pytester.makepyfile(
        DOWNSTREAM
        + """
def test_only_the_configured_token_passes(mockserver):
    assert send(mockserver, CLICK).status_code == 401
    (rejection,) = mockserver.rejections()
    assert rejection["errors"][0]["rule"] == "unknown-token"
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.fixture
def port_8080_taken() -> Iterator[None]:
    """Port 8080 busy, as while `make run` serves: bound here unless something already is."""
    try:
        sock = socket.create_server(("127.0.0.1", 8080))
    except OSError:  # taken already: just as good
        yield
        return
    with sock:
        yield


@pytest.mark.usefixtures("port_8080_taken")
def test_settings_that_leave_out_port_and_db_take_a_free_port_and_no_file(
    pytester: pytest.Pytester,
) -> None:
    # The override a downstream project writes first (issue 26): it once bound 8080, failing
    # every test while `make run` was up, and wrote ./mockserver.db into that project.
    pytester.makeconftest(
        """
import pytest
from mockserver import Settings

@pytest.fixture(scope="session")
def mockserver_settings():
    return Settings(neuralens_keys=("good",))
"""
    )
    pytester.makepyfile(
        """
from urllib.parse import urlsplit

import httpx

EVENT = {"uid": None, "items": [{"id": "a"}], "page": "PRODUCT_PAGE",
         "event": "LAND_PRODUCT_PAGE", "timestamp": 1715644800}

def post(mockserver, key):
    headers = {"X-Neuralens-API-Key": f"Bearer {key}", "X-Neuralens-Application-ID": "app"}
    return httpx.post(mockserver.neuralens_event_url, json=EVENT, headers=headers)

def test_only_the_configured_key_passes_on_a_free_port(mockserver):
    assert urlsplit(mockserver.url).port not in (None, 8080)
    assert post(mockserver, "good").status_code == 200
    assert post(mockserver, "other").status_code == 401
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert sorted(p.suffix for p in pytester.path.iterdir()) == [".py", ".py"]  # no .db


def test_in_process_app_fixture_needs_no_sockets(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
from starlette.testclient import TestClient

def test_in_process(mockserver_app):
    with TestClient(mockserver_app) as client:
        response = client.post(
            "/analytics/event",
            json={"uid": None, "items": [{"id": "a"}], "page": "PRODUCT_PAGE",
                  "event": "LAND_PRODUCT_PAGE", "timestamp": 1715644800},
            headers={"X-Neuralens-API-Key": "Bearer k", "X-Neuralens-Application-ID": "app"},
        )
        assert response.json() == {"status": "success", "message": ""}
        assert client.get("/_mock/events").json()["total"] == 1
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=1)


def test_isolation_holds_across_xdist_workers_on_one_shared_server(
    pytester: pytest.Pytester,
) -> None:
    tests = "\n".join(
        f"""
def test_user_{n}(mockserver):
    for _ in range({n}):
        assert send(mockserver, [{{**CLICK[0], "visitorId": "user-{n}"}}]).status_code == 202
    events = mockserver.events()
    assert len(events) == {n}
    assert {{e["user"] for e in events}} == {{"user-{n}"}}
"""
        for n in range(1, 9)
    )
    pytester.makepyfile(DOWNSTREAM + tests)
    with MockServer() as shared:  # like a CI service container: every worker uses this one
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "xdist", "-n", "2", "--mockserver-url", shared.url
        )
        with shared.client() as everything:
            total = everything.summary()["events"]["total"]
    result.assert_outcomes(passed=8)
    assert total == sum(range(1, 9))


def test_the_readme_example_runs_as_it_stands(pytester: pytest.Pytester) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = [
        block for block in re.findall(r"```python\n(.*?)```", readme, re.S)
        if block.startswith("# test_search_tracking.py")
    ]  # fmt: skip
    pytester.makepyfile(test_search_tracking=example)
    result = pytester.runpytest("-p", "no:cacheprovider", "--mockserver-strict")
    result.assert_outcomes(passed=example.count("\ndef test_"))
