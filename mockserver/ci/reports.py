"""Reports of recorded traffic for CI: JUnit XML, JSON and Markdown, with contract coverage.

JUnit has one test case per request: an accepted request (its events share a request id)
passes, a rejected one fails with every reason. CI systems display that file natively. The
cases are numbered in one series, the order the requests arrived in (``#3`` is the run's third
request, accepted or not), so that a number names one request. An accepted request whose events
drew signal-quality warnings keeps its name and passes (it was accepted, as the vendor would
accept it), with each warning as a property and in its system-out; with ``fail_on_warnings``
it fails, as ``--fail-on-warnings`` makes the job fail.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from mockserver.ci.contract_coverage import contract_coverage, never_exercised
from mockserver.events import describe_error, plural, short_reason
from mockserver.storage import Store
from mockserver.testing.client import MockClient, describe_warning, event_warnings
from mockserver.validation import Contracts
from mockserver.vendors.intake import DEFAULT_NAMESPACE
from mockserver.vendors.registry import endpoint_name

PAGE = 1000
Row = dict[str, Any]


@dataclass(frozen=True)
class Traffic:
    events: list[Row]
    rejections: list[Row]
    attempts: list[Row] = field(default_factory=list)  # requests a fault rule touched

    def warned_events(self) -> list[Row]:
        """Events with any signal-quality warning, oldest first."""
        return sorted((e for e in self.events if event_warnings(e)), key=lambda e: e["id"])

    def requests(self) -> dict[str, list[Row]]:
        """Accepted requests: their events by request id, oldest first."""
        grouped: dict[str, list[Row]] = defaultdict(list)
        for event in sorted(self.events, key=lambda e: e["id"]):
            grouped[event["request_id"]].append(event)
        return grouped


def request_numbers(traffic: Traffic) -> dict[str, int]:
    """Each request's number in the run, 1 for the first to arrive: accepted requests by their
    request id, rejections by ``rejection:<id>``. One series for both, in arrival order (the
    request id, a counter, orders requests received in the same microsecond)."""
    arrivals = [
        (events[0]["received_at"], request_id, request_id)
        for request_id, events in traffic.requests().items()
    ]
    arrivals += [
        (row["received_at"], row.get("request_id") or "", _rejection_key(row["id"]))
        for row in traffic.rejections
    ]
    return {key: number for number, (_, _, key) in enumerate(sorted(arrivals), start=1)}


def _rejection_key(rejection_id: int) -> str:
    return f"rejection:{rejection_id}"


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
        attempts=_all_pages(lambda offset: store.attempts(filters, PAGE, offset).rows),
    )


def traffic_from_url(url: str, namespace: str | None = None) -> Traffic:
    """The traffic a running mockserver recorded; ValueError when it cannot be read."""
    with MockClient(url, namespace=namespace) as client:
        try:
            return Traffic(
                events=_all_pages(lambda offset: client.events(limit=PAGE, offset=offset)),
                rejections=_all_pages(lambda offset: client.rejections(limit=PAGE, offset=offset)),
                attempts=_all_pages(lambda offset: client.attempts(limit=PAGE, offset=offset)),
            )
        except httpx.HTTPError as exc:
            raise ValueError(f"no mockserver answered at {url}: {exc}") from exc


def _suite_name(vendor: str | None, endpoint: str) -> str:
    return f"{vendor or 'unknown'} {endpoint}"


def _case_prefix(row: Mapping[str, Any], number: int) -> str:
    """``[team-a] lucidworks click #12``: where it went, and which request of the run."""
    namespace = "" if row["namespace"] == DEFAULT_NAMESPACE else f"[{row['namespace']}] "
    name = endpoint_name(row["vendor"], row["endpoint"])
    return f"{namespace}{row['vendor'] or 'unknown'} {name} #{number}"


