"""``mockserver check-shared``: do the replicas of a shared deployment make one store?

After ``docker compose up`` (or any deployment of several servers on one PostgreSQL
database), send events through every replica at once and check what each replica then
shows: every acknowledged event, once, with the same ids everywhere; a ``/_mock/wait`` on one
replica answered by events the others stored; analytics counting every event on every
replica; a reset through one seen by all. It works in a namespace of its own, which it
deletes at the end, so a sandbox in use is not disturbed.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from mockserver.testing.client import MockClient

MAX_EVENTS = 1000  # one page of /_mock/events: each replica's list is read in one request
SENDERS = 8
LUCIDWORKS_HEADERS = {
    "Authorization": "embed-token-check-shared",
    "Accept": "application/json",
    "Content-Type": "application/json",
}


@dataclass
class Outcome:
    """Each check's line, in order, with whether it passed."""

    lines: list[tuple[bool, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return [line for ok, line in self.lines if not ok]

    def check(self, ok: bool, what: str, otherwise: str) -> bool:
        self.lines.append((ok, what if ok else otherwise))
        return ok


def click(number: int, run: str) -> list[dict[str, Any]]:
    """A Lucidworks click the real service accepts, unique to this run and number."""
    return [
        {
            "timestamp": int(time.time() * 1000),
            "visitorId": f"check-shared-{run}",
            "sessionId": f"check-shared-{run}",
            "queryId": f"{run}-{number}",
            "ipAddress": "203.0.113.7",
            "productDetails": [
                {
                    "product": {
                        "productId": f"p{number}",
                        "currencyCode": "USD",
                        "price": 100,
                        "title": "check-shared",
                        "imageuri": "https://example.com/check-shared.jpg",
                    },
                    "quantity": 1,
                }
            ],
            "sourceId": "mockserver-check-shared",
            "uri": "https://example.com/check-shared",
        }
    ]


def check_shared(
    urls: Sequence[str],
    *,
    admin_token: str | None = None,
    events: int = 200,
    timeout: float = 30.0,
    say: Callable[[str], None] = lambda line: None,
) -> Outcome:
    """Check that the servers at ``urls`` share one store; ``say`` hears each step."""
    if not 1 <= events <= MAX_EVENTS:
        raise ValueError(f"events must be 1 to {MAX_EVENTS}")
    run = secrets.token_hex(4)
    namespace = f"check-shared-{run}"
    outcome = Outcome()
    clients = [MockClient(url, namespace, admin_token=admin_token, timeout=timeout) for url in urls]
    http = httpx.Client(timeout=timeout)
    try:
        for url in urls:
            health = _get_status(http, f"{url.rstrip('/')}/_mock/health")
            outcome.check(health == 200, f"{url}: healthy", f"{url}: /_mock/health {health}")
        if outcome.failed:
            return outcome

        # Waiting on the last replica for events sent through all of them: it can only be
        # answered if the other replicas' commits reach it.
        heard: list[int] = []  # how many the wait returned; none if it timed out
        listener = threading.Thread(
            target=lambda: heard.extend(_wait(clients[-1], events, timeout)), daemon=True
        )
        listener.start()
        time.sleep(0.2)  # the wait is registered before the first event is sent
        say(f"sending {events} Lucidworks clicks through {len(urls)} replicas, {SENDERS} at a time")

        def send(number: int) -> int:
            url = clients[number % len(clients)].lucidworks_signal_url("click")
            try:
                sent = http.post(url, json=click(number, run), headers=LUCIDWORKS_HEADERS)
                return sent.status_code
            except httpx.HTTPError:
                return 0  # no answer: not acknowledged

        with ThreadPoolExecutor(SENDERS) as pool:
            statuses = list(pool.map(send, range(events)))
        acknowledged = sum(200 <= status < 300 for status in statuses)
        others = sorted({status for status in statuses if not 200 <= status < 300})
        if not outcome.check(
            acknowledged == events,
            f"all {events} acknowledged",
            f"{acknowledged} of {events} acknowledged; the others got {others} (0: no answer)",
        ):
            return outcome

        listener.join(timeout + 5)
        outcome.check(
            bool(heard) and heard[0] >= acknowledged,
            f"{urls[-1]}: a wait there was answered by events stored through every replica",
            f"{urls[-1]}: a wait there for {acknowledged} events was not answered within "
            f"{timeout:g} s (do the replicas share one database, and does LISTEN/NOTIFY reach "
            "them?)",
        )

        expected: set[int] | None = None
        for url, client in zip(urls, clients, strict=True):
            ids = [event["id"] for event in client.events(limit=MAX_EVENTS)]
            expected = set(ids) if expected is None else expected
            outcome.check(
                len(ids) == len(set(ids)) == acknowledged and set(ids) == expected,
                f"{url}: shows all {acknowledged} events once, with the same ids as the others",
                f"{url}: shows {len(ids)} events ({len(set(ids))} distinct ids) where "
                f"{acknowledged} were acknowledged"
                + ("" if set(ids) == expected else ", not the ids the first replica shows"),
            )

        figures = [client.analytics()["totals"]["events"] for client in clients]
        outcome.check(
            figures == [acknowledged] * len(clients),
            "every server's analytics count every event",
            f"the servers' analytics count {figures} events of {acknowledged}",
        )

        clients[0].reset()
        for url, client in zip(urls, clients, strict=True):
            left = len(client.events(limit=1))
            outcome.check(
                left == 0,
                f"{url}: a reset through {urls[0]} is seen here",
                f"{url}: still shows events after a reset through {urls[0]}",
            )
        return outcome
    finally:
        if outcome.failed:
            with contextlib.suppress(ValueError, httpx.HTTPError):  # refused, or unreachable
                clients[0].reset()  # the check's own namespace, whatever happened
        for client in clients:
            client.close()
        http.close()


def _wait(client: MockClient, count: int, timeout: float) -> list[int]:
    try:
        return [len(client.wait_for(count=count, timeout=timeout, limit=count))]
    except (AssertionError, ValueError, httpx.HTTPError):  # MockTimeout: an AssertionError
        return []


def _get_status(http: httpx.Client, url: str) -> int | str:
    try:
        return http.get(url).status_code
    except httpx.HTTPError as exc:
        return f"unreachable ({exc})"
