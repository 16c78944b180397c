"""VendorSpec: what the rest of mockserver knows of a vendor, declared once in its module.

The registry (``vendors/registry.py``) lists the specs; the routes, the inspection API, the
CLI and the CI tools read names, paths and contracts from there instead of retyping them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mockserver.storage.semantics import VendorAnalytics
from mockserver.validation import Contract, Contracts

if TYPE_CHECKING:
    from mockserver.settings import Settings
    from mockserver.vendors.base import VendorEndpoint

Row = Mapping[str, Any]


@dataclass(frozen=True)
class VendorSpec:
    name: str  # as stored in each row's ``vendor`` and taken by ``?vendor=``
    paths: Mapping[str, str]  # endpoint name -> its path, e.g. "click" -> "/retail/signals/click"
    body: Literal["object", "array"]  # a request body's JSON shape: tells files apart offline
    contracts: Callable[[Contracts], Mapping[str, Contract]]  # endpoint name -> its contract
    build: Callable[[Contracts, Settings], VendorEndpoint]  # the request handler
    # The endpoint a body of this vendor is for, from its first object, when neither a flag
    # nor the file's name says; raises ValueError saying which flag to pass when it cannot tell.
    guess_endpoint: Callable[[Mapping[str, Any]], str]
    # Contract coverage a schema cannot state: scenario name -> "did the events show it?"
    coverage_scenarios: Mapping[str, Callable[[Sequence[Row]], bool]]
    # What its events are to the search analytics: searches, clicks, cart adds, purchases,
    # sessions (the store builds its SQL from this; it names no vendor itself).
    analytics: VendorAnalytics

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(self.paths)

    @property
    def path_prefix(self) -> str:
        """The part every path of this vendor starts with, to tell whose a stray path is."""
        first_segment = next(iter(self.paths.values())).split("/")[1]
        return f"/{first_segment}/"

    @property
    def served(self) -> str:
        """``POST /retail/signals/{click,query,cartadd,purchase}``, for messages and help."""
        paths = list(self.paths.values())
        if len(paths) == 1:
            return f"POST {paths[0]}"
        common = posixpath.commonpath(paths) + "/"
        return f"POST {common}{{{','.join(p.removeprefix(common) for p in paths)}}}"
