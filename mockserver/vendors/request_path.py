"""RequestPath: the one path every vendor request takes, whichever vendor's rules apply.

Order, as a real service checks: route and method (404, 405), size (413), credentials (401),
then headers and body together (400, every problem at once). An accepted request's events are
committed before the reply is built. The recorder writes each request once, here and nowhere
else.

The fault seam: a ``FaultSeam`` may answer instead of the vendor before anything is read or
recorded, and may replace (or withhold) the reply after the request was recorded. Without
one, the seam costs one comparison a request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from starlette.concurrency import run_in_threadpool

from mockserver.events import Event
from mockserver.storage.base import StoreUnavailable
from mockserver.validation import FieldError
from mockserver.vendors.admission import BodyBudget
from mockserver.vendors.base import VendorEndpoint
from mockserver.vendors.intake import (
    MAX_HEADER_BYTES,
    NAME_PATTERN,
    BodyTooLarge,
    Intake,
    PerHead,
    drain,
    http_error,
    read_body,
)
from mockserver.vendors.recorder import Recorder
from mockserver.vendors.reply import NO_REPLY, Reply

if TYPE_CHECKING:
    from mockserver.vendors.upstream import Upstream

DRAIN_BYTES = 8 * 1024 * 1024  # read at most this much of a refused body before answering
DRAIN_SECONDS = 2.0
OFF_LOOP_BYTES = 64 * 1024  # a batch of a hundred clicks is about 60 KB: it stays on the loop


class FaultSeam(Protocol):
    @property
    def active(self) -> bool:
        """Whether any fault may apply: when not, the request path does not call the seam."""

    async def before(self, vendor: VendorEndpoint, intake: Intake) -> Reply | None:
        """A reply to send instead of serving ``intake`` (nothing read, nothing recorded by the
        vendor path), ``NO_REPLY`` when the seam broke the connection itself, or None to
        serve it."""

    async def after(self, intake: Intake, reply: Reply) -> Reply | None:
        """The reply to send once ``intake`` was served and recorded: ``reply``, another one,
        or None to send nothing (the connection is dropped)."""

    def touched(self, request_id: str) -> tuple[int, str] | None:
        """The fault rule (id, kind) that met this request, if one did; asked once, when the
        request is done (however it ended): the seam then forgets it."""


class Refusal(NamedTuple):
    status: int
    errors: Sequence[FieldError]
    headers: Mapping[str, str] | None = None


class Judged:
    """What the mock judged of one request, kept for the upstream (shadow mode): the body it
    read in full (None when it refused before reading it) and the reasons of a refusal."""

    __slots__ = ("body", "errors")

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.errors: Sequence[FieldError] = ()


class RequestPath:
    def __init__(
        self,
        recorder: Recorder,
        budget: BodyBudget,
        max_body_bytes: int,
        faults: FaultSeam | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        self.recorder = recorder
        self.budget = budget  # shared by every vendor endpoint of an app
        self.max_body_bytes = max_body_bytes
        self.faults = faults
        self.upstream = upstream  # --upstream: the real service each request is forwarded to
        self.heads = Heads()

    async def handle(self, vendor: VendorEndpoint, intake: Intake) -> Reply | None:
        """The reply to send, or None when a fault drops the connection."""
        faults = self.faults
        if faults is None or not faults.active:
            return await self._served(vendor, intake)
        instead = await faults.before(vendor, intake)
        if instead is not None:
            sent = None if instead is NO_REPLY else instead
            await self._attempt(faults, vendor, intake, sent, stored=False)
            return sent
        try:
            served = await self._served(vendor, intake)
            reply = await faults.after(intake, served)
        except BaseException:  # a client gone mid-body, a cancelled task: nothing to record
            faults.touched(intake.request_id)  # and nothing of it kept by the seam
            raise
        await self._attempt(faults, vendor, intake, reply, stored=200 <= served.status < 300)
        return reply

    async def _attempt(
        self,
        faults: FaultSeam,
        vendor: VendorEndpoint,
        intake: Intake,
        reply: Reply | None,
        stored: bool,
    ) -> None:
        """Record what a fault did to this request (nothing, if no rule met it)."""
        rule = faults.touched(intake.request_id)
        if rule is None:
            return
        status = None if reply is None else reply.status
        with contextlib.suppress(StoreUnavailable):  # the reply says so already, or will
            await self.recorder.attempt(intake, rule, vendor.tenant(intake), status, stored)

    async def not_found(self, intake: Intake, message: str) -> Reply:
        """A path no vendor serves: recorded, and answered as an API gateway would."""
        error = http_error("not-found", message)
        try:
            await self.recorder.reject(intake, 404, [error], None, None)
        except StoreUnavailable as exc:
            return _problem(503, "Service Unavailable", _unstored(exc).message)
        return _problem(404, "Not Found", message)

    async def _served(self, vendor: VendorEndpoint, intake: Intake) -> Reply:
        """The mock's reply; with an upstream for this vendor, the request is forwarded too
        (once its own record is committed), and the reply may be the upstream's."""
        upstream = self.upstream
        if upstream is None or not upstream.serves(intake.vendor):
            return await self._serve_or_503(vendor, intake)
        judged = Judged()
        reply = await self._serve_or_503(vendor, intake, judged)
        if judged.body is None:
            return reply  # refused before the body was read in full: nothing to forward
        tenant = vendor.tenant(intake)
        return await upstream.judged(intake, tenant, judged.body, reply, judged.errors)

    async def _serve_or_503(
        self, vendor: VendorEndpoint, intake: Intake, judged: Judged | None = None
    ) -> Reply:
        try:
            return await self._serve(vendor, intake, judged)
        except StoreUnavailable as exc:  # never a 2xx for what was not stored; keep serving
            return vendor.error_reply(503, [_unstored(exc)], None)

    async def _serve(
        self, vendor: VendorEndpoint, intake: Intake, judged: Judged | None = None
    ) -> Reply:
        head = self.heads.of(vendor, intake)
        if head.refusal is not None:
            return await self._refuse(vendor, intake, head.refusal, head.tenant)
        tenant = head.tenant
        try:
            body = await read_body(intake, self.max_body_bytes)
        except BodyTooLarge as exc:
            if exc.rest_unread:
                with contextlib.suppress(TimeoutError):  # a client that stops sending
                    await asyncio.wait_for(drain(intake, DRAIN_BYTES), DRAIN_SECONDS)
            error = http_error("body-too-large", str(exc))
            # The rest of the body may still be on its way: the connection cannot carry
            # another request, so say it closes (a client that reuses it would hang).
            closing = {"Connection": "close"}
            return await self._refuse(vendor, intake, Refusal(413, [error], closing), tenant)
        if judged is not None:
            judged.body = body
        return await self._serve_body(vendor, intake, head, body, judged)

    async def serve_read(self, vendor: VendorEndpoint, intake: Intake, body: bytes) -> Reply:
        """The reply to a request whose body the server read already (the vendor lane of
        http11.py): served as ``handle`` serves it, but for the fault seam and the upstream,
        which the lane leaves to ``handle``. ``body`` is at most ``max_body_bytes``."""
        try:
            head = self.heads.of(vendor, intake)
            if head.refusal is not None:
                return await self._refuse(vendor, intake, head.refusal, head.tenant)
            return await self._serve_body(vendor, intake, head, body)
        except StoreUnavailable as exc:
            return vendor.error_reply(503, [_unstored(exc)], None)

    async def _serve_body(
        self,
        vendor: VendorEndpoint,
        intake: Intake,
        head: Head,
        body: bytes,
        judged: Judged | None = None,
    ) -> Reply:
        tenant = head.tenant
        # Admitted once read: a slow upload holds no share while it trickles in.
        share = self.budget.share(len(body))
        if not self.budget.try_enter(share):
            await self.budget.wait_for_turn(share)
        try:
            if len(body) > OFF_LOOP_BYTES:
                # A megabyte of [{},{},...] is slow to decode
                # (measured: bench/results/measurements.md#decode-off-loop): in a thread that
                # gives up the GIL now and then, the event loop serves everyone else in
                # between; the body budget lets one such body in at a time.
                verdict = await run_in_threadpool(_judge, vendor, intake, head, body)
            else:
                verdict = _judge(vendor, intake, head, body)
            if isinstance(verdict, Refusal):
                if judged is not None:
                    judged.errors = verdict.errors
                return await self._refuse(vendor, intake, verdict, tenant, body)
            del body  # the raw bytes need not wait for the commit either (see _judge)
            await self.recorder.accept(intake, verdict)
            return vendor.accepted
        finally:
            self.budget.leave(share)

    async def _refuse(
        self,
        vendor: VendorEndpoint,
        intake: Intake,
        refusal: Refusal,
        tenant: str | None,
        body: bytes | None = None,
    ) -> Reply:
        await self.recorder.reject(intake, refusal.status, refusal.errors, tenant, body)
        return vendor.error_reply(refusal.status, refusal.errors, refusal.headers)


