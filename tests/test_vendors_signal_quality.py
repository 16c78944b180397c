"""Signal-quality warnings (vendors/signal_quality.py, docs/signal-quality.md): each rule fires
on its case and stays silent on its near miss; clean traffic stays silent; the reply never
changes; the API, filters, summary and analytics show them, on both stores."""

from __future__ import annotations

import copy
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.ci.payload_files import check, exit_status, read_payloads
from mockserver.events import Event
from mockserver.simulate.catalogue import Catalogue
from mockserver.simulate.sender import send
from mockserver.simulate.traffic import Plan, requests
from mockserver.validation import Contracts, FieldError
from mockserver.vendors.signal_quality import (
    DAY_MS,
    PERSONAL_DATA_IN_ID,
    RULE_IDS,
    RULES,
    body_warnings,
    lucidworks_warnings,
    neuralens_warnings,
)
from mockserver.vendors.warning_log import MAX_SAID, WarningLog
from tests.conftest import FIXTURES, LUCIDWORKS_HEADERS, NEURALENS_HEADERS, ROOT, ClientFactory

pytestmark = pytest.mark.both_stores

NOW_MS = 1_764_460_800_000  # 2025-11-30T00:00:00Z
DOCS = ROOT / "docs" / "signal-quality.md"
CLICK: dict[str, Any] = json.loads((FIXTURES / "lucidworks/valid/click-full.json").read_bytes())[0]
QUERY: dict[str, Any] = json.loads((FIXTURES / "lucidworks/valid/query-example.json").read_bytes())[
    0
]
NEURALENS: dict[str, Any] = json.loads(
    (FIXTURES / "neuralens/valid/click-product-docs-example-fixed.json").read_bytes()
)
# Two valid fixtures are boundary cases of what is accepted, and sloppy as signals: the
# warnings they get are true positives (every other valid fixture must get none).
SLOPPY_FIXTURES = {
    "click-minimal.json": ["click-without-position"],  # the smallest click has no position
    "click-timestamp-int64-max.json": ["timestamp-in-future"],  # the largest int64
}


def lucidworks(signal_type: str = "click", now_ms: int = NOW_MS, **fields: Any) -> list[str]:
    signal = {**(QUERY if signal_type == "query" else CLICK), **fields}
    signal = {k: v for k, v in signal.items() if v is not None}
    return [w["rule"] for w in lucidworks_warnings(signal_type, signal, now_ms)]


# -- each rule: its case, and its near miss -------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"timestamp": 99_999_999_999}, ["timestamp-in-seconds"]),
        ({"timestamp": 1_744_305_461}, ["timestamp-in-seconds"]),  # seconds, as sent
        ({"timestamp": 100_000_000_000}, []),  # the near miss: exactly the bound
        ({"timestamp": NOW_MS + DAY_MS + 1}, ["timestamp-in-future"]),
        ({"timestamp": NOW_MS + DAY_MS}, []),  # exactly a day ahead: not more
        ({"selectedPosition": None}, ["click-without-position"]),
        ({"selectedPosition": 1}, []),
        ({"visitorId": "jane.doe@example.com"}, ["personal-data-in-id"]),
        ({"visitorId": "user:jane@example.co.uk"}, ["personal-data-in-id"]),
        ({"visitorId": "+4915112345678"}, ["personal-data-in-id"]),
        ({"visitorId": "(555) 123-4567"}, ["personal-data-in-id"]),
        ({"visitorId": "555-123-4567"}, ["personal-data-in-id"]),
        ({"visitorId": "jane@localhost"}, []),  # no domain: not an address
        ({"visitorId": "4915112345678"}, []),  # bare digits: a numeric id, not a phone
        ({"visitorId": "2024-05-14"}, []),  # a date: 8 digits
        ({"visitorId": "1715644800.123"}, []),  # dotted numbers: a time, an address, a version
        ({"visitorId": "192.168.100.200"}, []),
        ({"visitorId": "2024.05.14.1230"}, []),
        ({"visitorId": "+49 123456"}, []),  # 9 digits needed; 8
        ({"visitorId": "abcc8e25-d30f-2212-9f60-9b45a71453cf"}, []),
        ({"visitorId": "12345678-1234-1234-1234-123456789012"}, []),  # an all-digit UUID
    ],
)
def test_each_lucidworks_rule_fires_on_its_case_and_not_its_near_miss(
    fields: dict[str, Any], expected: list[str]
) -> None:
    assert lucidworks(**fields) == expected


