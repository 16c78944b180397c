"""Strict JSON decoding: what any JSON decoder, Go's included, refuses.

Python's ``json`` accepts things Go's ``encoding/json`` does not (``NaN``, a leading
byte order mark when given bytes) and silently takes the last of duplicate keys. This
module turns the body into a value and reports every such problem as a ``decode`` error.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from mockserver.jsontext import OutOfRange, kept_float, kept_int
from mockserver.validation.errors import FieldError, json_path

_UNPAIRED_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, and nothing else
_ELEMENTS_BETWEEN_YIELDS = 512
_SEPARATOR = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_HUGE_INTEGER = re.compile(r"\d{4301,}")
HUGE_DIGITS = 4301  # json's int() refuses an integer this long (sys.int_max_str_digits)
# Every integer ParseFloat cannot hold has at least 309 digits (2**1024 ~ 1.8e308): the rare
# body with such a run of digits is walked for one; every other body is not.
LONG_DIGITS = 309
_DIGIT = re.compile("[0-9]")
_DIGITS_FROM = re.compile("[0-9]*")
_ALL_DIGITS_AS_0 = str.maketrans("123456789", "000000000")
_SAMPLED_TEXT_LIMIT = 8192
# The smallest integer Go's ParseFloat (and Python's float()) rounds to infinity: ErrRange.
FLOAT64_OVERFLOW = 2**1024 - 2**970


def fits_float64(value: int | float) -> bool:
    """Whether Go's ``strconv.ParseFloat`` takes the number without ``ErrRange``."""
    if isinstance(value, OutOfRange):
        return False
    return not isinstance(value, int) or -FLOAT64_OVERFLOW < value < FLOAT64_OVERFLOW


class _BadLiteral(ValueError):
    pass


class _DuplicateKeysDict(dict[str, Any]):
    """An object that named a key more than once: its last values, its keys that repeat, and
    every (key, value) in the order sent (Go's decoder applies them one after another)."""

    duplicate_keys: tuple[str, ...] = ()
    pairs: list[tuple[str, Any]]