def _refusal_before_the_body(vendor: VendorEndpoint, intake: Intake) -> Refusal | None:
    """What is refused from the request line and headers alone: oversized headers, a bad
    namespace or store name, a path this vendor does not serve, a method other than POST."""
    if intake.header_bytes > MAX_HEADER_BYTES:
        message = (
            f"the headers are {intake.header_bytes} bytes, over the limit of "
            f"{MAX_HEADER_BYTES} (Go's default, http.DefaultMaxHeaderBytes)"
        )
        return Refusal(431, [FieldError("header:*", "header-too-large", "http", message)])
    for kind, name in (("namespace", intake.namespace), ("store", intake.signal_store)):
        if name is not None and not NAME_PATTERN.fullmatch(name):
            message = f"{kind} names are 1-64 letters, digits, '.', '_' or '-'"
            return Refusal(404, [http_error(kind, message)])
    unknown = vendor.not_served(intake)
    if unknown is not None:
        return Refusal(404, [http_error("not-found", unknown)])
    if intake.method != "POST":
        message = f"{intake.method} is not allowed here; use POST"
        return Refusal(405, [http_error("method", message)], {"Allow": "POST"})
    return None


def _unstored(exc: StoreUnavailable) -> FieldError:
    return http_error("store-unavailable", f"mockserver could not store this request: {exc}")


