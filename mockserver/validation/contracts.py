"""The contracts a request body is checked against, built once at start-up.

A contract turns raw body bytes into a decoded value and the strict union of every layer's
errors. Where two layers would report the same problem (a string where Go wants int64 is both
a decode error and an OpenAPI ``type`` error), the deeper layer's report is kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from mockserver.validation.decoding import decode_json
from mockserver.validation.errors import FieldError
from mockserver.validation.gotypes import GoChecker, compile_go_type
from mockserver.validation.neuralens_rules import semantic_errors
from mockserver.validation.openapi import HeaderParameter, Operation, SpecSet
from mockserver.validation.schema_layer import SchemaLayer

LUCIDWORKS_SIGNAL_PREFIX = "/retail/signals/"


@dataclass(frozen=True, slots=True)
class Validated:
    value: Any
    errors: tuple[FieldError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


class LucidworksContract:
    """One Lucidworks signal endpoint: Go decoding, the OpenAPI schema, the validator tags."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self.signal_type = operation.path.removeprefix(LUCIDWORKS_SIGNAL_PREFIX)
        self.headers: tuple[HeaderParameter, ...] = operation.headers
        self.go = GoChecker(compile_go_type(operation.body_schema))
        self._openapi = SchemaLayer(operation.body_schema, "openapi")

    def validate(self, body: bytes) -> Validated:
        value, errors = decode_json(body)
        if value is None and errors:
            return Validated(None, tuple(errors))
        go_errors = self.go.errors(value)
        decode = [*errors, *(e for e in go_errors if e.layer == "decode")]
        mistyped = {e.path for e in decode}
        openapi = [
            e for e in self._openapi.errors(value) if not (e.rule == "type" and e.path in mistyped)
        ]
        missing = {e.path for e in openapi if e.rule == "required"}
        validator = [
            e
            for e in go_errors
            if e.layer == "validator" and not (e.rule == "required" and e.path in missing)
        ]
        return Validated(value, (*decode, *openapi, *validator))


class NeuralensContract:
    """The Neuralens event: mockserver's JSON Schema, then the rules across fields."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._schema = SchemaLayer(schema, "schema")

    def validate(self, body: bytes) -> Validated:
        value, errors = decode_json(body)
        if value is None and errors:
            return Validated(None, tuple(errors))
        schema_errors = self._schema.errors(value)
        return Validated(value, (*errors, *schema_errors, *semantic_errors(value)))


@dataclass(frozen=True, slots=True)
class Contracts:
    neuralens: NeuralensContract
    lucidworks: Mapping[str, LucidworksContract]  # by signal type: click, query, cartadd, purchase


def load_contracts(schema_dir: Path) -> Contracts:
    """Every contract under ``schema_dir``; a schema that is not valid JSON Schema fails here."""
    with (schema_dir / "neuralens" / "event.schema.json").open(encoding="utf-8") as handle:
        neuralens_schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(neuralens_schema)
    neuralens = NeuralensContract(neuralens_schema)
    specs = SpecSet(schema_dir / "lucidworks")
    lucidworks: dict[str, LucidworksContract] = {}
    for spec_file in sorted(p.name for p in specs.directory.glob("*.openapi.yaml")):
        for operation in specs.operations(spec_file):
            if operation.path.startswith(LUCIDWORKS_SIGNAL_PREFIX):
                jsonschema.Draft202012Validator.check_schema(operation.body_schema)
                contract = LucidworksContract(operation)
                lucidworks[contract.signal_type] = contract
    return Contracts(neuralens=neuralens, lucidworks=lucidworks)
