"""The inspection API under ``/_mock/``: what arrived, read from the store only.

Reads without ``namespace=`` cover every namespace; ``POST /_mock/reset`` without it clears
everything. Unknown or malformed query parameters are a 400 that names the parameter.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse as _StarletteJSON
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mockserver import jsontext
from mockserver.events import DISAGREE
from mockserver.faults.book import MAX_RULES, FaultBook, rules_of
from mockserver.faults.rules import RuleError
from mockserver.http11 import CONNECTION, ENDS_AT_SHUTDOWN, Connection
from mockserver.inspect.analytics import analytics_query, figures
from mockserver.inspect.limits import (
    DEFAULT_LIMIT,
    DEFAULT_WAIT_SECONDS,
    MAX_OFFSET,
    MAX_STREAM_SECONDS,
)
from mockserver.inspect.openapi import inspection_openapi
from mockserver.inspect.params import ENDPOINTS, BadParameter, Param, parse_params
from mockserver.inspect.waiting import ChangeFeed, Waiter
from mockserver.storage.base import Store

PREFIX = "/_mock"
MAX_FAULTS_BODY_BYTES = 256 * 1024  # MAX_RULES rules of a line each, with room to spare
# With several processes on one store, how often a wait looks for rows another one wrote.
RECHECK_SECONDS = 0.25
# /_mock/stream: what changed is sent at most this often (a write shows within a second),
# and a comment keeps a quiet connection open through proxies.
STREAM_GATHER_SECONDS = 0.25
STREAM_KEEPALIVE_SECONDS = 15.0
# A wait that times out leaves its first count running in the thread pool (a thread cannot be
# stopped). Past this many such counts, a wait is refused with a 503 rather than start one
# more: a client looping on short waits over a huge store would otherwise fill the pool (40
# threads) and every read, reset included, would queue behind the counts.
MAX_ABANDONED_COUNTS = 8


class JSONResponse(_StarletteJSON):
    """Starlette's, writing a stored number past float64 (the lenient profile keeps one in an
    unknown field) as it was sent: ``json`` would refuse it (see ``mockserver.jsontext``)."""

    def render(self, content: Any) -> bytes:
        return jsontext.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


STATE_CHANGING = frozenset({"POST", "PUT", "DELETE", "PATCH"})
# Sec-Fetch-Site values a browser sends for a request a page on another origin started.
_OTHER_SITES = frozenset({"cross-site", "same-site"})


Handler = Callable[[Request], Awaitable[Response]]
Params = dict[str, Any]


ParamsHandler = Callable[[Params, Request], Awaitable[Response]]


def _with_params(taken: tuple[Param, ...], handler: ParamsHandler) -> Handler:
    """The handler, given the request's parameters parsed; a 400 naming a bad one."""

    async def parsed(request: Request) -> Response:
        try:
            params = parse_params(request.query_params.multi_items(), taken)
        except BadParameter as exc:
            return JSONResponse({"error": str(exc), "parameter": exc.name}, status_code=400)
        return await handler(params, request)

    return parsed


