"""Reply: a vendor's answer as the two ASGI messages that carry it.

The vendor routes send these directly instead of Starlette responses: an accepted request's
reply is a constant built once, and an error's is one ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import Send

# As Starlette's JSONResponse renders, so replies read the same on every route; built once,
# as json.dumps with options builds an encoder per call.
_render = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ((b"content-length", b"0"),)

    @classmethod
    def json(
        cls,
        status: int,
        content: Any,
        media_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        body = _render(content).encode("utf-8")
        raw = [(b"content-length", str(len(body)).encode()), (b"content-type", media_type.encode())]
        raw += [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ]
        return cls(status, body, tuple(raw))

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


# What a fault answers when it has already broken the connection itself: nothing is sent.
NO_REPLY = Reply(0)
