"""Contract coverage: which parts of each vendor contract the recorded traffic exercised.

Everything measured comes from the schemas themselves: the enum values (Neuralens ``event``
and ``page``), and every optional field at any depth (``productDetails[].quantity``). Two
scenarios are named because a schema cannot state them: a PURCHASE listing several items,
and a Lucidworks request carrying several signals at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mockserver.validation import Contracts

SEVERAL_ITEMS = "PURCHASE with more than one item"
BATCH = "several signals in one request"


def optional_fields(schema: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of the properties a schema does not require, at any depth."""
    if schema.get("type") == "array" or "items" in schema:
        yield from optional_fields(schema.get("items", {}), prefix + "[]" if prefix else "")
        return
    required = set(schema.get("required", ()))
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        if name not in required:
            yield path
        yield from optional_fields(sub, path)


def present_fields(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from present_fields(item, prefix + "[]")
    elif isinstance(value, dict):
        for name, item in value.items():
            if item is None:
                continue
            path = f"{prefix}.{name}" if prefix else name
            yield path
            yield from present_fields(item, path)


def _enums(schema: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        name: list(sub["enum"])
        for name, sub in schema.get("properties", {}).items()
        if isinstance(sub, Mapping) and "enum" in sub
    }


def contract_coverage(
    events: Iterable[Mapping[str, Any]], contracts: Contracts
) -> list[dict[str, Any]]:
    """One entry per endpoint: what was exercised and what never was."""
    by_endpoint: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for event in events:
        by_endpoint[event["endpoint"]].append(event)
    report = [_neuralens(by_endpoint["/analytics/event"], contracts.neuralens.schema)]
    for signal, contract in sorted(contracts.lucidworks.items()):
        endpoint = contract.operation.path
        report.append(
            _lucidworks(endpoint, signal, by_endpoint[endpoint], contract.operation.body_schema)
        )
    return report


def _split(expected: Iterable[str], seen: set[str]) -> dict[str, list[str]]:
    ordered = list(dict.fromkeys(expected))
    return {
        "seen": [x for x in ordered if x in seen],
        "never": [x for x in ordered if x not in seen],
    }


def _neuralens(events: list[Mapping[str, Any]], schema: Mapping[str, Any]) -> dict[str, Any]:
    payloads = [event["payload"] for event in events]
    seen_fields = {path for payload in payloads for path in present_fields(payload)}
    values = {
        name: _split(allowed, {str(p.get(name)) for p in payloads})
        for name, allowed in _enums(schema).items()
    }
    several = any(p.get("event") == "PURCHASE" and len(p.get("items") or ()) > 1 for p in payloads)
    return {
        "vendor": "neuralens",
        "endpoint": "/analytics/event",
        "events": len(events),
        "values": values,
        "optional_fields": _split(optional_fields(schema), seen_fields),
        "scenarios": {SEVERAL_ITEMS: several},
    }


def _lucidworks(
    endpoint: str, signal: str, events: list[Mapping[str, Any]], body_schema: Mapping[str, Any]
) -> dict[str, Any]:
    signals_per_request: dict[str, int] = defaultdict(int)
    for event in events:
        signals_per_request[event["request_id"]] += 1
    seen_fields = {path for event in events for path in present_fields(event["payload"])}
    return {
        "vendor": "lucidworks",
        "endpoint": endpoint,
        "events": len(events),
        "values": {},
        "optional_fields": _split(optional_fields(body_schema.get("items", {})), seen_fields),
        "scenarios": {BATCH: any(n > 1 for n in signals_per_request.values())},
    }


def never_exercised(entry: Mapping[str, Any]) -> list[str]:
    """Plain sentences: ``event never sent: FAVORITE, SHARE``."""
    lines = [
        f"{name} never sent: {', '.join(split['never'])}"
        for name, split in entry["values"].items()
        if split["never"]
    ]
    if entry["optional_fields"]["never"]:
        lines.append(f"optional fields never sent: {', '.join(entry['optional_fields']['never'])}")
    lines += [f"no {name}" for name, seen in entry["scenarios"].items() if not seen]
    return lines
