"""Browser access to the vendor routes: CORS, through Starlette's ``CORSMiddleware``.

Neither vendor documents a CORS policy, so this is the mock's: pages on this machine
(``localhost``, ``127.0.0.1``, ``[::1]``, any port, http or https) may send events, and so may
the origins given with ``--cors-origin`` (``*``: any). A preflight is answered 204 and is not a
vendor request: it is never recorded. Only vendor routes answer CORS: ``/_mock`` stays
same-origin, so another page on this machine cannot read what was recorded.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
ALLOWED_HEADERS = (
    "Content-Type", "Accept", "Authorization", "X-Neuralens-API-Key",
    "X-Neuralens-Application-ID",
)  # fmt: skip


class VendorCORS(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: Collection[str] = ()) -> None:
        super().__init__(
            app,
            allow_origins=tuple(origins),
            allow_origin_regex=LOCAL_ORIGINS,
            allow_methods=("POST",),
            allow_headers=ALLOWED_HEADERS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Without an Origin there is no CORS to answer, which Starlette decides after parsing
        # every header; one pass over the raw names costs far less
        # (measured: bench/results/measurements.md#cors-fast-path).
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        """Starlette answers a good preflight 200 "OK"; a preflight has no body to send."""
        response = super().preflight_response(request_headers)
        if response.status_code != 200:
            return response  # 400 that names what is not allowed: origin, method or headers
        kept = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        return Response(status_code=204, headers=kept)
