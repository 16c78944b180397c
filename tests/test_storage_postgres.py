"""The server on PostgreSQL (``storage/postgres.py``), against a real server the tests start:
the vendor endpoints and the inspection API over it, credentials never shown, and a database
that goes away and comes back. The store's own behaviour is the conformance suite's
(``tests/test_storage_conformance.py``, which runs against PostgreSQL too)."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.events import Event
from mockserver.storage import SqliteStore, open_store
from mockserver.storage.base import AnalyticsQuery, redacted
from mockserver.testing.server import MockServer
from mockserver.vendors.registry import ANALYTICS
from tests.conftest import LUCIDWORKS_HEADERS, NEURALENS_HEADERS, load_fixture
from tests.postgres_server import PostgresServer, _free_port
from tests.test_storage_totals import MINUTE, QUERIES, T0, counted, events

pytestmark = pytest.mark.slow  # a real PostgreSQL server

CLICK = load_fixture("lucidworks", "valid", "click-full.json")
NEURALENS_EVENT = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")


@pytest.fixture
def pg_client(postgres_url: str) -> Iterator[TestClient]:
    settings = Settings(db=postgres_url)
    with TestClient(create_app(settings)) as client:
        yield client


def test_events_and_rejections_are_stored_and_read_back(pg_client: TestClient) -> None:
    accepted = pg_client.post("/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS)
    assert accepted.status_code == 202
    event = pg_client.post("/analytics/event", json=NEURALENS_EVENT, headers=NEURALENS_HEADERS)
    assert event.status_code in (200, 201, 202, 204)
    refused = pg_client.post("/retail/signals/click", content=b"[{", headers=LUCIDWORKS_HEADERS)
    assert refused.status_code == 400
    events = pg_client.get("/_mock/events").json()
    assert {e["vendor"] for e in events["events"]} == {"lucidworks", "neuralens"}
    assert pg_client.get("/_mock/rejections").json()["total"] == 1
    assert pg_client.get("/_mock/health").json() == {"status": "ok"}


def test_a_nul_character_in_an_accepted_field_is_stored_not_a_500(pg_client: TestClient) -> None:
    # "\u0000" is a valid JSON string that Go keeps; PostgreSQL text cannot hold it.
    body = json.dumps([{**CLICK[0], "visitorId": "v\u0000w"}], ensure_ascii=True)
    response = pg_client.post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202
    (event,) = pg_client.get("/_mock/events").json()["events"]
    assert event["user"] == "v\ufffdw"  # as a rejected body's NUL is kept
    assert event["payload"]["visitorId"] == "v\u0000w"  # the payload, as sent


def test_a_wait_returns_when_the_events_arrive(pg_client: TestClient) -> None:
    pg_client.post("/retail/signals/click", json=CLICK * 2, headers=LUCIDWORKS_HEADERS)
    waited = pg_client.get("/_mock/wait", params={"count": 2, "timeout": 5})
    assert waited.status_code == 200
    assert len(waited.json()["events"]) == 2


def test_reset_of_a_namespace_leaves_the_others(pg_client: TestClient) -> None:
    for namespace in ("a", "b"):
        pg_client.post(
            f"/ns/{namespace}/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS
        )
    assert pg_client.post("/_mock/reset", params={"namespace": "a"}).status_code in (200, 204)
    remaining = pg_client.get("/_mock/events").json()["events"]
    assert [e["namespace"] for e in remaining] == ["b"]


def test_a_password_is_never_shown() -> None:
    url = f"postgresql://mock:s3cret-pass@127.0.0.1:{_free_port()}/nowhere"
    assert redacted(url) == f"postgresql://mock:***@127.0.0.1:{url.rsplit(':', 1)[1]}"
    with pytest.raises(ValueError, match="cannot use the database") as refused:
        open_store(url, ANALYTICS)
    assert "s3cret" not in str(refused.value)
    assert "***" in str(refused.value)


def test_a_database_whose_text_is_not_utf8_is_refused_before_anything_is_made(
    postgres_server: PostgresServer,
) -> None:
    # initdb's choice where no locale is set: found by running the image in a container.
    url = postgres_server.database(encoding="SQL_ASCII")
    refusal = r"encoding is SQL_ASCII.*CREATE DATABASE \S+ ENCODING 'UTF8'"
    with pytest.raises(ValueError, match=refusal):
        open_store(url, ANALYTICS)
    import psycopg

    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)


@pytest.mark.slow
def test_a_database_that_goes_away_gets_503s_and_is_used_again_when_back() -> None:
    folder = Path(tempfile.mkdtemp(prefix="mockserver-postgres-"))
    server = PostgresServer(folder)
    try:
        with TestClient(create_app(Settings(db=server.database()))) as client:
            assert (
                client.post(
                    "/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS
                ).status_code
                == 202
            )
            server.stop()
            for _ in range(3):  # each at once: one waits for the database, then none for 1 s
                began = time.monotonic()
                down = client.post("/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS)
                assert down.status_code == 503
                assert "cannot be reached" in down.text
                assert time.monotonic() - began < 3
            assert client.get("/_mock/health").status_code == 503
            server.start()
            deadline = time.monotonic() + 20
            while True:  # back by itself, within seconds
                back = client.post("/retail/signals/click", json=CLICK, headers=LUCIDWORKS_HEADERS)
                if back.status_code == 202 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert back.status_code == 202
            assert client.get("/_mock/health").json() == {"status": "ok"}
            assert client.get("/_mock/events").json()["total"] == 2  # each 202 is stored
    finally:
        server.stop(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_servers_starting_at_once_migrate_once(postgres_server: PostgresServer) -> None:
    postgres_url = postgres_server.database()  # new: no store has created its tables yet
    stores: list[Any] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(open_store(postgres_url, ANALYTICS))
        except BaseException as exc:  # kept for the assertion below, which names it
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    first, *others = stores
    assert all(store.salt == first.salt for store in others)  # one salt: one migration
    first.add([])
    for store in stores:
        store.close()


def test_a_server_hears_what_another_server_stored(postgres_url: str) -> None:
    # Two stores on one database stand for two server processes: each its own connections
    # and identity, so what one commits reaches the other only through PostgreSQL.
    writer = open_store(postgres_url, ANALYTICS)
    try:
        with TestClient(create_app(Settings(db=postgres_url))) as client:
            waiting = threading.Thread(
                target=lambda: waited.append(
                    client.get("/_mock/wait", params={"count": 2, "timeout": 10})
                )
            )
            waited: list[Any] = []
            waiting.start()
            time.sleep(0.5)  # the wait has counted what there was (nothing)
            event = load_fixture("lucidworks", "valid", "click-full.json")
            began = time.monotonic()
            writer.add([_click_event(event, n) for n in range(2)])
            waiting.join(timeout=15)
            assert waited[0].status_code == 200
            assert len(waited[0].json()["events"]) == 2
            assert time.monotonic() - began < 3  # told, not found by polling
    finally:
        writer.close()


def test_another_servers_commits_are_read_back_only_while_wanted(postgres_url: str) -> None:
    hearing, writer = open_store(postgres_url, ANALYTICS), open_store(postgres_url, ANALYTICS)
    try:
        heard: list[Any] = []
        wanted = threading.Event()
        hearing.add_listener(heard.append, wanted.is_set)  # returns once listening
        writer.add([_click_event(CLICK, 0)])  # nobody waits or watches: not read back
        time.sleep(0.5)
        assert heard == []
        wanted.set()
        writer.add([_click_event(CLICK, 1)])
        deadline = time.monotonic() + 5
        while not heard and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [e.request_id for e in heard[0].events] == ["r1"]
    finally:
        hearing.close()
        writer.close()


def test_a_live_view_hears_what_another_server_stored(postgres_url: str) -> None:
    writer = open_store(postgres_url, ANALYTICS)
    try:
        with MockServer(Settings(db=postgres_url, port=0)) as server:
            params: dict[str, str | int] = {"namespace": "live", "duration": 10}
            with httpx.stream("GET", f"{server.url}/_mock/stream", params=params) as stream:
                lines = stream.iter_lines()
                assert next(lines) == "retry: 1000"
                writer.add([_click_event(CLICK, n, namespace="live") for n in range(3)])
                data = next(line for line in lines if line.startswith("data:"))
        change = json.loads(data.removeprefix("data: "))
        assert (change["events"], change["reset"]) == (3, False)
    finally:
        writer.close()


def _click_event(
    body: Any, number: int, request_id: str | None = None, namespace: str = "default"
) -> Any:
    from mockserver.events import Event

    return Event(
        vendor="lucidworks", endpoint="/retail/signals/click", type="click",
        namespace=namespace, tenant=None, user="v", session="s", query=None, query_id="q",
        items=("p",), position=1, timestamp_ms=1, payload=json.dumps(body[0]),
        request_id=request_id or f"r{number}", received_at="2026-11-30T00:00:00.000000Z",
    )  # fmt: skip


ANALYTICS_QUERIES = [
    *QUERIES,
    AnalyticsQuery(session_gap_ms={"lucidworks": 10 * MINUTE, "neuralens": 45 * MINUTE}),
    AnalyticsQuery(since_ms=T0 + 30 * MINUTE + 1, until_ms=T0 + 95 * MINUTE - 7),
]


@pytest.fixture(scope="module")
def pg_store(postgres_server: Any) -> Iterator[Any]:
    store = open_store(postgres_server.database(), ANALYTICS)
    yield store
    store.close()


def _lucidworks(kind: str, tenant: str | None, minute: int = 0) -> Event:
    return Event(
        vendor="lucidworks", endpoint=f"/retail/signals/{kind}", type=kind, namespace="a",
        tenant=tenant, user="u1", session="S1", query="sofa", query_id="q1", items=("p1",),
        position=1, timestamp_ms=T0 + minute * MINUTE, payload="{}", request_id="r",
        received_at="2026-11-30T00:00:00.000000Z",
    )  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(events(), min_size=1, max_size=30))
# A Lucidworks search is a queryId within namespace and tenant: another tenant's click on the
# same queryId does not click it (random batches of 25 find this rarely).
@example(batch=[_lucidworks("query", "t1"), _lucidworks("click", None, 1)])
def test_analytics_on_postgresql_count_what_sqlite_counts(pg_store: Any, batch: list[Any]) -> None:
    sqlite = SqliteStore(":memory:", ANALYTICS)
    try:
        pg_store.reset()
        for store in (sqlite, pg_store):
            store.add(batch)
        for query in ANALYTICS_QUERIES:
            assert counted(pg_store.analytics(query)) == counted(sqlite.analytics(query)), query
    finally:
        sqlite.close()


def test_analytics_on_postgresql_take_int64_extremes(pg_client: TestClient) -> None:
    click = [{**CLICK[0], "timestamp": 2**63 - 1, "selectedPosition": 2**63 - 1}]
    early = [{**CLICK[0], "timestamp": -(2**63)}]
    for body in (click, early):
        pg_client.post("/retail/signals/click", json=body, headers=LUCIDWORKS_HEADERS)
    answer = pg_client.get("/_mock/analytics", params={"bucket": "hour"})
    assert answer.status_code == 200
    assert answer.json()["clicks_by_position"]["21+"] == 1


def test_a_reset_loses_nothing_committed_after_it(postgres_url: str) -> None:
    writer, resetter = open_store(postgres_url, ANALYTICS), open_store(postgres_url, ANALYTICS)
    after_reset: list[str] = []
    reset_done = threading.Event()
    stop = threading.Event()

    def write() -> None:
        for number in range(100_000):
            if stop.is_set():
                return
            label = f"r{number}"
            writer.add([_click_event(CLICK_BODY, number, request_id=label)])
            if reset_done.is_set():
                after_reset.append(label)

    try:
        thread = threading.Thread(target=write)
        thread.start()
        time.sleep(0.3)
        resetter.add([_click_event(CLICK_BODY, 0, namespace="other")])
        resetter.reset("default")  # while the writer writes
        reset_done.set()
        time.sleep(0.3)
        stop.set()
        thread.join(10)
        kept = {row["request_id"] for row in resetter.events({}, limit=100_000).rows}
        assert after_reset
        assert set(after_reset) <= kept
        assert resetter.count_events({"namespace": "other"}) == 1
    finally:
        writer.close()
        resetter.close()


CLICK_BODY = load_fixture("lucidworks", "valid", "click-full.json")