def _reject_constant(name: str) -> float:
    raise _BadLiteral(f"{name} is not valid JSON (Go's decoder rejects NaN and Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _BadLiteral(f"number {text} does not fit a 64-bit float")
    return value


def _flag_duplicates(obj: dict[str, Any], pairs: list[tuple[str, Any]]) -> _DuplicateKeysDict:
    seen: set[str] = set()
    duplicates: dict[str, None] = {}
    for key, _ in pairs:
        if key in seen:
            duplicates[key] = None
        seen.add(key)
    flagged = _DuplicateKeysDict(obj)
    flagged.duplicate_keys = tuple(duplicates)
    flagged.pairs = pairs
    return flagged


def object_pairs(obj: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    """Every (key, value) of a decoded object as sent, repeated keys included."""
    return obj.pairs if isinstance(obj, _DuplicateKeysDict) else obj.items()


class _StrictDecoder(json.JSONDecoder):
    """Built once per thread (building a decoder per call costs more than the hooks)."""

    scan_once: Callable[[str, int], tuple[Any, int]]  # json's scanner, set by JSONDecoder

    def __init__(self, keep_out_of_range: bool = False, huge_integers: bool = False) -> None:
        super().__init__(
            object_pairs_hook=self._object_from_pairs,
            parse_constant=_reject_constant,
            parse_float=kept_float if keep_out_of_range else _finite_float,
            # A Python hook per integer costs every body; only the fallback decoder has one.
            parse_int=kept_int if huge_integers else None,
        )
        self.flagged: list[_DuplicateKeysDict] = []

    def _object_from_pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        self.flagged.append(_flag_duplicates(obj, pairs))
        return self.flagged[-1]


_local = threading.local()


def _thread_decoder(keep_out_of_range: bool = False, huge_integers: bool = False) -> _StrictDecoder:
    name = f"decoder_{keep_out_of_range}_{huge_integers}"
    decoder: _StrictDecoder | None = getattr(_local, name, None)
    if decoder is None:
        decoder = _StrictDecoder(keep_out_of_range, huge_integers)
        setattr(_local, name, decoder)
    return decoder


class Decoded(NamedTuple):
    value: Any  # None when the body does not decode
    errors: list[FieldError]
    # For a top-level array, each element's JSON text exactly as sent: a batch's events are
    # stored as sent, and slicing them out costs a ninth of encoding each one again.
    element_texts: tuple[str, ...] = ()


def decode_json(body: bytes, *, lenient: bool = False, keep_out_of_range: bool = False) -> Decoded:
    """The decoded value and every decode problem found.

    ``lenient`` decodes as Go's ``encoding/json`` does without complaint: invalid UTF-8 and
    unpaired surrogate escapes become U+FFFD, the last of duplicate keys wins, and what
    follows the first JSON value is ignored, as ``Decoder.Decode`` reads one value and leaves
    the rest (strict refuses it: ``json.Unmarshal`` and kin-openapi do).

    A number no 64-bit float holds is refused wherever it stands, as kin-openapi does (it
    decodes the whole body into ``interface{}``), unless ``keep_out_of_range``: then it is an
    ``OutOfRange``, or an ``int`` past ``FLOAT64_OVERFLOW``, for the Go type check to refuse
    in a known field and to ignore in an unknown one, as Go's decoder skips those unread.
    """
    if not body.strip():
        return Decoded(
            None, [_error("$", "empty-body", "the request body is empty; send a JSON document")]
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not lenient:
            message = f"the body is not valid UTF-8 (bad byte at offset {exc.start})"
            return Decoded(None, [_error("$", "utf8", message)])
        text = body.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        return Decoded(
            None, [_error("$", "syntax", "the body starts with a UTF-8 byte order mark; remove it")]
        )
    # Only a body with an integer Python's int() refuses pays for the integer hook.
    huge_integers = keep_out_of_range and has_digit_run(text, HUGE_DIGITS)
    decoder = _thread_decoder(keep_out_of_range, huge_integers)
    decoder.flagged.clear()
    element_texts: tuple[str, ...] = ()
    try:
        value, element_texts = _array_elements(decoder, text, trailing=lenient)
    except (ValueError, StopIteration, RecursionError):
        # Not an array, or not valid JSON: the whole-text decode says which, in its words.
        value = _whole_text(decoder, text, lenient)
        if isinstance(value, FieldError):
            return Decoded(None, [value])
    if not keep_out_of_range and has_digit_run(text, LONG_DIGITS):
        overflowing = _first_overflowing_integer(value)
        if overflowing is not None:
            return Decoded(None, [_error("$", "syntax", _describe_long_integer(overflowing))])

    errors: list[FieldError] = []
    has_surrogates = _UNPAIRED_SURROGATE_ESCAPE.search(text) is not None
    if lenient:
        return Decoded(
            _replace_surrogates(value) if has_surrogates else value, errors, element_texts
        )
    if decoder.flagged:
        errors.extend(_duplicate_key_errors(value))
    if has_surrogates:
        errors.extend(_surrogate_errors(value))
        # Reported once, here; the layers after this one see what Go would (U+FFFD), and
        # never a lone surrogate, which no UTF-8 encoder (jsonschema-rs's included) takes.
        value = _replace_surrogates(value)
    return Decoded(value, errors, element_texts)


def has_digit_run(text: str, length: int) -> bool:
    """Whether ``text`` has ``length`` ASCII digits in a row (a JSON number's are ASCII).

    Every body is asked, and a regular expression, which tries a match at every digit, took
    several times the body's decoding (bench/results/measurements.md#digit-runs). Any
    ``length`` characters in a row include one at a multiple of ``length - 1``: only those
    are looked at, and the runs of the digits among them measured. A long text has many
    such digits: its digits are all made zeros instead, and a run of zeros looked for."""
    step = length - 1
    if len(text) > _SAMPLED_TEXT_LIMIT:
        return "0" * length in text.translate(_ALL_DIGITS_AS_0)
    for found in _DIGIT.finditer(text[::step]):
        at = found.start() * step
        after = _DIGITS_FROM.match(text, at).end() - at  # type: ignore[union-attr]
        before = _DIGITS_FROM.match(text[max(0, at - length) : at][::-1]).end()  # type: ignore[union-attr]
        if before + after >= length:
            return True
    return False


def _whole_text(decoder: _StrictDecoder, text: str, lenient: bool) -> Any:
    """The body decoded in one go, or the error that says why it does not decode."""
    decoder.flagged.clear()
    try:
        if lenient:
            return decoder.raw_decode(text, _skip_space(text, 0))[0]
        return decoder.decode(text)
    except _BadLiteral as exc:
        return _error("$", "syntax", str(exc))
    except json.JSONDecodeError as exc:
        rule = "trailing-data" if exc.msg.startswith("Extra data") else "syntax"
        return _error("$", rule, _describe_syntax_error(text, exc))
    except RecursionError:
        return _error("$", "depth", "the JSON is nested too deeply")
    except ValueError as exc:  # json's int(): a literal of more than 4,300 digits
        return _error("$", "syntax", _describe_huge_number(text, exc))


def _first_overflowing_integer(value: Any) -> int | None:
    """Looked for among the values as sent, a repeated key's earlier ones too: Go decodes
    each (and refuses the one that overflows) before the last one wins."""
    pending = [value]
    while pending:
        node = pending.pop()
        if type(node) is int:
            if not fits_float64(node):
                return node
        elif isinstance(node, dict):
            pending.extend(reversed([child for _, child in object_pairs(node)]))
        elif isinstance(node, list):
            pending.extend(reversed(node))
    return None


def _array_elements(
    decoder: _StrictDecoder, text: str, trailing: bool = False
) -> tuple[list[Any], tuple[str, ...]]:
    """A top-level array decoded element by element with the decoder's own scanner, keeping
    each element's text. Raises ``ValueError`` for anything else, ``StopIteration`` (the
    scanner's) where an element should start and none does."""
    index = _skip_space(text, 0)
    if not text.startswith("[", index):
        raise ValueError("not an array")
    values: list[Any] = []
    texts: list[str] = []
    index = _skip_space(text, index + 1)
    if text.startswith("]", index):
        index = _skip_space(text, index + 1)
    else:
        scan, separator = decoder.scan_once, _SEPARATOR.match
        while True:
            value, end = scan(text, index)
            values.append(value)
            texts.append(text[index:end])
            if len(values) % _ELEMENTS_BETWEEN_YIELDS == 0:
                # Large bodies are decoded off the event loop; giving up the GIL now and then
                # lets the loop serve other requests in between, not after the whole body.
                time.sleep(0)
            found = separator(text, end)  # one match a element: 1 MiB of [{},{},...] is 340k
            if found is None:
                raise ValueError("expected , or ]")
            index = found.end()
            if found.group(1) == "]":
                break
    if index != len(text) and not trailing:
        raise ValueError("extra data")
    return values, tuple(texts)


def _skip_space(text: str, index: int) -> int:
    return _SPACE.match(text, index).end()  # type: ignore[union-attr]  # matches "" at worst


def _error(path: str, rule: str, message: str) -> FieldError:
    return FieldError(path=path, rule=rule, layer="decode", message=message)


def _describe_syntax_error(text: str, exc: json.JSONDecodeError) -> str:
    where = f"line {exc.lineno} column {exc.colno}"
    before = text[: exc.pos].rstrip()
    after = text[exc.pos : exc.pos + 1]
    if before.endswith(",") and after in ("}", "]"):
        return f"invalid JSON at {where}: trailing comma before '{after}'; remove the comma"
    if after == "/":
        return f"invalid JSON at {where}: comments are not allowed in JSON"
    if exc.msg.startswith("Extra data"):
        return (
            f"invalid JSON at {where}: more than one JSON value in the body (what follows the "
            "first is refused; --profile lenient ignores it, as Go's Decoder.Decode does)"
        )
    return f"invalid JSON at {where}: {exc.msg}"


def _describe_huge_number(text: str, exc: ValueError) -> str:
    """Python's json refuses integers of more than 4,300 digits (a guard against slow
    conversions); Go refuses them too, as out of range for int64 and float64 alike."""
    huge = _HUGE_INTEGER.search(text)
    if huge is None:
        return f"invalid JSON: {exc}"
    digits = huge.group()
    return (
        f"number {digits[:12]}…{digits[-4:]} ({len(digits)} digits) does not fit a 64-bit "
        "integer or float"
    )


def _describe_long_integer(number: int) -> str:
    digits = str(abs(number))
    return (
        f"number {digits[:12]}…{digits[-4:]} ({len(digits)} digits) does not fit a 64-bit "
        "integer or float"
    )


def _walk(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, (*path, index))


def _duplicate_key_errors(value: Any) -> Iterator[FieldError]:
    for path, node in _walk(value, ()):
        if isinstance(node, _DuplicateKeysDict):
            for key in node.duplicate_keys:
                yield _error(
                    json_path((*path, key)),
                    "duplicate-key",
                    f"key {key!r} appears more than once; Go keeps the last value, other "
                    "decoders the first: send it once",
                )


def _replace_surrogates(value: Any) -> Any:
    """Go's replacement of unpaired surrogates with U+FFFD (paired ones are already joined)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        pairs = [(_replace_surrogates(k), _replace_surrogates(v)) for k, v in object_pairs(value)]
        obj = dict(pairs)  # two keys may become one: that is a repeat, as for Go
        return obj if len(obj) == len(pairs) else _flag_duplicates(obj, pairs)
    return value


def _surrogate_errors(value: Any) -> Iterator[FieldError]:
    for path, node in _walk(value, ()):
        texts = [node] if isinstance(node, str) else []
        if isinstance(node, dict):
            texts = [key for key in node if isinstance(key, str)]
        for text in texts:
            if any("\ud800" <= char <= "\udfff" for char in text):
                yield _error(
                    json_path(path),
                    "utf8",
                    "string holds an unpaired UTF-16 surrogate escape; Go replaces it with "
                    "U+FFFD, so the vendor would store something else than was sent",
                )
                break
