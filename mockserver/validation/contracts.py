"""The contracts a request body is checked against, built once at start-up.

A contract turns raw body bytes into a decoded value and every error its profile finds:

- ``strict`` (the default): the union of every layer the real service may run. Where two
  layers would report the same problem (a string where Go wants int64 is both a decode error
  and an OpenAPI ``type`` error), the deeper layer's report is kept.
- ``lenient``: only what the real service surely refuses. For Lucidworks, a bare Go decoder
  plus the validator tags: keys match fields ignoring case, the last duplicate key wins,
  invalid UTF-8 becomes U+FFFD, no OpenAPI layer, no tags checked inside nested arrays
  (``productDetails``; go-playground needs ``dive`` for that). For Neuralens, whose stack is
  unknown, only the decoding leniencies apply.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import jsonschema

from mockserver.validation.decoding import decode_json
from mockserver.validation.errors import FieldError
from mockserver.validation.gotypes import GoChecker, compile_go_type
from mockserver.validation.hints import LUCIDWORKS_HINTS
from mockserver.validation.neuralens_rules import SHOULD_RULES, semantic_errors
from mockserver.validation.openapi import HeaderParameter, Operation, SpecSet
from mockserver.validation.schema_layer import SchemaLayer

LUCIDWORKS_SIGNAL_PREFIX = "/retail/signals/"
Profile = Literal["strict", "lenient"]
# A 300 kB body of 100k empty signals has 700k problems: listing them all was slow and took
# much memory (measured: bench/results/measurements.md#max-errors).
# Each layer stops after this many, and a request reports at most this many.
MAX_ERRORS = 100
PROFILES: tuple[str, ...] = get_args(Profile)


@dataclass(frozen=True, slots=True)
class Validated:
    value: Any
    errors: tuple[FieldError, ...]
    element_texts: tuple[str, ...] = ()  # a top-level array's elements as sent (see Decoded)
    # Problems the profile accepts but reports (lenient: the Neuralens "should" rules).
    warnings: tuple[FieldError, ...] = ()


_TOO_DEEP = FieldError(
    "$",
    "depth",
    "decode",
    "the JSON is nested deeper than mockserver can check (a few hundred levels; Go allows "
    "10,000): nest it less deeply",
)


def _depth_guarded(
    validate: Callable[[Any, bytes], Validated],
) -> Callable[[Any, bytes], Validated]:
    """A body nested deeper than Python's recursion allows (decoding takes ~1,000 levels; some
    layers fewer) is a decode error, never a crash: every layer walks the value recursively."""

    @functools.wraps(validate)
    def guarded(contract: Any, body: bytes) -> Validated:
        try:
            return validate(contract, body)
        except RecursionError:
            return Validated(None, (_TOO_DEEP,))

    return guarded


class Contract(Protocol):
    """What every endpoint's contract offers: the body's schema, and a check of raw bytes."""

    @property
    def body_schema(self) -> Mapping[str, Any]: ...

    def validate(self, body: bytes) -> Validated: ...


class LucidworksContract:
    """One Lucidworks signal endpoint: Go decoding, the OpenAPI schema, the validator tags."""

    def __init__(self, operation: Operation, profile: Profile = "strict") -> None:
        self.operation = operation
        self.profile = profile
        self.signal_type = operation.path.removeprefix(LUCIDWORKS_SIGNAL_PREFIX)
        self.headers: tuple[HeaderParameter, ...] = operation.headers
        lenient = profile == "lenient"
        self.go = GoChecker(
            compile_go_type(operation.body_schema),
            dive_nested_slices=not lenient,
            fold_keys=lenient,
        )
        self._openapi = (
            None if lenient else SchemaLayer(operation.body_schema, "openapi", LUCIDWORKS_HINTS)
        )

    @property
    def body_schema(self) -> Mapping[str, Any]:
        return self.operation.body_schema

    @_depth_guarded
    def validate(self, body: bytes) -> Validated:
        lenient = self._openapi is None
        value, errors, texts = decode_json(body, lenient=lenient, keep_out_of_range=lenient)
        if value is None and errors:
            return Validated(None, tuple(errors))
        value = self.go.fold(value)
        go_errors = self.go.errors(value, MAX_ERRORS + 1)
        if self._openapi is None:
            return _validated(value, [*errors, *go_errors], texts)
        decode = [*errors, *(e for e in go_errors if e.layer == "decode")]
        mistyped = {e.path for e in decode}
        openapi = [
            e
            for e in self._openapi.errors(value, MAX_ERRORS + 1)
            if not (e.rule == "type" and e.path in mistyped)
        ]
        missing = {e.path for e in openapi if e.rule == "required"}
        validator = [
            e
            for e in go_errors
            if e.layer == "validator" and not (e.rule == "required" and e.path in missing)
        ]
        return _validated(value, [*decode, *openapi, *validator], texts)


class NeuralensContract:
    """The Neuralens event: mockserver's JSON Schema, then the rules across fields."""

    def __init__(self, schema: Mapping[str, Any], profile: Profile = "strict") -> None:
        self.profile = profile
        self.schema = schema
        self._schema = SchemaLayer(schema, "schema")

    @property
    def body_schema(self) -> Mapping[str, Any]:
        return self.schema

    @_depth_guarded
    def validate(self, body: bytes) -> Validated:
        value, errors, _ = decode_json(body, lenient=self.profile == "lenient")
        if value is None and errors:
            return Validated(None, tuple(errors))
        schema_errors = self._schema.errors(value, MAX_ERRORS + 1)
        semantic = semantic_errors(value)
        if self.profile != "lenient":
            return _validated(value, [*errors, *schema_errors, *semantic])
        should = tuple(e for e in semantic if e.rule in SHOULD_RULES)
        musts = [e for e in semantic if e.rule not in SHOULD_RULES]
        validated = _validated(value, [*errors, *schema_errors, *musts])
        if validated.errors or not should:
            return validated
        return Validated(validated.value, (), validated.element_texts, should)


