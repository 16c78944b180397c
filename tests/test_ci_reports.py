"""Reports for CI (JUnit, JSON, Markdown), contract coverage, and ``mockserver run``/``report``."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from mockserver import MockServer, SqliteStore
from mockserver.ci.contract_coverage import contract_coverage, never_exercised
from mockserver.ci.reports import (
    Traffic,
    junit_xml,
    markdown_report,
    summary,
    traffic_from_store,
    traffic_from_url,
)
from mockserver.cli import main
from mockserver.events import Attempt
from mockserver.settings import Settings
from mockserver.validation import Contracts
from mockserver.vendors.lucidworks import BATCH
from mockserver.vendors.neuralens import SEVERAL_ITEMS
from tests.conftest import (
    LUCIDWORKS_HEADERS,
    ClientFactory,
    load_fixture,
    post_lucidworks,
    post_neuralens,
)

BATCH_BODY = load_fixture("lucidworks", "valid", "click-batch-of-three.json")
PURCHASE = load_fixture("neuralens", "valid", "purchase-several-items.json")
CLICK_EVENT = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")


@pytest.fixture
def traffic_store(client: TestClient, store: SqliteStore) -> SqliteStore:
    post_lucidworks(client, "click", BATCH_BODY)  # one request, three events
    post_neuralens(client, CLICK_EVENT)  # one request, one event
    post_lucidworks(client, "click", [{"timestamp": 1.0}])  # rejected
    post_neuralens(client, {**CLICK_EVENT, "page": "HOME"})  # rejected
    return store


def test_junit_has_a_test_case_a_request_and_rejections_as_failures(
    traffic_store: SqliteStore,
) -> None:
    root = ET.fromstring(junit_xml(traffic_from_store(traffic_store)))
    assert (root.get("tests"), root.get("failures")) == ("4", "2")
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {"lucidworks /retail/signals/click", "neuralens /analytics/event"}
    click = suites["lucidworks /retail/signals/click"]
    assert (click.get("tests"), click.get("failures")) == ("2", "1")
    failure = click.find("testcase/failure")
    assert failure is not None
    assert "$[0].timestamp  [decode/integer]" in (failure.text or "")
    names = [case.get("name") for case in root.iter("testcase")]
    assert "lucidworks click #1: 3 events (click)" in names
    assert "neuralens event #2: 1 event (CLICK_PRODUCT)" in names
    assert len(set(names)) == len(names)  # CI UIs tell each case apart by its name


def test_junit_numbers_accepted_and_rejected_requests_in_one_series_in_arrival_order(
    traffic_store: SqliteStore,
) -> None:
    # Two series once gave "neuralens event #4: 1 event" and "neuralens event #4: 400 ...":
    # two requests that read as one.
    root = ET.fromstring(junit_xml(traffic_from_store(traffic_store)))
    prefixes = [(case.get("name") or "").split(":")[0] for case in root.iter("testcase")]
    by_number = sorted(prefixes, key=lambda prefix: int(prefix.split("#")[1]))
    assert by_number == [
        "lucidworks click #1",  # accepted
        "neuralens event #2",  # accepted
        "lucidworks click #3",  # rejected
        "neuralens event #4",  # rejected
    ]


def test_rejections_alike_are_one_failure_with_a_count(
    client_with: ClientFactory, contracts: Contracts
) -> None:
    client = client_with()
    for _ in range(3):  # the same mistake three times, in one namespace
        client.post(
            "/ns/team-a/retail/signals/click",
            content=json.dumps([{**BATCH_BODY[0], "sessionId": ""}]).encode(),
            headers=LUCIDWORKS_HEADERS,
        )
    post_lucidworks(client, "click", [{**BATCH_BODY[0], "queryId": ""}])  # another mistake
    traffic = recorded_traffic(client)
    root = ET.fromstring(junit_xml(traffic))
    assert (root.get("tests"), root.get("failures")) == ("2", "2")
    names = sorted(case.get("name") or "" for case in root.iter("testcase"))
    assert names == [
        "[team-a] lucidworks click #1: 400 [0].sessionId required × 3",
        "lucidworks click #4: 400 [0].queryId required",
    ]
    failure = next(case for case in root.iter("testcase") if "× 3" in (case.get("name") or ""))
    text = failure.findtext("failure") or ""
    assert "3 requests refused alike: #1, #2, #3" in text
    markdown = markdown_report(summary(traffic, contracts))
    assert "- **400 POST /retail/signals/click** × 3 in team-a" in markdown
    assert markdown.count("[validator/required]") == 2  # each group's reasons once


def recorded_traffic(client: TestClient) -> Traffic:
    rows = client.get("/_mock/rejections", params={"limit": 1000}).json()["rejections"]
    events = client.get("/_mock/events", params={"limit": 1000}).json()["events"]
    return Traffic(events=events, rejections=rows)


def test_summary_counts_requests_events_and_rejections(
    traffic_store: SqliteStore, contracts: Contracts
) -> None:
    data = summary(traffic_from_store(traffic_store), contracts)
    assert (data["requests"], data["accepted"], data["rejected"], data["events"]) == (4, 2, 2, 4)
    assert data["endpoints"]["lucidworks /retail/signals/click"] == {
        "accepted": 1,
        "events": 3,
        "rejected": 1,
    }


def _entry(coverage: list[dict[str, object]], endpoint: str) -> dict[str, object]:
    return next(entry for entry in coverage if entry["endpoint"] == endpoint)


def test_coverage_lists_what_the_traffic_never_exercised(
    traffic_store: SqliteStore, contracts: Contracts
) -> None:
    coverage = contract_coverage(traffic_from_store(traffic_store).events, contracts)
    neuralens = _entry(coverage, "/analytics/event")
    assert neuralens["values"]["event"]["seen"] == ["CLICK_PRODUCT"]  # type: ignore[index]
    assert "FAVORITE" in neuralens["values"]["event"]["never"]  # type: ignore[index]
    assert neuralens["scenarios"] == {SEVERAL_ITEMS: False}
    gaps = never_exercised(neuralens)
    assert f"no {SEVERAL_ITEMS}" in gaps
    assert any(line.startswith("page never sent: AUTOCOMPLETE") for line in gaps)
    click = _entry(coverage, "/retail/signals/click")
    assert click["scenarios"] == {BATCH: True}
    query = _entry(coverage, "/retail/signals/query")
    assert "ipAddress" in query["optional_fields"]["never"]  # type: ignore[index]


def test_coverage_notices_a_multi_item_purchase_and_unsent_optional_fields(
    client: TestClient, store: SqliteStore, contracts: Contracts
) -> None:
    post_neuralens(client, PURCHASE)
    minimal = load_fixture("lucidworks", "valid", "click-minimal.json")
    post_lucidworks(client, "click", minimal)
    coverage = contract_coverage(traffic_from_store(store).events, contracts)
    assert _entry(coverage, "/analytics/event")["scenarios"] == {SEVERAL_ITEMS: True}
    click_fields = _entry(coverage, "/retail/signals/click")["optional_fields"]
    assert click_fields == {  # the minimal click sends what strict requires, and quantity
        "seen": ["ipAddress", "productDetails[].quantity"],
        "never": ["selectedPosition"],
    }


def test_markdown_shows_rejections_and_coverage(
    traffic_store: SqliteStore, contracts: Contracts
) -> None:
    text = markdown_report(summary(traffic_from_store(traffic_store), contracts))
    assert "4 requests: 2 accepted (4 events), 2 rejected." in text
    assert "| lucidworks /retail/signals/click | 1 | 3 | 1 |" in text
    assert "[schema/enum]" in text
    assert "no PURCHASE with more than one item" in text


def test_the_reports_say_what_faults_did(traffic_store: SqliteStore, contracts: Contracts) -> None:
    touched = Attempt(
        request_id="r1", rule_id=1, fault="ack_lost", vendor="lucidworks",
        endpoint="/retail/signals/click", namespace="default", tenant="shop", status=None,
        stored=True, received_at="2026-01-01T00:00:00.000000Z",
    )  # fmt: skip
    traffic_store.add(
        attempts=[touched, replace(touched, fault="status", status=503, stored=False)]
    )
    data = summary(traffic_from_store(traffic_store), contracts)
    assert data["faults"] == {"touched": 2, "stored": 1, "by_fault": {"ack_lost": 1, "status": 1}}
    text = markdown_report(data)
    assert "2 requests met a fault rule (ack_lost × 1, status × 1); 1 of them" in text


def test_report_from_a_database_file(
    traffic_store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    assert main(["report", "--db", traffic_store.path, "--junit", str(junit)]) == 0
    assert ET.parse(junit).getroot().get("tests") == "4"
    assert "## mockserver report" in capsys.readouterr().out


def test_report_from_a_running_server_and_one_namespace(tmp_path: Path) -> None:
    with MockServer() as server, server.client("ci-1") as client:
        headers = {
            "Authorization": "t",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        httpx.post(client.lucidworks_signal_url("click"), json=BATCH_BODY, headers=headers)
        httpx.post(server.url + "/retail/signals/click", json=BATCH_BODY, headers=headers)
        traffic = traffic_from_url(server.url, "ci-1")
        out = tmp_path / "r.json"
        assert main(["report", "--url", server.url, "--json", str(out)]) == 0
    assert len(traffic.events) == 3  # only namespace ci-1
    assert json.loads(out.read_text())["events"] == 6


def test_report_fails_on_rejections_when_asked_after_writing_the_reports(
    traffic_store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    arguments = ["report", "--db", traffic_store.path, "--junit", str(junit)]
    assert main(arguments) == 0  # by default a report only reports
    assert main([*arguments, "--fail-on-rejections"]) == 1
    assert ET.parse(junit).getroot().get("failures") == "2"
    assert "the mock rejected 2 requests; failing" in capsys.readouterr().err


def test_report_on_a_running_server_fails_on_its_rejections_only_in_the_namespace() -> None:
    with MockServer() as server:
        post = server.url + "/ns/{}/retail/signals/click"
        headers = {"Authorization": "t", "Content-Type": "application/json"}
        httpx.post(post.format("clean"), json=BATCH_BODY, headers=headers)
        httpx.post(post.format("broken"), json=[{"timestamp": 1.0}], headers=headers)
        asked = ["report", "--url", server.url, "--fail-on-rejections", "--namespace"]
        assert main([*asked, "clean"]) == 0
        assert main([*asked, "broken"]) == 1


def test_report_help_says_what_exit_status_fails_a_job(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "with --fail-on-rejections, 1 when the mock rejected any request" in text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["report", "--db", "nowhere.db"], "no database at nowhere.db"),
        (["report", "--url", "http://127.0.0.1:9"], "no mockserver answered"),
    ],
)
def test_report_without_a_source_exits_2(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    assert message in capsys.readouterr().err


SENDER = """
import json, os, sys, urllib.request
body, expect_ok = sys.argv[1], sys.argv[2] == "ok"
request = urllib.request.Request(
    os.environ["LUCIDWORKS_BASE_URL"] + "/retail/signals/click", data=body.encode(),
    headers={"Authorization": "t", "Accept": "application/json",
             "Content-Type": "application/json"},
    method="POST")