def _problem(status: int, title: str, detail: str) -> Reply:
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Reply.json(status, problem, "application/problem+json")


def _compressed(encoding: str) -> FieldError:
    return FieldError(
        "header:Content-Encoding",
        "content-encoding",
        "header",
        f"Content-Encoding: {encoding} is not accepted: the service reads the body as plain "
        "JSON and does not decompress it; send the body uncompressed",
    )


def _judge(
    vendor: VendorEndpoint, intake: Intake, head: Head, body: bytes
) -> Refusal | list[Event]:
    """The refusal's status and reasons, or the accepted body's events. Not a coroutine: the
    decoded body is freed here, once its events are built, instead of being held while the
    commit is awaited."""
    if head.after_the_body is not None:
        return head.after_the_body
    validated = vendor.validate(intake, body)
    errors = [*head.header_errors, *validated.errors]
    if errors:
        return Refusal(400, errors)
    return vendor.events(intake, head.tenant, validated, body)


class Head(NamedTuple):
    """What a request's line and headers decide, whatever its body."""

    tenant: str | None
    refusal: Refusal | None  # before the body is read: 404, 405, 431
    after_the_body: Refusal | None  # once it is read, before it is decoded: 401, 400
    header_errors: Sequence[FieldError]  # refused with the body's own errors


class Heads:
    """Each request head's ``Head``, worked out once (``PerHead``): a vendor's ``tenant``,
    ``auth_errors`` and ``header_errors`` read nothing but the intake's head
    (``VendorEndpoint`` says so)."""

    def __init__(self) -> None:
        self.kept: PerHead[Head] = PerHead()

    def of(self, vendor: VendorEndpoint, intake: Intake) -> Head:
        key = (
            vendor, intake.method, intake.endpoint, intake.namespace, intake.signal_store,
            *intake.raw_headers,
        )  # fmt: skip
        return self.kept.get(key, intake.header_bytes, _head, vendor, intake)


def _head(vendor: VendorEndpoint, intake: Intake) -> Head:
    tenant = vendor.tenant(intake)
    refusal = _refusal_before_the_body(vendor, intake)
    if refusal is not None:
        return Head(tenant, refusal, None, ())
    auth = vendor.auth_errors(intake)
    after_the_body = Refusal(401, auth) if auth else None
    encoding = intake.headers.get("content-encoding", "identity").strip().lower()
    if after_the_body is None and encoding not in ("", "identity"):
        # The Go service does not decompress request bodies: the bytes would be read as JSON
        # and fail as "not valid UTF-8", which sends people the wrong way.
        after_the_body = Refusal(400, [_compressed(encoding)])
    return Head(tenant, None, after_the_body, tuple(vendor.header_errors(intake, tenant)))
