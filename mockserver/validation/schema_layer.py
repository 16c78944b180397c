"""A JSON Schema (Draft 2020-12) layer over jsonschema-rs, built once per contract.

jsonschema-rs compiles the schema to native code: it checks a body far faster than the
pure-Python ``jsonschema`` with the same draft, error paths and keywords
(measured: bench/results/measurements.md#jsonschema-rs). Valid bodies take the ``is_valid``
fast path; only invalid ones pay for building error reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import islice
from typing import Any

import jsonschema_rs

from mockserver.validation.errors import FieldError, Layer, json_path
from mockserver.validation.hints import near_miss, null_hint, type_hint

# In mockserver's own schemas: {keyword: hint}, added to the message when that keyword fails
# (a unit hint on "maximum" says nothing to a string sent where the number belongs).
HINT_KEY = "x-mockserver-hint"
Hints = Mapping[tuple[str, str], str]  # (property, keyword) -> hint, for a schema kept verbatim


_ARRAY_ONLY_KEYWORDS = {"type", "items", "title", "description"}


class SchemaLayer:
    def __init__(self, schema: Mapping[str, Any], layer: Layer, hints: Hints | None = None) -> None:
        self._schema = schema
        self._layer: Layer = layer
        self._hints: Hints = hints or {}
        self._validator = jsonschema_rs.Draft202012Validator(dict(schema))
        # jsonschema-rs builds every error before yielding the first, which is slow for a
        # body of many bad signals (measured: bench/results/measurements.md#schema-errors).
        # A top-level array that only constrains its items is checked item by item, so
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
        hint = self._hint(schema, list(error.schema_path), keyword, parts, error.instance)
        if hint:
            message = f"{message} ({hint})"
        return FieldError(json_path(parts), keyword, self._layer, message)

    def _hint(
        self,
        schema: Mapping[str, Any],
        schema_path: list[str | int],
        keyword: str,
        parts: list[str | int],
        instance: Any,
    ) -> str | None:
        """The hint that fits the failed keyword, if one does."""
        node = _node(schema, schema_path[:-1])
        field = next((p for p in reversed(parts) if isinstance(p, str)), None)
        if node is None or field is None:
            return None
        own = node.get(HINT_KEY, {}).get(keyword) or self._hints.get((field, keyword))
        if own:
            return str(own)
        if keyword == "enum":
            return near_miss(instance, node.get("enum", ()))
        if keyword == "type" and instance is None:
            parent = (
                _node(schema, schema_path[:-3]) if schema_path[-3:-2] == ["properties"] else None
            )
            return null_hint(field, parent is not None and field not in parent.get("required", ()))
        if keyword == "type":
            return type_hint(field, instance, node.get("type"))
        return None


def _node(schema: Mapping[str, Any], schema_path: Sequence[str | int]) -> Mapping[str, Any] | None:
    """The subschema at ``schema_path``, if the path leads to one."""
    node: Any = schema
    for part in schema_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node if isinstance(node, Mapping) else None