def test_click_without_position_is_for_clicks_only() -> None:
    assert lucidworks("query") == []
    assert lucidworks("cartadd", selectedPosition=None) == []


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (NOW_MS // 1000 + 86_400 + 1, ["timestamp-in-future"]),
        (NOW_MS // 1000 + 86_400, []),
        (1_715_644_800, []),
    ],
)
def test_neuralens_timestamp_in_future_in_epoch_seconds(
    timestamp: int, expected: list[str]
) -> None:
    found = neuralens_warnings({**NEURALENS, "timestamp": timestamp}, NOW_MS)
    assert [w["rule"] for w in found] == expected


def test_every_warning_names_its_rule_path_and_a_message() -> None:
    found = lucidworks_warnings(
        "click",
        {**CLICK, "timestamp": 5, "visitorId": "a@b.io", "selectedPosition": None},
        NOW_MS,
    )
    assert [(w["rule"], w["path"]) for w in found] == [
        ("timestamp-in-seconds", "$.timestamp"),
        ("click-without-position", "$.selectedPosition"),
        ("personal-data-in-id", "$.visitorId"),
    ]
    assert "an e-mail address" in found[2]["message"]


# -- the docs' table is the code's ---------------------------------------------------------


def _table() -> dict[str, list[str]]:
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if line.startswith("| `") and len(cells) == 5:
            rows[cells[0].strip("`")] = cells
    return rows


def test_the_docs_table_lists_every_rule_with_its_message_and_quoted_sentence() -> None:
    table = _table()
    assert list(table) == list(RULE_IDS)
    for rule in RULES:
        _, vendors, fires_when, message, rests_on = table[rule.id]
        assert vendors == ", ".join(rule.vendors)
        assert fires_when == rule.fires_when
        assert message == rule.message
        assert rests_on == f'"{rule.rests_on}"'


def test_each_quoted_sentence_is_the_vendors_own() -> None:
    """The Lucidworks sentences are in its OpenAPI (schemas/); the Neuralens ones are
    docs/validation.md's quotes of its page."""
    sources = (ROOT / "schemas/lucidworks/lucidworks-signals-click.openapi.yaml").read_text()
    sources = " ".join(sources.split())
    quoted = " ".join((ROOT / "docs/validation.md").read_text().replace("\\_", "_").split())
    for rule in RULES:
        where = sources if "lucidworks" in rule.vendors else quoted
        assert rule.rests_on in where, rule.id


# -- zero false positives ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted((FIXTURES / "lucidworks/valid").glob("*.json"))
    + sorted((FIXTURES / "neuralens/valid").glob("*.json")),
    ids=lambda path: path.name,
)
def test_every_valid_fixture_is_silent_but_the_two_sloppy_boundaries(
    contracts: Contracts, path: Path
) -> None:
    (result,) = check(read_payloads(path.name, path.read_bytes()), contracts)
    assert result.ok
    assert [w["rule"] for w in result.warnings] == SLOPPY_FIXTURES.get(path.name, [])


