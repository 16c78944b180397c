"""Neuralens ``POST /analytics/event``: one event a request, JSON replies with status/message.

Documented: the headers ``X-Neuralens-API-Key: Bearer <key>`` and
``X-Neuralens-Application-ID: <app id>`` (the tenant), and the reply
``{"status": "success"|"failure", "message": …}``. Not documented, chosen as the reasonable
answers: 200 on success, 400 on a bad body or missing application id, 401 on a missing,
malformed or unknown key.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mockserver.events import Event
from mockserver.storage.semantics import VendorAnalytics
from mockserver.validation import FieldError, NeuralensContract, Validated
from mockserver.vendors.base import Routed, VendorEndpoint
from mockserver.vendors.intake import Intake, as_sent, is_known, plain_messages
from mockserver.vendors.reply import Reply
from mockserver.vendors.signal_quality import as_warnings, neuralens_warnings
from mockserver.vendors.spec import Row, VendorSpec

ENDPOINT = "/analytics/event"
KEY_HEADER = "X-Neuralens-API-Key"
APP_HEADER = "X-Neuralens-Application-ID"
SEVERAL_ITEMS = "PURCHASE with more than one item"
INT64_MAX = 2**63 - 1


class NeuralensEvents(VendorEndpoint):
    def __init__(self, contract: NeuralensContract, keys: Collection[str] = ()) -> None:
        self.contract = contract
        self.keys = frozenset(keys)

    accepted = Reply.json(200, {"status": "success", "message": ""})

    def route(self, path: str) -> Routed | None:
        return Routed(ENDPOINT) if path == ENDPOINT else None

    def not_served(self, intake: Intake) -> str | None:
        return None  # one endpoint, routed here only by its exact path

    def tenant(self, intake: Intake) -> str | None:
        return intake.headers.get(APP_HEADER.lower()) or None

    def auth_errors(self, intake: Intake) -> list[FieldError]:
        value = intake.headers.get(KEY_HEADER.lower(), "")
        scheme, _, key = value.strip().partition(" ")
        if not value:
            return [_auth("missing-key", f"send {KEY_HEADER}: Bearer <your API key>")]
        if scheme.lower() != "bearer" or not key.strip():
            return [
                _auth(
                    "key-format",
                    f"{KEY_HEADER} must read 'Bearer <your API key>' (the word Bearer goes "
                    "inside this header)",
                )
            ]
        if not is_known(key.strip(), self.keys):
            return [_auth("unknown-key", "this API key is not one the server was started with")]
        return []

    def header_errors(self, intake: Intake, tenant: str | None) -> list[FieldError]:
        if intake.headers.get(APP_HEADER.lower(), "").strip():
            return []
        return [
            FieldError(
                f"header:{APP_HEADER}",
                "required",
                "header",
                f"send {APP_HEADER}: <your application id>",
            )
        ]

    def validate(self, intake: Intake, body: bytes) -> Validated:
        return self.contract.validate(body)

    def events(
        self, intake: Intake, tenant: str | None, validated: Validated, body: bytes
    ) -> list[Event]:
        value = validated.value
        index = value.get("index")
        return [
            Event(
                vendor=SPEC.name,
                endpoint=ENDPOINT,
                type=value["event"],
                namespace=intake.namespace,
                tenant=tenant,
                user=value.get("uid"),
                session=None,
                query=value.get("query"),
                query_id=None,
                items=[item["id"] for item in value["items"]],
                # The schema bounds index below only; a position beyond 64 bits is kept in
                # the payload, not as a number no database column holds.
                position=index + 1 if isinstance(index, int) and index < INT64_MAX else None,
                timestamp_ms=value["timestamp"] * 1000,
                payload=as_sent(body.decode("utf-8", "replace"), value),
                request_id=intake.request_id,
                received_at=intake.received_at,
                page=value.get("page"),
                warnings=[
                    *as_warnings(validated.warnings),
                    *neuralens_warnings(value, time.time_ns() // 1_000_000),
                ],
            )
        ]

    def error_reply(
        self, status: int, errors: Sequence[FieldError], headers: Mapping[str, str] | None
    ) -> Reply:
        return Reply.json(
            status, {"status": "failure", "message": plain_messages(errors)}, headers=headers
        )


def _auth(rule: str, message: str) -> FieldError:
    return FieldError(f"header:{KEY_HEADER}", rule, "auth", message)


def _several_items(events: Sequence[Row]) -> bool:
    return any(
        e["payload"].get("event") == "PURCHASE" and len(e["payload"].get("items") or ()) > 1
        for e in events
    )


def _the_only_endpoint(body: Mapping[str, Any]) -> str:
    return "event"


SPEC = VendorSpec(
    name="neuralens",
    paths={"event": ENDPOINT},
    body="object",
    contracts=lambda contracts: {"event": contracts.neuralens},
    build=lambda contracts, settings: NeuralensEvents(contracts.neuralens, settings.neuralens_keys),
    guess_endpoint=_the_only_endpoint,
    coverage_scenarios={SEVERAL_ITEMS: _several_items},
    analytics=VendorAnalytics(
        vendor="neuralens",
        session_gap_ms=30 * 60_000,  # the common default: Neuralens documents none
        clicks=("CLICK_PRODUCT",),
        cart_adds=("ADD_TO_CART",),
        purchases=("PURCHASE",),
        # Neuralens sends no search event: a query seen on the results page is one.
        search_by="session_query",
        search_pages=("SEARCH_RESULT_PAGE",),
    ),
)
NeuralensEvents.spec = SPEC
