"""What the Go server behind an OpenAPI spec does with a decoded body.

oapi-codegen turns the spec into Go structs (required properties as values, optional ones as
pointers) and tags each field with the spec's ``x-oapi-codegen-extra-tags``. ``compile_go_type``
rebuilds that struct tree once, from the inlined schema; ``GoChecker`` then walks a body in one
pass and reports

- ``decode`` errors, where ``encoding/json`` refuses a value: a string into int64, ``1.0`` or
  ``1e3`` or a value beyond int64 into an integer, an object where an array is expected; and
  keys that only match a field ignoring case (Go accepts them, a strict contract should not);
- ``validator`` errors, where a go-playground tag fails (see ``goplayground``).

Unknown fields are ignored at any depth, as Go does. ``null`` decodes to the zero value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

from mockserver.jsontext import OutOfRange
from mockserver.validation.decoding import FLOAT64_OVERFLOW, fits_float64, object_pairs
from mockserver.validation.errors import FieldError, json_path
from mockserver.validation.goplayground import Tag, first_failure, parse_tags
from mockserver.validation.hints import WRAP_IN_ARRAY, type_hint

_INT_RANGES = {"int64": (-(2**63), 2**63 - 1), "int32": (-(2**31), 2**31 - 1)}
# Go names a number it cannot store "number", one past float64 (an OutOfRange) included.
_JSON_KIND = {
    bool: "bool",
    int: "number",
    float: "number",
    OutOfRange: "number",
    str: "string",
    list: "array",
}

Path = tuple[str | int, ...]
Predicate = Callable[[Any], bool]
_NESTED = ("struct", "slice")  # kinds with values beneath them for the validator to walk


@dataclass(frozen=True, slots=True)
class GoField:
    json_name: str
    type: GoType
    tags: tuple[Tag, ...]
    pointer: bool  # optional in the spec: absent or null means "not sent", tags are skipped


@dataclass(frozen=True, slots=True)
class GoType:
    kind: str  # int64, int32, float64, string, bool, slice, struct, any
    name: str
    element: GoType | None = None
    fields: Mapping[str, GoField] = field(default_factory=dict)
    folded: Mapping[str, str] = field(default_factory=dict)  # lower-cased key -> json name


def compile_go_type(schema: Mapping[str, Any], name: str = "") -> GoType:
    """The Go type oapi-codegen would generate for an inlined (``$ref``-free) schema."""
    schema = _merge_all_of(schema)
    kind = schema.get("type")
    if kind == "integer":
        go_kind = "int32" if schema.get("format") == "int32" else "int64"
        return GoType(go_kind, go_kind)
    if kind == "number":
        return GoType("float64", "float64")
    if kind == "string":
        return GoType("string", "string")
    if kind == "boolean":
        return GoType("bool", "bool")
    if kind == "array":
        element = compile_go_type(schema.get("items", {}), name)
        return GoType("slice", f"[]{element.name}", element=element)
    if kind == "object" or "properties" in schema:
        struct_name = schema.get("title") or name or "struct"
        required = set(schema.get("required", ()))
        fields = {
            prop: GoField(
                json_name=prop,
                type=compile_go_type(sub, prop),
                tags=parse_tags(_validate_tag(sub)),
                pointer=prop not in required,
            )
            for prop, sub in schema.get("properties", {}).items()
        }
        folded = {prop.lower(): prop for prop in fields}
        return GoType("struct", struct_name, fields=fields, folded=folded)
    return GoType("any", "interface{}")


def _merge_all_of(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    parts = schema.get("allOf")
    if not parts:
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in map(_merge_all_of, parts):
        merged.setdefault("type", part.get("type"))
        merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
        merged["required"] = [*merged.get("required", []), *part.get("required", [])]
    return merged


def _validate_tag(schema: Mapping[str, Any]) -> str:
    extra = schema.get("x-oapi-codegen-extra-tags") or {}
    return str(extra.get("validate", ""))


_FieldCheck = tuple[str, GoField, Predicate]


class GoChecker:
    """Go decoding and validator-tag checks for one request body type, built once."""

    def __init__(
        self,
        root: GoType,
        *,
        dive_nested_slices: bool = True,
        fold_keys: bool = False,
        prune: bool = True,
    ) -> None:
        """``dive_nested_slices=False`` is the validator without ``dive`` tags: the top-level
        array of signals is validated element by element, slices inside them are not.
        ``fold_keys=True`` is Go's decoder matching keys to fields ignoring case (see
        ``fold``) instead of reporting such keys. An optional field that is absent or null is
        not checked against its tags in either case: the docs say what the service does with
        an absent ``ipAddress`` ("extracted from the request"), so the bare generated code's
        reading (a nil pointer tagged ``ip`` fails it) is no profile's; tests/goref keeps it
        measurable (``-ip-optional=false``). ``prune=False`` walks every value instead of
        skipping those the compiled predicates clear: slower, and independent of them, which
        makes it the oracle the tests hold the predicates to."""
        self.root = root
        self.dive = dive_nested_slices
        self.fold_keys = fold_keys
        self.prune = prune
        element = root.element if root.kind == "slice" else root
        self._struct_name = element.name if element is not None else root.name
        self._clean = _compile_clean(root, tags=True, dive=dive_nested_slices, top=True)
        self._subtrees: dict[tuple[int, bool], Predicate] = {}
        self._fields: dict[tuple[int, bool], list[_FieldCheck]] = {}
        # a struct type's fields by name, for the decode walk: built once, not a body
        self._decoders: dict[int, dict[str, tuple[GoField, Predicate]]] = {}

    def fold(self, value: Any) -> Any:
        """The value as Go's decoder fills the struct: a key that matches a field only ignoring
        case lands in that field (a later one overwriting an earlier); others are kept."""
        return _fold(value, self.root) if self.fold_keys else value

    def errors(self, value: Any, limit: int | None = None) -> list[FieldError]:
        # Most bodies are clean: a compiled yes/no check answers in a few microseconds, and
        # only a body that fails it pays for the walk that builds paths and messages.
        return [] if self.is_clean(value) else self.walk(value, limit)

    def is_clean(self, value: Any) -> bool:
        return self._clean(value)

    def walk(self, value: Any, limit: int | None = None) -> list[FieldError]:
        """Every error, or the first ``limit`` (the walk stops there)."""
        element = self.root.element
        if self.root.kind == "slice" and isinstance(value, list) and element is not None:
            # Signal by signal: one predicate call clears a clean signal for both walks.
            found: Iterable[FieldError] = chain.from_iterable(
                chain(
                    self._decode(item, element, (i,)),
                    self._validate(_element_value(item, element), element, (i,), True),
                )
                for i, item in enumerate(value)
                if not self._passes(_element_value(item, element), element, True)
            )
        else:
            found = chain(
                self._decode(value, self.root, ()), self._validate(value, self.root, (), True)
            )
        return list(islice(found, limit))

    def _passes(self, value: Any, go: GoType, tags: bool) -> bool:
        """Whether a value holds nothing to report, by its type's compiled predicate: the walk
        skips such values (one bad signal among a hundred walks one signal)."""
        return self._predicate(go, tags)(value)

    def _predicate(self, go: GoType, tags: bool) -> Predicate:
        if not self.prune:
            return _never_clean
        key = (id(go), tags)
        predicate = self._subtrees.get(key)
        if predicate is None:
            predicate = self._subtrees[key] = _compile_clean(go, tags=tags, dive=self.dive)
        return predicate

    def _struct_checks(self, go: GoType, tags: bool) -> list[_FieldCheck]:
        """Each field of a struct with its type's predicate, looked up once per struct type:
        one bad field among twenty builds one error and only calls twenty predicates."""
        key = (id(go), tags)
        checks = self._fields.get(key)
        if checks is None:
            checks = self._fields[key] = [
                (name, go_field, self._predicate(go_field.type, tags))
                for name, go_field in go.fields.items()
            ]
        return checks

    def _decode(self, value: Any, go: GoType, path: Path) -> Iterator[FieldError]:
        if value is None or go.kind == "any":
            return
        if not _decodes(value, go):
            yield self._type_error(value, go, path)
        elif go.kind in _INT_RANGES:
            yield from _integer_range(value, go, path)
        elif go.kind == "slice":
            assert go.element is not None
            element_clean = self._predicate(go.element, False)
            for index, item in enumerate(value):
                if not element_clean(item):
                    yield from self._decode(item, go.element, (*path, index))
        elif go.kind == "struct":
            by_name = self._decoders.get(id(go))
            if by_name is None:
                checks = self._struct_checks(go, False)
                by_name = self._decoders[id(go)] = {name: (f, ok) for name, f, ok in checks}
            for key, item in value.items():
                known = by_name.get(key)
                if known is not None:
                    go_field, clean = known
                    if not clean(item):
                        yield from self._decode(item, go_field.type, (*path, key))
                elif not self.fold_keys and key.lower() in go.folded:
                    yield _case_error(key, go.folded[key.lower()], path)

    def _validate(self, value: Any, go: GoType, path: Path, tags: bool) -> Iterator[FieldError]:
        """go-playground's walk: every field's tags, then into nested structs and slices."""
        if go.kind == "slice" and isinstance(value, list) and go.element is not None:
            dive = tags and (not path or self.dive)
            element_clean = self._predicate(go.element, dive)
            for index, item in enumerate(value):
                item = _element_value(item, go.element)
                if not element_clean(item):
                    yield from self._validate(item, go.element, (*path, index), dive)
        elif go.kind == "struct" and isinstance(value, dict):
            for name, go_field, clean in self._struct_checks(go, tags):
                item = value.get(name)
                sent = not (go_field.pointer and item is None)
                if tags and go_field.tags and sent and _decodes(item, go_field.type):
                    # An absent or null non-pointer field holds Go's zero value: tags see that.
                    failed = first_failure(go_field.tags, item)
                    if failed is not None:
                        tag, explanation = failed
                        yield FieldError(
                            json_path((*path, name)), tag.text, "validator", f"{name} {explanation}"
                        )
                if go_field.type.kind in _NESTED and not clean(item):
                    yield from self._validate(item, go_field.type, (*path, name), tags)

    def _type_error(self, value: Any, go: GoType, path: Path) -> FieldError:
        kind = "object" if isinstance(value, dict) else _JSON_KIND.get(type(value), "value")
        if go.kind == "float64" and _is_number(value):  # out of range: Go spells it out
            kind = f"number {_number_text(value)}"
        names = [part for part in path if isinstance(part, str)]
        where = f"Go struct field {'.'.join([self._struct_name, *names])}" if names else "Go value"
        message = f"json: cannot unmarshal {kind} into {where} of type {go.name}"
        if not path and go.kind == "slice" and isinstance(value, dict):
            message = f"{message}; {WRAP_IN_ARRAY}"
        elif names and (hint := type_hint(names[-1], value, go.kind)):
            message = f"{message}; {hint}"
        return FieldError(json_path(path), "type", "decode", message)


def _element_value(item: Any, element: GoType) -> Any:
    """A null element of a slice of structs decodes to the zero struct, whose tags the
    validator then checks (``[null]`` fails ``required``); a null field stays "not sent"."""
    return {} if item is None and element.kind == "struct" else item


def _never_clean(value: Any) -> bool:
    return False


def _compile_clean(go: GoType, *, tags: bool, dive: bool, top: bool = False) -> Predicate:
    """A predicate true exactly when ``GoChecker`` would report nothing for the value.

    It mirrors ``_decode`` and ``_validate`` as Python source generated once per type, a
    function a struct or slice with each field's test written inline: no paths, no messages,
    no call a scalar field (closures a field took twice as long; measured:
    bench/results/measurements.md#generated-predicates). tests/test_validation.py holds it
    to agreement with an unpruned walk (``prune=False``) over the fixture corpus and
    generated bodies, in both profiles.
    """
    source = _PredicateSource()
    name = source.function(go, tags=tags, dive=dive, top=top)
    namespace = dict(source.bound)
    exec("\n".join(source.lines), namespace)  # noqa: S102  # our own text, from the schema
    predicate: Predicate = namespace[name]
    return predicate


class _PredicateSource:
    """The text of ``_compile_clean``'s functions, and the objects they name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.bound: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"_v{len(self.bound)}"
        self.bound[name] = value
        return name

    def test(self, go: GoType, var: str, *, tags: bool, dive: bool, top: bool = False) -> str:
        """An expression true when ``var`` (a local name) is clean as a ``go``."""
        if go.kind in _INT_RANGES:
            low, high = _INT_RANGES[go.kind]
            return f"({var} is None or (type({var}) is int and {low} <= {var} <= {high}))"
        if go.kind == "float64":
            limit = self.bind(FLOAT64_OVERFLOW)
            return (
                f"({var} is None or type({var}) is float or "
                f"(type({var}) is int and -{limit} < {var} < {limit}))"
            )
        if go.kind in ("string", "bool"):
            return f"({var} is None or type({var}) is {'str' if go.kind == 'string' else 'bool'})"
        if go.kind in _NESTED:
            return f"{self.function(go, tags=tags, dive=dive, top=top)}({var})"
        return "True"

    def function(self, go: GoType, *, tags: bool, dive: bool, top: bool = False) -> str:
        name = self.bind(None)
        if go.kind not in _NESTED:
            body = [f"return {self.test(go, 'v', tags=tags, dive=dive)}"]
        else:
            body = [
                "if v is None:",
                "    return True",
                *self._nested(go, tags=tags, dive=dive, top=top),
            ]
        self.lines += [f"def {name}(v):", *(f"    {line}" for line in body)]
        return name

    def _nested(self, go: GoType, *, tags: bool, dive: bool, top: bool) -> list[str]:
        """The body of a slice's or struct's function, after its null test."""
        body: list[str] = []
        if go.kind == "slice":
            assert go.element is not None
            element_tags = tags and (top or dive)
            body += ["if type(v) is not list:", "    return False"]
            zero = go.element.kind == "struct"  # a null element is the zero struct
            if zero and not _compile_clean(go.element, tags=element_tags, dive=dive)({}):
                body += ["if None in v:", "    return False"]
            element = self.test(go.element, "x", tags=element_tags, dive=dive)
            body += ["for x in v:", f"    if not {element}:", "        return False"]
        else:
            known, folded = self.bind(frozenset(go.fields)), self.bind(go.folded)
            body += [
                "if type(v) is not dict and not isinstance(v, dict):",  # type() first: faster
                "    return False",
                f"if not {known}.issuperset(v) and any(",
                f"    k not in {known} and k.lower() in {folded} for k in v",
                "):",
                "    return False",
            ]
            for field_name, go_field in go.fields.items():
                test = self.test(go_field.type, "x", tags=tags, dive=dive)
                body += [f"x = v.get({field_name!r})", f"if not {test}:", "    return False"]
                checks = [self._tag(tag) for tag in go_field.tags] if tags else []
                if checks:
                    # An absent or null optional field is not sent: its tags are skipped.
                    sent = "x is not None and " if go_field.pointer else ""
                    body += [f"if {sent}not ({' and '.join(checks)}):", "    return False"]
        return [*body, "return True"]

    def _tag(self, tag: Tag) -> str:
        if tag.text == "required":  # written out: not is_go_zero(x)
            return "(type(x) is list or not not x)"
        return f"{self.bind(tag.check)}(x)"


_ABSENT = object()  # a field no key has filled yet


def _fold(value: Any, go: GoType) -> Any:
    return _decode_into(_ABSENT, value, go, pointer=False)


def _decode_into(current: Any, value: Any, go: GoType, pointer: bool) -> Any:
    """What a Go field of type ``go`` holds after ``encoding/json`` decodes ``value`` into it
    while it holds ``current``, as Go 1.19 does (measured by the Go reference, tests/goref):

    - keys land in their field exactly or ignoring case, one after another as sent, so a
      repeated key's later value wins;
    - ``null`` empties a pointer or a slice and leaves anything else as it was;
    - an object fills a struct field by field over what it holds, and an array's elements
      are decoded into the slice's existing elements (a repeated ``productDetails`` keeps
      the earlier products' fields the later ones do not name);
    - a value of the wrong type is an error that stands even if a later value is right.
    Unknown keys are kept (and ignored by the checks)."""
    if value is None:
        if pointer or go.kind in ("slice", "any") or current is _ABSENT:
            return None
        return current
    if go.kind == "struct" and isinstance(value, dict):
        merged: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
        for key, item in object_pairs(value):
            name = key if key in go.fields else go.folded.get(key.lower(), key)
            field = go.fields.get(name)
            if field is None:
                merged[name] = item
                continue
            earlier = merged.get(name, _ABSENT)
            if earlier is not _ABSENT and not _decodes_deep(earlier, field.type):
                continue  # Go reports the first wrong value it met
            merged[name] = _decode_into(earlier, item, field.type, field.pointer)
        return merged
    if go.kind == "slice" and isinstance(value, list) and go.element is not None:
        old = current if isinstance(current, list) else []
        return [
            _decode_into(old[i] if i < len(old) else _ABSENT, item, go.element, pointer=False)
            for i, item in enumerate(value)
        ]
    return value


def _decodes_deep(value: Any, go: GoType) -> bool:
    """Whether ``value`` decodes into ``go`` without an error anywhere beneath it."""
    if value is None or go.kind == "any":
        return True
    if go.kind in _INT_RANGES:
        low, high = _INT_RANGES[go.kind]
        return type(value) is int and low <= value <= high
    if go.kind == "struct":
        return isinstance(value, dict) and all(
            _decodes_deep(item, go.fields[name].type)
            for key, item in object_pairs(value)
            if (name := key if key in go.fields else go.folded.get(key.lower())) is not None
        )
    if go.kind == "slice" and go.element is not None:
        return isinstance(value, list) and all(_decodes_deep(v, go.element) for v in value)
    return _decodes(value, go)


def _integer_range(value: Any, go: GoType, path: Path) -> Iterator[FieldError]:
    low, high = _INT_RANGES[go.kind]
    if isinstance(value, OutOfRange):
        yield FieldError(
            json_path(path),
            "integer",
            "decode",
            f"{_number_text(value)} is out of range for Go's {go.kind} ({low} to {high})",
        )
        return
    if isinstance(value, float):
        yield FieldError(
            json_path(path),
            "integer",
            "decode",
            f"{value!r} was written with a fraction or an exponent (1.5, 1.0, 1e3); Go's "
            f"{go.kind} refuses all three: send a whole number such as {round(value)}",
        )
        return
    if not low <= value <= high:
        yield FieldError(
            json_path(path),
            "integer",
            "decode",
            f"{_number_text(value)} is out of range for Go's {go.kind} ({low} to {high})",
        )


def _case_error(key: str, exact: str, path: Path) -> FieldError:
    return FieldError(
        json_path((*path, key)),
        "case-insensitive-key",
        "decode",
        f"key {key!r} matches field {exact!r} only when case is ignored: Go accepts it, "
        f"other decoders drop it; send {exact!r}",
    )


def _decodes(value: Any, go: GoType) -> bool:
    """Whether ``value`` decodes into ``go`` (wrong types are already decode errors)."""
    if value is None:
        return True
    if go.kind in _INT_RANGES:
        return _is_number(value)
    if go.kind == "float64":  # ParseFloat's ErrRange is Go's UnmarshalTypeError too
        return _is_number(value) and fits_float64(value)
    if go.kind == "string":
        return isinstance(value, str)
    if go.kind == "bool":
        return isinstance(value, bool)
    if go.kind == "slice":
        return isinstance(value, list)
    if go.kind == "struct":
        return isinstance(value, dict)
    return True


def _number_text(value: int | float) -> str:
    """A number as Go's messages spell it, shortened when it runs to hundreds of digits."""
    text = repr(value)
    if len(text) <= 40:
        return text
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    return f"{sign}{digits[:12]}…{digits[-4:]} ({len(digits)} digits)"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