@pytest.mark.slow  # 500 sessions of each vendor
def test_500_clean_simulated_sessions_of_each_vendor_draw_no_warning(
    client: TestClient, store: Any
) -> None:
    for vendor in ("lucidworks", "neuralens"):
        plan = Plan(
            start_ms=NOW_MS, sessions=500, backfill_ms=7 * DAY_MS, seed=28, vendors=(vendor,)
        )
        tally = send("", requests(plan, Catalogue.load()), out=io.StringIO(), client=client)
        assert tally.unexpected == []
    summary = client.get("/_mock/summary").json()
    assert all(n > 1000 for n in summary["events"]["by_vendor"].values())
    assert set(summary["events"]["by_vendor"]) == {"lucidworks", "neuralens"}
    assert summary["warnings"] == {}  # unknown-query included: every click follows its query
    assert client.get("/_mock/events", params={"warned": "true"}).json()["total"] == 0


# -- through the API -----------------------------------------------------------------------


def _post_click(client: TestClient, **fields: Any) -> Any:
    signal = {k: v for k, v in {**CLICK, **fields}.items() if v is not None}
    return client.post("/retail/signals/click", json=[signal], headers=LUCIDWORKS_HEADERS)


def test_the_reply_never_changes_because_of_a_warning(client: TestClient) -> None:
    clean = client.post("/retail/signals/query", json=[QUERY], headers=LUCIDWORKS_HEADERS)
    clean = _post_click(client)
    sloppy = _post_click(client, timestamp=1_744_305_461, selectedPosition=None)
    assert (sloppy.status_code, sloppy.content) == (clean.status_code, clean.content)
    assert {k: v for k, v in sloppy.headers.items() if k not in ("date", "content-length")} == {
        k: v for k, v in clean.headers.items() if k not in ("date", "content-length")
    }
    newest = client.get("/_mock/events").json()["events"][0]
    assert [w["rule"] for w in newest["warnings"]] == [
        "timestamp-in-seconds",
        "click-without-position",
    ]


def test_events_list_detail_and_wait_carry_warnings(client: TestClient) -> None:
    _post_click(client, visitorId="jane@example.com")  # its query was never sent
    (event,) = client.get("/_mock/events").json()["events"]
    assert [w["rule"] for w in event["warnings"]] == ["personal-data-in-id", "unknown-query"]
    assert client.get(f"/_mock/events/{event['id']}").json()["warnings"] == event["warnings"]
    waited = client.get("/_mock/wait", params={"warning": "unknown-query", "timeout": "0"})
    assert waited.status_code == 200
    assert waited.json()["events"][0]["warnings"] == event["warnings"]
    client.post("/retail/signals/query", json=[QUERY], headers=LUCIDWORKS_HEADERS)
    assert [w["rule"] for w in client.get(f"/_mock/events/{event['id']}").json()["warnings"]] == [
        "personal-data-in-id"
    ]
    gone = client.get("/_mock/wait", params={"warning": "unknown-query", "timeout": "0"})
    assert gone.status_code == 408  # as of this read: its query arrived


def test_filters_and_summary(client: TestClient) -> None:
    client.post("/retail/signals/query", json=[QUERY], headers=LUCIDWORKS_HEADERS)
    _post_click(client)  # clean, tied to the query
    _post_click(client, selectedPosition=None)
    _post_click(client, selectedPosition=None, queryId="never-sent")

    def ids(**params: str) -> int:
        return int(client.get("/_mock/events", params=params).json()["total"])

    assert ids(warned="true") == 2
    assert ids(warned="false") == 2
    assert ids(warning="click-without-position") == 2
    assert ids(warning="unknown-query") == 1
    assert ids(warning="timestamp-in-seconds") == 0
    assert client.get("/_mock/summary").json()["warnings"] == {
        "click-without-position": 2,
        "unknown-query": 1,
    }
    for bad in ({"warned": "yes"}, {"warning": "no-such-rule"}):
        refused = client.get("/_mock/events", params=bad)
        assert refused.status_code == 400
        assert refused.json()["parameter"] == next(iter(bad))