try:
    urllib.request.urlopen(request).close()
except urllib.error.HTTPError as error:
    error.close()
base = os.environ["MOCKSERVER_URL"]
assert os.environ["NEURALENS_BASE_URL"] == os.environ["NEURALENS_API_URL"] == base
assert os.environ["LUCIDWORKS_BASE_URL"] == os.environ["LUCIDWORKS_SIGNALS_URL"] == base
assert os.environ["NEURALENS_EVENT_URL"] == base + "/analytics/event"
sys.exit(int(sys.argv[3]))
"""


def _run(tmp_path: Path, body: object, exit_code: int, *options: str) -> int:
    return main(
        ["run", "--junit", str(tmp_path / "j.xml"), *options, "--", sys.executable, "-c", SENDER,
         json.dumps(body), "ok", str(exit_code)]
    )  # fmt: skip


@pytest.mark.slow  # a real process
def test_run_passes_when_the_command_passes_and_nothing_was_rejected(tmp_path: Path) -> None:
    assert _run(tmp_path, BATCH_BODY, 0) == 0
    assert ET.parse(tmp_path / "j.xml").getroot().get("tests") == "1"


@pytest.mark.slow  # a real process
def test_run_fails_on_a_rejection_unless_allowed(tmp_path: Path) -> None:
    assert _run(tmp_path, [{"timestamp": 1.0}], 0) == 1
    assert ET.parse(tmp_path / "j.xml").getroot().get("failures") == "1"
    assert _run(tmp_path, [{"timestamp": 1.0}], 0, "--allow-rejections") == 0


@pytest.mark.slow  # a real process
def test_run_with_an_upstream_fails_on_a_disagreement_even_when_rejections_are_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    null_ip = [{**BATCH_BODY[0], "ipAddress": None}]  # strict refuses it, lenient accepts it
    with MockServer(Settings(profile="lenient")) as upstream:
        shadowed = ("--upstream", f"lucidworks={upstream.url}", "--allow-rejections")
        assert _run(tmp_path, BATCH_BODY, 0, *shadowed) == 0  # both accept: they agree
        assert _run(tmp_path, null_ip, 0, *shadowed) == 1
    said = capsys.readouterr().err
    assert "the mock and the real service disagreed on 1 request" in said
    assert f"mock 400, {upstream.url}/retail/signals/click 202: $[0].ipAddress" in said


@pytest.mark.slow  # a real process
def test_run_passes_the_commands_own_failure_through(tmp_path: Path) -> None:
    assert _run(tmp_path, BATCH_BODY, 3) == 3


@pytest.mark.slow  # a real process
def test_run_fails_when_the_command_sent_nothing_unless_allowed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    nothing = [sys.executable, "-c", "pass"]
    assert main(["run", "--", *nothing]) == 1
    assert "sent no request to the mock" in capsys.readouterr().err
    assert main(["run", "--allow-empty", "--", *nothing]) == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run"], "give the command to run after --"),
        (["run", "--", "no-such-command-x"], "cannot run"),
    ],
)
def test_run_usage_errors_exit_2(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    assert message in capsys.readouterr().err


# -- signal-quality warnings -----------------------------------------------------------------

QUERY_BODY = load_fixture("lucidworks", "valid", "query-example.json")
SECONDS_CLICK = [{**BATCH_BODY[0], "timestamp": 1744305461}]  # its query is QUERY_BODY's


@pytest.fixture
def warned_store(client: TestClient, store: SqliteStore) -> SqliteStore:
    """Request #1 two query signals (events 1 and 2), #2 a click with a timestamp in seconds
    (event 3: accepted, warned), #3 a Neuralens click: one warning in all."""
    assert post_lucidworks(client, "query", QUERY_BODY * 2).status_code == 202
    assert post_lucidworks(client, "click", SECONDS_CLICK).status_code == 202
    assert post_neuralens(client, CLICK_EVENT).status_code in (200, 202)
    return store


