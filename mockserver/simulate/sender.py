"""Sends a run's requests to a mockserver: as fast as it takes them (backfill), or each at its
simulated time (live), with a progress line on a terminal and a one-line summary at the end."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import httpx

from mockserver.simulate.payloads import Request

PROGRESS_EVERY_SECONDS = 0.2


class Answer(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def is_success(self) -> bool: ...


class Poster(Protocol):
    """What sends: an httpx client, or a test's in-process one."""

    def post(self, url: str, *, content: bytes, headers: Mapping[str, str]) -> Answer: ...


@dataclass
class Tally:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    spoiled: int = 0  # sent with a deliberate mistake
    sloppy: int = 0  # sent valid but sloppy on purpose (accepted, with a warning)
    unexpected: list[str] = field(default_factory=list)  # refused though correct, or the reverse
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        on_purpose = [
            *([f"{self.spoiled:,} with a mistake"] if self.spoiled else []),
            *([f"{self.sloppy:,} sloppy"] if self.sloppy else []),
        ]
        purposely = f" ({', '.join(on_purpose)} on purpose)" if on_purpose else ""
        return (
            f"sent {self.sent:,} requests{purposely}: {self.accepted:,} accepted, "
            f"{self.rejected:,} rejected, {per_second(self.rate())}/s"
        )


def per_second(rate: float) -> str:
    """Decimals where they matter: a live run sends 0.4 a second, which ``:.0f`` showed as 0."""
    if rate >= 100:
        return f"{rate:,.0f}"
    return f"{rate:.1f}" if rate >= 1 else f"{rate:.2f}"


def send(
    base_url: str,
    requests: Iterable[Request],
    live_from_ms: int | None = None,
    out: TextIO = sys.stderr,
    client: Poster | None = None,
) -> Tally:
    """POST each request in order. ``live_from_ms``: the simulated time that is now; each
    request then waits for its own time. KeyboardInterrupt stops between requests (the tally
    so far is in ``KeyboardInterrupt.args``). ``client``: one to send with (a test's
    in-process client); by default one of its own, kept alive across requests."""
    tally = Tally()
    progress = out.isatty()
    shown = 0.0
    wall_start = time.monotonic()
    with contextlib.ExitStack() as stack:
        poster: Poster = client or stack.enter_context(
            httpx.Client(base_url=base_url.rstrip("/"), timeout=30)
        )
        try:
            for request in requests:
                if live_from_ms is not None:
                    due = wall_start + (request.at_ms - live_from_ms) / 1000
                    if (wait := due - time.monotonic()) > 0:
                        time.sleep(wait)
                response = poster.post(
                    request.path, content=request.content(), headers=request.headers
                )
                _count(tally, request, response)
                if progress and time.monotonic() - shown > PROGRESS_EVERY_SECONDS:
                    shown = time.monotonic()
                    out.write(f"\r{tally.line()}   ")
                    out.flush()
        except KeyboardInterrupt:
            raise KeyboardInterrupt(tally) from None
        finally:
            if progress:
                out.write("\r")
    return tally


def _count(tally: Tally, request: Request, response: Answer) -> None:
    tally.sent += 1
    tally.spoiled += request.mistake is not None
    tally.sloppy += request.sloppiness is not None
    if response.is_success:
        tally.accepted += 1
        if request.mistake is not None:
            tally.unexpected.append(f"accepted despite {request.mistake}: {request.path}")
    else:
        tally.rejected += 1
        if request.mistake is None:
            # A sloppy request is valid: the vendor accepts it, and so must the mock.
            correct = f"a sloppy ({request.sloppiness})" if request.sloppiness else "a correct"
            tally.unexpected.append(
                f"{response.status_code} for {correct} request to {request.path}: "
                f"{response.text[:300]}"
            )
