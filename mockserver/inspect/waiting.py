"""What ``/_mock/wait`` waits on: each commit's events, matched against the waiters in memory.

A wait reads the ids of its matches in SQL once, when it starts; after that each commit's
new events (with their ids, from the store's change notice) are matched in memory, and only
against the waiters whose filters could take them (waiters are indexed by one equality
filter). So 500 pending waits cost a few dictionary lookups a commit, not 500 queries,
whatever the store holds. A waiter keeps the ids it has matched, not the highest: servers
sharing a PostgreSQL database commit in any order of ids, so an event committed after the
first read can have a lower id than one the read saw. It keeps fewer ids than it waits for:
once it has as many, it is answered. Several server processes on one SQLite file
(``--workers``) do not see each other's commits: there every waiter counts the rows above the
highest id it has seen (one writer at a time: ids commit in order), in SQL, when woken and
every ``RECHECK_SECONDS``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.events import QUERY_FOLLOWS, UNKNOWN_QUERY, Event
from mockserver.storage.base import Change, Store, fold_case

# Equality filters and the event fields they compare, most selective first: a waiter is
# indexed by the first one it has (query ids are rarely shared, vendors always are).
_EQUALITY = ("query_id", "user", "session", "query", "tenant", "namespace", "type", "vendor")


def matches(event: Event, filters: Mapping[str, Any]) -> bool:
    """What the store's SQL filters select, for one event (tests hold the two to agreement)."""
    for name in _EQUALITY:
        wanted = filters.get(name)
        if wanted is not None and getattr(event, name) != wanted:
            return False
    item = filters.get("item")
    if item is not None and item not in event.items:
        return False
    text = filters.get("text")
    if text is not None and not _mentions(event, fold_case(text)):
        return False
    event_since, event_until = filters.get("event_since"), filters.get("event_until")
    if event_since is not None and (event.timestamp_ms is None or event.timestamp_ms < event_since):
        return False
    if event_until is not None and (
        event.timestamp_ms is None or event.timestamp_ms >= event_until
    ):
        return False
    since, until = filters.get("since"), filters.get("until")
    if since is not None and event.received_at < since:
        return False
    if until is not None and event.received_at >= until:
        return False
    return _warnings_may_match(event, filters)


def read_time(filters: Mapping[str, Any]) -> bool:
    """Whether a match depends on other events (``unknown-query``, which ``warned`` takes in):
    then ``matches`` says only whether an event may match, and the store decides."""
    return filters.get("warned") is not None or filters.get("warning") == UNKNOWN_QUERY


def _warnings_may_match(event: Event, filters: Mapping[str, Any]) -> bool:
    """Exact for the warnings stored with the event; for ``unknown-query`` whether the event
    is one it can apply to (the store tells whether it does, as of the read)."""
    warning, warned = filters.get("warning"), filters.get("warned")
    if warning is None and warned is None:
        return True
    stored = {w["rule"] for w in event.warnings}
    may_be_unknown = event.query_link == QUERY_FOLLOWS
    if warning == UNKNOWN_QUERY and not may_be_unknown:
        return False
    if warning is not None and warning != UNKNOWN_QUERY and warning not in stored:
        return False
    if warned is True and not (stored or may_be_unknown):
        return False
    # warned=False: an event that follows a search may stop being warned when its search
    # arrives, and that search is itself an event without warnings: it may match.
    return warned is not False or not stored


def _mentions(event: Event, folded: str) -> bool:
    return any(
        value is not None and folded in fold_case(value)
        for value in (event.query, event.user, *event.items)
    )