def _case(root: ET.Element, name: str) -> ET.Element:
    (case,) = (c for c in root.iter("testcase") if (c.get("name") or "").startswith(name))
    return case


def test_junit_shows_warnings_on_the_request_case_without_failing_it(
    warned_store: SqliteStore,
) -> None:
    root = ET.fromstring(junit_xml(traffic_from_store(warned_store)))
    assert (root.get("tests"), root.get("failures")) == ("3", "0")
    click = _case(root, "lucidworks click #2: 1 event (click)")  # named as without warnings
    assert click.find("failure") is None
    (warning,) = [p.get("value") or "" for p in click.iter("property")]
    assert "$.timestamp  [timestamp-in-seconds]" in warning
    assert "[timestamp-in-seconds]" in (click.findtext("system-out") or "")
    assert _case(root, "lucidworks query #1").find("properties") is None  # only where warned


def test_junit_fails_the_warned_request_with_fail_on_warnings(warned_store: SqliteStore) -> None:
    root = ET.fromstring(junit_xml(traffic_from_store(warned_store), fail_on_warnings=True))
    assert root.get("failures") == "1"
    failure = _case(root, "lucidworks click #2").find("failure")
    assert failure is not None
    assert failure.get("type") == "mockserver warning"
    assert "[timestamp-in-seconds]" in (failure.get("message") or "")
    suite = next(s for s in root.iter("testsuite") if s.get("name", "").endswith("click"))
    assert suite.get("failures") == "1"


