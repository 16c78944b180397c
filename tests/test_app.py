"""Promises that hold across vendors: limits, unknown paths, exactly-once records, secrets."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.types import Message

from mockserver import Settings, create_app
from mockserver.storage.sqlite import SqliteStore
from mockserver.validation import Contracts
from mockserver.vendors.registry import ANALYTICS
from tests.conftest import (
    LUCIDWORKS_HEADERS,
    NEURALENS_HEADERS,
    ROOT,
    ClientFactory,
    load_fixture,
    post_lucidworks,
    post_neuralens,
)

CLICK = load_fixture("lucidworks", "valid", "click-full.json")
EVENT = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")


def test_body_over_the_limit_is_413_and_recorded(client_with: ClientFactory) -> None:
    small_limit_client = client_with(max_body_bytes=200)
    response = post_lucidworks(small_limit_client, "click", CLICK)
    assert response.status_code == 413
    rejection = small_limit_client.get("/_mock/rejections").json()["rejections"][0]
    assert rejection["status"] == 413
    assert rejection["errors"][0]["rule"] == "body-too-large"


def test_streamed_body_over_the_limit_is_413_without_a_content_length(
    client_with: ClientFactory,
) -> None:
    small_limit_client = client_with(max_body_bytes=200)

    def chunks() -> Iterator[bytes]:
        yield b"[" + b" " * 150
        yield b" " * 150 + b"]"

    response = small_limit_client.post(
        "/retail/signals/click", content=chunks(), headers=LUCIDWORKS_HEADERS
    )
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "the body is over the limit of 200 bytes (--max-body-bytes)"
    )


@pytest.mark.parametrize("streamed", [False, True])
def test_a_body_exactly_at_the_limit_is_read_and_one_byte_more_is_not(
    client_with: ClientFactory, streamed: bool
) -> None:
    body = json.dumps(CLICK).encode()
    at_the_limit = client_with(max_body_bytes=len(body))

    def send(content: bytes) -> Any:
        sent: Any = iter([content]) if streamed else content  # chunked: no Content-Length
        return at_the_limit.post("/retail/signals/click", content=sent, headers=LUCIDWORKS_HEADERS)

    assert send(body).status_code == 202
    refused = send(body + b" ")
    assert refused.status_code == 413
    # A declared length is refused before the body is read, and says so by its size.
    declared = f"the body is {len(body) + 1} bytes, " if not streamed else "the body is over"
    assert refused.json()["detail"].startswith(declared)


def test_the_first_of_repeated_headers_counts_as_in_go(client_with: ClientFactory) -> None:
    # Go's Header.Get returns the first value of a repeated header.
    only_good = client_with(lucidworks_tokens=("good",))
    body = json.dumps(CLICK).encode()
    headers = [(k, v) for k, v in LUCIDWORKS_HEADERS.items() if k != "Authorization"]

    def send(*tokens: str) -> int:
        raw = [*headers, *(("Authorization", token) for token in tokens)]
        return only_good.post("/retail/signals/click", content=body, headers=raw).status_code

    assert (send("good", "bad"), send("bad", "good")) == (202, 401)


def test_a_declared_body_over_the_limit_says_its_size(client_with: ClientFactory) -> None:
    response = client_with(max_body_bytes=200).post(
        "/analytics/event", content=b"{" + b" " * 299, headers=NEURALENS_HEADERS
    )
    assert response.json()["message"] == (
        "the body is 300 bytes, over the limit of 200 bytes (--max-body-bytes)"
    )


def test_a_compressed_body_is_refused_by_its_encoding_not_its_bytes(client: TestClient) -> None:
    body = gzip.compress(json.dumps(CLICK).encode())
    response = client.post(
        "/retail/signals/click",
        content=body,
        headers={**LUCIDWORKS_HEADERS, "Content-Encoding": "gzip"},
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["path"], error["rule"]) == ("header:Content-Encoding", "content-encoding")
    assert "Content-Encoding: gzip is not accepted" in error["message"]
    assert "send the body uncompressed" in error["message"]
    rejection = client.get("/_mock/rejections").json()["rejections"][0]
    assert rejection["errors"] == [error]


def test_unknown_path_is_a_recorded_404(client: TestClient) -> None:
    response = client.post("/v1/track", json={})
    assert response.status_code == 404
    assert "/analytics/event" in response.json()["detail"]
    rejection = client.get("/_mock/rejections").json()["rejections"][0]
    assert (rejection["endpoint"], rejection["vendor"], rejection["status"]) == (
        "/v1/track",
        None,
        404,
    )


def test_a_path_that_only_starts_like_the_inspection_prefix_is_a_vendor_404(
    client: TestClient,
) -> None:
    assert client.post("/_mockery", json={}).status_code == 404
    (rejection,) = client.get("/_mock/rejections").json()["rejections"]
    assert rejection["endpoint"] == "/_mockery"


def test_unknown_inspection_path_is_404_and_not_recorded(client: TestClient) -> None:
    assert client.get("/_mock/nothing").status_code == 404
    assert client.get("/_mock/rejections").json()["total"] == 0


def test_each_request_is_recorded_exactly_once(client: TestClient) -> None:
    post_lucidworks(client, "click", CLICK)  # accepted: one event
    post_lucidworks(client, "click", [{}])  # rejected: one rejection
    post_neuralens(client, EVENT)  # accepted: one event
    client.get("/analytics/event")  # 405: one rejection
    summary = client.get("/_mock/summary").json()
    assert summary["events"]["total"] == 2
    assert summary["rejections"]["total"] == 2


def test_event_is_committed_before_the_reply(settings: Settings, contracts: Contracts) -> None:
    # Checked at the moment the reply starts, from a separate connection: the row must be on
    # disk by then. (Checked after the reply, a server that committed a moment later passed.)
    app = create_app(settings, SqliteStore(settings.db, ANALYTICS), contracts)
    body = json.dumps(CLICK).encode()
    scope = {
        "type": "http", "method": "POST", "path": "/retail/signals/click", "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in LUCIDWORKS_HEADERS.items()],
    }  # fmt: skip
    stored_when_replying: list[tuple[int, int]] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            with sqlite3.connect(settings.db) as other:
                count = other.execute("SELECT count(*) FROM events").fetchone()[0]
            stored_when_replying.append((message["status"], count))

    async def serve_and_let_pending_work_finish() -> None:
        await app(scope, receive, send)
        await asyncio.sleep(0.05)

    asyncio.run(serve_and_let_pending_work_finish())
    assert stored_when_replying == [(202, 1)]


def test_credentials_never_reach_the_database(client: TestClient, settings: Settings) -> None:
    secrets = ("neuralens-secret-key-1", "lucidworks-embed-token-1")
    post_neuralens(client, EVENT, **{"X-Neuralens-API-Key": f"Bearer {secrets[0]}"})
    post_neuralens(client, {}, **{"X-Neuralens-API-Key": f"Bearer {secrets[0]}"})
    post_lucidworks(client, "click", CLICK, Authorization=secrets[1])
    post_lucidworks(
        client, "click", [{}], Authorization=secrets[1], Cookie="session=abc",
        **{"X-Api-Token": "custom-token-1", "X-Client-Secret": "custom-secret-1"},
    )  # fmt: skip
    with sqlite3.connect(settings.db) as conn:
        dump = "\n".join(conn.iterdump())
    for secret in (*secrets, "session=abc", "custom-token-1", "custom-secret-1"):
        assert secret not in dump
    headers = client.get("/_mock/rejections").json()["rejections"][0]["headers"]
    for name in ("authorization", "cookie", "x-api-token", "x-client-secret"):
        assert headers[name].startswith("hmac-sha256:"), name
    assert headers["accept"] == "application/json"  # not a credential: kept as sent


def test_fingerprints_tell_tokens_apart_in_a_store_but_not_across_stores(
    client_with: ClientFactory,
) -> None:
    def fingerprint(client: TestClient, token: str) -> str:
        post_lucidworks(client, "click", [{}], Authorization=token)
        rejection = client.get("/_mock/rejections", params={"limit": 1}).json()["rejections"][0]
        return str(rejection["headers"]["authorization"])

    first, second = client_with(), client_with()
    assert fingerprint(first, "token-a") == fingerprint(first, "token-a")
    assert fingerprint(first, "token-a") != fingerprint(first, "token-b")
    assert fingerprint(first, "token-a") != fingerprint(second, "token-a")  # salted per store


def test_server_keeps_going_after_hostile_bodies(client: TestClient) -> None:
    for body in (b"[" * 100_000, b"\xff\xfe", b'{"a":' * 5000, b"[1e999]", b"\x00"):
        response = client.post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS)
        assert response.status_code == 400
        response = client.post("/analytics/event", content=body, headers=NEURALENS_HEADERS)
        assert response.status_code == 400
    assert post_lucidworks(client, "click", CLICK).status_code == 202
    assert client.get("/_mock/rejections").json()["total"] == 10


def _spliced(signal: dict[str, object], field: str, raw: str) -> bytes:
    """A click whose ``field`` holds ``raw`` JSON text (text no Python value dumps to)."""
    return json.dumps([{**signal, field: "RAW"}]).replace('"RAW"', raw).encode()


def _product(product: object) -> bytes:
    return json.dumps([{**CLICK[0], "productDetails": [{"product": product}]}]).encode()


# Each of these once answered 500 and recorded nothing. Go refuses the first three too, and
# decodes the lenient ones without complaint (its validator does not dive into
# productDetails; a null body is no signals).
DEEP = "[" * 600 + "]" * 600
DEEP_SURROGATE = "[" * 489 + '"\\ud800"' + "]" * 489
TYPE_ERROR = {**CLICK[0], "timestamp": "x"}
HOSTILE_CLICKS = {
    "integer of 4,301 digits": (_spliced(CLICK[0], "timestamp", "9" * 4301), 400, 400),
    # Go's decoder skips an unknown field unread; kin-openapi decodes every number (issue 27).
    "integer of 5,000 digits, unknown field": (_spliced(CLICK[0], "zz", "9" * 5000), 400, 202),
    "arrays 600 deep in a typed field": (_spliced(CLICK[0], "timestamp", DEEP), 400, 400),
    "lone surrogate 489 deep": (_spliced(CLICK[0], "zz", DEEP_SURROGATE), 400, 400),
    "lone surrogate and a type error": (_spliced(TYPE_ERROR, "visitorId", '"\\ud800"'), 400, 400),
    "a product without productId": (_product({"price": 1.0}), 400, 202),
    "an empty product": (_product({}), 400, 202),
    "a null product": (_product(None), 400, 202),
    "a body of null": (b"null", 400, 202),
    "an array of null": (b"[null]", 400, 400),
}


@pytest.mark.parametrize("profile", ["strict", "lenient"])
@pytest.mark.parametrize("case", sorted(HOSTILE_CLICKS))
def test_hostile_bodies_get_a_vendor_answer_and_one_record(
    client_with: ClientFactory, profile: str, case: str
) -> None:
    body, strict_status, lenient_status = HOSTILE_CLICKS[case]
    client = client_with(profile=profile)
    response = client.post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == (strict_status if profile == "strict" else lenient_status)
    summary = client.get("/_mock/summary").json()
    records = summary["events"]["total"] + summary["rejections"]["total"]
    assert records == (0 if case == "a body of null" and response.status_code == 202 else 1)


def test_a_huge_integer_is_refused_in_words(client: TestClient) -> None:
    body = json.dumps({**EVENT, "timestamp": "RAW"}).replace('"RAW"', "9" * 4301).encode()
    response = client.post("/analytics/event", content=body, headers=NEURALENS_HEADERS)
    assert response.json()["message"] == (
        "number 999999999999…9999 (4301 digits) does not fit a 64-bit integer or float"
    )


def test_a_lone_surrogate_beside_a_schema_error_is_both_reasons(client: TestClient) -> None:
    body = b'{"uid": "\\ud800", "items": 3, "page": "HOME", "event": "SEARCH", "timestamp": 1}'
    response = client.post("/analytics/event", content=body, headers=NEURALENS_HEADERS)
    assert response.status_code == 400
    (rejection,) = client.get("/_mock/rejections").json()["rejections"]
    assert {(e["path"], e["rule"]) for e in rejection["errors"]} >= {
        ("$.uid", "utf8"),
        ("$.items", "type"),
    }


def test_the_lenient_profile_is_what_the_server_runs(client_with: ClientFactory) -> None:
    lenient = client_with(profile="lenient")
    body = (ROOT / "fixtures/lucidworks/invalid/click-key-case-mismatch.json").read_bytes()
    response = lenient.post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202
    assert lenient.get("/_mock/events").json()["events"][0]["user"] == "abc"  # from VisitorId


def test_an_event_is_stored_as_sent(client: TestClient) -> None:
    body = b'[ {"timestamp": 1744305461169, "visitorId": "v", "sessionId": "s", "queryId": "q",\n'
    body += (
        b' "ipAddress": "203.0.113.7", "productDetails": [], "sourceId": "web", "uri": "u",'
        b' "extra": {"nested": [1, 2.50]}} ]'
    )
    assert (
        client.post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS).status_code
        == 202
    )
    stored = client.get("/_mock/events").json()["events"][0]["payload"]
    assert stored["extra"] == {"nested": [1, 2.5]}


def test_each_signal_of_a_batch_is_stored_as_sent(client: TestClient, settings: Settings) -> None:
    first = json.dumps(CLICK[0], indent=1).replace("}", ', "extra": 2.50}', 1).encode()
    second = json.dumps({**CLICK[0], "visitorId": "v2"}, separators=(",", ":")).encode()
    body = b"[" + first + b" ,\n " + second + b"]"
    response = client.post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202
    with sqlite3.connect(settings.db) as db:
        stored = [row[0] for row in db.execute("SELECT payload FROM events ORDER BY id")]
    assert stored == [first.decode(), second.decode()]


def test_a_lenient_surrogate_is_stored_as_the_replacement_character(
    client_with: ClientFactory,
) -> None:
    lenient = client_with(profile="lenient")
    body = b'[{"timestamp": 1, "visitorId": "v-\\ud800", "sessionId": "s", "queryId": "q"}]'
    assert (
        lenient.post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS).status_code
        == 202
    )
    event = lenient.get("/_mock/events").json()["events"][0]
    assert event["payload"]["visitorId"] == "v-\ufffd"


def test_a_client_that_hangs_up_mid_body_gets_nothing_recorded(settings: Settings) -> None:
    app = create_app(settings)
    scope = {
        "type": "http", "method": "POST", "path": "/retail/signals/click", "root_path": "",
        "query_string": b"", "headers": [(b"content-length", b"1000")],
    }  # fmt: skip
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent == []  # nobody to answer, and no 500 either
    with TestClient(app) as client:  # its lifespan closes the app's store
        assert client.get("/_mock/rejections").json()["total"] == 0
        assert post_lucidworks(client, "click", CLICK).status_code == 202


def test_a_slow_large_upload_does_not_hold_up_a_click(
    settings: Settings, store: SqliteStore, contracts: Contracts
) -> None:
    app = create_app(settings, store, contracts)
    headers = [(k.lower().encode(), v.encode()) for k, v in LUCIDWORKS_HEADERS.items()]

    def scope(length: int) -> dict[str, object]:
        return {
            "type": "http", "method": "POST", "path": "/retail/signals/click", "root_path": "",
            "query_string": b"", "headers": [*headers, (b"content-length", str(length).encode())],
        }  # fmt: skip

    async def main() -> list[Message]:
        hung_up = asyncio.Event()

        async def trickle() -> Message:  # 900 KiB announced (under the limit), never sent
            await hung_up.wait()
            return {"type": "http.disconnect"}

        async def ignore(message: Message) -> None:
            pass

        upload = asyncio.create_task(app(scope(900 * 1024), trickle, ignore))
        await asyncio.sleep(0.05)
        body = json.dumps(CLICK).encode()
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        await asyncio.wait_for(app(scope(len(body)), receive, send), timeout=10)
        hung_up.set()
        await upload
        return sent

    assert asyncio.run(main())[0]["status"] == 202


def test_a_lenient_number_past_float64_beside_a_surrogate_is_stored_as_json(
    client_with: ClientFactory,
) -> None:
    # The surrogate makes the payload re-encoded; the unknown field's number must keep its
    # spelling, not become Infinity (not JSON: the API and the dashboard could not read it).
    lenient = client_with(profile="lenient")
    body = b'[{"timestamp": 1, "visitorId": "v-\\ud800", "sessionId": "s", "queryId": "q",'
    body += b' "extra": [1e400, -' + b"9" * 400 + b"]}]"
    response = lenient.post("/retail/signals/click", content=body, headers=LUCIDWORKS_HEADERS)
    assert response.status_code == 202
    (event,) = lenient.get("/_mock/events").json()["events"]
    assert event["payload"]["visitorId"] == "v-\ufffd"
    assert event["payload"]["extra"] == [float("inf"), -int("9" * 400)]
