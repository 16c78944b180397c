"""MockClient: the inspection API from Python, with assertions that explain a miss.

Works against any running mockserver (a MockServer in this process, ``make run``, a CI service
container). Bound to a namespace, it reads only that namespace, and its URLs send traffic
there. This module imports only httpx (and ``mockserver.events``, which is standard library
only): a downstream test process never loads the server.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from mockserver.events import describe_error, plural

Filters = dict[str, Any]
NEAR_MISSES_SHOWN = 5
_ONE_LINE = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})
# Filters that compare an event field directly (the others, like since/until, do not).
_FIELD_FILTERS = ("vendor", "type", "tenant", "user", "session", "query", "query_id")


@dataclass(frozen=True)
class VendorURLs:
    """Where an app sends vendor traffic: the server, optionally inside one namespace."""

    server: str
    namespace: str | None = None

    @property
    def base(self) -> str:
        root = self.server.rstrip("/")
        return f"{root}/ns/{self.namespace}" if self.namespace else root

    @property
    def neuralens(self) -> str:
        return f"{self.base}/analytics/event"

    def lucidworks(self, store: str | None = None) -> str:
        """Base URL for Lucidworks signals; append ``/retail/signals/click`` and so on."""
        return f"{self.base}/signal-store/{store}" if store else self.base


class VendorURLNames:
    """Where to send an app's traffic, named one way on MockClient and MockServer alike:

    - ``url`` and ``*_base_url``: base URLs, for an app configured with one; it appends the
      vendor's path (``/analytics/event``, ``/retail/signals/click``);
    - ``neuralens_event_url`` and ``lucidworks_signal_url(signal)``: endpoints, to POST to.

    The names ``mockserver run`` puts in the environment follow the same rule
    (``NEURALENS_BASE_URL``, ``LUCIDWORKS_BASE_URL``, ``NEURALENS_EVENT_URL``)."""

    def _vendor_urls(self) -> VendorURLs:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The base URL of the server, or of the namespace when bound to one."""
        return self._vendor_urls().base

    @property
    def neuralens_base_url(self) -> str:
        """Neuralens base URL (the same as ``url``): append ``/analytics/event``."""
        return self._vendor_urls().base

    @property
    def neuralens_event_url(self) -> str:
        """The Neuralens endpoint: POST events here (``url`` + ``/analytics/event``)."""
        return self._vendor_urls().neuralens

    def lucidworks_base_url(self, store: str | None = None) -> str:
        """Lucidworks base URL, of signal store ``store`` if given: append
        ``/retail/signals/click`` (or query, cartadd, purchase)."""
        return self._vendor_urls().lucidworks(store)

    def lucidworks_signal_url(self, signal: str, store: str | None = None) -> str:
        """The Lucidworks endpoint for ``signal`` (click, query, cartadd, purchase), of signal
        store ``store`` if given: POST signals here."""
        return f"{self.lucidworks_base_url(store)}/retail/signals/{signal}"

    @property
    def neuralens_url(self) -> str:
        """Deprecated: ``neuralens_event_url``, the endpoint (its ``_url`` read as a base)."""
        _renamed("neuralens_url", "neuralens_event_url")
        return self.neuralens_event_url

    def lucidworks_url(self, store: str | None = None) -> str:
        """Deprecated: ``lucidworks_base_url(store)``, a base URL (its ``_url`` read as an
        endpoint, as ``neuralens_url`` was one)."""
        _renamed("lucidworks_url()", "lucidworks_base_url()")
        return self.lucidworks_base_url(store)


def _renamed(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated: use {new} (`*_base_url` names base URLs, the others endpoints)",
        DeprecationWarning,
        stacklevel=3,
    )


class MockTimeout(AssertionError):
    """``wait_for`` saw fewer events than asked for; the message says what did arrive."""


_IMPLIED_KIND = {
    "status": "status", "retry_after": "rate_limit", "per_second": "rate_limit", "ms": "latency",
    "min_ms": "latency", "median_ms": "latency", "seconds": "hang",
}  # fmt: skip