@dataclass(eq=False)
class Waiter:
    filters: Mapping[str, Any]
    loop: asyncio.AbstractEventLoop
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    counted: bool = False  # the first read (in SQL) is in
    recount: bool = False  # a reset deleted what was counted
    in_memory: bool = True  # False with several processes on one SQLite file: counts in SQL
    # In memory, where ids commit in order (one SQLite writer): a count and the highest id
    # read stand in for the ids, whatever the count waited for (waits that kept a million ids
    # each held much memory; measured: bench/results/measurements.md#wait-ids-in-memory).
    # Elsewhere (PostgreSQL) the ids matched so far, to count each once.
    ordered: bool = False
    seen: set[int] = field(default_factory=set)  # in memory, not ordered: the ids matched
    early: list[int] = field(default_factory=list)  # ordered: ids offered while a read is out
    resets: int = 0  # resets heard: a read that a reset overtook is read again
    # Filters whose matches depend on other events (``read_time``): an offer only wakes the
    # waiter, which counts again in SQL, as of then.
    recounts: bool = False
    counted_matches: int = 0  # in SQL, or in memory and ordered: matches so far ...
    highest: int = 0  # ... among the ids up to this one

    @property
    def matched(self) -> int:
        if self.in_memory and not self.ordered:
            return len(self.seen)
        return self.counted_matches

    def offer(self, event_id: int) -> None:
        """A new matching event (on the waiter's loop); offered before or after the first
        read, or also found by it, it counts once."""
        if self.in_memory and not self.ordered:
            self.seen.add(event_id)
        elif self.in_memory and not self.counted:
            self.early.append(event_id)  # the read in progress may have counted it, or not
        elif self.in_memory and event_id > self.highest:
            self.counted_matches += 1
            self.highest = event_id
        self.woken.set()  # in SQL: only a wake-up, the count comes from there

    def read_in_sql(self, ids: list[int]) -> None:
        """The ids of the matches committed when the store was read."""
        if self.recounts:
            self.seen.clear()  # an event that was warned may no longer be
        self.seen.update(ids)
        self.counted, self.recount = True, False

    def read_in_order(self, matched: int, highest: int) -> None:
        """Ordered ids: the matches up to ``highest`` when the store was read; the ids offered
        meanwhile count if the read came before them."""
        later = [event_id for event_id in self.early if event_id > highest]
        self.counted_matches = matched + len(later)
        self.highest = max([highest, *later])
        self.early = []
        self.counted, self.recount = True, False

    def counted_in_sql(self, matched: int, highest: int) -> None:
        self.counted_matches, self.highest = matched, highest
        self.counted, self.recount = True, False

    def reset(self) -> None:
        self.seen.clear()  # what a reset deleted no longer counts; the next read says what is left
        if self.ordered:
            self.counted_matches, self.highest, self.early = 0, 0, []
            self.counted = False  # offers wait in ``early`` for the read after the reset
        self.resets += 1
        self.recount = True
        self.woken.set()


@dataclass(eq=False)
class Watcher:
    """A live view's listener (``/_mock/stream``): what changed in its namespace since it
    last looked, gathered on its loop until it takes them."""

    namespace: str | None
    loop: asyncio.AbstractEventLoop
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    events: int = 0
    rejections: int = 0
    attempts: int = 0
    latest_event_id: int = 0
    reset: bool = False

    def note(
        self, events: int, rejections: int, attempts: int, latest_event_id: int, reset: bool
    ) -> None:
        self.events += events
        self.rejections += rejections
        self.attempts += attempts
        self.latest_event_id = max(self.latest_event_id, latest_event_id)
        self.reset = self.reset or reset
        self.woken.set()

    def take(self) -> dict[str, Any]:
        taken = {
            "events": self.events,
            "rejections": self.rejections,
            "attempts": self.attempts,
            "latest_event_id": self.latest_event_id,
            "reset": self.reset,
        }
        self.events = self.rejections = self.attempts = 0
        self.reset = False
        self.woken.clear()
        return taken


