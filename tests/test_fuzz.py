"""Generated bodies and headers at both vendors: never a 5xx, never a crash, each request
recorded exactly once (its events, or one rejection), and the server answers normally after.

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
from tests.conftest import LUCIDWORKS_HEADERS, NEURALENS_HEADERS, load_fixture

EXAMPLES = int(os.environ.get("MOCKSERVER_FUZZ_EXAMPLES", "200"))
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


def _mutated(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The valid payload with one field deleted, or replaced by any JSON value."""
    fields = sorted(valid)
    return st.tuples(st.sampled_from(fields), st.booleans(), json_values).map(
        lambda change: (
            {k: v for k, v in valid.items() if k != change[0]}
            if change[1]
            else {**valid, change[0]: change[2]}
        )
    )


def _bodies(valid: dict[str, Any], wrap: bool) -> st.SearchStrategy[bytes]:
    as_sent = _mutated(valid).map(lambda v: [v] if wrap else v) | json_values
    return as_sent.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=300)


def _headers(valid: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    """Each header kept, dropped, or replaced by printable noise."""
    choice = {
        name: st.one_of(st.just(value), st.none(), printable) for name, value in valid.items()
    }
    return st.fixed_dictionaries(choice).map(
        lambda h: {k: v for k, v in h.items() if v is not None}
    )


@pytest.fixture(scope="module")
def mock() -> Iterator[tuple[TestClient, SqliteStore]]:
    store = SqliteStore(":memory:")
    with TestClient(create_app(Settings(db=":memory:"), store)) as client:
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
        sent = json.loads(body)
        assert (new_events, new_rejections) == (len(sent) if isinstance(sent, list) else 1, 0)
    else:
        assert (new_events, new_rejections) == (0, 1)


@FUZZ
@given(body=_bodies(CLICK, wrap=True), headers=_headers(LUCIDWORKS_HEADERS))
def test_lucidworks_fuzz(
    mock: tuple[TestClient, SqliteStore], body: bytes, headers: dict[str, str]
) -> None:
    _exactly_once(*mock, "/retail/signals/click", body, headers)


@FUZZ
@given(body=_bodies(EVENT, wrap=False), headers=_headers(NEURALENS_HEADERS))
def test_neuralens_fuzz(
    mock: tuple[TestClient, SqliteStore], body: bytes, headers: dict[str, str]
) -> None:
    _exactly_once(*mock, "/analytics/event", body, headers)


def test_the_server_answers_normally_after_fuzzing(mock: tuple[TestClient, SqliteStore]) -> None:
    client, _ = mock
    response = client.post("/retail/signals/click", json=[CLICK], headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202
