"""The fault seam's implementation: applies the FaultBook's rules to vendor requests.

Before serving: a vendor-shaped 5xx or 429, or a broken connection (reset, empty, malformed,
hang, down), with nothing stored. After serving: latency before the reply, or ``ack_lost``:
the event is stored and the connection reset before the acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib

from mockserver.faults.book import FaultBook
from mockserver.faults.rules import DEFAULT_HANG_SECONDS, Rule
from mockserver.validation import FieldError
from mockserver.vendors.base import VendorEndpoint
from mockserver.vendors.intake import ClientDisconnected, Intake, drain
from mockserver.vendors.registry import VENDORS, endpoint_name
from mockserver.vendors.reply import NO_REPLY, Reply

# A reply no client can parse: the status line is not HTTP's.
MALFORMED = b'HTTP/1.1 2?? BROKEN\r\nContent-Length: 11\r\n\r\n{"status":'
_AFTER_SERVING = frozenset({"latency", "ack_lost"})
DRAIN_BYTES = 8 * 1024 * 1024  # as a refused request's: a body is read, up to this much
DRAIN_SECONDS = 2.0
# What a fault rule may name: each vendor's endpoint names (a rule's vendor and endpoint).
RULE_TARGETS = {spec.name: spec.endpoints for spec in VENDORS}


class FaultInjector:
    def __init__(self, book: FaultBook) -> None:
        self.book = book
        self._pending: dict[str, Rule] = {}  # request id -> rule to apply once served
        self._touched: dict[str, Rule] = {}  # request id -> the rule that met it

    def touched(self, request_id: str) -> tuple[int, str] | None:
        """The rule (id, kind) applied to this request, if any; asked once, when it is done,
        whether or not it was served (what was kept for it is dropped)."""
        self._pending.pop(request_id, None)
        rule = self._touched.pop(request_id, None)
        return None if rule is None else (rule.id, rule.fault)

    @property
    def active(self) -> bool:
        return self.book.active

    async def before(self, vendor: VendorEndpoint, intake: Intake) -> Reply | None:
        endpoint = endpoint_name(intake.vendor, intake.endpoint)
        rule = self.book.match(intake.vendor, endpoint, intake.namespace, vendor.tenant(intake))
        if rule is None:
            return None
        self._touched[intake.request_id] = rule
        kind = rule.fault
        if kind in _AFTER_SERVING:
            self._pending[intake.request_id] = rule
            return None
        if kind == "status":
            status = rule.params["status"]
            return vendor.error_reply(status, [_injected(rule, f"status {status}")], None)
        if kind == "rate_limit":
            seconds = rule.params["retry_after"]
            errors = [_injected(rule, f"rate limited: retry after {seconds} s")]
            return vendor.error_reply(429, errors, {"Retry-After": str(seconds)})
        connection = intake.connection
        if connection is None:  # in-process (a test client): no connection to break
            return NO_REPLY
        if kind in ("empty", "malformed"):
            # The body is read first: closing with unread bytes makes the kernel send a reset,
            # and these two are orderly closes (FIN) that a client tells apart from one.
            with contextlib.suppress(TimeoutError, ClientDisconnected):
                await asyncio.wait_for(drain(intake, DRAIN_BYTES), DRAIN_SECONDS)
        if kind in ("reset", "down"):
            connection.reset()
        elif kind == "empty":
            connection.close()
        elif kind == "malformed":
            connection.write_and_close(MALFORMED)
        elif kind == "hang":
            seconds = rule.params.get("seconds", DEFAULT_HANG_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_until_the_client_leaves(intake), seconds)
            connection.reset()
        await asyncio.sleep(0)  # connection_lost runs: the server then sends nothing
        return NO_REPLY

    async def after(self, intake: Intake, reply: Reply) -> Reply | None:
        rule = self._pending.pop(intake.request_id, None)
        if rule is None:
            return reply
        if rule.fault == "latency":
            await asyncio.sleep(rule.delay_seconds())
            return reply
        if 200 <= reply.status < 300 and intake.connection is not None:  # ack_lost
            intake.connection.reset()  # stored; the acknowledgement never arrives
            await asyncio.sleep(0)
            return None
        return reply


def _injected(rule: Rule, what: str) -> FieldError:
    return FieldError("$", "fault", "http", f"injected fault (rule {rule.id}): {what}")


async def _until_the_client_leaves(intake: Intake) -> None:
    while (await intake.receive())["type"] != "http.disconnect":
        pass
