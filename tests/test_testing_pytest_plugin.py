"""The fixture as other teams use it: generated test modules run by pytest's own pytester."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest

from mockserver import MockServer
from mockserver.settings import Settings
from tests.conftest import LUCIDWORKS_HEADERS, ROOT, load_fixture

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


# -- signal-quality warnings (--mockserver-warnings) ---------------------------------------------

WARNED_TESTS = (
    DOWNSTREAM
    + """
QUERY = [{**{k: v for k, v in CLICK[0].items() if k != "selectedPosition"},
          "searchTerms": "chair"}]

def send_query(mockserver):
    url = mockserver.lucidworks_signal_url("query", "shop")
    assert httpx.post(url, json=QUERY, headers=HEADERS).status_code == 202

def test_app_sends_seconds(mockserver):
    send_query(mockserver)
    assert send(mockserver, [{**CLICK[0], "timestamp": 1744305461}]).status_code == 202

def test_app_sends_a_clean_click(mockserver):
    send_query(mockserver)
    assert send(mockserver, CLICK).status_code == 202
"""
)
RUN = ("-p", "no:cacheprovider")


def test_warnings_are_reported_at_the_end_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(WARNED_TESTS)
    result = pytester.runpytest(*RUN)
    result.assert_outcomes(passed=2)
    summary = result.stdout.str().split("mockserver warnings")[1]
    assert "test_warnings_are_reported_at_the_end_by_default.py::test_app_sends_seconds: " in (
        summary
    )
    assert "$.timestamp  [timestamp-in-seconds]" in summary
    assert "test_app_sends_a_clean_click" not in summary  # clean tests are not listed
    assert "1 test sent signals the vendor accepts" in summary


def test_error_mode_fails_the_test_that_sent_a_warned_signal(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(WARNED_TESTS)
    result = pytester.runpytest(*RUN, "--mockserver-warnings=error")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert re.search(r"FAILED \S+::test_app_sends_seconds", output)
    report = output.split("short test summary info")[0]
    assert "--mockserver-warnings=error: mockserver accepted 1 event in namespace" in report
    assert report.count("$.timestamp  [timestamp-in-seconds]") == 1
    assert "pytest_plugin.py" not in output  # the warning, not the plugin's traceback
    assert "mockserver warnings ===" not in output  # failed: not listed again


def test_error_mode_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmockserver_warnings = error\n")
    pytester.makepyfile(WARNED_TESTS)
    pytester.runpytest(*RUN).assert_outcomes(passed=1, failed=1)
    # The flag wins over the ini file.
    pytester.runpytest(*RUN, "--mockserver-warnings=report").assert_outcomes(passed=2)


def test_error_mode_and_contract_mode_say_both(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        WARNED_TESTS
        + """
def test_both(mockserver):
    send(mockserver, [{**CLICK[0], "timestamp": 1744305461}])  # warned: no query signal
    send(mockserver, [{**CLICK[0], "timestamp": 1.0}])  # rejected
"""
    )
    result = pytester.runpytest(
        *RUN, "--mockserver-warnings=error", "--mockserver-strict", "-k", "test_both"
    )
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "contract mode: mockserver rejected 1 request" in output
    assert "[unknown-query]" in output
    assert "[timestamp-in-seconds]" in output


def test_ignore_mode_neither_fails_nor_reports(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(WARNED_TESTS)
    result = pytester.runpytest(*RUN, "--mockserver-warnings=ignore")
    result.assert_outcomes(passed=2)
    assert "mockserver warnings" not in result.stdout.str()


def test_a_wrong_warnings_mode_in_the_ini_file_says_which_are_right(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nmockserver_warnings = fail\n")
    pytester.makepyfile(WARNED_TESTS)
    result = pytester.runpytest(*RUN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "mockserver_warnings = 'fail': use one of error, report, ignore" in result.stderr.str()


def test_warnings_from_xdist_workers_are_reported_at_the_end(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(WARNED_TESTS)
    result = pytester.runpytest_subprocess(*RUN, "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=2)
    summary = result.stdout.str().split("mockserver warnings")[1]
    assert "::test_app_sends_seconds: " in summary
    assert "[timestamp-in-seconds]" in summary


def test_report_mode_lists_only_this_runs_tests_on_a_shared_server(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(WARNED_TESTS)
    with MockServer() as shared:
        with shared.client("someone-else") as other:  # another run's warned click, earlier
            click = load_fixture("lucidworks", "valid", "click-batch-of-three.json")[:1]
            url = other.lucidworks_signal_url("click")
            assert httpx.post(url, json=click, headers=LUCIDWORKS_HEADERS).status_code == 202
            assert other.warnings()  # unknown-query
        result = pytester.runpytest(*RUN, "--mockserver-url", shared.url)
    result.assert_outcomes(passed=2)
    summary = result.stdout.str().split("mockserver warnings")[1]
    assert "::test_app_sends_seconds: " in summary
    assert "someone-else" not in summary
    assert "1 test sent signals" in summary


def test_disagreement_error_mode_fails_the_test_the_real_service_judged_otherwise(
    pytester: pytest.Pytester,
) -> None:
    with MockServer(Settings(profile="lenient")) as upstream:  # a real service that is lenient
        pytester.makeini(f"[pytest]\nmockserver_upstreams = lucidworks={upstream.url}\n")
        pytester.makepyfile(
            DOWNSTREAM
            + """
def test_null_ip(mockserver):
    assert send(mockserver, [{**CLICK[0], "ipAddress": None}]).status_code == 400

def test_clean(mockserver):
    assert send(mockserver, CLICK).status_code == 202
"""
        )
        pytester.runpytest(*RUN).assert_outcomes(passed=2)  # ignored by default
        result = pytester.runpytest(*RUN, "--mockserver-upstream-disagreement=error")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert re.search(r"FAILED \S+::test_null_ip", output)
    assert "--mockserver-upstream-disagreement=error: the mock and the real service" in output