def test_json_and_markdown_list_warnings_by_rule(
    warned_store: SqliteStore, contracts: Contracts
) -> None:
    data = summary(traffic_from_store(warned_store), contracts)
    assert data["warned"] == 1
    (entry,) = data["warnings"]
    assert {k: entry[k] for k in ("rule", "count", "paths", "requests")} == {
        "rule": "timestamp-in-seconds",
        "count": 1,
        "paths": ["$.timestamp"],
        "requests": [2],  # the number of its JUnit case
    }
    assert entry["events"] == [3]
    assert "milliseconds" in entry["message"]
    text = markdown_report(data)
    assert "3 requests: 3 accepted (4 events), 0 rejected. 1 event with warnings." in text
    assert "### Warnings" in text
    assert "- **timestamp-in-seconds** at $.timestamp (request #2): " in text


def test_the_reports_of_clean_traffic_say_nothing_of_warnings(
    client: TestClient, store: SqliteStore, contracts: Contracts
) -> None:
    post_lucidworks(client, "query", QUERY_BODY)
    post_lucidworks(client, "click", BATCH_BODY[:1])
    data = summary(traffic_from_store(store), contracts)
    assert (data["warned"], data["warnings"]) == (0, [])
    assert "Warnings" not in markdown_report(data)
    assert "property" not in junit_xml(traffic_from_store(store), fail_on_warnings=True)


