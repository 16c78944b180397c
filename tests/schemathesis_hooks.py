"""Schemathesis hooks for tests/test_schemathesis.py (loaded with SCHEMATHESIS_HOOKS).

JSON Schema's data model has one number type, so ``2.0`` *is* an integer to it and a generator
may write an integer field that way; Go's ``encoding/json`` refuses it (the mock's ``integer``
rule, which the fixture corpus tests on its own). No JSON Schema keyword can exclude it, so
such bodies are skipped rather than counted as valid requests wrongly refused.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from mockserver.settings import Settings
from mockserver.validation import load_contracts
from mockserver.validation.gotypes import GoType


def _integer_fields(go: GoType, found: set[str]) -> set[str]:
    if go.element is not None:
        _integer_fields(go.element, found)
    for name, field in go.fields.items():
        if field.type.kind in ("int64", "int32"):
            found.add(name)
        _integer_fields(field.type, found)
    return found


INTEGER_FIELDS: set[str] = set()
for contract in load_contracts(Settings().schema_dir).lucidworks.values():
    _integer_fields(contract.go.root, INTEGER_FIELDS)


def _has_float_integer(value: Any) -> bool:
    if isinstance(value, list):
        return any(map(_has_float_integer, value))
    if isinstance(value, dict):
        return any(
            (key in INTEGER_FIELDS and isinstance(item, float)) or _has_float_integer(item)
            for key, item in value.items()
        )
    return False


@schemathesis.hook
def filter_body(ctx: Any, body: Any) -> bool:
    return not _has_float_integer(body)