def _validated(value: Any, errors: list[FieldError], texts: tuple[str, ...] = ()) -> Validated:
    if len(errors) <= MAX_ERRORS:
        return Validated(value, tuple(errors), texts)
    more = FieldError(
        "$", "error-limit", "http", f"more problems follow; only the first {MAX_ERRORS} are listed"
    )
    return Validated(value, (*errors[:MAX_ERRORS], more))


@dataclass(frozen=True, slots=True)
class Contracts:
    neuralens: NeuralensContract
    lucidworks: Mapping[str, LucidworksContract]  # by signal type: click, query, cartadd, purchase


def load_contracts(schema_dir: Path, profile: Profile = "strict") -> Contracts:
    """Every contract under ``schema_dir``; a schema that is not valid JSON Schema fails here."""
    if profile not in PROFILES:
        raise ValueError(f"profile {profile!r} is not one of {', '.join(PROFILES)}")
    neuralens_file = schema_dir / "neuralens" / "event.schema.json"
    with neuralens_file.open(encoding="utf-8") as handle:
        neuralens_schema = json.load(handle)
    _check_schema(neuralens_schema, str(neuralens_file))
    neuralens = NeuralensContract(neuralens_schema, profile)
    specs = SpecSet(schema_dir / "lucidworks")
    lucidworks: dict[str, LucidworksContract] = {}
    for spec_file in sorted(p.name for p in specs.directory.glob("*.openapi.yaml")):
        for operation in specs.operations(spec_file):
            if operation.path.startswith(LUCIDWORKS_SIGNAL_PREFIX):
                where = f"the request body of {operation.path} in {spec_file}"
                _check_schema(operation.body_schema, where)
                contract = LucidworksContract(operation, profile)
                lucidworks[contract.signal_type] = contract
    return Contracts(neuralens=neuralens, lucidworks=lucidworks)


def _check_schema(schema: Mapping[str, Any], where: str) -> None:
    """A ValueError naming the file and the keyword, which ``serve`` shows without a traceback."""
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        at = "/".join(str(part) for part in exc.absolute_path) or "the top level"
        raise ValueError(f"{where} is not valid JSON Schema at {at}: {exc.message}") from exc
