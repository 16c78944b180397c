"""Recorder: every vendor request is recorded once, its events or one rejection with its reasons."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast

import pytest

from mockserver.events import Attempt, Event, Rejection
from mockserver.storage.group_commit import GroupCommit
from mockserver.validation import FieldError
from mockserver.vendors.intake import Intake, fingerprint
from mockserver.vendors.recorder import Recorder, refusal_line

SALT = b"store-salt"
HEADERS = [(b"authorization", b"embed-token-123"), (b"accept", b"application/json")]


class Writes:
    """A GroupCommit that keeps what it is given to write, each call's arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def write(self, **written: Any) -> None:
        self.calls.append(written)


def _recorder() -> tuple[Recorder, Writes]:
    writes = Writes()
    return Recorder(cast(GroupCommit, writes), SALT), writes


def _intake(
    vendor: str | None = "lucidworks",
    endpoint: str = "/retail/signals/click",
    namespace: str | None = None,
    method: str = "POST",
) -> Intake:
    async def receive() -> Any:
        raise AssertionError("the recorder reads no body")

    scope = {"type": "http", "method": method, "path": endpoint, "headers": HEADERS}
    return Intake.of(scope, receive, vendor, endpoint, namespace)


def _warned(namespace: str = "default") -> Event:
    warning = {"rule": "click-without-position", "path": "$.selectedPosition", "message": "m"}
    return Event(
        "lucidworks", "/retail/signals/click", "click", namespace, "shop", "u", "s", None,
        "q", ["p"], None, 1, "{}", "r", "2026-01-01T00:00:00.000000Z", warnings=[warning],
    )  # fmt: skip


REASONS = [
    FieldError("$[0].sessionId", "required", "schema", "is required"),
    FieldError("$[1].sessionId", "required", "schema", "is required"),
]


def test_a_refusal_is_one_rejection_with_every_reason_and_the_headers_as_stored() -> None:
    recorder, writes = _recorder()
    intake = _intake(namespace="team-a", method="PUT")
    asyncio.run(recorder.reject(intake, 400, REASONS, "shop", b'[{"a": "caf\xc3\xa9\xff"}]'))
    assert writes.calls == [
        {
            "rejection": Rejection(
                vendor="lucidworks",
                method="PUT",
                endpoint="/retail/signals/click",
                namespace="team-a",
                tenant="shop",
                status=400,
                errors=[error.as_dict() for error in REASONS],
                headers={
                    "authorization": fingerprint("embed-token-123", SALT),
                    "accept": "application/json",
                },
                body='[{"a": "café\ufffd"}]',  # invalid UTF-8 kept, replaced
                request_id=intake.request_id,
                received_at=intake.received_at,
            ),
            # as stored, JSON text worked out once a head, as an accepted request's are
            "headers": (intake.request_id, writes.calls[0]["headers"][1]),
        }
    ]
    assert json.loads(writes.calls[0]["headers"][1]) == writes.calls[0]["rejection"].headers


def test_a_refusal_without_a_body_is_recorded_without_one() -> None:
    recorder, writes = _recorder()
    asyncio.run(recorder.reject(_intake(None, "/v1/track"), 404, REASONS[:1], None, None))
    (call,) = writes.calls
    assert call["rejection"].body is None
    assert call["rejection"].vendor is None


def test_each_refusal_is_one_line_on_the_terminal(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mockserver.requests")
    recorder, _ = _recorder()
    asyncio.run(recorder.reject(_intake(), 400, REASONS, "shop", b"[]"))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "400 lucidworks click [0].sessionId required (+1 more)")
    ]


def test_the_refusals_of_one_loop_turn_share_one_record_a_line_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="mockserver.requests")
    recorder, writes = _recorder()

    async def refuse(how_many: int) -> None:
        await asyncio.gather(
            *(recorder.reject(_intake(), 400, REASONS, "shop", b"[]") for _ in range(how_many))
        )

    asyncio.run(refuse(3))
    line = "400 lucidworks click [0].sessionId required (+1 more)"
    assert [r.getMessage() for r in caplog.records] == ["\n".join([line] * 3)]
    assert len(writes.calls) == 3


