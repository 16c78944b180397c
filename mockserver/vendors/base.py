"""The one path every vendor request takes; each vendor module fills in its own rules and replies.

Order, as a real service checks: route and method (404, 405), size (413), credentials (401),
then headers and body together (400, every problem at once). An accepted request's events are
committed before the reply is built.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from mockserver.events import Event
from mockserver.storage.group_commit import GroupCommit
from mockserver.validation import FieldError, Validated
from mockserver.vendors.admission import BodyBudget
from mockserver.vendors.intake import (
    NAME_PATTERN,
    BodyTooLarge,
    Intake,
    http_error,
    read_body,
)
from mockserver.vendors.reply import Reply


class Refusal(NamedTuple):
    status: int
    errors: Sequence[FieldError]


class VendorEndpoint(ABC):
    vendor: str

    def __init__(self, writer: GroupCommit, budget: BodyBudget, max_body_bytes: int) -> None:
        self.writer = writer
        self.budget = budget  # shared by every vendor endpoint of an app
        self.max_body_bytes = max_body_bytes

    async def handle(self, intake: Intake) -> Reply:
        tenant = self.tenant(intake)
        for kind, name in (("namespace", intake.namespace), ("store", intake.store)):
            if name is not None and not NAME_PATTERN.fullmatch(name):
                message = f"{kind} names are 1-64 letters, digits, '.', '_' or '-'"
                return await self.refuse(intake, 404, [http_error(kind, message)], tenant)
        unknown = self.not_served(intake)
        if unknown is not None:
            return await self.refuse(intake, 404, [http_error("not-found", unknown)], tenant)
        if intake.method != "POST":
            error = http_error("method", f"{intake.method} is not allowed here; use POST")
            return await self.refuse(intake, 405, [error], tenant, headers={"Allow": "POST"})
        try:
            body = await read_body(intake, self.max_body_bytes)
        except BodyTooLarge as exc:
            return await self.refuse(intake, 413, [http_error("body-too-large", str(exc))], tenant)
        # Admitted once read: a slow upload holds no share while it trickles in.
        share = self.budget.share(len(body))
        if not self.budget.try_enter(share):
            await self.budget.wait_for_turn(share)
        try:
            judged = self._judge(intake, tenant, body)
            if isinstance(judged, Refusal):
                return await self.refuse(intake, judged.status, judged.errors, tenant, body)
            del body  # the raw bytes need not wait for the commit either (see _judge)
            await self.writer.write(events=judged)
            return self.accepted
        finally:
            self.budget.leave(share)

    def _judge(self, intake: Intake, tenant: str | None, body: bytes) -> Refusal | list[Event]:
        """The refusal's status and reasons, or the accepted body's events. Not a coroutine:
        the decoded body is freed here, once its events are built, instead of being held
        while the commit is awaited."""
        auth = self.auth_errors(intake)
        if auth:
            return Refusal(401, auth)
        validated = self.validate(intake, body)
        errors = [*self.header_errors(intake), *validated.errors]
        if errors:
            return Refusal(400, errors)
        return self.events(intake, tenant, validated, body)

    async def refuse(
        self,
        intake: Intake,
        status: int,
        errors: Sequence[FieldError],
        tenant: str | None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        await intake.reject(self.writer, status, errors, tenant, body)
        return self.error_reply(status, errors, headers)

    @property
    @abstractmethod
    def accepted(self) -> Reply:
        """The reply to every accepted request: the same bytes each time."""

    @abstractmethod
    def not_served(self, intake: Intake) -> str | None:
        """Why this vendor serves nothing at the intake's path (a 404), or None if it does."""

    @abstractmethod
    def tenant(self, intake: Intake) -> str | None: ...

    @abstractmethod
    def auth_errors(self, intake: Intake) -> list[FieldError]: ...

    @abstractmethod
    def header_errors(self, intake: Intake) -> list[FieldError]: ...

    @abstractmethod
    def validate(self, intake: Intake, body: bytes) -> Validated: ...

    @abstractmethod
    def events(
        self, intake: Intake, tenant: str | None, validated: Validated, body: bytes
    ) -> list[Event]:
        """The accepted body's events; ``body`` is what was sent, for their payloads."""

    @abstractmethod
    def error_reply(
        self, status: int, errors: Sequence[FieldError], headers: Mapping[str, str] | None
    ) -> Reply: ...
