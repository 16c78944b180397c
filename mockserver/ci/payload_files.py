"""Offline validation: payload files checked against the same contracts the server runs.

A source is a JSON file (one request body) or NDJSON (one request body a line), or ``-`` for
standard input. Headers are not part of a file, so only the body is checked.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.events import describe_error, plural
from mockserver.settings import DEFAULT_MAX_BODY_BYTES
from mockserver.validation import Contracts, FieldError
from mockserver.vendors import registry
from mockserver.vendors.intake import BodyTooLarge, http_error
from mockserver.vendors.registry import VENDOR_NAMES, VENDORS
from mockserver.vendors.signal_quality import body_warnings
from mockserver.vendors.spec import VendorSpec

_OPENINGS = {"array": b"[", "object": b"{"}
_ENDPOINT_IN_NAME = {
    spec.name: re.compile(rf"(?<![a-z])({'|'.join(spec.endpoints)})(?![a-z])") for spec in VENDORS
}


class UsageError(Exception):
    """The command cannot run as asked (exit 2), as opposed to a payload that fails (exit 1)."""


@dataclass(frozen=True)
class Payload:
    source: str  # "file.json", "file.ndjson:3", "-:2"
    body: bytes


@dataclass(frozen=True)
class CheckResult:
    source: str
    vendor: str | None  # None when the payload could not be checked (see ``unchecked``)
    endpoint: str | None
    errors: tuple[FieldError, ...] = field(default=())
    unchecked: str | None = None  # why the payload could not be checked: which flag to pass
    # Signal-quality warnings of a valid payload ({"rule", "path", "message"}); the context
    # rule (unknown-query) needs the other events, which a file does not have.
    warnings: tuple[Mapping[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors and self.unchecked is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "vendor": self.vendor,
            "endpoint": self.endpoint,
            "ok": self.ok,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [dict(w) for w in self.warnings],
            "unchecked": self.unchecked,
        }


def read_payloads(name: str, data: bytes) -> list[Payload]:
    """One payload for a JSON document, one a non-blank line for NDJSON (``.ndjson``/``.jsonl``,
    or any input that is not one JSON document but whose lines each are)."""
    if name.endswith((".ndjson", ".jsonl")) or (not _is_json(data) and _lines_are_json(data)):
        return [
            Payload(f"{name}:{number}", line)
            for number, line in enumerate(data.splitlines(), start=1)
            if line.strip()
        ]
    return [Payload(name, data)]


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


def _lines_are_json(data: bytes) -> bool:
    lines = [line for line in data.splitlines() if line.strip()]
    return len(lines) > 1 and all(_is_json(line) for line in lines)


def infer_target(payload: Payload, vendor: str | None, endpoint: str | None) -> tuple[str, str]:
    """(vendor, endpoint name) from the flags, else the file name, else the body's shape."""
    try:
        value = json.loads(payload.body)
    except ValueError:
        value = None
    spec = _vendor_for(payload, vendor, endpoint)
    if endpoint is not None:
        if endpoint not in spec.endpoints:
            raise UsageError(
                f"--endpoint {endpoint!r} is not a {spec.name} endpoint "
                f"({', '.join(spec.endpoints)})"
            )
        return spec.name, endpoint
    if len(spec.endpoints) == 1:
        return spec.name, spec.endpoints[0]
    named = _ENDPOINT_IN_NAME[spec.name].search(Path(payload.source).name.lower())
    if named:
        return spec.name, named.group(1)
    first = value[0] if isinstance(value, list) and value else value
    try:
        return spec.name, spec.guess_endpoint(first if isinstance(first, dict) else {})
    except ValueError as exc:
        raise UsageError(f"{payload.source}: {exc}") from None


def _vendor_for(payload: Payload, vendor: str | None, endpoint: str | None) -> VendorSpec:
    if vendor is not None:
        return registry.vendor(vendor)
    serving = [spec for spec in VENDORS if endpoint in spec.endpoints]
    if len(serving) == 1:
        return serving[0]
    # Broken JSON still shows its shape: an array or an object.
    opening = payload.body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    shaped = [spec for spec in VENDORS if _OPENINGS[spec.body] == opening]
    if len(shaped) == 1:
        return shaped[0]
    choices = " or ".join(f"--vendor {name}" for name in VENDOR_NAMES)
    raise UsageError(
        f"{payload.source}: cannot tell the vendor of a body that is neither an object "
        f"nor an array; pass {choices}"
    )


def check(
    payloads: Iterable[Payload],
    contracts: Contracts,
    vendor: str | None = None,
    endpoint: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Iterator[CheckResult]:
    """A result for every payload: one that cannot be classified is reported, not fatal."""
    for payload in payloads:
        try:
            target_vendor, target = infer_target(payload, vendor, endpoint)
        except UsageError as exc:
            yield CheckResult(payload.source, None, None, unchecked=str(exc))
            continue
        if len(payload.body) > max_body_bytes:  # the server's 413, before reading the body
            too_large = http_error(
                "body-too-large", str(BodyTooLarge(len(payload.body), max_body_bytes))
            )
            yield CheckResult(payload.source, target_vendor, target, (too_large,))
            continue
        contract = registry.vendor(target_vendor).contracts(contracts)[target]
        validated = contract.validate(payload.body)
        warnings: tuple[Mapping[str, str], ...] = ()
        if not validated.errors:
            now_ms = time.time_ns() // 1_000_000
            found = body_warnings(
                target_vendor, target, validated.value, validated.warnings, now_ms
            )
            warnings = tuple(found)
        yield CheckResult(payload.source, target_vendor, target, validated.errors, None, warnings)


def exit_status(results: Sequence[CheckResult], fail_on_warnings: bool = False) -> int:
    """1 when any payload is invalid (or, with ``fail_on_warnings``, has a warning); else 2
    when any could not be checked; else 0."""
    if any(r.errors for r in results):
        return 1
    if fail_on_warnings and any(r.warnings for r in results):
        return 1
    return 2 if any(r.unchecked for r in results) else 0


def _counts(results: Sequence[CheckResult]) -> dict[str, int]:
    unchecked = sum(r.unchecked is not None for r in results)
    invalid = sum(bool(r.errors) for r in results)
    return {
        "checked": len(results),
        "valid": len(results) - invalid - unchecked,
        "invalid": invalid,
        "unchecked": unchecked,
        "with_warnings": sum(bool(r.warnings) for r in results),
    }


def format_human(results: Sequence[CheckResult]) -> str:
    lines = []
    for result in results:
        if result.unchecked is not None:
            lines.append(f"UNCHECKED {result.source}  {result.unchecked}")
            continue
        verdict = "valid  " if result.ok else "INVALID"
        lines.append(f"{verdict} {result.source}  ({result.vendor} {result.endpoint})")
        for error in result.errors:
            lines.append(f"    {describe_error(error.as_dict())}")
        for warning in result.warnings:
            lines.append(
                f"    warning {warning['path']}  [{warning['rule']}]  {warning['message']}"
            )
    counts = _counts(results)
    summary = (
        f"checked {plural(counts['checked'], 'payload')}: {counts['valid']} valid, "
        f"{counts['invalid']} invalid"
    )
    if counts["with_warnings"]:
        summary += f", {counts['with_warnings']} valid with warnings"
    if counts["unchecked"]:
        summary += f", {counts['unchecked']} could not be checked"
    lines.append(summary)
    return "\n".join(lines)


def format_json(results: Sequence[CheckResult]) -> str:
    summary: Mapping[str, Any] = {**_counts(results), "results": [r.as_dict() for r in results]}
    return json.dumps(summary, indent=2, ensure_ascii=False)
