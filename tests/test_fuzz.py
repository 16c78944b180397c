"""Generated bodies and headers at both vendors, in both profiles: never a 5xx, never a crash,
each request recorded exactly once (its events, or one rejection), and the server answers
normally after. Bodies are valid payloads with values anywhere in them deleted or replaced,
huge integers, nesting up to 10,000 deep and lone surrogates among them.

MOCKSERVER_FUZZ_EXAMPLES sets the count per vendor (default 200; ``make fuzz`` runs 5,000 per
vendor, 10,000 in all).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import Settings, SqliteStore, create_app
from mockserver.vendors.registry import ANALYTICS
from tests.conftest import LUCIDWORKS_HEADERS, NEURALENS_HEADERS, load_fixture

# Per vendor, shared by the two profiles.
EXAMPLES = int(os.environ.get("MOCKSERVER_FUZZ_EXAMPLES", "200")) // 2
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

CLICK = load_fixture("lucidworks", "valid", "click-full.json")[0]
EVENT = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")

printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


# Raw JSON text no Python value serialises to, spliced in where a marker string stands:
# the classes that once made a 5xx (huge integers, deep nesting, lone surrogates) at any
# depth, in either profile.
HOSTILE_TEXTS = [
    "9" * 4301, "-" + "9" * 5000, "1" + "0" * 400, "1e400", '"\\ud800"', '"a\\udfffb"',
    *("[" * depth + "]" * depth for depth in (490, 600, 1000, 10_000)),
    '{"a":' * 600 + "1" + "}" * 600, "[" * 489 + '"\\ud800"' + "]" * 489,
]  # fmt: skip
EDGE_VALUES: list[Any] = [None, {}, [], [None], [{}], "", 0, -1, 2**63, 1.5, True, "USD", "\ud800"]
_MARKER = "\x00hostile{}\x00"


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value inside ``value``, itself included."""
    children: Any = ()
    if isinstance(value, dict):
        children = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    return [path, *(p for key, child in children for p in _places(child, (*path, key)))]


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``value`` with the value at ``path`` replaced by ``new``, or removed if ``_DELETE``."""
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    if len(path) == 1 and new is _DELETE:
        del copy[path[0]]
    else:
        copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


_DELETE = object()


@st.composite
def _mutated_bodies(draw: st.DrawFn, valid: Any) -> bytes:
    """The valid payload with one to three values anywhere in it deleted or replaced: by any
    JSON value, an edge value, or hostile raw text."""
    value, raw = valid, []
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(_places(value)))
        kind = draw(st.sampled_from(["any", "edge", "hostile", "delete"]))
        if kind == "hostile":
            raw.append(draw(st.sampled_from(HOSTILE_TEXTS)))
            new: Any = _MARKER.format(len(raw) - 1)
        elif kind == "delete" and where:
            new = _DELETE
        else:
            new = draw(json_values if kind == "any" else st.sampled_from(EDGE_VALUES))
        value = _replaced(value, where, new)
    text = json.dumps(value)
    for index, hostile in enumerate(raw):
        text = text.replace(json.dumps(_MARKER.format(index)), hostile)
    return text.encode("utf-8", "surrogatepass")


def _bodies(valid: Any) -> st.SearchStrategy[bytes]:
    return (
        _mutated_bodies(valid)
        | json_values.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass"))
        | st.binary(max_size=300)
    )


def _headers(valid: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """Each header kept, dropped, or replaced by printable noise."""
    choice = {
        name: st.one_of(st.just(value), st.none(), printable) for name, value in valid.items()
    }
    return st.fixed_dictionaries(choice).map(
        lambda h: {k: v for k, v in h.items() if v is not None}
    )


@pytest.fixture(scope="module", params=["strict", "lenient"])
def mock(request: pytest.FixtureRequest) -> Iterator[tuple[TestClient, SqliteStore]]:
    store = SqliteStore(":memory:", ANALYTICS)
    settings = Settings(db=":memory:", profile=request.param)
    with TestClient(create_app(settings, store)) as client:
        yield client, store
    store.close()


def _exactly_once(
    client: TestClient, store: SqliteStore, path: str, body: bytes, headers: dict[str, str]
) -> None:
    events, rejections = store.count_events({}), store.rejections({}, 1).total
    response = client.post(path, content=body, headers=headers)
    assert response.status_code < 500
    new_events = store.count_events({}) - events
    new_rejections = store.rejections({}, 1).total - rejections
    if response.status_code < 300:
        sent = json.loads(body)  # a null body is no signals in lenient Lucidworks
        signals = len(sent) if isinstance(sent, list) else 0 if sent is None else 1
        assert (new_events, new_rejections) == (signals, 0)
    else:
        assert (new_events, new_rejections) == (0, 1)


@FUZZ
@given(body=_bodies([CLICK]), headers=_headers(LUCIDWORKS_HEADERS))
def test_lucidworks_fuzz(
    mock: tuple[TestClient, SqliteStore], body: bytes, headers: dict[str, str]
) -> None:
    _exactly_once(*mock, "/retail/signals/click", body, headers)


@FUZZ
@given(body=_bodies(EVENT), headers=_headers(NEURALENS_HEADERS))
def test_neuralens_fuzz(
    mock: tuple[TestClient, SqliteStore], body: bytes, headers: dict[str, str]
) -> None:
    _exactly_once(*mock, "/analytics/event", body, headers)


def test_the_server_answers_normally_after_fuzzing(mock: tuple[TestClient, SqliteStore]) -> None:
    client, _ = mock
    response = client.post("/retail/signals/click", json=[CLICK], headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202
