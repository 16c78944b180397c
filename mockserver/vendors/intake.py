"""What every vendor's request shares: a bounded body, fingerprinted credentials, and the
namespace and endpoint a request is for."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.types import Message, Receive, Scope

from mockserver import jsontext
from mockserver.events import new_request_id, utc_now
from mockserver.http11 import CONNECTION, Connection
from mockserver.validation import FieldError

DEFAULT_NAMESPACE = "default"
STORED_HEADER_CHARS = 2048
# Go's net/http refuses more than http.DefaultMaxHeaderBytes (1 MiB) of headers with a 431.
MAX_HEADER_BYTES = 1024 * 1024
# What is worked out once for each distinct request head (``PerHead``: headers decoded,
# credentials fingerprinted, a vendor's header checks) is kept for this many heads of at most
# this size.
HEADS_KEPT = 1024
HEAD_BYTES_KEPT = 8 * 1024  # kept, 1,024 larger ones could hold a gigabyte
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A header whose name holds one of these is taken for a credential and stored only as a
# fingerprint: Authorization, X-Neuralens-API-Key, Cookie, Set-Cookie, X-Api-Token,
# X-Credentials, X-Jwt, X-Signature, X-Session-Id, X-Access-Code, ... A header kept as a
# fingerprint by mistake costs a lookup; a secret stored verbatim cannot be taken back.
CREDENTIAL_NAME_PARTS = (
    "auth", "token", "key", "secret", "password", "passwd", "cookie", "credential", "jwt",
    "signature", "session", "access", "bearer",
)  # fmt: skip


class BodyTooLarge(Exception):
    def __init__(self, size: int | None, limit: int, rest_unread: bool = True) -> None:
        self.rest_unread = rest_unread  # more of the body is still on its way
        size_text = f"{size} bytes, " if size is not None else ""  # unknown when chunked
        super().__init__(
            f"the body is {size_text}over the limit of {limit} bytes (--max-body-bytes)"
        )


class ClientDisconnected(Exception):
    """The client hung up before sending its whole body: there is no one to reply to."""


async def read_body(intake: Intake, limit: int) -> bytes:
    """The whole body, or ``BodyTooLarge`` as soon as it passes ``limit`` (never read further)."""
    declared = intake.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared), limit)
    chunks, size = [], 0
    while True:
        message = await intake.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(None, limit, rest_unread=message.get("more_body", False))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def drain(intake: Intake, limit: int) -> None:
    """Read and drop what is left of a refused body, up to ``limit`` bytes, so that a client
    that writes its whole body before reading (urllib) reads the 413 instead of a reset. A
    client that asked ``Expect: 100-continue`` has sent nothing yet: it is not asked to; nor
    is one that announced more than ``limit``."""
    if intake.headers.get("expect", "").strip().lower() == "100-continue":
        return
    declared = intake.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return
    seen = 0
    while seen < limit:
        message = await intake.receive()
        if message["type"] == "http.disconnect":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


@functools.lru_cache(maxsize=1024)
def fingerprint(secret: str, salt: bytes) -> str:
    """A stable, non-reversible name for a credential: enough to tell two apart within one
    store, not to reuse it. Salted per store, so a fingerprint cannot be looked up in a table
    of known tokens' hashes, nor matched across stores. Cached, as a client sends the same
    token on every request: recent tokens stay in this process's memory (as each request's
    headers do meanwhile), never on disk."""
    digest = hmac.new(salt, secret.encode("utf-8", "replace"), hashlib.sha256)
    return "hmac-sha256:" + digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1024)
def is_credential(header_name: str) -> bool:
    name = header_name.lower()
    return any(part in name for part in CREDENTIAL_NAME_PARTS)


def safe_headers(headers: Mapping[str, str], salt: bytes) -> dict[str, str]:
    """Headers as stored: credentials fingerprinted, each other value cut to a bounded prefix
    (a 10 MB header is kept as its first 2 KiB and its size)."""
    return {
        name: fingerprint(value, salt)
        if is_credential(name)
        else value
        if len(value) <= STORED_HEADER_CHARS
        else _prefix(value)
        for name, value in headers.items()
    }


def _prefix(value: str) -> str:
    return f"{value[:STORED_HEADER_CHARS]}… ({len(value)} characters in all)"


def is_known(secret: str, allowed: Collection[str]) -> bool:
    """Any non-empty secret when none are configured; else one of them (constant-time compare)."""
    if not allowed:
        return bool(secret)
    return any(hmac.compare_digest(secret.encode(), known.encode()) for known in allowed)


@dataclass(frozen=True, slots=True)
class Intake:
    """One request on its way in: what was sent, where to, when, and the id that ties its rows.

    Built straight from the ASGI scope: the vendor routes skip Starlette's ``Request``, whose
    conveniences cost more than the rest of an accepted request's own work.
    """

    method: str
    headers: Mapping[str, str]  # lower-case names; the first of repeated names wins
    receive: Receive
    vendor: str | None
    endpoint: str  # the vendor's path, without /ns/{name} or /signal-store/{id}
    namespace: str
    signal_store: str | None  # a Lucidworks signal store named in the path
    request_id: str
    received_at: str
    header_bytes: int = 0  # names, values and their separators, as they came
    connection: Connection | None = None  # for faults; None in-process (a test client)
    # As the server gave them (repeats and order kept; names in lower case), and the query
    # string: for the upstream (vendors/upstream.py), which forwards them unchanged.
    raw_headers: Sequence[tuple[bytes, bytes]] = ()
    query: str = ""

    @classmethod
    def of(
        cls,
        scope: Scope,
        receive: Receive,
        vendor: str | None,
        endpoint: str,
        namespace: str | None = None,
        signal_store: str | None = None,
    ) -> Intake:
        raw_headers = scope["headers"]
        return cls.from_parts(
            scope["method"],
            decode_headers(raw_headers),
            raw_headers,
            scope.get("query_string", b""),
            vendor,
            endpoint,
            namespace,
            signal_store,
            receive,
            scope.get(CONNECTION),
        )

    @classmethod
    def from_parts(
        cls,
        method: str,
        headers: Mapping[str, str],
        raw_headers: Sequence[tuple[bytes, bytes]],
        query: bytes,
        vendor: str | None,
        endpoint: str,
        namespace: str | None = None,
        signal_store: str | None = None,
        receive: Receive | None = None,
        connection: Connection | None = None,
        header_bytes: int | None = None,
    ) -> Intake:
        """``headers``: ``raw_headers`` decoded, the first of repeated names kept. Without
        ``receive``, the body was read already (the server's vendor lane)."""
        return cls(
            method=method,
            headers=headers,
            receive=_read_already if receive is None else receive,
            vendor=vendor,
            endpoint=endpoint,
            namespace=DEFAULT_NAMESPACE if namespace is None else namespace,
            signal_store=signal_store,
            request_id=new_request_id(),
            received_at=utc_now(),
            header_bytes=_size(raw_headers) if header_bytes is None else header_bytes,
            connection=connection,
            raw_headers=raw_headers,
            query=query.decode("latin-1"),
        )


T = TypeVar("T")


class PerHead(Generic[T]):
    """What is worked out from a request head alone, kept for each distinct head: a client
    sends the same headers on every request. At most HEADS_KEPT heads of at most
    HEAD_BYTES_KEPT are kept (then it starts again), so a client that varies a header on
    every request costs a lookup, never memory."""

    def __init__(self) -> None:
        self._kept: dict[Hashable, T] = {}

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: Any, size: int, make: Callable[..., T], *args: Any) -> T:
        """``make(*args)``, worked out once for ``key`` (the head, as sent, and whatever else
        the result depends on); ``size``: the head's bytes."""
        if size > HEAD_BYTES_KEPT:
            return make(*args)
        try:
            kept = self._kept.get(key)
        except TypeError:  # a head whose headers are lists (a test's ASGI scope): not kept
            return make(*args)
        if kept is None:
            if len(self._kept) >= HEADS_KEPT:
                self._kept.clear()
            kept = self._kept[key] = make(*args)
        return kept


def header_bytes(raw_headers: Sequence[tuple[bytes, bytes]]) -> int:
    return sum(len(name) + len(value) + 4 for name, value in raw_headers)


_size = header_bytes  # from_parts' parameter of that name hides the function


def decode_headers(raw_headers: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Names and values as text (latin-1, as HTTP/1.1 sends them); the first of repeated
    names wins."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(raw_headers)}


async def _read_already() -> Message:
    raise RuntimeError("this request's body was read by the server: nothing is left to receive")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def as_sent(text: str, value: Any) -> str:
    """JSON text to store for ``value``: ``text`` as sent, unless it holds a surrogate escape
    (only the lenient profile accepts one): then the decoded value, where it is U+FFFD."""
    return jsontext.dumps(value) if _SURROGATE_ESCAPE.search(text) else text


def take_prefix(path: str, prefix: str) -> tuple[str | None, str]:
    """``("name", "/rest")`` from ``prefix + "name/rest"``; ``(None, path)`` otherwise."""
    if path.startswith(prefix):
        name, slash, rest = path[len(prefix) :].partition("/")
        if name and slash:
            return name, "/" + rest
    return None, path


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
