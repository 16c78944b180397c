"""Reports of recorded traffic for CI: JUnit XML, JSON and Markdown, with contract coverage.

JUnit has one test case per request: an accepted request (its events share a request id)
passes, a rejected one fails with every reason. CI systems display that file natively.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mockserver.ci.contract_coverage import contract_coverage, never_exercised
from mockserver.events import describe_error
from mockserver.storage import Store
from mockserver.testing.client import MockClient
from mockserver.validation import Contracts

PAGE = 1000
Row = dict[str, Any]


@dataclass(frozen=True)
class Traffic:
    events: list[Row]
    rejections: list[Row]

    def requests(self) -> dict[str, list[Row]]:
        """Accepted requests: their events by request id, oldest first."""
        grouped: dict[str, list[Row]] = defaultdict(list)
        for event in sorted(self.events, key=lambda e: e["id"]):
            grouped[event["request_id"]].append(event)
        return grouped


def _all_pages(fetch: Callable[[int], list[Row]]) -> list[Row]:
    rows: list[Row] = []
    while page := fetch(len(rows)):
        rows += page
        if len(page) < PAGE:
            break
    return rows


def traffic_from_store(store: Store, namespace: str | None = None) -> Traffic:
    filters = {"namespace": namespace}
    return Traffic(
        events=_all_pages(lambda offset: store.events(filters, PAGE, offset).rows),
        rejections=_all_pages(lambda offset: store.rejections(filters, PAGE, offset).rows),
    )


def traffic_from_url(url: str, namespace: str | None = None) -> Traffic:
    """The traffic a running mockserver recorded; ValueError when it cannot be read."""
    with MockClient(url, namespace=namespace) as client:
        try:
            return Traffic(
                events=_all_pages(lambda offset: client.events(limit=PAGE, offset=offset)),
                rejections=_all_pages(lambda offset: client.rejections(limit=PAGE, offset=offset)),
            )
        except httpx.HTTPError as exc:
            raise ValueError(f"no mockserver answered at {url}: {exc}") from exc


def _suite_name(vendor: str | None, endpoint: str) -> str:
    return f"{vendor or 'unknown'} {endpoint}"


def junit_xml(traffic: Traffic) -> str:
    suites: dict[str, list[ET.Element]] = defaultdict(list)
    for request_id, events in traffic.requests().items():
        first = events[0]
        case = ET.Element(
            "testcase",
            classname=_suite_name(first["vendor"], first["endpoint"]),
            name=f"POST {first['endpoint']} {request_id[:12]} "
            f"({len(events)} event(s): {', '.join(sorted({e['type'] for e in events}))})",
            timestamp=first["received_at"],
            time="0",
        )
        suites[case.get("classname", "")].append(case)
    for rejection in sorted(traffic.rejections, key=lambda r: r["id"]):
        suite = _suite_name(rejection["vendor"], rejection["endpoint"])
        case = ET.Element(
            "testcase",
            classname=suite,
            name=f"{rejection['method']} {rejection['endpoint']} {rejection['request_id'][:12]}",
            timestamp=rejection["received_at"],
            time="0",
        )
        errors = rejection["errors"]
        failure = ET.SubElement(
            case,
            "failure",
            message=f"{rejection['status']}: {errors[0]['message'] if errors else 'rejected'}",
            type=f"HTTP {rejection['status']}",
        )
        failure.text = "\n".join(_reason_lines(rejection))
        suites[suite].append(case)
    root = ET.Element("testsuites", name="mockserver")
    for name, cases in sorted(suites.items()):
        failures = sum(1 for case in cases if case.find("failure") is not None)
        suite_element = ET.SubElement(
            root, "testsuite", name=name, tests=str(len(cases)), failures=str(failures), errors="0"
        )
        suite_element.extend(cases)
    total = sum(len(cases) for cases in suites.values())
    root.set("tests", str(total))
    root.set("failures", str(len(traffic.rejections)))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _reason_lines(rejection: Mapping[str, Any]) -> Iterator[str]:
    for error in rejection["errors"]:
        yield describe_error(error)
    if rejection.get("body"):
        yield f"body: {rejection['body'][:500]}"


def summary(traffic: Traffic, contracts: Contracts) -> dict[str, Any]:
    endpoints: dict[str, dict[str, int]] = defaultdict(
        lambda: {"accepted": 0, "rejected": 0, "events": 0}
    )
    requests = traffic.requests()
    for events in requests.values():
        counts = endpoints[_suite_name(events[0]["vendor"], events[0]["endpoint"])]
        counts["accepted"] += 1
        counts["events"] += len(events)
    for rejection in traffic.rejections:
        endpoints[_suite_name(rejection["vendor"], rejection["endpoint"])]["rejected"] += 1
    return {
        "requests": len(requests) + len(traffic.rejections),
        "accepted": len(requests),
        "rejected": len(traffic.rejections),
        "events": len(traffic.events),
        "endpoints": dict(sorted(endpoints.items())),
        "rejections": [
            {
                key: rejection[key]
                for key in ("id", "status", "method", "endpoint", "namespace", "errors")
            }
            for rejection in sorted(traffic.rejections, key=lambda r: r["id"])
        ],
        "coverage": contract_coverage(traffic.events, contracts),
    }


def json_report(data: Mapping[str, Any]) -> str:
    """``summary()`` as a JSON document."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_report(data: Mapping[str, Any]) -> str:
    """``summary()`` for people: counts, rejections with reasons, coverage gaps."""
    lines = [
        "## mockserver report",
        "",
        f"{data['requests']} request(s): {data['accepted']} accepted ({data['events']} events), "
        f"{data['rejected']} rejected.",
        "",
        "| endpoint | accepted | events | rejected |",
        "|---|---:|---:|---:|",
    ]
    for name, counts in data["endpoints"].items():
        lines.append(
            f"| {_cell(name)} | {counts['accepted']} | {counts['events']} | {counts['rejected']} |"
        )
    if data["rejections"]:
        lines += ["", "### Rejections", ""]
        for rejection in data["rejections"]:
            lines.append(
                f"- **{rejection['status']} {rejection['method']} {_cell(rejection['endpoint'])}**"
            )
            for error in rejection["errors"]:
                lines.append(f"  - {_cell(describe_error(error))}")
    lines += ["", "### Contract coverage", ""]
    for entry in data["coverage"]:
        gaps = never_exercised(entry)
        status = "everything exercised" if not gaps else "; ".join(gaps)
        where = f"**{entry['vendor']} {entry['endpoint']}** ({entry['events']} events)"
        lines.append(f"- {where}: {_cell(status)}")
    return "\n".join(lines) + "\n"