def test_analytics_signal_quality_against_hand_worked_values(client: TestClient) -> None:
    """4 Lucidworks clicks, 1 without a position, 1 with a queryId never sent; 1 cartadd tied
    to the query; 1 query; 2 Neuralens clicks (index 3), one with a timestamp days ahead.
    Clicks 6, with a position 5: 5/6. Followers (clicks and cartadds of Lucidworks) 5, tied
    4: 4/5. Events 8, warned 3 (no position, never-sent queryId, days ahead): 3/8."""
    client.post("/retail/signals/query", json=[QUERY], headers=LUCIDWORKS_HEADERS)
    _post_click(client)
    _post_click(client)
    _post_click(client, selectedPosition=None)
    _post_click(client, queryId="never-sent")
    cartadd = json.loads((FIXTURES / "lucidworks/valid/cartadd-example.json").read_bytes())
    client.post("/retail/signals/cartadd", json=cartadd, headers=LUCIDWORKS_HEADERS)
    client.post("/analytics/event", json=NEURALENS, headers=NEURALENS_HEADERS)
    ahead = {**NEURALENS, "timestamp": 9_000_000_000}
    client.post("/analytics/event", json=ahead, headers=NEURALENS_HEADERS)
    quality = client.get("/_mock/analytics").json()["signal_quality"]
    assert quality["clicks_with_position"] == pytest.approx(5 / 6)
    assert quality["signals_tied_to_query"] == pytest.approx(4 / 5)
    assert quality["signals_with_warnings"] == pytest.approx(3 / 8)
    assert quality["top_rules"] == [
        {"rule": "click-without-position", "count": 1},
        {"rule": "timestamp-in-future", "count": 1},
        {"rule": "unknown-query", "count": 1},
    ]
    neuralens_only = client.get("/_mock/analytics", params={"vendor": "neuralens"}).json()
    assert neuralens_only["signal_quality"]["signals_tied_to_query"] is None  # nothing to tie


def test_lenient_turns_the_neuralens_should_rules_into_warnings(
    client_with: ClientFactory,
) -> None:
    two_items = copy.deepcopy(NEURALENS)
    two_items["items"].append({"id": "AV769"})
    no_query = {k: v for k, v in NEURALENS.items() if k != "query"}
    strict = client_with(profile="strict")
    lenient = client_with(profile="lenient")
    for body in (two_items, no_query):
        assert strict.post("/analytics/event", json=body, headers=NEURALENS_HEADERS).is_client_error
        accepted = lenient.post("/analytics/event", json=body, headers=NEURALENS_HEADERS)
        assert accepted.json() == {"status": "success", "message": ""}
    rules = [
        [w["rule"] for w in e["warnings"]] for e in lenient.get("/_mock/events").json()["events"]
    ]
    assert rules == [["query-required"], ["one-item-unless-purchase"]]


# -- the terminal --------------------------------------------------------------------------


def _warned(namespace: str = "default", rule: str = "click-without-position") -> Event:
    warning = {"rule": rule, "path": "$.selectedPosition", "message": "send it"}
    return Event(
        "lucidworks", "/retail/signals/click", "click", namespace, "shop", "u", "s", None,
        "q", ["p"], None, 1, "{}", "r", "2026-01-01T00:00:00.000000Z", warnings=[warning],
    )  # fmt: skip


def test_the_terminal_says_each_rule_once_a_namespace_then_a_count_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    said = WarningLog(interval=60.0, clock=lambda: clock[0])
    caplog.set_level(logging.WARNING, logger="mockserver.requests")
    for _ in range(500):
        said.note([_warned()], "click")
    said.note([_warned(namespace="team-b")], "click")
    said.note([_warned(rule="timestamp-in-seconds")], "click")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # 502 warned signals: one line a rule and namespace
    assert lines[0].startswith("warning lucidworks click click-without-position $.selectedPosition")
    assert "ns=team-b" in lines[1]
    clock[0] = 61.0
    said.note([_warned()], "click")
    assert re.fullmatch(
        r"signal quality: 500 more warnings in 61s: click-without-position 500 \(.*\)",
        caplog.records[-1].getMessage(),
    )
    said.note([_warned()], "click")  # within the next minute: counted, not said
    assert len(caplog.records) == 4


