"""What both vendor modules do the same way: read a bounded body, fingerprint credentials,
record a rejection, and know which namespace and endpoint a request is for."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request

from mockserver.events import Rejection, new_request_id, utc_now
from mockserver.group_commit import GroupCommit
from mockserver.validation import FieldError

DEFAULT_NAMESPACE = "default"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-neuralens-api-key"}
)


class BodyTooLarge(Exception):
    def __init__(self, size: int | None, limit: int) -> None:
        self.size = size
        self.limit = limit
        seen = f"{size} bytes" if size is not None else "more than that"
        super().__init__(f"the body is {seen}; the limit is {limit} bytes (--max-body-bytes)")


_HEADERS_KEY = "mockserver.headers"


def headers_of(request: Request) -> dict[str, str]:
    """The request's headers as a plain dict, built once per request (the first of repeated
    names wins, as with Starlette's ``Headers.get``). Lookups in it cost a fraction of
    ``Headers.get``, which scans the raw list every time."""
    cached: dict[str, str] | None = request.scope.get(_HEADERS_KEY)
    if cached is None:
        raw = request.scope["headers"]
        cached = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(raw)}
        request.scope[_HEADERS_KEY] = cached
    return cached


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or ``BodyTooLarge`` as soon as it passes ``limit`` (never read further)."""
    declared = headers_of(request).get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared), limit)
    chunks, size = [], 0
    while True:  # straight from ASGI receive: Request.stream() adds a generator per chunk
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(None, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def fingerprint(secret: str) -> str:
    """A stable, non-reversible name for a credential: enough to tell two apart, not to reuse."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()[:16]


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: fingerprint(value) if name.lower() in CREDENTIAL_HEADERS else value
        for name, value in headers.items()
    }


def is_known(secret: str, allowed: Collection[str]) -> bool:
    """Any non-empty secret when none are configured; else one of them (constant-time compare)."""
    if not allowed:
        return bool(secret)
    return any(hmac.compare_digest(secret.encode(), known.encode()) for known in allowed)


@dataclass(frozen=True, slots=True)
class Intake:
    """One request on its way in: where it came, when, and what id ties its rows together."""

    request: Request
    vendor: str | None
    endpoint: str
    namespace: str
    request_id: str
    received_at: str

    @classmethod
    def of(cls, request: Request, vendor: str | None, endpoint: str) -> Intake:
        return cls(
            request=request,
            vendor=vendor,
            endpoint=endpoint,
            namespace=request.path_params.get("namespace", DEFAULT_NAMESPACE),
            request_id=new_request_id(),
            received_at=utc_now(),
        )

    async def reject(
        self,
        writer: GroupCommit,
        status: int,
        errors: Sequence[FieldError],
        tenant: str | None,
        body: bytes | None,
    ) -> None:
        await writer.write(
            rejection=Rejection(
                vendor=self.vendor,
                method=self.request.method,
                endpoint=self.endpoint,
                namespace=self.namespace,
                tenant=tenant,
                status=status,
                errors=[e.as_dict() for e in errors],
                headers=safe_headers(headers_of(self.request)),
                body=None if body is None else body.decode("utf-8", "replace"),
                request_id=self.request_id,
                received_at=self.received_at,
            )
        )


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def as_sent(text: str, value: Any) -> str:
    """JSON text to store for ``value``: ``text`` as sent, unless it holds a surrogate escape
    (only the lenient profile accepts one): then the decoded value, where it is U+FFFD."""
    return json.dumps(value) if _SURROGATE_ESCAPE.search(text) else text


def http_error(rule: str, message: str) -> FieldError:
    return FieldError(path="$", rule=rule, layer="http", message=message)


def plain_messages(errors: Sequence[FieldError]) -> str:
    """``"items: must …; timestamp: …"``: what a person reads in a vendor's message field."""
    parts = []
    for error in errors:
        # Body paths are $-rooted; header and whole-body messages already say what they are about.
        where = error.path.removeprefix("$").lstrip(".") if error.path.startswith("$") else ""
        parts.append(f"{where}: {error.message}" if where else error.message)
    return "; ".join(parts)
