"""The one request path: the fault seam answers before or after recording, never in between."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any, cast

import pytest
from starlette.testclient import TestClient
from starlette.types import Message

from mockserver import Settings, SqliteStore, create_app
from mockserver.storage.base import StoreUnavailable
from mockserver.storage.group_commit import GroupCommit
from mockserver.validation import Contracts
from mockserver.vendors import request_path as request_path_module
from mockserver.vendors.admission import BodyBudget
from mockserver.vendors.base import VendorEndpoint
from mockserver.vendors.intake import (
    HEAD_BYTES_KEPT,
    HEADS_KEPT,
    MAX_HEADER_BYTES,
    Intake,
    decode_headers,
)
from mockserver.vendors.lucidworks import LucidworksSignals
from mockserver.vendors.neuralens import NeuralensEvents
from mockserver.vendors.recorder import Recorder
from mockserver.vendors.registry import ANALYTICS, SERVED, VENDORS
from mockserver.vendors.reply import Reply
from mockserver.vendors.request_path import Heads, RequestPath
from mockserver.vendors.upstream import Upstream
from tests.conftest import (
    LUCIDWORKS_HEADERS,
    NEURALENS_HEADERS,
    load_fixture,
    post_lucidworks,
    post_neuralens,
)

CLICK = load_fixture("lucidworks", "valid", "click-full.json")
EVENT = load_fixture("neuralens", "valid", "click-product-docs-example-fixed.json")
UNAVAILABLE = Reply.json(503, {"error": "down"})


class Outage:
    """A seam that answers 503 before the vendor for ``before`` namespaces, and after it
    (the request was served and recorded) for ``after`` namespaces."""

    active = True

    def __init__(self, before: str = "", after: str = "") -> None:
        self.before_ns, self.after_ns = before, after
        self.seen: list[tuple[str, str]] = []

    async def before(self, vendor: VendorEndpoint, intake: Intake) -> Reply | None:
        self.seen.append(("before", intake.endpoint))
        return UNAVAILABLE if intake.namespace == self.before_ns else None

    def touched(self, request_id: str) -> tuple[int, str] | None:
        return None

    async def after(self, intake: Intake, reply: Reply) -> Reply | None:
        self.seen.append(("after", f"{intake.endpoint} {reply.status}"))
        return UNAVAILABLE if intake.namespace == self.after_ns else reply


def _client(tmp_path: Path, contracts: Contracts, faults: Outage) -> TestClient:
    settings = Settings(db=str(tmp_path / "m.db"))
    return TestClient(create_app(settings, SqliteStore(settings.db, ANALYTICS), contracts, faults))


def test_a_fault_before_the_vendor_answers_and_records_nothing(
    tmp_path: Path, contracts: Contracts
) -> None:
    with _client(tmp_path, contracts, Outage(before="down")) as client:
        assert client.post("/ns/down/retail/signals/click", json=CLICK).status_code == 503
        summary = client.get("/_mock/summary").json()
    assert (summary["events"]["total"], summary["rejections"]["total"]) == (0, 0)


def test_a_fault_after_the_vendor_sees_its_reply_and_the_event_is_stored(
    tmp_path: Path, contracts: Contracts
) -> None:
    faults = Outage(after="lost")
    with _client(tmp_path, contracts, faults) as client:
        response = client.post(
            "/ns/lost/analytics/event",
            json=EVENT,
            headers={"X-Neuralens-API-Key": "Bearer k", "X-Neuralens-Application-ID": "a"},
        )
        assert response.status_code == 503
        assert client.get("/_mock/events?namespace=lost").json()["total"] == 1
    assert faults.seen == [("before", "/analytics/event"), ("after", "/analytics/event 200")]


def test_requests_no_fault_matches_are_served_as_usual(
    tmp_path: Path, contracts: Contracts
) -> None:
    with _client(tmp_path, contracts, Outage(before="down", after="lost")) as client:
        assert post_lucidworks(client, "click", CLICK).status_code == 202
        assert post_neuralens(client, EVENT).status_code == 200
        assert client.get("/_mock/events").json()["total"] == 2


# -- replies that are the mock's own: a path nobody serves, a store that cannot write ------


class FullStore:
    """A GroupCommit whose every write fails as a full disk does."""

    async def write(self, **written: Any) -> None:
        raise StoreUnavailable("the database or its disk is full")


UNSTORED = "mockserver could not store this request: the database or its disk is full"


def _unstored_path() -> RequestPath:
    recorder = Recorder(cast(GroupCommit, FullStore()), b"salt")
    return RequestPath(recorder, BodyBudget(), max_body_bytes=1_000_000)


def _handle(
    request_path: RequestPath, vendor: VendorEndpoint, path: str, body: Any, headers: Any
) -> Reply | None:
    content = json.dumps(body).encode()

    async def receive() -> Message:
        return {"type": "http.request", "body": content, "more_body": False}

    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    scope = {"type": "http", "method": "POST", "path": path, "headers": raw}
    intake = Intake.of(scope, receive, vendor.spec.name, path)
    return asyncio.run(request_path.handle(vendor, intake))


def test_a_path_nobody_serves_is_a_problem_404_that_says_what_is_served(
    client: TestClient,
) -> None:
    response = client.post("/v1/track", json={})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": f"nothing is served at /v1/track; mockserver serves {SERVED}",
    }
    (rejection,) = client.get("/_mock/rejections").json()["rejections"]
    assert rejection["errors"] == [
        {"path": "$", "rule": "not-found", "layer": "http", "message": response.json()["detail"]}
    ]


def test_a_path_nobody_serves_is_a_503_when_it_cannot_be_recorded() -> None:
    async def receive() -> Message:
        raise AssertionError("a 404 reads no body")

    scope = {"type": "http", "method": "POST", "path": "/v1/track", "headers": []}
    intake = Intake.of(scope, receive, None, "/v1/track")
    reply = asyncio.run(_unstored_path().not_found(intake, "nothing is served at /v1/track"))
    assert reply.status == 503
    assert dict(reply.headers)[b"content-type"] == b"application/problem+json"
    assert json.loads(reply.body) == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": UNSTORED,
    }


def test_a_vendor_request_that_cannot_be_stored_is_a_503_in_the_vendors_shape(
    contracts: Contracts,
) -> None:
    request_path = _unstored_path()
    lucidworks = LucidworksSignals(contracts.lucidworks)
    reply = _handle(request_path, lucidworks, "/retail/signals/click", CLICK, LUCIDWORKS_HEADERS)
    assert reply is not None
    assert reply.status == 503
    problem = json.loads(reply.body)
    assert (problem["title"], problem["detail"]) == ("Service Unavailable", UNSTORED)
    assert problem["errors"] == [
        {"path": "$", "rule": "store-unavailable", "layer": "http", "message": UNSTORED}
    ]
    neuralens = NeuralensEvents(contracts.neuralens)
    reply = _handle(request_path, neuralens, "/analytics/event", EVENT, NEURALENS_HEADERS)
    assert reply is not None
    assert reply.status == 503
    assert json.loads(reply.body) == {"status": "failure", "message": UNSTORED}


def test_a_compressed_body_is_refused_as_a_header_problem(client: TestClient) -> None:
    response = post_neuralens(client, EVENT, **{"Content-Encoding": " GZip "})
    assert response.status_code == 400
    (rejection,) = client.get("/_mock/rejections").json()["rejections"]
    assert rejection["errors"] == [
        {
            "path": "header:Content-Encoding",
            "rule": "content-encoding",
            "layer": "header",
            "message": "Content-Encoding: gzip is not accepted: the service reads the body as "
            "plain JSON and does not decompress it; send the body uncompressed",
        }
    ]
    assert response.json()["message"] == rejection["errors"][0]["message"]


@pytest.mark.parametrize("encoding", ["identity", " Identity ", ""])
def test_a_body_sent_as_is_may_say_so(client: TestClient, encoding: str) -> None:
    assert post_neuralens(client, EVENT, **{"Content-Encoding": encoding}).status_code == 200


class Writes:
    """A GroupCommit that keeps each write's arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def write(self, **written: Any) -> None:
        self.calls.append(written)


