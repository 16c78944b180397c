"""Group commit: who shares a transaction, and that nobody hears back before their commit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pytest

from mockserver.events import Attempt, Event, Rejection, UpstreamCall
from mockserver.storage.group_commit import GroupCommit
from mockserver.storage.sqlite import SqliteStore
from mockserver.vendors.registry import ANALYTICS


class RecordingStore:
    """Stands in for SqliteStore: records each transaction's rejections (used as labels)."""

    def __init__(self, fail: bool = False) -> None:
        self.commits: list[list[str]] = []
        self.fail = fail

    def add(
        self,
        events: Sequence[Event] = (),
        rejections: Sequence[Rejection] = (),
        headers: Mapping[str, str] | None = None,
        attempts: Sequence[Attempt] = (),
        upstream_calls: Sequence[UpstreamCall] = (),
    ) -> None:
        if self.fail:
            raise OSError("disk full")
        self.commits.append([r.request_id for r in rejections])


def _rejection(label: str) -> Rejection:
    fields: dict[str, Any] = {
        "vendor": None, "method": "POST", "endpoint": "/", "namespace": "default",
        "tenant": None, "status": 404, "errors": [], "headers": {}, "body": None,
        "request_id": label, "received_at": "2026-01-01T00:00:00.000000Z",
    }  # fmt: skip
    return Rejection(**fields)


async def _write_after(writer: GroupCommit, label: str, iterations: int) -> None:
    for _ in range(iterations):
        await asyncio.sleep(0)  # one event-loop iteration
    await writer.write(rejection=_rejection(label))


def _run(store: RecordingStore, arrivals: dict[str, int]) -> None:
    writer = GroupCommit(cast(SqliteStore, store))

    async def main() -> None:
        await asyncio.gather(*(_write_after(writer, k, n) for k, n in arrivals.items()))

    asyncio.run(main())


def test_a_lone_request_is_committed_at_once() -> None:
    store = RecordingStore()
    writer = GroupCommit(cast(SqliteStore, store))
    iterations = 0

    async def main() -> None:
        nonlocal iterations
        write = asyncio.ensure_future(writer.write(rejection=_rejection("a")))
        while not write.done():
            iterations += 1
            await asyncio.sleep(0)

    asyncio.run(main())
    assert store.commits == [["a"]]
    # Queued; committed the next iteration; the writer resumes the one after: no waiting.
    assert iterations <= 3


def test_requests_that_keep_arriving_join_the_pending_commit() -> None:
    store = RecordingStore()
    # a and b arrive together, c and d in the next two iterations, e well after.
    _run(store, {"a": 0, "b": 0, "c": 1, "d": 2, "e": 8})
    assert store.commits == [["a", "b", "c", "d"], ["e"]]


def test_a_commit_waits_for_arrivals_a_bounded_number_of_times() -> None:
    store = RecordingStore()
    _run(store, {"a": 0, "b": 0, **{f"r{n}": n for n in range(1, 7)}})
    assert len(store.commits[0]) < 8  # a steady stream does not hold the first commit forever
    assert sorted(label for commit in store.commits for label in commit) == sorted(
        ["a", "b", *(f"r{n}" for n in range(1, 7))]
    )


def test_a_failed_commit_fails_every_request_in_it() -> None:
    with pytest.raises(OSError, match="disk full"):
        _run(RecordingStore(fail=True), {"a": 0, "b": 0})


def test_requests_that_share_a_commit_keep_their_own_headers() -> None:
    store = SqliteStore(":memory:", ANALYTICS)
    writer = GroupCommit(store)

    def click(request_id: str) -> Event:
        return Event(
            vendor="lucidworks", endpoint="/retail/signals/click", type="click",
            namespace="default", tenant=None, user=None, session=None, query=None,
            query_id=None, items=(), position=None, timestamp_ms=None, payload="{}",
            request_id=request_id, received_at="2026-01-01T00:00:00.000000Z",
        )  # fmt: skip

    async def main() -> None:
        await asyncio.gather(
            writer.write([click("a"), click("a")], headers=("a", '{"from":"a"}')),
            writer.write([click("b")], headers=("b", '{"from":"b"}')),
        )

    asyncio.run(main())
    rows = store.events({}).rows
    assert sorted((row["request_id"], row["headers"]["from"]) for row in rows) == [
        ("a", "a"), ("a", "a"), ("b", "b"),
    ]  # fmt: skip
    store.close()


class SlowNetworkStore(RecordingStore):
    """A store whose commit takes a round trip (as PostgreSQL's): committed in a thread."""

    commits_off_the_loop = True

    def add(self, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.3)  # long enough for twenty arrivals on a busy machine
        super().add(*args, **kwargs)


def test_requests_arriving_during_a_commit_in_a_thread_gather_into_the_next() -> None:
    store = SlowNetworkStore()

    async def main() -> None:
        writer = GroupCommit(cast(SqliteStore, store))
        first = asyncio.ensure_future(writer.write(rejection=_rejection("first")))
        await asyncio.sleep(0.005)  # the first commit is in flight in its thread
        later = []
        for n in range(20):  # one at a time, while it is: the loop is free meanwhile
            later.append(asyncio.ensure_future(writer.write(rejection=_rejection(f"r{n}"))))
            await asyncio.sleep(0.001)
        assert not first.done()  # all that while, the first commit was still in its thread
        await asyncio.gather(first, *later)

    asyncio.run(main())
    assert store.commits == [["first"], [f"r{n}" for n in range(20)]]
