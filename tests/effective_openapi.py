"""The vendor's OpenAPI document with its hidden rules written out as JSON Schema keywords.

The published click spec under-declares its contract: its validator tags (``required``,
``max=N``, ``iso4217``, ``ip``) and Go's decoding rules are invisible to a tool that reads
only JSON Schema (the spec's own example, ipAddress ``111.222.333``, is schema-valid and
refused). ``effective_openapi`` derives, from the same YAML, the document that says what the
strict profile accepts, so a generator such as schemathesis can produce valid requests and
check that every one is accepted. Nothing here is written by hand per field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from mockserver.validation.goplayground import IPV4_PATTERN, ISO4217_CODES
from mockserver.validation.openapi import SpecSet

INT64 = (-(2**63), 2**63 - 1)
_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}


def effective_openapi(specs: SpecSet, spec_file: str) -> dict[str, Any]:
    document: dict[str, Any] = specs.inline(copy.deepcopy(specs.document(spec_file)), spec_file)
    for item in document.get("paths", {}).values():
        for parameter in item.get("parameters", []):
            _tighten_header(parameter)
        operation = item.get("post")
        if operation is None:
            continue
        content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        if "schema" in content:
            content["schema"] = tighten(content["schema"])
        responses = operation.setdefault("responses", {})
        responses["400"] = {
            "description": "INVALID REQUEST (mockserver adds a problem body)",
            "content": _PROBLEM,
        }
        responses["401"] = {
            "description": "missing, malformed or unknown token [guess]",
            "content": _PROBLEM,
        }
        responses["413"] = {"description": "body over the size limit", "content": _PROBLEM}
    return document


def _tighten_header(parameter: dict[str, Any]) -> None:
    if parameter.get("in") != "header":
        return
    schema = parameter.setdefault("schema", {})
    name = parameter["name"].lower()
    if name == "content-type":
        schema["enum"] = ["application/json"]
    else:  # a header that is only whitespace is as good as missing
        schema["pattern"] = r"\S"
    if name in CLIENT_SUPPLIED_HEADERS:
        parameter["required"] = False


# HTTP clients send these whatever a test asks (a JSON body carries its Content-Type; requests
# adds "Accept: */*"), so a generator cannot send a request without them. Their absence is
# tested directly (tests/test_vendors_lucidworks.py); here they are marked optional so that
# generators do not count such requests as wrongly accepted.
CLIENT_SUPPLIED_HEADERS = frozenset({"accept", "content-type"})


def tighten(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with every validator tag and Go decoding rule as a JSON Schema keyword."""
    result = dict(schema)
    kind = result.get("type")
    if kind == "string":
        # Formats are annotations the real server does not check (cartId's uuid): the
        # effective document must not promise a rejection that never happens.
        result.pop("format", None)
    if kind == "integer":
        low, high = INT64 if result.get("format") != "int32" else (-(2**31), 2**31 - 1)
        result["minimum"] = max(result.get("minimum", low), low)
        result["maximum"] = min(result.get("maximum", high), high)
    for tag in str((result.get("x-oapi-codegen-extra-tags") or {}).get("validate", "")).split(","):
        _apply_tag(result, tag.strip())
    if "items" in result:
        result["items"] = tighten(result["items"])
    if "properties" in result:
        # The spec's required list as it is: an optional field with a tag (ipAddress, ip) may
        # be left out, as the docs say ("extracted from the request"), and the tag holds only
        # when it is sent.
        result["properties"] = {name: tighten(sub) for name, sub in result["properties"].items()}
        result["propertyNames"] = _no_case_variants(list(result["properties"]))
    return result


def _apply_tag(schema: dict[str, Any], tag: str) -> None:
    name, _, param = tag.partition("=")
    kind = schema.get("type")
    if name == "required":
        if kind == "string":
            schema["minLength"] = max(schema.get("minLength", 0), 1)
        elif kind in ("integer", "number"):
            # Not zero, as two ranges: a `not` would let generators wander outside the type.
            schema["anyOf"] = [{"exclusiveMinimum": 0}, {"exclusiveMaximum": 0}]
        elif kind == "object" or "properties" in schema:
            schema["minProperties"] = 1
    elif name == "max" and kind == "string":
        schema["maxLength"] = min(schema.get("maxLength", int(param)), int(param))
    elif name == "iso4217":
        schema["enum"] = sorted(ISO4217_CODES)
    elif name == "ip":
        schema["anyOf"] = [{"pattern": f"^{IPV4_PATTERN}$"}, {"format": "ipv6"}]


def _no_case_variants(names: list[str]) -> dict[str, Any]:
    """Keys may be anything but a different-case spelling of a field (Go would fill it)."""
    spelled = "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in n) for n in names
    )
    return {"anyOf": [{"enum": names}, {"not": {"pattern": f"^(?:{spelled})$"}}]}