def test_the_terminal_remembers_a_bounded_number_of_namespaces() -> None:
    # Namespaces are the client's to choose: one a request grew what it remembered without end.
    said = WarningLog()
    for number in range(MAX_SAID + 50):
        said.note([_warned(namespace=f"ns-{number}")], "click")
    assert len(said._said) == MAX_SAID


# -- mockserver validate -------------------------------------------------------------------


def test_validate_prints_warnings_and_fails_on_them_only_when_asked(contracts: Contracts) -> None:
    body = json.dumps([{**CLICK, "timestamp": 1_744_305_461}]).encode()
    results = list(check(read_payloads("click-seconds.json", body), contracts))
    assert [(w["rule"], w["path"]) for w in results[0].warnings] == [
        ("timestamp-in-seconds", "$[0].timestamp")
    ]
    assert exit_status(results) == 0
    assert exit_status(results, fail_on_warnings=True) == 1
    clean = list(check(read_payloads("click.json", json.dumps([CLICK]).encode()), contracts))
    assert exit_status(clean, fail_on_warnings=True) == 0


def test_validate_reports_a_neuralens_bodys_warnings_with_paths_into_it() -> None:
    future = {**NEURALENS, "timestamp": NOW_MS // 1000 + 2 * 86_400}
    lenient = [FieldError("$.query", "query-required", "semantic", "send query")]
    found = body_warnings("neuralens", "event", future, lenient, NOW_MS)
    assert [(w["rule"], w["path"]) for w in found] == [
        ("query-required", "$.query"),
        ("timestamp-in-future", "$.timestamp"),
    ]


@pytest.mark.parametrize("value", [None, [NEURALENS], "text", 5])
def test_validate_finds_no_warning_in_a_neuralens_body_that_is_no_object(value: Any) -> None:
    assert body_warnings("neuralens", "event", value, [], NOW_MS) == []


@pytest.mark.parametrize("value", [None, {"timestamp": 5}, "text", 5])
def test_validate_finds_no_warning_in_a_lucidworks_body_that_is_no_array(value: Any) -> None:
    assert body_warnings("lucidworks", "click", value, [], NOW_MS) == []


def test_validate_reports_each_lucidworks_signals_warnings_at_its_index() -> None:
    body = [CLICK, "not a signal", {**CLICK, "timestamp": 5}]
    found = body_warnings("lucidworks", "click", body, [], NOW_MS)
    assert [(w["rule"], w["path"]) for w in found] == [("timestamp-in-seconds", "$[2].timestamp")]


@pytest.mark.parametrize(
    ("visitor", "what"),
    [
        ("jane.doe@example.com", "an e-mail address"),
        ("555-123-456", "a phone number"),  # 9 digits: the fewest a phone number has
        ("555-123-45", None),  # 8: a date's worth
        ("+123456789012345", "a phone number"),  # 15: E.164's longest
        ("+1234567890123456", None),  # 16
        ("+49 (0) 151 - 1234 - 567", "a phone number"),  # 24 characters
        ("+49 (0) 151 - 1234 -  567", None),  # 25: more separators than a number has
    ],
)
def test_personal_data_in_a_visitor_id_is_named_for_what_it_looks_like(
    visitor: str, what: str | None
) -> None:
    found = lucidworks_warnings("query", {**QUERY, "visitorId": visitor}, NOW_MS)
    messages = [w["message"] for w in found if w["rule"] == "personal-data-in-id"]
    assert messages == ([] if what is None else [PERSONAL_DATA_IN_ID.message.format(what=what)])


@pytest.mark.parametrize("value", [True, "1715644800000", 1.5e12, None])
def test_a_timestamp_or_visitor_id_of_another_type_draws_no_warning_and_no_crash(
    value: Any,
) -> None:
    # `mockserver validate` reads bodies the schema refuses too: its errors say what is wrong.
    found = lucidworks_warnings(
        "query", {**QUERY, "timestamp": value, "visitorId": 4915551234567}, NOW_MS
    )
    assert found == []