def test_report_fails_on_warnings_only_when_asked(
    warned_store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    arguments = ["report", "--db", warned_store.path, "--junit", str(junit)]
    assert main(arguments) == 0
    err = capsys.readouterr().err
    assert "accepted 1 event with signal-quality warnings (reported only;" in err
    assert ET.parse(junit).getroot().get("failures") == "0"
    assert main([*arguments, "--fail-on-warnings"]) == 1
    assert "failing (--fail-on-warnings)" in capsys.readouterr().err
    assert ET.parse(junit).getroot().get("failures") == "1"  # the report says why, first


def test_report_passes_clean_traffic_with_fail_on_warnings(
    client: TestClient, store: SqliteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    post_lucidworks(client, "query", QUERY_BODY)
    assert main(["report", "--db", store.path, "--fail-on-warnings"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_report_on_a_running_server_fails_on_warnings_in_its_namespace_only() -> None:
    with MockServer() as server:
        post = server.url + "/ns/{}/retail/signals/click"
        headers = {"Authorization": "t", "Content-Type": "application/json"}
        httpx.post(post.format("sloppy"), json=SECONDS_CLICK, headers=headers)
        httpx.post(post.format("clean").replace("click", "query"), json=QUERY_BODY,
                   headers=headers)  # fmt: skip
        asked = ["report", "--url", server.url, "--fail-on-warnings", "--namespace"]
        assert main([*asked, "clean"]) == 0
        assert main([*asked, "sloppy"]) == 1


@pytest.mark.slow  # a real process
def test_run_fails_on_warnings_only_when_asked(tmp_path: Path) -> None:
    # SENDER sends a click alone: its queryId names no query signal (unknown-query).
    assert _run(tmp_path, BATCH_BODY[:1], 0) == 0
    assert "[unknown-query]" in (tmp_path / "j.xml").read_text()
    assert _run(tmp_path, BATCH_BODY[:1], 0, "--fail-on-warnings") == 1
    assert ET.parse(tmp_path / "j.xml").getroot().get("failures") == "1"
    assert _run(tmp_path, BATCH_BODY[:1], 4, "--fail-on-warnings") == 4  # the command's own


def test_run_and_report_help_say_what_fail_on_warnings_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in ("run", "report"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "with --fail-on-warnings" in text, command
        assert "signal-quality warning" in text, command