class Always:
    """A fault seam whose rule 1 meets every request and answers ``reply`` before serving."""

    active = True

    def __init__(self, reply: Reply | None) -> None:
        self.reply = reply

    async def before(self, vendor: VendorEndpoint, intake: Intake) -> Reply | None:
        return self.reply

    async def after(self, intake: Intake, reply: Reply) -> Reply | None:
        return reply

    def touched(self, request_id: str) -> tuple[int, str] | None:
        return (1, "status")


def test_a_faults_reply_is_sent_even_when_the_store_cannot_record_it(
    contracts: Contracts,
) -> None:
    recorder = Recorder(cast(GroupCommit, FullStore()), b"salt")
    request_path = RequestPath(recorder, BodyBudget(), 1_000_000, Always(UNAVAILABLE))
    neuralens = NeuralensEvents(contracts.neuralens)
    reply = _handle(request_path, neuralens, "/analytics/event", EVENT, NEURALENS_HEADERS)
    assert reply is UNAVAILABLE


@pytest.mark.parametrize(
    ("vendor_name", "body", "status", "stored"),
    [
        ("neuralens", EVENT, 200, True),
        ("lucidworks", CLICK, 202, True),
        ("lucidworks", [{}], 400, False),
    ],
)
def test_a_request_a_fault_met_after_serving_is_recorded_with_whether_it_was_stored(
    contracts: Contracts, vendor_name: str, body: Any, status: int, stored: bool
) -> None:
    writes = Writes()
    seam = Always(None)
    request_path = RequestPath(
        Recorder(cast(GroupCommit, writes), b"salt"), BodyBudget(), 10**6, seam
    )
    if vendor_name == "neuralens":
        vendor: VendorEndpoint = NeuralensEvents(contracts.neuralens)
        path, headers = "/analytics/event", NEURALENS_HEADERS
    else:
        vendor, path, headers = (
            LucidworksSignals(contracts.lucidworks),
            "/retail/signals/click",
            LUCIDWORKS_HEADERS,
        )
    reply = _handle(request_path, vendor, path, body, headers)
    assert reply is not None
    assert reply.status == status
    (attempt,) = [call["attempt"] for call in writes.calls if "attempt" in call]
    assert (attempt.status, attempt.stored) == (status, stored)


