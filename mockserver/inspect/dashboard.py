"""The dashboard: static files from ``inspect/ui/``, served at ``/_mock/ui/``.

The page is plain HTML, CSS and three small script modules; it reads only the inspection API
(``/_mock/...``, with the admin token when the server has one) and nothing from another
origin, which its Content-Security-Policy enforces in the browser. The files themselves hold
no recorded data, so they are served without the token: the page asks for it when the API
answers 401.

``GET /`` redirects here and ``/favicon.ico`` is served, so that a browser pointed at the
server records no rejections of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

UI_PATH = "/_mock/ui"
UI_FILES = Path(__file__).parent / "ui"
# Answered by these routes, not by the vendors, for GET and HEAD only: a POST to / is still a
# recorded 404 (an app that posts there has a wrong URL to fix).
SITE_PATHS = frozenset({"/", "/favicon.ico"})

# Only this origin's own files: no inline script or style, nothing from elsewhere, no framing.
# Every value the page shows goes through textContent, so a stored <script> stays text; the
# policy is the second wall.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated each load (ETag): an upgraded server never shows last version's script.
    "Cache-Control": "no-cache",
}


class _UIFiles(StaticFiles):
    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(SECURITY_HEADERS)
        return response


async def _to_dashboard(request: Request) -> Response:
    return RedirectResponse(f"{UI_PATH}/", status_code=307)


async def _favicon(request: Request) -> Response:
    return FileResponse(UI_FILES / "favicon.ico", headers={"Cache-Control": "max-age=86400"})


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/", _to_dashboard, methods=["GET"]),
        Route("/favicon.ico", _favicon, methods=["GET"]),
        Route(UI_PATH, _to_dashboard, methods=["GET"]),
        Mount(UI_PATH, _UIFiles(directory=UI_FILES, html=True)),
    ]