def test_a_refusal_says_nothing_on_the_terminal_when_warnings_are_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="mockserver.requests")
    recorder, writes = _recorder()
    asyncio.run(recorder.reject(_intake(), 400, REASONS, "shop", b"[]"))
    assert caplog.records == []
    assert len(writes.calls) == 1  # recorded all the same


@pytest.mark.parametrize(
    ("vendor", "endpoint", "namespace", "line"),
    [
        ("lucidworks", "/retail/signals/click", None, "401 lucidworks click $ missing-token"),
        (
            "neuralens",
            "/analytics/event",
            "team-a",
            "401 neuralens event ns=team-a $ missing-token",
        ),
        (None, "/v1/track", "default", "401 - /v1/track $ missing-token"),
    ],
)
def test_a_refusal_line_says_status_vendor_endpoint_namespace_and_first_reason(
    vendor: str | None, endpoint: str, namespace: str | None, line: str
) -> None:
    reasons = [{"path": "$", "rule": "missing-token", "layer": "auth", "message": "send it"}]
    assert refusal_line(_intake(vendor, endpoint, namespace), 401, reasons) == line


def test_a_refusal_line_stays_one_line_whatever_the_path_holds() -> None:
    intake = _intake(None, "/x\n400 lucidworks click FORGED\u2028\x1b[31m")
    line = refusal_line(intake, 404, [REASONS[0].as_dict()])
    assert line.startswith("404 - /x\\n400 lucidworks click FORGED\\u2028\\x1b[31m ")
    assert line.isprintable()


def test_accepted_events_are_written_with_the_requests_stored_headers() -> None:
    recorder, writes = _recorder()
    intake = _intake()
    events = [_warned()]
    asyncio.run(recorder.accept(intake, events))
    (call,) = writes.calls
    assert call["events"] is events
    request_id, headers = call["headers"]
    assert request_id == intake.request_id
    assert json.loads(headers) == {
        "authorization": fingerprint("embed-token-123", SALT),
        "accept": "application/json",
    }
    assert " " not in headers  # compact JSON text


def test_an_accepted_signal_with_a_warning_is_said_on_the_terminal_by_its_endpoint_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="mockserver.requests")
    recorder, _ = _recorder()
    asyncio.run(recorder.accept(_intake(), [_warned()]))
    (record,) = caplog.records
    assert record.getMessage().startswith(
        "warning lucidworks click click-without-position $.selectedPosition: m"
    )


def test_warnings_are_not_noted_when_the_terminal_would_not_show_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="mockserver.requests")
    recorder, _ = _recorder()
    asyncio.run(recorder.accept(_intake(), [_warned()]))
    caplog.set_level(logging.WARNING, logger="mockserver.requests")
    asyncio.run(recorder.accept(_intake(), [_warned()]))
    assert len(caplog.records) == 1  # the first time it is shown, it is said


def test_a_fault_attempt_is_written_with_what_came_of_it() -> None:
    recorder, writes = _recorder()
    intake = _intake("neuralens", "/analytics/event", "team-a")
    asyncio.run(recorder.attempt(intake, (7, "status"), "app", 503, False))
    asyncio.run(recorder.attempt(intake, (8, "reset"), None, None, True))
    assert [call["attempt"] for call in writes.calls] == [
        Attempt(
            request_id=intake.request_id, rule_id=7, fault="status", vendor="neuralens",
            endpoint="/analytics/event", namespace="team-a", tenant="app", status=503,
            stored=False, received_at=intake.received_at,
        ),
        Attempt(
            request_id=intake.request_id, rule_id=8, fault="reset", vendor="neuralens",
            endpoint="/analytics/event", namespace="team-a", tenant=None, status=None,
            stored=True, received_at=intake.received_at,
        ),
    ]  # fmt: skip
