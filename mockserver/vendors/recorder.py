"""Recorder: the one component on the request path that writes.

Every vendor request is recorded once: its events when accepted, one rejection with its
reasons otherwise. Only ``RequestPath`` holds a recorder; the vendor modules cannot write, so
a vendor, a fault or a preflight cannot forget to record or record twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence

from mockserver.events import Attempt, Event, Rejection, UpstreamCall, short_reason
from mockserver.storage.group_commit import GroupCommit
from mockserver.validation import FieldError
from mockserver.vendors.intake import DEFAULT_NAMESPACE, Intake, PerHead, safe_headers
from mockserver.vendors.registry import endpoint_name
from mockserver.vendors.warning_log import WarningLog

_dumps = json.JSONEncoder(separators=(",", ":")).encode  # built once: see storage/sqlite.py

# One line a refused request, at warning (the server's default level shows it): a developer
# pointing an app at ``make run`` sees why, without opening /_mock/rejections.
log = logging.getLogger("mockserver.requests")


class RefusalLines:
    """The refusal lines of one event-loop turn, said as one log record, a line each.

    A log record each cost a refused request a tenth of its time under load (measured:
    bench/results/measurements.md#refusal-lines); the requests refused in one turn now share
    one. A lone refusal is a record of its own, said before its reply goes out. An app that
    embeds the server and formats records with a prefix (a time, a level) sees it on a
    record's first line only; ``caplog`` counts records, not refusals.
    """

    def __init__(self) -> None:
        # by event loop, as GroupCommit's batches: a loop's turn ends in its own thread
        self._pending: dict[asyncio.AbstractEventLoop, list[str]] = {}

    def say(self, line: str) -> None:
        loop = asyncio.get_running_loop()
        lines = self._pending.get(loop)
        if lines is None:
            lines = self._pending[loop] = []
            loop.call_soon(self._say_pending, loop)
        lines.append(line)

    def _say_pending(self, loop: asyncio.AbstractEventLoop) -> None:
        log.warning("%s", "\n".join(self._pending.pop(loop)))


class Recorder:
    def __init__(self, writer: GroupCommit, salt: bytes) -> None:
        self.writer = writer
        self.salt = salt  # the store's, for credential fingerprints
        self.warnings = WarningLog()
        self.refusals = RefusalLines()
        # A head's headers as stored: fingerprinted, and as JSON text
        self._stored: PerHead[tuple[Mapping[str, str], str]] = PerHead()

    async def accept(self, intake: Intake, events: Sequence[Event]) -> None:
        """Returns once ``events`` are committed, with the request's headers: only then may
        the 2xx go out."""
        headers = self._stored_headers(intake)[1]
        await self.writer.write(events=events, headers=(intake.request_id, headers))
        if log.isEnabledFor(logging.WARNING):
            self.warnings.note(events, endpoint_name(intake.vendor, intake.endpoint))

    def _stored_headers(self, intake: Intake) -> tuple[Mapping[str, str], str]:
        """The headers as stored (credentials fingerprinted), and as JSON text: worked out
        once for each distinct head."""
        return self._stored.get(intake.raw_headers, intake.header_bytes, self._encode, intake)

    def _encode(self, intake: Intake) -> tuple[Mapping[str, str], str]:
        safe = safe_headers(intake.headers, self.salt)
        return safe, _dumps(safe)

    async def attempt(
        self,
        intake: Intake,
        rule: tuple[int, str],
        tenant: str | None,
        status: int | None,
        stored: bool,
    ) -> None:
        """A request fault rule ``rule`` (id, kind) touched: what the client got (None: no
        reply) and whether its events were stored."""
        rule_id, fault = rule
        await self.writer.write(
            attempt=Attempt(
                request_id=intake.request_id, rule_id=rule_id, fault=fault,
                vendor=intake.vendor, endpoint=intake.endpoint, namespace=intake.namespace,
                tenant=tenant, status=status, stored=stored, received_at=intake.received_at,
            )
        )  # fmt: skip

    async def upstream(self, call: UpstreamCall) -> None:
        """What the real service answered a forwarded request (shadow mode)."""
        await self.writer.write(upstream_call=call)

    async def reject(
        self,
        intake: Intake,
        status: int,
        errors: Sequence[FieldError],
        tenant: str | None,
        body: bytes | None,
    ) -> None:
        reasons = [e.as_dict() for e in errors]
        if log.isEnabledFor(logging.WARNING):
            self.refusals.say(refusal_line(intake, status, reasons))
        headers, stored_headers = self._stored_headers(intake)
        await self.writer.write(
            headers=(intake.request_id, stored_headers),
            rejection=Rejection(
                vendor=intake.vendor,
                method=intake.method,
                endpoint=intake.endpoint,
                namespace=intake.namespace,
                tenant=tenant,
                status=status,
                errors=reasons,
                headers=headers,
                body=None if body is None else body.decode("utf-8", "replace"),
                request_id=intake.request_id,
                received_at=intake.received_at,
            ),
        )


def refusal_line(intake: Intake, status: int, reasons: Sequence[Mapping[str, str]]) -> str:
    """``400 lucidworks click [0].sessionId required (+1 more)``: one line, whatever the client
    sent (a path of ``%0A`` would otherwise start a line of the client's own)."""
    parts = [str(status), intake.vendor or "-", endpoint_name(intake.vendor, intake.endpoint)]
    if intake.namespace != DEFAULT_NAMESPACE:
        parts.append(f"ns={intake.namespace}")
    parts.append(short_reason(reasons))
    line = " ".join(parts)
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
