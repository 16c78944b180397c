"""Seeded, mutated Lucidworks click bodies for the differential test against the Go reference.

Each body starts from a valid click and takes up to three mutations aimed at the places where
Go's libraries and a reading of the documentation may part: types, lengths in bytes against
code points, number spellings (``1.0``, ``1e3``, ``-0``, 2**63), numbers either side of a
64-bit float's range in known and unknown fields, currency codes, IP forms, missing, extra and
null fields, key case, duplicate keys, invalid UTF-8, a BOM, trailing data and nesting.
Bodies are bytes, written by a small JSON writer that can repeat a key or put any token
anywhere. The same seed gives the same bodies.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Raw:
    """A token written as is: a number's spelling, invalid bytes, anything."""

    text: bytes


class Obj(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs, in order, repeats allowed."""


def write(value: Any) -> bytes:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Obj):
        return b"{" + b",".join(write(k) + b":" + write(v) for k, v in value) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(write(v) for v in value) + b"]"
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# Currency codes of validator v10.30, those it dropped, and things that are not codes.
CURRENCIES = [
    "USD", "EUR", "XAU", "XTS", "XXX", "VED", "XCG", "ZWG", "SLE", "UYW", "ANG", "CUC", "HRK",
    "ZWL", "VEF", "usd", "Usd", "US", "USDD", "", " USD", "EU1", "ÜSD",
]  # fmt: skip
IPS = [
    "203.0.113.7", "0.0.0.0", "255.255.255.255", "::1", "::", "2001:db8::1", "::ffff:1.2.3.4",
    "::ffff:203.0.113.7", "fe80::1%eth0", "2001:db8::/32", "1.2.3", "1.2.3.4.5", "01.2.3.4",
    "1.2.3.04", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "", "localhost", "1::2::3",
    "2001:0db8:0000:0000:0000:0000:0000:0001", "::ffff:01.2.3.4", "1.2.3.-1", "0x1.2.3.4",
    "111.222.333",
]  # fmt: skip
NUMBERS = [
    b"0", b"1", b"-1", b"1.0", b"1e3", b"1E3", b"1e-3", b"-0", b"-0.0", b"0.5", b"2592",
    b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
    b"-9223372036854775809", b"1e19", b"2147483648", b"4294967296", b"1.7976931348623157e308",
    b"1e400", b"00", b"01", b"+1", b".5", b"1.", b"0x10", b"NaN", b"Infinity",
]  # fmt: skip
# Either side of where Go's ParseFloat overflows (2**1024 - 2**970, the first integer it rounds
# to infinity), and past where Python's int() stops (4,300 digits).
FLOAT64_EDGE = 2**1024 - 2**970
BIG_NUMBERS = [
    str(FLOAT64_EDGE - 1).encode(), str(FLOAT64_EDGE).encode(), b"-" + str(FLOAT64_EDGE).encode(),
    b"9" * 308, b"9" * 309, b"1" + b"0" * 400, b"9" * 4300, b"9" * 4301, b"-" + b"9" * 5000,
    b"1.7976931348623157e308", b"1.7976931348623159e308", b"-1e400", b"1e-400", b"1e308",
]  # fmt: skip
NUMBERS += BIG_NUMBERS
WEIRD_VALUES: list[Any] = [
    None,
    True,
    False,
    "",
    "x",
    0,
    1,
    -1,
    [],
    Obj(),
    ["x"],
    Obj([("a", 1)]),
    Raw(b"1.5"),
]
# Inserted into a string: invalid UTF-8 (a stray byte, an overlong form, an encoded
# surrogate), lone and paired surrogate escapes, and escapes Go and Python both take.
BAD_TEXT = [
    b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\\ud800", b"\\udc00x", b"\\u0000",
    b"\\u00e9", b'\\"', b"\\/", b"\\ud83d\\ude00", b"\x7f",
]  # fmt: skip
LETTERS = ["a", "é", "😀", "中", "\u0301"]  # 1, 2, 4, 3, 2 bytes; the emoji is 2 UTF-16 units


def _text(rng: random.Random, length: int) -> str:
    letter = rng.choice(LETTERS)
    return letter * length if rng.random() < 0.7 else "a" * (length - 1) + letter


def valid_click(rng: random.Random) -> Obj:
    product = Obj([
        ("productId", rng.choice(["1234567", "p-1", _text(rng, rng.choice([1, 64, 128]))])),
        ("currencyCode", rng.choice(["USD", "EUR", "XAU", "JPY", "VED"])),
        ("price", rng.choice([2592, 0, 19.99, -3])),
        ("title", rng.choice(["Oak table", _text(rng, rng.choice([1, 999, 1000]))])),
        ("imageuri", rng.choice(["https://example.com/i.jpg", ""])),
    ])  # fmt: skip
    detail = Obj([("product", product)])
    if rng.random() < 0.6:
        detail.append(("quantity", rng.choice([1, 2, 100])))
    click = Obj([
        ("timestamp", rng.choice([1744305461169, 1, 9223372036854775807, -5])),
        ("visitorId", rng.choice(["v-1", "", _text(rng, rng.choice([1, 127, 128]))])),
        ("sessionId", rng.choice(["s-1", _text(rng, rng.choice([1, 128]))])),
        ("queryId", rng.choice(["q-1", "2a97fc33"])),
        ("productDetails", [copy.deepcopy(detail) for _ in range(rng.choice([0, 1, 1, 2]))]),
        ("sourceId", rng.choice(["web", ""])),
        ("uri", rng.choice(["https://example.com/p", ""])),
    ])  # fmt: skip
    if rng.random() < 0.5:
        click.append(("selectedPosition", rng.choice([1, 2, 40])))
    if rng.random() < 0.7:  # optional: "if it is not passed in the signal, it is extracted"
        click.append(("ipAddress", rng.choice(["203.0.113.7", "::1", "2001:db8::1"])))
    rng.shuffle(click)
    return click


# -- mutations: each takes the click and returns the body's top-level value -----------------

Mutation = Callable[[random.Random, Obj], Any]


def _objects(click: Obj) -> list[Obj]:
    """The click and every object inside it (details, products)."""
    found = [click]
    for _, value in click:
        if isinstance(value, list):
            for detail in value:
                if isinstance(detail, Obj):
                    found.append(detail)
                    found += [v for _, v in detail if isinstance(v, Obj)]
    return found


def _some_field(rng: random.Random, click: Obj) -> tuple[Obj, int]:
    candidates = [(o, i) for o in _objects(click) for i in range(len(o))]
    return rng.choice(candidates)


def drop_field(rng: random.Random, click: Obj) -> Any:
    obj, index = _some_field(rng, click)
    del obj[index]
    return click


def replace_value(rng: random.Random, click: Obj) -> Any:
    obj, index = _some_field(rng, click)
    key, _ = obj[index]
    obj[index] = (key, rng.choice(WEIRD_VALUES))
    return click


def number_spelling(rng: random.Random, click: Obj, spellings: list[bytes] = NUMBERS) -> Any:
    numeric = {"timestamp", "selectedPosition", "price", "quantity"}
    fields = [(o, i) for o in _objects(click) for i, (k, _) in enumerate(o) if k in numeric]
    if not fields:
        click.append(("selectedPosition", Raw(rng.choice(spellings))))
        return click
    obj, index = rng.choice(fields)
    obj[index] = (obj[index][0], Raw(rng.choice(spellings)))
    return click


def string_length(rng: random.Random, click: Obj) -> Any:
    limits = {"visitorId": 128, "sessionId": 128, "productId": 128, "title": 1000,
              "imageuri": 5000, "queryId": 128, "uri": 5000}  # fmt: skip
    fields = [(o, i) for o in _objects(click) for i, (k, _) in enumerate(o) if k in limits]
    obj, index = rng.choice(fields)
    key = obj[index][0]
    length = limits[key] + rng.choice([-1, 0, 1])
    obj[index] = (key, _text(rng, length))
    return click


def currency(rng: random.Random, click: Obj) -> Any:
    products = [o for o in _objects(click) if any(k == "currencyCode" for k, _ in o)]
    if not products:
        return replace_value(rng, click)
    product = rng.choice(products)
    index = next(i for i, (k, _) in enumerate(product) if k == "currencyCode")
    product[index] = ("currencyCode", rng.choice(CURRENCIES))
    return click


def ip_address(rng: random.Random, click: Obj) -> Any:
    for index, (key, _) in enumerate(click):
        if key == "ipAddress":
            click[index] = (key, rng.choice([*IPS, None]))
            return click
    click.append(("ipAddress", rng.choice(IPS)))
    return click


def key_case(rng: random.Random, click: Obj) -> Any:
    obj, index = _some_field(rng, click)
    key, value = obj[index]
    if not key:
        return click
    spelling = rng.choice([key.upper(), key.lower(), key[0].upper() + key[1:], key.swapcase()])
    if spelling == key:
        spelling = key.upper()
    obj[index] = (spelling, value)
    if rng.random() < 0.3:  # the key both ways
        obj.insert(index, (key, value))
    return click


def duplicate_key(rng: random.Random, click: Obj) -> Any:
    obj, index = _some_field(rng, click)
    key, value = obj[index]
    other = rng.choice([value, *WEIRD_VALUES])
    pair = [(key, other), (key, value)] if rng.random() < 0.5 else [(key, value), (key, other)]
    obj[index : index + 1] = pair
    return click


def extra_field(rng: random.Random, click: Obj) -> Any:
    obj = rng.choice(_objects(click))
    obj.append((rng.choice(["extra", "price2", "_x", ""]), rng.choice(WEIRD_VALUES)))
    return click


def bad_text(rng: random.Random, click: Obj) -> Any:
    strings = [(o, i) for o in _objects(click) for i, (_, v) in enumerate(o) if isinstance(v, str)]
    if not strings:
        return click
    obj, index = rng.choice(strings)
    key, value = obj[index]
    insert = rng.choice(BAD_TEXT)
    encoded = json.dumps(value, ensure_ascii=False).encode()[1:-1]
    obj[index] = (key, Raw(b'"' + encoded + insert + b'"'))
    return click


def nesting(rng: random.Random, click: Obj) -> Any:
    depth = rng.choice([2, 50, 1000, 10001])
    deep = Raw(b"[" * depth + b"]" * depth)
    if rng.random() < 0.5:
        click.append(("deep", deep))
    else:
        obj, index = _some_field(rng, click)
        obj[index] = (obj[index][0], deep)
    return click


def big_number(rng: random.Random, click: Obj) -> Any:
    """A number near or past a 64-bit float's range where Go's decoder never converts it (an
    unknown field, or deep in one), or where it must (a known number field)."""
    number = Raw(rng.choice(BIG_NUMBERS))
    where = rng.random()
    if where < 0.5:
        rng.choice(_objects(click)).append((rng.choice(["extra", "_n"]), number))
    elif where < 0.75:
        click.append(("extra", Obj([("deep", [number, Obj([("n", number)])])])))
    else:
        return number_spelling(rng, click, BIG_NUMBERS)
    return click


def shape(rng: random.Random, click: Obj) -> Any:
    return rng.choice([click, [click, click], [], [None], [1], ["x"], [[click]], None, Raw(b"")])


MUTATIONS: list[Mutation] = [
    drop_field, replace_value, number_spelling, string_length, currency, ip_address, key_case,
    duplicate_key, extra_field, bad_text, nesting, big_number,
]  # fmt: skip
FRAMES = [
    (b"", b""), (b"\xef\xbb\xbf", b""), (b"", b" x"), (b"", b"{}"), (b"", b"\n"),
    (b"", b" // c"), (b"", b"]"), (b" \n\t", b" \r\n"), (b"", b"[]"),
]  # fmt: skip


def bodies(seed: int, count: int) -> Iterator[bytes]:
    """``count`` bodies: a third untouched (valid, in many spellings), the rest mutated."""
    rng = random.Random(seed)
    for _ in range(count):
        click = valid_click(rng)
        top: Any = [click]
        roll = rng.random()
        if roll > 0.33:
            for mutation in rng.sample(MUTATIONS, rng.choice([1, 1, 1, 2, 3])):
                mutation(rng, click)
        if roll > 0.95:
            top = shape(rng, click)
        prefix, suffix = rng.choice(FRAMES) if rng.random() < 0.12 else (b"", b"")
        yield prefix + write(top) + suffix