def test_a_fault_that_answers_first_is_recorded_as_storing_nothing(contracts: Contracts) -> None:
    writes = Writes()
    seam = Always(UNAVAILABLE)
    request_path = RequestPath(
        Recorder(cast(GroupCommit, writes), b"salt"), BodyBudget(), 10**6, seam
    )
    neuralens = NeuralensEvents(contracts.neuralens)
    assert (
        _handle(request_path, neuralens, "/analytics/event", EVENT, NEURALENS_HEADERS)
        is UNAVAILABLE
    )
    (call,) = writes.calls
    assert (call["attempt"].status, call["attempt"].stored) == (503, False)


@pytest.mark.parametrize(("extra", "status"), [(0, 200), (1, 431)])
def test_headers_of_exactly_a_megabyte_are_read_and_a_byte_more_are_not(
    contracts: Contracts, extra: int, status: int
) -> None:
    writes = Writes()
    request_path = RequestPath(Recorder(cast(GroupCommit, writes), b"salt"), BodyBudget(), 10**6)
    neuralens = NeuralensEvents(contracts.neuralens)
    content = json.dumps(EVENT).encode()

    async def receive() -> Message:
        return {"type": "http.request", "body": content, "more_body": False}

    raw = [(name.lower().encode(), value.encode()) for name, value in NEURALENS_HEADERS.items()]
    scope = {"type": "http", "method": "POST", "path": "/analytics/event", "headers": raw}
    intake = Intake.of(scope, receive, "neuralens", "/analytics/event")
    sized = dataclasses.replace(intake, header_bytes=MAX_HEADER_BYTES + extra)
    reply = asyncio.run(request_path.handle(neuralens, sized))
    assert reply is not None
    assert reply.status == status


# -- what is recorded of a request, and what is forwarded to an upstream ----------------------


def _writes_of(request_path: RequestPath, kind: str) -> list[Any]:
    writes = cast(Writes, request_path.recorder.writer)
    return [call[kind] for call in writes.calls if kind in call]


def test_a_refused_request_is_recorded_with_its_tenant_and_its_body_as_sent(
    contracts: Contracts,
) -> None:
    request_path = RequestPath(Recorder(cast(GroupCommit, Writes()), b"salt"), BodyBudget(), 10**6)
    neuralens = NeuralensEvents(contracts.neuralens)
    refused = {**EVENT, "index": -1}
    reply = _handle(request_path, neuralens, "/analytics/event", refused, NEURALENS_HEADERS)
    assert reply is not None
    assert reply.status == 400
    (rejection,) = _writes_of(request_path, "rejection")
    assert (rejection.status, rejection.tenant) == (400, "shop-app")
    assert rejection.body == json.dumps(refused)


