"""BodyBudget: small requests never wait; large ones take turns, first come first served."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.vendors.admission import SMALL_BODY_BYTES, BodyBudget


async def _hold(
    budget: BodyBudget, share: int, label: str, log: list[str], release: asyncio.Event
) -> None:
    if not budget.try_enter(share):
        await budget.wait_for_turn(share)
    log.append(label)
    try:
        await release.wait()
    finally:
        budget.leave(share)


def test_small_bodies_are_all_admitted_at_once() -> None:
    budget = BodyBudget(512 * 1024)

    async def main() -> None:
        shares = [budget.share(700) for _ in range(200)]
        assert all(budget.try_enter(share) for share in shares)  # 200 clicks in flight
        for share in shares:
            budget.leave(share)

    asyncio.run(main())


def test_a_small_body_is_never_held_behind_a_large_one() -> None:
    budget = BodyBudget(512 * 1024)

    async def main() -> None:
        large = budget.share(1024 * 1024)
        assert budget.try_enter(large)  # a megabyte holds the whole budget
        assert not budget.try_enter(budget.share(100 * 1024))  # another large one waits
        assert budget.try_enter(budget.share(700))  # a click does not
        budget.leave(budget.share(700))
        budget.leave(large)

    asyncio.run(main())


def test_large_bodies_take_turns_in_arrival_order() -> None:
    budget = BodyBudget(100)
    log: list[str] = []

    async def main() -> None:
        sizes = {"a": 60, "b": 60, "c": 10, "d": 60}
        releases = {label: asyncio.Event() for label in sizes}
        tasks = [
            asyncio.create_task(_hold(budget, size, label, log, releases[label]))
            for label, size in sizes.items()
        ]
        await asyncio.sleep(0)
        assert log == ["a"]  # b would not fit beside a; c would, but it came after b
        releases["a"].set()
        await asyncio.sleep(0.01)
        assert log == ["a", "b", "c"]  # b and c fit together; d waits for them
        releases["b"].set()
        releases["c"].set()
        releases["d"].set()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert log == ["a", "b", "c", "d"]


def test_a_body_larger_than_the_budget_is_admitted_alone() -> None:
    budget = BodyBudget(100, small=0)

    async def main() -> None:
        whole = budget.share(5000)
        assert whole == 100  # takes the whole budget, no more
        assert budget.try_enter(whole)  # nothing else in flight: admitted
        assert not budget.try_enter(budget.share(1))
        budget.leave(whole)
        assert budget.try_enter(budget.share(1))

    asyncio.run(main())


def test_a_cancelled_waiter_gives_up_its_place() -> None:
    budget = BodyBudget(100)
    log: list[str] = []

    async def main() -> None:
        release_a, release_b, release_c = asyncio.Event(), asyncio.Event(), asyncio.Event()
        a = asyncio.create_task(_hold(budget, 100, "a", log, release_a))
        b = asyncio.create_task(_hold(budget, 100, "b", log, release_b))
        c = asyncio.create_task(_hold(budget, 100, "c", log, release_c))
        await asyncio.sleep(0)
        b.cancel()
        with pytest.raises(asyncio.CancelledError):
            await b
        release_a.set()
        release_c.set()
        await asyncio.gather(a, c)
        assert budget.try_enter(100)  # nothing leaked: the whole budget is free again

    asyncio.run(main())
    assert log == ["a", "c"]


def test_a_cancelled_waiter_lets_those_behind_it_in_at_once() -> None:
    budget = BodyBudget(100)
    log: list[str] = []

    async def main() -> None:
        release = asyncio.Event()
        a = asyncio.create_task(_hold(budget, 60, "a", log, release))
        b = asyncio.create_task(_hold(budget, 60, "b", log, release))
        c = asyncio.create_task(_hold(budget, 10, "c", log, release))
        await asyncio.sleep(0)
        assert log == ["a"]  # c fits beside a, but waits behind b
        b.cancel()
        with pytest.raises(asyncio.CancelledError):
            await b
        await asyncio.sleep(0)
        assert log == ["a", "c"]  # admitted without waiting for a to leave
        release.set()
        await asyncio.gather(a, c)

    asyncio.run(main())


def test_a_waiting_body_that_exactly_fills_what_is_left_is_admitted() -> None:
    budget = BodyBudget(100)
    log: list[str] = []

    async def main() -> None:
        releases = {label: asyncio.Event() for label in "abc"}
        tasks = [
            asyncio.create_task(_hold(budget, size, label, log, releases[label]))
            for label, size in (("a", 40), ("b", 20), ("c", 60))
        ]
        await asyncio.sleep(0)
        assert log == ["a", "b"]  # c would make 120
        releases["b"].set()
        await asyncio.sleep(0.01)
        assert log == ["a", "b", "c"]  # 40 + 60: the whole budget, not over it
        for release in releases.values():
            release.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())


def test_a_waiter_cancelled_just_as_it_was_admitted_gives_its_share_back() -> None:
    budget = BodyBudget(100)
    log: list[str] = []

    async def main() -> None:
        assert budget.try_enter(100)
        waiter = asyncio.create_task(_hold(budget, 100, "b", log, asyncio.Event()))
        await asyncio.sleep(0)
        budget.leave(100)  # admits the waiter...
        waiter.cancel()  # ...which is cancelled before it could run
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert budget.try_enter(100)  # its share was given back: the whole budget is free
        assert not budget.try_enter(1)
        budget.leave(100)

    asyncio.run(main())
    assert log == []


def test_a_body_of_16_kib_is_small_and_a_byte_more_takes_its_size() -> None:
    budget = BodyBudget(512 * 1024)
    assert budget.share(SMALL_BODY_BYTES) == 0  # never held back, as the docs say
    assert budget.share(SMALL_BODY_BYTES + 1) == SMALL_BODY_BYTES + 1


def test_a_body_that_exactly_fills_what_is_left_goes_straight_in() -> None:
    budget = BodyBudget(100 * 1024)

    async def main() -> None:
        assert budget.try_enter(60 * 1024)
        assert budget.try_enter(40 * 1024)  # 100 KiB in all: the budget, not over it
        assert not budget.try_enter(20 * 1024)
        budget.leave(40 * 1024)
        budget.leave(60 * 1024)

    asyncio.run(main())


def test_an_idle_budget_keeps_nothing_for_the_event_loop_it_served() -> None:
    # A test client without a lifespan runs each request on an event loop of its own.
    budget = BodyBudget(100 * 1024)

    async def main() -> None:
        release = asyncio.Event()
        first = asyncio.create_task(_hold(budget, 80 * 1024, "first", [], release))
        second = asyncio.create_task(_hold(budget, 80 * 1024, "second", [], release))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, second)

    for _ in range(3):
        asyncio.run(main())
    assert budget._gates == {}