async def _done_within(
    work: Awaitable[None], seconds: float | None, unless: asyncio.Future[Any]
) -> bool:
    """Whether ``work`` finished within ``seconds`` (and before ``unless`` was done); if not,
    it goes on unawaited (a thread cannot be stopped) and what it raises then is dropped:
    nobody is waiting for it."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait(
        (task, unless), timeout=seconds, return_when=asyncio.FIRST_COMPLETED
    )
    if task in done:
        task.result()  # its error, if any, is this request's
        return True
    task.add_done_callback(lambda finished: finished.cancelled() or finished.exception())
    return False


def _busy_counting(running: int) -> Response:
    message = (
        f"{running} earlier waits' counts are still running over this store (their waits timed "
        "out); retry in a moment, or wait with a longer timeout"
    )
    return JSONResponse({"error": message}, status_code=503, headers={"Retry-After": "1"})


def _stopping_reply(wanted: int) -> Response:
    message = f"mockserver is stopping: fewer than {wanted} events matched"
    return JSONResponse({"error": message}, status_code=503)


def _server_stopping(request: Request) -> asyncio.Future[Any]:
    """Done when the server begins to stop (never, served other than by ``serve``'s server)."""
    connection: Connection | None = request.scope.get(CONNECTION)
    if connection is None:
        return asyncio.get_running_loop().create_future()
    return asyncio.ensure_future(connection.stopping.wait())


async def _client_gone(request: Request) -> None:
    """Returns once the client hangs up (a GET's receive() has nothing else to say)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class Settling(Protocol):
    async def settle(self) -> None:
        """Returns once the upstream calls of the requests answered so far are recorded."""


class InspectAPI:
    def __init__(
        self,
        store: Store,
        admin_token: str | None = None,
        shared_store: bool = False,
        faults: FaultBook | None = None,
        trusted_origins: Collection[str] = (),
        local_only: bool = False,
        upstream: Settling | None = None,
    ) -> None:
        """``shared_store``: other processes write to the store too (``--workers``); their
        commits are not announced here, so waits count in SQL. ``faults``: the rules that
        ``/_mock/faults`` reads and sets. ``trusted_origins``: browser origins besides the
        server's own that may change its state (``--cors-origin``; ``*`` is not one).
        ``local_only``: the server listens on this machine only, with no admin token: its own
        pages are then on a loopback name, and a page on any other name that reaches it is a
        DNS-rebinding page (the attacker's name pointed at 127.0.0.1), same-origin as far as
        the browser can tell. ``upstream``: shadow mode's calls, which the reads of their
        verdicts (upstream, disagreements) and a reset wait for: a shadow call is made after
        its request's reply, and a test that reads right after sending must still see it."""
        self.store = store
        self.upstream = upstream
        self.abandoned_counts = 0  # waits' counts still running after their waits ended
        self.trusted_origins = frozenset(o.rstrip("/").lower() for o in trusted_origins) - {"*"}
        self.local_only = local_only
        self.faults = faults if faults is not None else FaultBook()
        self.changes = ChangeFeed(store)
        self.admin_token = admin_token
        self.shared_store = shared_store

    def routes(self) -> list[Route]:
        def guarded(path: str, handler: ParamsHandler) -> Route:
            method = "POST" if path == "/reset" else "GET"
            endpoint = self._guarded(_with_params(ENDPOINTS[f"{method} {path}"], handler))
            if method != "GET":
                endpoint = self._same_origin(endpoint)
            return Route(PREFIX + path, endpoint, methods=[method])

        # GET unless said (a reset is a POST); each behind the admin token, if one is set.
        params_routes = {
            "/events": self.events, "/rejections": self.rejections,
            "/rejections/reasons": self.reasons, "/attempts": self.attempts,
            "/upstream": self.upstream_calls, "/disagreements": self.disagreements,
            "/summary": self.summary, "/reset": self.reset, "/wait": self.wait,
            "/stream": self.stream, "/analytics": self.analytics,
        }  # fmt: skip
        by_id = {
            "/events/{event_id:int}": _one_row(self.store.event, "event"),
            "/rejections/{rejection_id:int}": _one_row(self.store.rejection, "rejection"),
        }
        return [
            # Open even with an admin token: health checks and API tooling need them, and they
            # reveal nothing that was recorded.
            Route(f"{PREFIX}/health", self.health, methods=["GET"]),
            Route(f"{PREFIX}/openapi.json", self.openapi, methods=["GET"]),
            *(guarded(path, handler) for path, handler in params_routes.items()),
            *(
                Route(PREFIX + path, self._guarded(handler), methods=["GET"])
                for path, handler in by_id.items()
            ),
            Route(
                f"{PREFIX}/faults",
                self._same_origin(self._guarded(self.fault_rules)),
                methods=["GET", "PUT", "POST", "DELETE"],
            ),
        ]

    def _same_origin(self, handler: Handler) -> Handler:
        """A state-changing request from a page on another origin is a 403, and a body that
        is not ``application/json`` a 415. Without an admin token (the default) any page the
        developer opens could otherwise add fault rules or wipe the store: a "simple"
        cross-origin POST (text/plain, no custom header) needs no CORS preflight. Requiring
        JSON makes every other request with a body need one, which ``/_mock`` never grants."""

        async def checked(request: Request) -> Response:
            if request.method in STATE_CHANGING:
                refused = _cross_site(request, self.trusted_origins, self.local_only) or _not_json(
                    request
                )
                if refused is not None:
                    return refused
            return await handler(request)

        return checked

    def _guarded(self, handler: Handler) -> Handler:
        """With an admin token, the handler answers only ``Authorization: Bearer <token>``."""
        token = self.admin_token
        if not token:
            return handler
        expected = token.encode()

        async def guarded(request: Request) -> Response:
            scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
            given = credentials.strip().encode("latin-1", "replace")
            # Auth schemes are case-insensitive (RFC 9110): bearer and BEARER read as Bearer.
            if scheme.lower() == "bearer" and hmac.compare_digest(given, expected):
                return await handler(request)
            return JSONResponse(
                {"error": "send Authorization: Bearer <admin token> (the server's --admin-token)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )

        return guarded

    async def health(self, request: Request) -> Response:
        problem = self.store.problem()
        if problem is None:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "store": problem}, status_code=503)

    # Reads run in the thread pool, each thread on a read connection of its own: a summary
    # over a million rows (measured: bench/results/measurements.md#summary-off-loop) or a
    # wait's count must not hold the event loop, where every vendor request is served.

    async def events(self, params: Params, request: Request) -> Response:
        page = await run_in_threadpool(self.store.events, params, *_paging(params))
        return JSONResponse({"total": page.total, "events": page.rows})

    async def rejections(self, params: Params, request: Request) -> Response:
        page = await run_in_threadpool(self.store.rejections, params, *_paging(params))
        return JSONResponse({"total": page.total, "rejections": page.rows})

    async def attempts(self, params: Params, request: Request) -> Response:
        page = await run_in_threadpool(self.store.attempts, params, *_paging(params))
        return JSONResponse({"total": page.total, "attempts": page.rows})

    async def upstream_calls(self, params: Params, request: Request) -> Response:
        await self._settled()
        page = await run_in_threadpool(self.store.upstream_calls, params, *_paging(params))
        return JSONResponse({"total": page.total, "upstream": page.rows})

    async def disagreements(self, params: Params, request: Request) -> Response:
        params = {**params, "outcome": DISAGREE}
        await self._settled()
        page = await run_in_threadpool(self.store.upstream_calls, params, *_paging(params))
        return JSONResponse({"total": page.total, "disagreements": page.rows})

    async def reasons(self, params: Params, request: Request) -> Response:
        limit = params.pop("limit", DEFAULT_LIMIT)
        reasons = await run_in_threadpool(self.store.rejection_reasons, params, limit)
        return JSONResponse({"reasons": reasons})

    async def _settled(self) -> None:
        if self.upstream is not None:
            await self.upstream.settle()

    async def summary(self, params: Params, request: Request) -> Response:
        # Not settled: the dashboard reads its counts here, and must not wait on a slow
        # upstream; /_mock/upstream and /_mock/disagreements wait.
        return JSONResponse(await run_in_threadpool(self.store.summary, params.get("namespace")))

    async def analytics(self, params: Params, request: Request) -> Response:
        """Search analytics (``inspect/analytics.py``), counted in SQL in a reader thread."""
        query = analytics_query(params)
        counts = await run_in_threadpool(self.store.analytics, query)
        return JSONResponse(figures(counts, query, params.get("bucket", "day")))

    async def fault_rules(self, request: Request) -> Response:
        """GET the rules (with how many requests each has hit); PUT ``{"rules": [...]}`` to
        replace them; POST one rule to add it; DELETE them all, ``?namespace=``'s, or the one
        ``?id=``."""
        try:
            method = "GET" if request.method == "HEAD" else request.method
            taken = ENDPOINTS[f"{method} /faults"]
            params = parse_params(request.query_params.multi_items(), taken)
        except BadParameter as exc:
            return JSONResponse({"error": str(exc), "parameter": exc.name}, status_code=400)
        namespace = params.get("namespace")
        if request.method in ("GET", "HEAD"):
            return JSONResponse({"rules": self.faults.listing(namespace)})
        if request.method == "DELETE":
            return JSONResponse({"removed": self.faults.clear(namespace, params.get("id"))})
        try:
            body = _json_body(await _body_up_to(request, MAX_FAULTS_BODY_BYTES))
            if request.method == "PUT":
                if not isinstance(body, dict):
                    raise ValueError('send {"rules": [...]}, a list of rule objects')
                rules = self.faults.replace(rules_of(body))
                return JSONResponse({"rules": [rule.as_json() for rule in rules]})
            rule = self.faults.add(body)
        except BodyTooLarge as exc:
            return JSONResponse({"error": str(exc)}, status_code=413)
        except RuleError as exc:
            return JSONResponse({"error": str(exc), "field": exc.name}, status_code=400)
        except ValueError as exc:  # not JSON, or not the shape
            return JSONResponse({"error": f"the body: {exc}"}, status_code=400)
        return JSONResponse(rule.as_json(), status_code=201)

    async def reset(self, params: Params, request: Request) -> Response:
        # In a thread: a million rows take seconds to delete, and the event loop serves every
        # vendor request (health answered late while a reset ran on it; measured:
        # bench/results/measurements.md#reset-off-loop). The upstream calls of requests
        # answered before it are recorded first, so it deletes them too.
        await self._settled()
        await run_in_threadpool(self.store.reset, params.get("namespace"))
        return Response(status_code=204)

    def _count_ended(self, counting: asyncio.Future[None]) -> None:
        self.abandoned_counts -= 1

    async def wait(self, params: Params, request: Request) -> Response:
        """200 as soon as ``count`` events match; 408 with what matched when ``timeout`` passes.

        The matches are counted in SQL once; after that each commit's events are matched in
        memory (``inspect/waiting.py``), so a wait costs the same over a million stored events
        as over ten. A client that hangs up ends its wait at once."""
        wanted = params.pop("count", 1)
        timeout = params.pop("timeout", DEFAULT_WAIT_SECONDS)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiter = self.changes.subscribe(params, in_memory=not self.shared_store)
        gone = asyncio.ensure_future(_client_gone(request))
        stopping = _server_stopping(request)
        try:
            while True:
                waiter.woken.clear()  # before counting: a match after this point wakes us
                if self.shared_store or waiter.recount or waiter.recounts or not waiter.counted:
                    # Within the timeout: a count over a million rows can outlast the wait
                    # (measured: bench/results/measurements.md#wait-count-timeout).
                    # ``timeout=0`` looks once, however long that takes.
                    limit = None if timeout == 0 else max(deadline - loop.time(), 0)
                    if self.abandoned_counts >= MAX_ABANDONED_COUNTS:
                        return _busy_counting(self.abandoned_counts)
                    counting = asyncio.ensure_future(self._count_in_sql(waiter, params, wanted))
                    if not await _done_within(counting, limit, stopping):
                        self.abandoned_counts += 1
                        counting.add_done_callback(self._count_ended)
                        if stopping.done():
                            return _stopping_reply(wanted)
                        message = f"fewer than {wanted} events counted after {timeout:g}s"
                        return await self._matching(params, 408, message)
                if waiter.matched >= wanted:
                    return await self._matching(params, 200)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    message = f"fewer than {wanted} events after {timeout:g}s"
                    return await self._matching(params, 408, message)
                woken = asyncio.ensure_future(waiter.woken.wait())
                await asyncio.wait(
                    (woken, gone, stopping),
                    timeout=min(remaining, RECHECK_SECONDS) if self.shared_store else remaining,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                woken.cancel()
                if gone.done():
                    return Response(status_code=408)  # nobody is left to read it
                if stopping.done() and waiter.matched < wanted:
                    return _stopping_reply(wanted)
        finally:
            gone.cancel()
            stopping.cancel()
            self.changes.unsubscribe(waiter)

    async def _count_in_sql(self, waiter: Waiter, params: Params, wanted: int) -> None:
        """Every match (the first read, or after a reset): their ids, as many as are wanted;
        with a SQLite file other processes write to, the count of rows above the highest id
        already counted."""
        if waiter.in_memory and waiter.ordered:
            resets = waiter.resets
            matched, top = await run_in_threadpool(self.store.count_new_events, params, 0)
            if waiter.resets == resets:  # else what was read may be gone: read again
                waiter.read_in_order(matched, top)
            return
        if waiter.in_memory:
            resets = waiter.resets
            ids = await run_in_threadpool(self.store.matching_event_ids, params, wanted)
            if waiter.resets == resets:  # else what was read may be gone: read again
                waiter.read_in_sql(ids)
            return
        if waiter.counted and not waiter.recount:
            new, top = await run_in_threadpool(self.store.count_new_events, params, waiter.highest)
            if top >= waiter.highest:
                waiter.counted_in_sql(waiter.counted_matches + new, top)
                return
            # ids went back: another process reset the store; count everything again
        matched, top = await run_in_threadpool(self.store.count_new_events, params, 0)
        waiter.counted_in_sql(matched, top)

    async def stream(self, params: Params, request: Request) -> Response:
        """Server-Sent Events: ``event: change`` with how many events and rejections arrived
        (in ``namespace``, if given) since the last message, gathered for a quarter of a second.
        A live view refetches what it shows from the JSON endpoints. ``retry`` tells the
        browser to reconnect a second after the server goes away (a restart)."""
        request.scope[ENDS_AT_SHUTDOWN] = True  # a server stopping closes it at once
        watcher = self.changes.watch(params.get("namespace"))
        duration = params.get("duration", MAX_STREAM_SECONDS)

        async def messages() -> AsyncIterator[str]:
            loop = asyncio.get_running_loop()
            ends = loop.time() + duration
            try:
                yield "retry: 1000\n\n"
                while (left := ends - loop.time()) > 0:
                    try:
                        wait = min(left, STREAM_KEEPALIVE_SECONDS)
                        await asyncio.wait_for(watcher.woken.wait(), wait)
                    except TimeoutError:
                        yield ": still here\n\n"
                        continue
                    await asyncio.sleep(STREAM_GATHER_SECONDS)  # let what comes with it join
                    yield f"event: change\ndata: {json.dumps(watcher.take())}\n\n"
            finally:
                self.changes.unwatch(watcher)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(messages(), media_type="text/event-stream", headers=headers)

    async def _matching(
        self, params: Mapping[str, Any], status: int, message: str | None = None
    ) -> Response:
        page = await run_in_threadpool(self.store.events, params, *_paging(params))
        body: dict[str, Any] = {"total": page.total, "events": page.rows}
        if message:
            body["error"] = message
        return JSONResponse(body, status_code=status)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(inspection_openapi())


def _cross_site(request: Request, trusted: frozenset[str], local_only: bool) -> Response | None:
    """403 for a request a browser sent from another origin than this server's own (and not
    one of ``trusted``). Browsers send ``Origin`` on every POST, PUT and DELETE (``null`` from
    a sandboxed frame or a file), and ``Sec-Fetch-Site`` too; curl, httpx and the other
    clients a test uses send neither, and are let through."""
    origin = request.headers.get("origin")
    if origin is not None:
        if origin.rstrip("/").lower() in trusted:
            return None
        same_host = _authority(origin) == request.headers.get("host", "").lower()
        if same_host and origin != "null" and not (local_only and not _loopback(origin)):
            return None  # the dashboard: a page this server served
        who = f"a page on {origin}"
    elif request.headers.get("sec-fetch-site", "").strip().lower() in _OTHER_SITES:
        who = "a page on another site"
    else:
        return None
    message = (
        f"{request.method} {request.url.path} from {who} is refused: /_mock changes state only "
        "for the dashboard this server serves, clients that send no Origin (curl, httpx, the "
        "test plugin) and origins given with --cors-origin"
    )
    return JSONResponse({"error": message}, status_code=403)


_LOOPBACK_HOST = re.compile(r"(localhost|.+\.localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?")


def _loopback(origin: str) -> bool:
    """Whether the origin's host is a name of this machine that no DNS server can give."""
    return _LOOPBACK_HOST.fullmatch(_authority(origin)) is not None


def _authority(origin: str) -> str:
    """``host:port`` of ``scheme://host:port``, compared with the Host header: behind a TLS
    proxy the scheme the browser saw is not this server's."""
    _, sep, authority = origin.partition("://")
    return authority.rstrip("/").lower() if sep else ""


def _not_json(request: Request) -> Response | None:
    """415 for a body that is not declared JSON: text/plain and form bodies are what a page
    can send cross-origin without a preflight."""
    length = request.headers.get("content-length", "0").strip()
    has_body = "transfer-encoding" in request.headers or length not in ("", "0")
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not has_body or media_type == "application/json":
        return None
    given = media_type or "none"
    message = f"send the body as Content-Type: application/json (this one is {given})"
    return JSONResponse({"error": message}, status_code=415)


class BodyTooLarge(Exception):
    pass


async def _body_up_to(request: Request, limit: int) -> bytes:
    """The body, read no further than ``limit`` bytes (a large rule list read whole took much
    memory; measured: bench/results/measurements.md#rules-body-limit)."""
    declared = request.headers.get("content-length", "")
    too_large = f"the body is over {limit} bytes; send at most {MAX_RULES} rules"
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:  # a rule is flat: JSON nested a thousand deep is no rule
        raise ValueError("nested too deep; a rule is a flat JSON object") from None


def _one_row(read: Callable[[int], dict[str, Any] | None], what: str) -> Handler:
    """GET /_mock/{what}s/{id}: the row, or a 404."""

    async def handler(request: Request) -> Response:
        (row_id,) = request.path_params.values()  # event_id or rejection_id
        row = await run_in_threadpool(read, row_id) if row_id <= MAX_OFFSET else None
        if row is None:
            return JSONResponse({"error": f"no {what} with this id"}, status_code=404)
        return JSONResponse(row)

    return handler


def _paging(params: Mapping[str, Any]) -> tuple[int, int]:
    return params.get("limit", DEFAULT_LIMIT), params.get("offset", 0)