class MockClient(VendorURLNames):
    def __init__(
        self,
        base_url: str,
        namespace: str | None = None,
        *,
        admin_token: str | None = None,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ):
        """``http``: an ``httpx.Client`` to share, from ``MockClient.http_client`` (making
        one is costly, mostly its TLS context, even for http://; measured:
        bench/results/measurements.md#httpx-client); closed by its owner."""
        self.urls = VendorURLs(base_url, namespace)
        self.namespace = namespace
        self._owns_http = http is None
        self._http = http or self.http_client(base_url, admin_token=admin_token, timeout=timeout)

    @staticmethod
    def http_client(
        base_url: str, *, admin_token: str | None = None, timeout: float = 10.0
    ) -> httpx.Client:
        """The HTTP client a MockClient talks to the inspection API through."""
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        return httpx.Client(
            base_url=base_url.rstrip("/") + "/_mock", timeout=timeout, headers=headers
        )

    def _vendor_urls(self) -> VendorURLs:  # where to send traffic: see VendorURLNames
        return self.urls

    # -- reading ------------------------------------------------------------------------

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        """Events matching ``filters`` (vendor, type, tenant, user, session, query, query_id,
        item, since, until, warned, warning, limit, offset), newest first. ``warned=True``:
        those with any signal-quality warning; ``warning="click-without-position"``: one rule."""
        events: list[dict[str, Any]] = self._get("/events", filters)["events"]
        return events

    def rejections(self, **filters: Any) -> list[dict[str, Any]]:
        rejections: list[dict[str, Any]] = self._get("/rejections", filters)["rejections"]
        return rejections

    def attempts(self, **filters: Any) -> list[dict[str, Any]]:
        """Requests a fault rule touched (filters: vendor, fault, rule, limit, offset)."""
        attempts: list[dict[str, Any]] = self._get("/attempts", filters)["attempts"]
        return attempts

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = self._get("/summary", {})
        return summary

    def analytics(self, **params: Any) -> dict[str, Any]:
        """Search analytics of this namespace (``/_mock/analytics``; params such as bucket,
        since, until, vendor, tenant)."""
        figures: dict[str, Any] = self._get("/analytics", params)
        return figures

    def reset(self) -> None:
        """Delete this namespace's events, rejections, fault attempts and upstream calls (every
        namespace's, if unbound)."""
        self._check(self._http.post("/reset", params=self._params({})))

    # -- waiting and asserting ----------------------------------------------------------

    def wait_for(
        self, count: int = 1, timeout: float = 5.0, **filters: Any
    ) -> list[dict[str, Any]]:
        """The matching events as soon as at least ``count`` have arrived.

        Raises MockTimeout, listing what did arrive, when ``timeout`` seconds pass first.
        """
        params = self._params({**filters, "count": count, "timeout": timeout})
        response = self._http.get("/wait", params=params, timeout=timeout + 10)
        if response.status_code == 408:
            found = response.json()["events"]
            raise MockTimeout(
                self._explain(f"waited {timeout:g}s for", count, filters, found, exact=False)
            )
        events: list[dict[str, Any]] = self._check(response).json()["events"]
        return events

    def assert_received(self, count: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """The matching events; fails unless there are ``count`` of them (at least one if None)."""
        found = self.events(**filters, limit=1000)
        if (count is None and found) or len(found) == count:
            return found
        raise AssertionError(
            self._explain("expected", count or 1, filters, found, exact=count is not None)
        )

    def assert_no_rejections(self) -> None:
        rejections = self.rejections(limit=1000)
        if rejections:
            raise AssertionError(
                f"mockserver rejected {plural(len(rejections), 'request')}{self._where()}:\n"
                + format_rejections(rejections)
            )

    # -- shadow mode: the real service's verdict beside the mock's (--upstream) ------------

    def upstream_calls(self, **filters: Any) -> list[dict[str, Any]]:
        """Requests forwarded upstream, newest first: both statuses, the ``outcome`` (agree,
        disagree, upstream-unavailable, not-compared), the mock's reasons, the upstream's
        reply. Filters: vendor, tenant, outcome, text, since, until, limit, offset."""
        calls: list[dict[str, Any]] = self._get("/upstream", filters)["upstream"]
        return calls

    def disagreements(self, **filters: Any) -> list[dict[str, Any]]:
        """The forwarded requests one side accepted and the other refused, with the body."""
        found: list[dict[str, Any]] = self._get("/disagreements", filters)["disagreements"]
        return found

    def assert_no_disagreements(self) -> None:
        found = self.disagreements(limit=1000)
        if found:
            raise AssertionError(describe_disagreements(found, self._where()))

    # -- signal-quality warnings: accepted, as the vendor would, but spoiling its analytics --

    def warned_events(self, rule: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Events with any warning (of ``rule`` only, if given) among those matching
        ``filters``, newest first; each event's ``warnings`` lists ``{rule, path, message}``."""
        return self.events(**{"limit": 1000, **filters, "warned": "true", "warning": rule})

    def warnings(self, rule: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """The warnings of the events matching ``filters`` (of ``rule`` only, if given), each
        ``{rule, path, message}`` with the ``event`` id it is on, newest event first:
        ``mockserver.warnings(type="click")``, ``mockserver.warnings("timestamp-in-seconds")``.
        ``unknown-query`` is as of this call: it goes once the query signal arrives."""
        return [
            {**warning, "event": event["id"]}
            for event in self.warned_events(rule, **filters)
            for warning in event_warnings(event, rule)
        ]

    def assert_no_warnings(self, rule: str | None = None, **filters: Any) -> None:
        """Fails, listing each warned event and its warnings, when any event matching
        ``filters`` has a warning (of ``rule``, if given)."""
        warned = self.warned_events(rule, **filters)
        if warned:
            raise AssertionError(describe_warned(warned, self._where(), rule))

    # -- faults -------------------------------------------------------------------------
    # Rules are per namespace: a client bound to one (the pytest fixture's is) gives its rules
    # that namespace, so parallel tests never meet each other's faults.

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add a fault rule (docs/faults.md); ``fault`` may be left out
        when a field says it: ``status=503``, ``retry_after=2``, ``ms=800``, ``seconds=30``."""
        body = self._rule(rule)
        added: dict[str, Any] = self._check(self._http.post("/faults", json=body)).json()
        return added

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force (this namespace's, if bound), each with its ``hits``."""
        rules: list[dict[str, Any]] = self._get("/faults", {})["rules"]
        return rules

    def clear_faults(self) -> None:
        """Remove the fault rules (this namespace's, if bound)."""
        self._check(self._http.delete("/faults", params=self._params({})))

    @contextlib.contextmanager
    def fault(self, **rule: Any) -> Iterator[dict[str, Any]]:
        """``with mockserver.fault(vendor="lucidworks", status=503, times=2): ...``: the rule
        applies inside the block and is removed after it, whatever happens."""
        added = self.add_fault(**rule)
        try:
            yield added
        finally:
            self._check(self._http.delete("/faults", params={"id": added["id"]}))

    def _rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in rule.items() if v is not None}
        if "fault" not in body:
            implied = [kind for field, kind in _IMPLIED_KIND.items() if field in body]
            if not implied:
                raise ValueError("say which fault: fault='reset' (or status=503, ms=800, ...)")
            body["fault"] = implied[0]
        if self.namespace is not None:
            body.setdefault("namespace", self.namespace)
        return body

    # -- plumbing -----------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> MockClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _params(self, filters: Filters) -> Filters:
        params = {k: v for k, v in filters.items() if v is not None}
        if self.namespace is not None:
            params["namespace"] = self.namespace
        return params

    def _get(self, path: str, filters: Filters) -> Any:
        return self._check(self._http.get(path, params=self._params(filters))).json()

    @staticmethod
    def _check(response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            try:
                detail = response.json().get("error", response.text)
            except ValueError:  # not a mockserver reply: is the base URL right?
                detail = response.text[:200]
            path = response.request.url.path
            raise ValueError(f"mockserver {path}: {response.status_code} {detail}")
        return response

    def _where(self) -> str:
        return f" in namespace {self.namespace!r}" if self.namespace else ""

    def _explain(
        self, verb: str, count: int, filters: Filters, found: list[dict[str, Any]], *, exact: bool
    ) -> str:
        wanted = " ".join(f"{k}={v!r}" for k, v in filters.items()) or "(any)"
        quantity = plural(count, "event") if exact else f"at least {plural(count, 'event')}"
        lines = [f"{verb} {quantity} matching {wanted}{self._where()}, found {len(found)}."]
        if not found:
            everything = self.events(limit=1000)
            near = sorted(everything, key=lambda e: -_matching_fields(e, filters))
            if near:
                lines.append(f"Closest of the {plural(len(everything), 'event')} received:")
                lines += [f"  {format_event(e, filters)}" for e in near[:NEAR_MISSES_SHOWN]]
            else:
                lines.append("No events were received at all.")
        else:
            lines.append("Matching:")
            lines += [f"  {format_event(e, filters)}" for e in found[:NEAR_MISSES_SHOWN]]
        rejections = self.rejections(limit=1000)
        if rejections:
            lines.append(f"Rejected: {plural(len(rejections), 'request')}:")
            lines.append(format_rejections(rejections))
        return "\n".join(lines)


def _matching_fields(event: dict[str, Any], filters: Filters) -> int:
    return sum(
        1
        for name, value in filters.items()
        if (name == "item" and value in event.get("items", ()))
        or (name in _FIELD_FILTERS and str(event.get(name)) == str(value))
    )


def format_event(event: dict[str, Any], filters: Filters | None = None) -> str:
    """``#12 lucidworks click (wanted 'query') user='v-1' (wanted 'v-2') items=['p1']``."""
    parts = [f"#{event['id']}"]
    for name in ("vendor", "type", "tenant", "user", "session", "query", "query_id", "items",
                 "position"):  # fmt: skip
        value = event.get(name)
        if value in (None, []):
            continue
        # vendor and type read as words (lucidworks click); the rest as name=value.
        text = str(value) if name in ("vendor", "type") else f"{name}={value!r}"
        wanted = (filters or {}).get(name)
        if name in _FIELD_FILTERS and wanted is not None and str(wanted) != str(value):
            text += f" (wanted {wanted!r})"
        parts.append(text)
    item = (filters or {}).get("item")
    if item is not None and item not in event.get("items", ()):
        parts.append(f"(no item {item!r})")
    return " ".join(parts)


def event_warnings(event: dict[str, Any], rule: str | None = None) -> list[dict[str, str]]:
    """An event's warnings (of ``rule`` only, if given); none from a server that has none."""
    warnings: list[dict[str, str]] = event.get("warnings") or []
    return [w for w in warnings if rule is None or w["rule"] == rule]


def describe_warning(warning: dict[str, str]) -> str:
    """``$.timestamp  [timestamp-in-seconds]  …``: a rejection reason's layout, so that both
    read alike in a terminal."""
    return f"{warning['path']}  [{warning['rule']}]  {warning['message']}"


def describe_warned(events: list[dict[str, Any]], where: str = "", rule: str | None = None) -> str:
    """``mockserver accepted 1 event in namespace 'x' with 2 signal-quality warnings:``, then
    each event and its warnings (``where``: `` in namespace 'x'``, or nothing)."""
    count = sum(len(event_warnings(e, rule)) for e in events)
    return (
        f"mockserver accepted {plural(len(events), 'event')}{where} with "
        f"{plural(count, 'signal-quality warning')}:\n" + format_warnings(events, rule)
    )


def format_warnings(events: list[dict[str, Any]], rule: str | None = None) -> str:
    """Each warned event, then one indented line per warning."""
    lines = []
    for event in events:
        lines.append(f"  {format_event(event)}")
        lines += [f"      {describe_warning(w)}" for w in event_warnings(event, rule)]
    return "\n".join(lines)


def format_rejections(rejections: list[dict[str, Any]]) -> str:
    """Each rejection, then one indented line per reason: readable in a terminal."""
    lines = []
    for rejection in rejections:
        request = f"{rejection['status']} {rejection['method']} {rejection['endpoint']}"
        lines.append(f"  #{rejection['id']} {request}")
        for error in rejection["errors"]:
            lines.append(f"      {describe_error(error)}")
        body = rejection.get("body")
        if body:
            shown = body if len(body) <= 200 else body[:200] + "…"
            # As sent, on one line: JSON's own quotes are not escaped again.
            lines.append(f"      body: {shown.translate(_ONE_LINE)}")
    return "\n".join(lines)


def describe_disagreements(found: list[dict[str, Any]], where: str = "") -> str:
    """A line a disagreement: both verdicts, and the mock's first reason when it refused."""
    lines = [f"the mock and the real service disagreed on {plural(len(found), 'request')}{where}:"]
    for call in found:
        reasons = call.get("mock_errors") or []
        why = f": {describe_error(reasons[0])}" if reasons else ""
        lines.append(
            f"  {call['vendor']} {call['endpoint']}: mock {call['mock_status']}, "
            f"{call['upstream_url']} {call['upstream_status']}{why}"
        )
    return "\n".join(lines)