class ChangeFeed:
    """Hands each commit's events to the waiters they match, from whichever thread wrote."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()  # waiters come and go on loops; changes on the writer's
        self._by_key: dict[tuple[str, Any], set[Waiter]] = defaultdict(set)
        self._unkeyed: set[Waiter] = set()
        self._all: set[Waiter] = set()
        self._watchers: set[Watcher] = set()
        # Listening from the start serves apps run without a lifespan; the app detaches when
        # its last lifespan ends, so a long-lived store keeps no listeners of apps that are gone.
        self._detach: Callable[[], None] | None = store.add_listener(self._on_change, self._wanted)

    def attach(self) -> None:
        if self._detach is None:
            self._detach = self._store.add_listener(self._on_change, self._wanted)

    def _wanted(self) -> bool:
        """Whether a wait or a live view is open: another server's commits matter only then
        (one that opens later reads what it needs itself)."""
        return bool(self._all or self._watchers)

    def detach(self) -> None:
        if self._detach is not None:
            self._detach()
            self._detach = None

    def subscribe(self, filters: Mapping[str, Any], in_memory: bool = True) -> Waiter:
        ordered = bool(getattr(self._store, "ids_commit_in_order", False))
        waiter = Waiter(
            filters,
            asyncio.get_running_loop(),
            in_memory=in_memory,
            ordered=ordered,
            recounts=read_time(filters),
        )
        key = _key(filters)
        with self._lock:
            self._all.add(waiter)
            (self._by_key[key] if key else self._unkeyed).add(waiter)
        return waiter

    def unsubscribe(self, waiter: Waiter) -> None:
        key = _key(waiter.filters)
        with self._lock:
            self._all.discard(waiter)
            if key is None:
                self._unkeyed.discard(waiter)
            else:
                self._by_key[key].discard(waiter)
                if not self._by_key[key]:
                    del self._by_key[key]

    def watch(self, namespace: str | None) -> Watcher:
        watcher = Watcher(namespace, asyncio.get_running_loop())
        with self._lock:
            self._watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def _on_change(self, change: Change) -> None:
        with self._lock:
            if self._watchers:
                self._tell_watchers(change)
            if not self._all:
                return  # the usual case: nobody waits
            if change.reset:
                for waiter in self._all:
                    waiter.loop.call_soon_threadsafe(waiter.reset)
                return
            for event_id, event in change.numbered():
                candidates = set(self._unkeyed)
                for name in _EQUALITY:
                    candidates |= self._by_key.get((name, getattr(event, name)), set())
                for waiter in candidates:
                    if matches(event, waiter.filters):
                        waiter.loop.call_soon_threadsafe(waiter.offer, event_id)

    def _tell_watchers(self, change: Change) -> None:
        """Each live view its namespace's share of the change: counted once a change, not
        once a view, and handed to each loop in one call (a call per view was a wake-up of
        the loop per view per commit)."""
        tallies = _tallies(change)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Watcher, Tally]]] = defaultdict(list)
        for watcher in self._watchers:
            tally = tallies.get(watcher.namespace, _NOTHING)
            if tally != _NOTHING or change.reset:
                by_loop[watcher.loop].append((watcher, tally))
        for loop, notes in by_loop.items():
            loop.call_soon_threadsafe(_note_all, notes, change.reset)


Tally = tuple[int, int, int, int]  # events, rejections, attempts, latest event id
_NOTHING: Tally = (0, 0, 0, 0)


def _tallies(change: Change) -> dict[str | None, Tally]:
    """What ``change`` holds per namespace, and in all (the None key)."""
    counts: dict[str | None, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for event_id, event in change.numbered():
        for key in (event.namespace, None):
            tally = counts[key]
            tally[0] += 1
            tally[3] = event_id
    for column, rows in ((1, change.rejections), (2, change.attempts)):
        for row in rows:
            counts[row.namespace][column] += 1
            counts[None][column] += 1
    return {key: (t[0], t[1], t[2], t[3]) for key, t in counts.items()}


def _note_all(notes: list[tuple[Watcher, Tally]], reset: bool) -> None:
    for watcher, (events, rejections, attempts, latest) in notes:
        watcher.note(events, rejections, attempts, latest, reset)


def _key(filters: Mapping[str, Any]) -> tuple[str, Any] | None:
    for name in _EQUALITY:
        if filters.get(name) is not None:
            return name, filters[name]
    return None
