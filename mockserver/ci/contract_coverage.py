"""Contract coverage: which parts of each vendor contract the recorded traffic exercised.

Everything measured comes from the schemas themselves: the enum values (Neuralens ``event``
and ``page``), and every optional field at any depth (``productDetails[].quantity``). Each
vendor names the scenarios a schema cannot state (``VendorSpec.coverage_scenarios``): a
PURCHASE listing several items, a Lucidworks request carrying several signals at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mockserver.validation import Contract, Contracts
from mockserver.vendors.registry import VENDORS
from mockserver.vendors.spec import VendorSpec


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
    """One entry per endpoint of every vendor: what was exercised and what never was."""
    by_endpoint: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for event in events:
        by_endpoint[event["endpoint"]].append(event)
    return [
        _endpoint_coverage(spec, path, by_endpoint[path], spec.contracts(contracts)[name])
        for spec in VENDORS
        for name, path in spec.paths.items()
    ]


def _split(expected: Iterable[str], seen: set[str]) -> dict[str, list[str]]:
    ordered = list(dict.fromkeys(expected))
    return {
        "seen": [x for x in ordered if x in seen],
        "never": [x for x in ordered if x not in seen],
    }


def _endpoint_coverage(
    spec: VendorSpec, endpoint: str, events: list[Mapping[str, Any]], contract: Contract
) -> dict[str, Any]:
    # An event's payload is one signal of an array body, or the whole object body.
    schema = contract.body_schema
    element = schema.get("items", {}) if spec.body == "array" else schema
    payloads = [event["payload"] for event in events]
    seen_fields = {path for payload in payloads for path in present_fields(payload)}
    return {
        "vendor": spec.name,
        "endpoint": endpoint,
        "events": len(events),
        "values": {
            name: _split(allowed, {str(p.get(name)) for p in payloads})
            for name, allowed in _enums(element).items()
        },
        "optional_fields": _split(optional_fields(element), seen_fields),
        "scenarios": {name: shown(events) for name, shown in spec.coverage_scenarios.items()},
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
