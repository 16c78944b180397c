"""BodyBudget: how many request bodies are being decoded, checked and committed at once.

A request is admitted once its body is read, first come, first served, while the bodies in
flight total at most the budget; one request is always admitted, however large. Small
bodies (16 KiB or less) are never held back, not even behind a megabyte that holds the
whole budget while it is decoded. Large ones take turns instead of all decoding at once:
with many clients sending batches, that lowered both RSS and p99 at the same throughput
(measured: bench/results/measurements.md#body-budget).
"""

from __future__ import annotations

import asyncio
from collections import deque

BUDGET_BYTES = 512 * 1024
SMALL_BODY_BYTES = 16 * 1024  # a click is under 1 KB, a batch of ten about 6 KB


class _Gate:
    __slots__ = ("in_flight", "queue")

    def __init__(self) -> None:
        self.in_flight = 0
        self.queue: deque[tuple[int, asyncio.Future[None]]] = deque()


class BodyBudget:
    def __init__(self, budget: int = BUDGET_BYTES, small: int = SMALL_BODY_BYTES) -> None:
        self.budget = budget
        self.small = small
        # One gate per event loop, as in GroupCommit: futures never cross loops.
        self._gates: dict[asyncio.AbstractEventLoop, _Gate] = {}

    def share(self, body_bytes: int) -> int:
        """The part of the budget a body of this size takes (at most all of it); 0 for a small
        body, which is never held back: a click must not queue behind a megabyte that holds
        the whole budget while it is decoded."""
        return 0 if body_bytes <= self.small else min(body_bytes, self.budget)

    def try_enter(self, share: int) -> bool:
        if not share:
            return True
        """Admit ``share`` now if it fits; otherwise ``await wait_for_turn(share)``. Either way
        pair it with ``leave`` (try/finally). Split so that the usual case, on every request,
        is one plain call."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = _Gate()
        if gate.in_flight and (gate.queue or gate.in_flight + share > self.budget):
            return False
        gate.in_flight += share
        return True

    async def wait_for_turn(self, share: int) -> None:
        loop = asyncio.get_running_loop()
        gate = self._gates[loop]
        turn = loop.create_future()
        gate.queue.append((share, turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # admitted just as it was cancelled
                self.leave(share)
            else:
                gate.queue.remove((share, turn))
                self._admit_waiting(gate)  # those behind it may fit now
            raise

    def leave(self, share: int) -> None:
        if not share:
            return
        loop = asyncio.get_running_loop()
        gate = self._gates[loop]
        gate.in_flight -= share
        self._admit_waiting(gate)
        if not gate.in_flight and not gate.queue:
            del self._gates[loop]

    def _admit_waiting(self, gate: _Gate) -> None:
        """Admit waiters from the head of the queue, in order, while they fit."""
        while gate.queue and (
            not gate.in_flight or gate.in_flight + gate.queue[0][0] <= self.budget
        ):
            waiting, turn = gate.queue.popleft()
            gate.in_flight += waiting
            turn.set_result(None)
