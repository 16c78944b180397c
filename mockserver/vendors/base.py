"""VendorEndpoint: one vendor's rules and replies. ``RequestPath`` runs them in order."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from mockserver.events import Event
from mockserver.validation import FieldError, Validated
from mockserver.vendors.intake import Intake
from mockserver.vendors.reply import Reply
from mockserver.vendors.spec import VendorSpec


class Routed(NamedTuple):
    endpoint: str  # the vendor's own path, e.g. /retail/signals/click
    signal_store: str | None = None  # a tenant named in the path (a Lucidworks signal store)


class VendorEndpoint(ABC):
    """``tenant``, ``auth_errors`` and ``header_errors`` read only the intake's head (its
    method, endpoint, namespace, signal store and headers) and this endpoint's settings:
    ``RequestPath`` works them out once for each distinct head (``request_path.Heads``)."""

    spec: VendorSpec
    accepted: Reply  # the reply to every accepted request: the same bytes each time

    @abstractmethod
    def route(self, path: str) -> Routed | None:
        """Whether this vendor answers ``path`` (namespace prefix removed), and as what."""

    @abstractmethod
    def not_served(self, intake: Intake) -> str | None:
        """Why this vendor serves nothing at the intake's path (a 404), or None if it does."""

    @abstractmethod
    def tenant(self, intake: Intake) -> str | None: ...

    @abstractmethod
    def auth_errors(self, intake: Intake) -> list[FieldError]: ...

    @abstractmethod
    def header_errors(self, intake: Intake, tenant: str | None) -> list[FieldError]:
        """``tenant`` is ``self.tenant(intake)``."""

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
