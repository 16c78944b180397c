"""The ceiling of this stack: Starlette on the same uvicorn, answering 202 and doing nothing."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def accept(request: Request) -> Response:
    await request.body()
    return Response(status_code=202)


app = Starlette(routes=[Route("/{path:path}", accept, methods=["POST"])])
