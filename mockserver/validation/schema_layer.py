"""A JSON Schema (Draft 2020-12) layer over jsonschema-rs, built once per contract.

jsonschema-rs compiles the schema to native code: ~2 µs a body against ~200 µs for the
pure-Python ``jsonschema`` with the same draft, error paths and keywords. Valid bodies take
the ``is_valid`` fast path; only invalid ones pay for building error reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any

import jsonschema_rs

from mockserver.validation.errors import FieldError, Layer, json_path

HINT_KEY = "x-mockserver-hint"


_ARRAY_ONLY_KEYWORDS = {"type", "items", "title", "description"}


class SchemaLayer:
    def __init__(self, schema: Mapping[str, Any], layer: Layer) -> None:
        self._schema = schema
        self._layer: Layer = layer
        self._validator = jsonschema_rs.Draft202012Validator(dict(schema))
        # jsonschema-rs builds every error before yielding the first: 100k bad signals took
        # 6 s. A top-level array that only constrains its items is checked item by item, so
        # listing stops at the limit.
        self._items: jsonschema_rs.Draft202012Validator | None = None
        if schema.get("type") == "array" and set(schema) <= _ARRAY_ONLY_KEYWORDS:
            self._items = jsonschema_rs.Draft202012Validator(dict(schema.get("items", {})))

    def errors(self, value: Any, limit: int | None = None) -> list[FieldError]:
        try:
            return self._errors(value, limit)
        except ValueError as exc:  # jsonschema-rs's own depth guard, as a ValueError
            if "recursion limit" in str(exc).lower():
                raise RecursionError(str(exc)) from exc
            raise

    def _errors(self, value: Any, limit: int | None) -> list[FieldError]:
        if self._validator.is_valid(value):
            return []
        if self._items is None or not isinstance(value, list):
            found = self._validator.iter_errors(value)
            return [self._convert(e, self._schema) for e in islice(found, limit)]
        items_schema = self._schema.get("items", {})
        errors: list[FieldError] = []
        for index, item in enumerate(value):
            if limit is not None and len(errors) >= limit:
                break
            if not self._items.is_valid(item):
                found = self._items.iter_errors(item)
                errors += [self._convert(e, items_schema, index) for e in found]
        return errors[:limit]

    def _convert(
        self, error: Any, schema: Mapping[str, Any], index: int | None = None
    ) -> FieldError:
        keyword = str(error.schema_path[-1]) if error.schema_path else "schema"
        parts: list[str | int] = list(error.instance_path)
        if index is not None:
            parts.insert(0, index)
        message = str(error.message)
        if keyword == "required":
            missing = str(error.kind.property)
            parts.append(missing)
            message = f"{missing} is required"
        hint = _hint(schema, error.schema_path)
        if hint:
            message = f"{message} ({hint})"
        return FieldError(json_path(parts), keyword, self._layer, message)


def _hint(schema: Mapping[str, Any], schema_path: Sequence[str | int]) -> str | None:
    """The ``x-mockserver-hint`` of the subschema whose keyword failed, if it has one."""
    node: Any = schema
    for part in list(schema_path)[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node.get(HINT_KEY) if isinstance(node, Mapping) else None