def rejection_groups(rejections: list[Row]) -> list[dict[str, Any]]:
    """Rejections refused alike (same place, status and reasons) as one group with a count,
    oldest first: 37 identical mistakes read as one failure, not 37."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rejection in sorted(rejections, key=lambda r: r["id"]):
        reasons = tuple((e["layer"], e["rule"], e["path"]) for e in rejection["errors"])
        key = (rejection["namespace"], rejection["vendor"], rejection["endpoint"],
               rejection["method"], rejection["status"], reasons)  # fmt: skip
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                **{name: rejection[name] for name in _REJECTION_FIELDS},
                "count": 0,
                "ids": [],
            }
        group["count"] += 1
        group["ids"].append(rejection["id"])
    return list(groups.values())


def _times(count: int) -> str:
    return f" × {count}" if count > 1 else ""


_REJECTION_FIELDS = (
    "namespace", "vendor", "endpoint", "method", "status", "errors", "body", "received_at",
)  # fmt: skip


def junit_xml(traffic: Traffic, fail_on_warnings: bool = False) -> str:
    """A test case per accepted request, and one per group of rejections alike (failures).
    An accepted request's warnings are properties and system-out of its case; failures too
    with ``fail_on_warnings``."""
    suites: dict[str, list[ET.Element]] = defaultdict(list)
    numbers = request_numbers(traffic)
    for request_id, events in traffic.requests().items():
        first = events[0]
        types = ", ".join(sorted({e["type"] for e in events}))
        prefix = _case_prefix(first, numbers[request_id])
        # The name stays as it is without warnings: CI systems follow a case by its name.
        case = ET.Element(
            "testcase",
            classname=_suite_name(first["vendor"], first["endpoint"]),
            name=f"{prefix}: {plural(len(events), 'event')} ({types})",
            timestamp=first["received_at"],
            time="0",
        )
        _add_warnings(case, events, fail_on_warnings)
        suites[case.get("classname", "")].append(case)
    groups = rejection_groups(traffic.rejections)
    for group in groups:
        suite = _suite_name(group["vendor"], group["endpoint"])
        group_numbers = sorted(numbers[_rejection_key(i)] for i in group["ids"])
        case = ET.Element(
            "testcase",
            classname=suite,
            name=f"{_case_prefix(group, group_numbers[0])}: {group['status']} "
            f"{short_reason(group['errors'])}{_times(group['count'])}",
            timestamp=group["received_at"],
            time="0",
        )
        errors = group["errors"]
        failure = ET.SubElement(
            case,
            "failure",
            message=f"{group['status']}: {errors[0]['message'] if errors else 'rejected'}",
            type=f"HTTP {group['status']}",
        )
        failure.text = "\n".join(_reason_lines(group, group_numbers))
        suites[suite].append(case)
    root = ET.Element("testsuites", name="mockserver")
    for name, cases in sorted(suites.items()):
        failures = sum(1 for case in cases if case.find("failure") is not None)
        suite_element = ET.SubElement(
            root, "testsuite", name=name, tests=str(len(cases)), failures=str(failures), errors="0"
        )
        suite_element.extend(cases)
    root.set("tests", str(sum(len(cases) for cases in suites.values())))
    root.set("failures", str(sum(int(s.get("failures", "0")) for s in root.iter("testsuite"))))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _add_warnings(case: ET.Element, events: list[Row], fail: bool) -> None:
    """Properties (one ``mockserver.warning`` each, which CI systems list with the case) and
    the same lines in system-out, which every JUnit viewer shows."""
    lines = [
        f"event {event['id']}: {describe_warning(warning)}"
        for event in events
        for warning in event_warnings(event)
    ]
    if not lines:
        return
    properties = ET.SubElement(case, "properties")
    for line in lines:
        ET.SubElement(properties, "property", name="mockserver.warning", value=line)
    if fail:
        failure = ET.SubElement(
            case,
            "failure",
            message=f"accepted with {plural(len(lines), 'warning')} (--fail-on-warnings): "
            + lines[0],
            type="mockserver warning",
        )
        failure.text = "\n".join(lines)
    out = ET.SubElement(case, "system-out")
    out.text = f"accepted with {plural(len(lines), 'signal-quality warning')}:\n" + "\n".join(lines)


def _reason_lines(group: Mapping[str, Any], numbers: list[int]) -> Iterator[str]:
    for error in group["errors"]:
        yield describe_error(error)
    if group["count"] > 1:
        yield (
            f"{group['count']} requests refused alike: "
            + ", ".join(f"#{n}" for n in numbers[:20])
            + (" …" if group["count"] > 20 else "")
        )
    if group.get("body"):
        yield f"body{' of the first' if group['count'] > 1 else ''}: {group['body'][:500]}"


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
        "rejection_groups": [
            {k: v for k, v in group.items() if k not in ("body", "received_at")}
            for group in rejection_groups(traffic.rejections)
        ],
        "faults": _faults(traffic.attempts),
        "warned": len(traffic.warned_events()),
        "warnings": warnings_by_rule(traffic),
        "coverage": contract_coverage(traffic.events, contracts),
    }


def warnings_by_rule(traffic: Traffic) -> list[dict[str, Any]]:
    """Each warning rule that fired: how often, at which paths, the first message, and the
    requests by their numbers in the run (``#3``, as the JUnit cases); most frequent first."""
    numbers = request_numbers(traffic)
    rules: dict[str, dict[str, Any]] = {}
    for event in traffic.warned_events():
        for warning in event_warnings(event):
            entry = rules.setdefault(
                warning["rule"],
                {"rule": warning["rule"], "count": 0, "message": warning["message"],
                 "paths": [], "events": [], "requests": []},
            )  # fmt: skip
            entry["count"] += 1
            for key, value in (("paths", warning["path"]), ("events", event["id"]),
                               ("requests", numbers[event["request_id"]])):  # fmt: skip
                if value not in entry[key]:
                    entry[key].append(value)
    return sorted(rules.values(), key=lambda entry: (-entry["count"], entry["rule"]))


def _faults(attempts: list[Row]) -> dict[str, Any]:
    """What fault rules did: how many requests each kind touched, and how many of those had
    their events stored all the same (latency, ack_lost)."""
    by_fault: dict[str, int] = defaultdict(int)
    for attempt in attempts:
        by_fault[attempt["fault"]] += 1
    stored = sum(1 for attempt in attempts if attempt["stored"])
    return {"touched": len(attempts), "stored": stored, "by_fault": dict(sorted(by_fault.items()))}


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
        f"{plural(data['requests'], 'request')}: {data['accepted']} accepted "
        f"({plural(data['events'], 'event')}), {data['rejected']} rejected."
        + (f" {plural(data['warned'], 'event')} with warnings." if data.get("warned") else ""),
        "",
        "| endpoint | accepted | events | rejected |",
        "|---|---:|---:|---:|",
    ]
    for name, counts in data["endpoints"].items():
        lines.append(
            f"| {_cell(name)} | {counts['accepted']} | {counts['events']} | {counts['rejected']} |"
        )
    if data["rejection_groups"]:
        lines += ["", "### Rejections", ""]
        for group in data["rejection_groups"]:
            where = f"{group['status']} {group['method']} {_cell(group['endpoint'])}"
            namespace = group["namespace"]
            elsewhere = "" if namespace == DEFAULT_NAMESPACE else f" in {namespace}"
            lines.append(f"- **{where}**{_times(group['count'])}{_cell(elsewhere)}")
            for error in group["errors"]:
                lines.append(f"  - {_cell(describe_error(error))}")
    if data.get("warnings"):
        warned = plural(data["warned"], "accepted event")
        lines += ["", "### Warnings", "", f"{warned} drew signal-quality warnings:", ""]
        for entry in data["warnings"]:
            shown = ", ".join(f"#{n}" for n in entry["requests"][:20])
            more = " …" if len(entry["requests"]) > 20 else ""
            paths = ", ".join(entry["paths"])
            lines.append(
                f"- **{_cell(entry['rule'])}**{_times(entry['count'])} at {_cell(paths)} "
                f"({'request' if len(entry['requests']) == 1 else 'requests'} {shown}{more}): "
                f"{_cell(entry['message'])}"
            )
    faults = data.get("faults", {})
    if faults.get("touched"):
        kinds = ", ".join(f"{kind} × {n}" for kind, n in faults["by_fault"].items())
        lines += [
            "",
            "### Faults injected",
            "",
            f"{plural(faults['touched'], 'request')} met a fault rule ({kinds}); "
            f"{faults['stored']} of them had their events stored all the same.",
        ]
    lines += ["", "### Contract coverage", ""]
    for entry in data["coverage"]:
        gaps = never_exercised(entry)
        status = "everything exercised" if not gaps else "; ".join(gaps)
        where = f"**{entry['vendor']} {entry['endpoint']}** ({plural(entry['events'], 'event')})"
        lines.append(f"- {where}: {_cell(status)}")
    return "\n".join(lines) + "\n"
