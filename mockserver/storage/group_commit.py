"""Group commit: rows from concurrent requests share one transaction; nobody is acknowledged
before their own rows are committed.

A request queues its rows and awaits a future. The first request queued in an event-loop
iteration schedules a flush for the very next iteration (``call_soon``: no timer, so an idle
server commits at once; a fixed timer made a lone client slow, measured:
bench/results/measurements.md#group-commit-no-timer). A flush that finds the queue grew since
it was scheduled waits one more iteration, at most ``MAX_DEFERRALS`` times: while requests
keep arriving they join, and a commit carries more of them. Under wrk that raised throughput
and lowered p99 (measured: bench/results/measurements.md#group-commit-deferrals); a lone
request never waits.

A store whose writes wait on a network (``commits_off_the_loop``: PostgreSQL) commits in a
thread of its own, so that the event loop serves other requests meanwhile, one commit at a
time: requests that arrive while a commit is in flight gather into the next one, which
starts when it is done (committing each loop iteration's few requests alone, one after
another, was slower: bench/results/measurements.md#group-commit-postgres). SQLite commits on
the loop itself: its commit takes microseconds, less than handing it to a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from mockserver.events import Attempt, Event, Rejection, UpstreamCall
from mockserver.storage.base import Store

MAX_DEFERRALS = 2


@dataclass
class _Batch:
    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # by request id, as JSON text
    attempts: list[Attempt] = field(default_factory=list)
    upstream_calls: list[UpstreamCall] = field(default_factory=list)
    waiting: list[asyncio.Future[None]] = field(default_factory=list)
    seen: int = 0  # requests queued when the flush last looked
    deferrals: int = 0


class GroupCommit:
    def __init__(self, store: Store) -> None:
        self.store = store
        # One batch per event loop: an app served by several loops at once (test clients in
        # threads) never resolves a future from another loop's thread.
        self._batches: dict[asyncio.AbstractEventLoop, _Batch] = {}
        self._committer: ThreadPoolExecutor | None = None
        self._committing: set[asyncio.AbstractEventLoop] = set()  # loops with a commit in flight
        if getattr(store, "commits_off_the_loop", False):
            self._committer = ThreadPoolExecutor(1, thread_name_prefix="mockserver-commit")

    async def write(
        self,
        events: Sequence[Event] = (),
        rejection: Rejection | None = None,
        headers: tuple[str, str] | None = None,
        attempt: Attempt | None = None,
        upstream_call: UpstreamCall | None = None,
    ) -> None:
        """Return once ``events`` and ``rejection`` are committed (with whatever else queued).
        ``headers``: the request id of ``events`` (or ``rejection``) and its stored headers
        (JSON text)."""
        loop = asyncio.get_running_loop()
        batch = self._batches.get(loop)
        if batch is None:
            batch = self._batches[loop] = _Batch(seen=1)
            loop.call_soon(self._flush, loop)
        batch.events.extend(events)
        if headers is not None:
            batch.headers[headers[0]] = headers[1]
        if rejection is not None:
            batch.rejections.append(rejection)
        if attempt is not None:
            batch.attempts.append(attempt)
        if upstream_call is not None:
            batch.upstream_calls.append(upstream_call)
        done = loop.create_future()
        batch.waiting.append(done)
        await done

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._batches.get(loop)
        if batch is None:
            return  # taken already by the commit that finished before this call came
        if len(batch.waiting) > batch.seen and batch.deferrals < MAX_DEFERRALS:
            batch.seen = len(batch.waiting)
            batch.deferrals += 1
            loop.call_soon(self._flush, loop)
            return
        if self._committer is None:
            del self._batches[loop]
            _settle(batch, self._commit(batch))
            return
        if loop in self._committing:
            return  # the commit in flight takes this batch when it is done
        del self._batches[loop]
        self._committing.add(loop)
        committing = loop.run_in_executor(self._committer, self._commit, batch)
        committing.add_done_callback(lambda done: self._committed(loop, batch, done.result()))

    def _committed(self, loop: asyncio.AbstractEventLoop, batch: _Batch, failure: Any) -> None:
        self._committing.discard(loop)
        _settle(batch, failure)
        if loop in self._batches:
            self._flush(loop)  # what gathered meanwhile, as one commit

    def _commit(self, batch: _Batch) -> Exception | None:
        try:
            self.store.add(
                batch.events, batch.rejections, batch.headers, batch.attempts, batch.upstream_calls
            )
        except Exception as exc:  # every waiter learns its rows were not committed
            return exc
        return None


def _settle(batch: _Batch, failure: Exception | None) -> None:
    for done in batch.waiting:
        if done.done():
            continue
        if failure is None:
            done.set_result(None)
        else:
            done.set_exception(failure)
