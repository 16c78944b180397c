"""The one path every vendor request takes; each vendor module fills in its own rules and replies.

Order, as a real service checks: route and method (404, 405), size (413), credentials (401),
then headers and body together (400, every problem at once). An accepted request's events are
committed before the reply is built.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mockserver.events import Event
from mockserver.group_commit import GroupCommit
from mockserver.validation import FieldError, Validated
from mockserver.vendors.intake import (
    NAME_PATTERN,
    BodyTooLarge,
    Intake,
    http_error,
    read_body,
)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PATH_NAMES = ("namespace", "store")  # names a client chooses, carried in the path


class VendorEndpoint(ABC):
    vendor: str

    def __init__(self, writer: GroupCommit, max_body_bytes: int) -> None:
        self.writer = writer
        self.max_body_bytes = max_body_bytes

    async def handle(self, request: Request) -> Response:
        intake = Intake.of(request, self.vendor, self.endpoint(request))
        tenant = self.tenant(request)
        for kind in PATH_NAMES:
            name = request.path_params.get(kind)
            if name is not None and not NAME_PATTERN.fullmatch(name):
                message = f"{kind} names are 1-64 letters, digits, '.', '_' or '-'"
                return await self.refuse(intake, 404, [http_error(kind, message)], tenant)
        if self.contract_name(request) is None:
            return await self.refuse(
                intake, 404, [http_error("not-found", self.not_found(request))], tenant
            )
        if request.method != "POST":
            error = http_error("method", f"{request.method} is not allowed here; use POST")
            return await self.refuse(intake, 405, [error], tenant, headers={"Allow": "POST"})
        try:
            body = await read_body(request, self.max_body_bytes)
        except BodyTooLarge as exc:
            return await self.refuse(intake, 413, [http_error("body-too-large", str(exc))], tenant)
        auth = self.auth_errors(request)
        if auth:
            return await self.refuse(intake, 401, auth, tenant, body)
        validated = self.validate(request, body)
        errors = [*self.header_errors(request), *validated.errors]
        if errors:
            return await self.refuse(intake, 400, errors, tenant, body)
        await self.writer.write(events=self.events(intake, tenant, validated.value, body))
        return self.accepted()

    async def refuse(
        self,
        intake: Intake,
        status: int,
        errors: Sequence[FieldError],
        tenant: str | None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        await intake.reject(self.writer, status, errors, tenant, body)
        return self.error_response(status, errors, headers)

    @abstractmethod
    def endpoint(self, request: Request) -> str:
        """The vendor path this request is for, without any ``/ns/{name}`` prefix."""

    @abstractmethod
    def contract_name(self, request: Request) -> str | None:
        """Which contract the path names, or None for a path this vendor does not serve."""

    @abstractmethod
    def not_found(self, request: Request) -> str: ...

    @abstractmethod
    def tenant(self, request: Request) -> str | None: ...

    @abstractmethod
    def auth_errors(self, request: Request) -> list[FieldError]: ...

    @abstractmethod
    def header_errors(self, request: Request) -> list[FieldError]: ...

    @abstractmethod
    def validate(self, request: Request, body: bytes) -> Validated: ...

    @abstractmethod
    def events(self, intake: Intake, tenant: str | None, value: Any, body: bytes) -> list[Event]:
        """The accepted body's events; ``body`` is what was sent, for their payloads."""

    @abstractmethod
    def accepted(self) -> Response: ...

    @abstractmethod
    def error_response(
        self, status: int, errors: Sequence[FieldError], headers: Mapping[str, str] | None
    ) -> Response: ...
