"""The one request path: the fault seam answers before or after recording, never in between."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from mockserver import Settings, SqliteStore, create_app
from mockserver.validation import Contracts
from mockserver.vendors.base import VendorEndpoint
from mockserver.vendors.intake import Intake
from mockserver.vendors.reply import Reply
from tests.conftest import load_fixture, post_lucidworks, post_neuralens

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

    async def after(self, vendor: VendorEndpoint, intake: Intake, reply: Reply) -> Reply | None:
        self.seen.append(("after", f"{intake.endpoint} {reply.status}"))
        return UNAVAILABLE if intake.namespace == self.after_ns else reply


def _client(tmp_path: Path, contracts: Contracts, faults: Outage) -> TestClient:
    settings = Settings(db=str(tmp_path / "m.db"))
    return TestClient(create_app(settings, SqliteStore(settings.db), contracts, faults))


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