@pytest.mark.parametrize("answer", [None, UNAVAILABLE])
def test_a_request_a_fault_met_is_recorded_with_its_tenant(
    contracts: Contracts, answer: Reply | None
) -> None:
    request_path = RequestPath(
        Recorder(cast(GroupCommit, Writes()), b"salt"), BodyBudget(), 10**6, Always(answer)
    )
    neuralens = NeuralensEvents(contracts.neuralens)
    _handle(request_path, neuralens, "/analytics/event", EVENT, NEURALENS_HEADERS)
    (attempt,) = _writes_of(request_path, "attempt")
    assert attempt.tenant == "shop-app"


class Forwarding:
    """An upstream that keeps what it was given of each request the mock judged."""

    def __init__(self) -> None:
        self.given: list[tuple[str | None, bytes, int, list[str]]] = []

    def serves(self, vendor: str | None) -> bool:
        return True

    async def judged(
        self, intake: Intake, tenant: str | None, body: bytes, reply: Reply, errors: Any
    ) -> Reply:
        self.given.append((tenant, body, reply.status, [e.path for e in errors]))
        return reply


NEGATIVE_INDEX = {**EVENT, "index": -1}


@pytest.mark.parametrize(
    ("method", "body", "given"),
    [
        ("POST", EVENT, [("shop-app", json.dumps(EVENT).encode(), 200, [])]),
        (
            "POST",
            NEGATIVE_INDEX,
            [("shop-app", json.dumps(NEGATIVE_INDEX).encode(), 400, ["$.index"])],
        ),
        ("GET", EVENT, []),  # refused (405) before its body was read: nothing to forward
    ],
)
def test_only_a_request_whose_body_the_mock_judged_is_forwarded_with_its_verdict(
    contracts: Contracts, method: str, body: Any, given: list[Any]
) -> None:
    upstream = Forwarding()
    request_path = RequestPath(
        Recorder(cast(GroupCommit, Writes()), b"salt"),
        BodyBudget(),
        10**6,
        upstream=cast(Upstream, upstream),
    )
    neuralens = NeuralensEvents(contracts.neuralens)
    content = json.dumps(body).encode()

    async def receive() -> Message:
        return {"type": "http.request", "body": content, "more_body": False}

    raw = [(name.lower().encode(), value.encode()) for name, value in NEURALENS_HEADERS.items()]
    scope = {"type": "http", "method": method, "path": "/analytics/event", "headers": raw}
    intake = Intake.of(scope, receive, "neuralens", "/analytics/event")
    asyncio.run(request_path.handle(neuralens, intake))
    assert upstream.given == given


@pytest.mark.parametrize(
    ("method", "limit", "status"),
    [("GET", 10**6, 405), ("POST", 10, 413)],  # refused before the body, and for its size
)
def test_a_request_refused_before_its_body_is_judged_is_recorded_with_its_tenant(
    contracts: Contracts, method: str, limit: int, status: int
) -> None:
    request_path = RequestPath(Recorder(cast(GroupCommit, Writes()), b"salt"), BodyBudget(), limit)
    neuralens = NeuralensEvents(contracts.neuralens)

    async def receive() -> Message:
        return {"type": "http.request", "body": json.dumps(EVENT).encode(), "more_body": False}

    raw = [(name.lower().encode(), value.encode()) for name, value in NEURALENS_HEADERS.items()]
    scope = {"type": "http", "method": method, "path": "/analytics/event", "headers": raw}
    intake = Intake.of(scope, receive, "neuralens", "/analytics/event")
    reply = asyncio.run(request_path.handle(neuralens, intake))
    assert reply is not None
    assert reply.status == status
    (rejection,) = _writes_of(request_path, "rejection")
    assert (rejection.status, rejection.tenant) == (status, "shop-app")


def test_a_413_is_sent_once_the_drain_time_is_up_when_the_client_stops_sending(
    contracts: Contracts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_path_module, "DRAIN_SECONDS", 0.02)
    request_path = RequestPath(Recorder(cast(GroupCommit, Writes()), b"salt"), BodyBudget(), 10)
    neuralens = NeuralensEvents(contracts.neuralens)
    sent = [{"type": "http.request", "body": b"x" * 11, "more_body": True}]

    async def receive() -> Message:
        if sent:
            return cast(Message, sent.pop())
        await asyncio.Event().wait()  # the rest never comes
        raise AssertionError

    raw = [(name.lower().encode(), value.encode()) for name, value in NEURALENS_HEADERS.items()]
    scope = {"type": "http", "method": "POST", "path": "/analytics/event", "headers": raw}
    intake = Intake.of(scope, receive, "neuralens", "/analytics/event")

    async def bounded() -> Reply | None:
        return await asyncio.wait_for(request_path.handle(neuralens, intake), 1)

    reply = asyncio.run(bounded())
    assert reply is not None
    assert (reply.status, (b"connection", b"close") in reply.headers) == (413, True)


def test_a_large_body_waits_its_turn_while_others_hold_the_body_budget(
    contracts: Contracts,
) -> None:
    budget = BodyBudget(budget=100, small=10)
    request_path = RequestPath(Recorder(cast(GroupCommit, Writes()), b"salt"), budget, 10**6)
    neuralens = NeuralensEvents(contracts.neuralens)
    content = json.dumps(EVENT).encode()  # over `small`: it takes a share

    async def receive() -> Message:
        return {"type": "http.request", "body": content, "more_body": False}

    raw = [(name.lower().encode(), value.encode()) for name, value in NEURALENS_HEADERS.items()]
    scope = {"type": "http", "method": "POST", "path": "/analytics/event", "headers": raw}

    async def main() -> int:
        assert budget.try_enter(100)  # another body holds the whole budget
        intake = Intake.of(scope, receive, "neuralens", "/analytics/event")
        task = asyncio.create_task(request_path.handle(neuralens, intake))
        await asyncio.sleep(0.05)
        assert not task.done()  # waiting its turn
        budget.leave(100)
        reply = await asyncio.wait_for(task, 1)
        assert reply is not None
        # Served, it gave its share back: the whole budget is free for the next body.
        assert budget.try_enter(100)
        budget.leave(100)
        return reply.status

    assert asyncio.run(main()) == 200


def _intake(headers: dict[str, str], method: str = "POST") -> Intake:
    raw = tuple((k.lower().encode(), v.encode("latin-1")) for k, v in headers.items())
    return Intake.from_parts(
        method, decode_headers(raw), raw, b"", "lucidworks", "/retail/signals/click"
    )


def _lucidworks(contracts: Contracts) -> VendorEndpoint:
    return next(s for s in VENDORS if s.name == "lucidworks").build(contracts, Settings())


def test_a_head_seen_again_is_judged_as_before_and_a_changed_header_anew(
    contracts: Contracts,
) -> None:
    heads, vendor = Heads(), _lucidworks(contracts)
    good = heads.of(vendor, _intake(LUCIDWORKS_HEADERS))
    assert good.after_the_body is None
    assert good.header_errors == ()
    assert heads.of(vendor, _intake(LUCIDWORKS_HEADERS)) is good
    bearer = heads.of(vendor, _intake({**LUCIDWORKS_HEADERS, "Authorization": "Bearer t"}))
    assert bearer.after_the_body is not None
    assert [e.rule for e in bearer.after_the_body.errors] == ["token-format"]
    get = heads.of(vendor, _intake(LUCIDWORKS_HEADERS, method="GET"))
    assert get.refusal is not None
    assert get.refusal.status == 405
    hosted = heads.of(vendor, _intake({**LUCIDWORKS_HEADERS, "Host": "store-7.localhost:80"}))
    assert (good.tenant, hosted.tenant) == ("default", "store-7")


def test_heads_kept_are_bounded_in_number_and_size(contracts: Contracts) -> None:
    heads, vendor = Heads(), _lucidworks(contracts)
    for n in range(HEADS_KEPT + 10):
        heads.of(vendor, _intake({**LUCIDWORKS_HEADERS, "X-N": str(n)}))
        assert len(heads.kept) <= HEADS_KEPT
    heads = Heads()
    large = _intake({**LUCIDWORKS_HEADERS, "X-Pad": "x" * HEAD_BYTES_KEPT})
    assert heads.of(vendor, large).after_the_body is None
    assert len(heads.kept) == 0


def test_stored_headers_follow_each_requests_own_head(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "m.db"), ANALYTICS)
    recorder = Recorder(GroupCommit(store), store.salt)
    first = _intake({**LUCIDWORKS_HEADERS, "Authorization": "token-1"})
    again = _intake({**LUCIDWORKS_HEADERS, "Authorization": "token-1"})
    other = _intake({**LUCIDWORKS_HEADERS, "Authorization": "token-2"})
    stored = [json.loads(recorder._stored_headers(i)[1]) for i in (first, again, other)]
    assert stored[0] == stored[1] != stored[2]
    assert stored[0]["authorization"].startswith("hmac-sha256:")
    assert "token-1" not in json.dumps(stored)
    store.close()
