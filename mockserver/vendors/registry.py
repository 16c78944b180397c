"""Every vendor mockserver emulates, each declared once by its own module's ``SPEC``.

Adding a vendor: write ``vendors/<name>.py`` (a ``VendorEndpoint`` and its ``SPEC``), put its
schema under ``schemas/<name>/``, and list its ``SPEC`` here. Routing, the inspection API's
``vendor`` filter, the CLI, the CI tools and the store's analytics read it from here.
"""

from __future__ import annotations

from mockserver.vendors import lucidworks, neuralens
from mockserver.vendors.spec import VendorSpec

VENDORS: tuple[VendorSpec, ...] = (neuralens.SPEC, lucidworks.SPEC)
VENDOR_NAMES = tuple(spec.name for spec in VENDORS)
ENDPOINT_NAMES = tuple(dict.fromkeys(name for spec in VENDORS for name in spec.endpoints))
SERVED = ", ".join(spec.served for spec in VENDORS)
ANALYTICS = tuple(spec.analytics for spec in VENDORS)  # what the store's analytics read


def vendor(name: str) -> VendorSpec:
    for spec in VENDORS:
        if spec.name == name:
            return spec
    raise KeyError(f"no vendor {name!r}; known: {', '.join(VENDOR_NAMES)}")


def endpoint_name(vendor: str | None, path: str) -> str:
    """``click`` for Lucidworks' ``/retail/signals/click``; the path itself if none serves it."""
    for spec in VENDORS:
        if spec.name == vendor:
            for name, served in spec.paths.items():
                if served == path:
                    return name
    return path


def owner_of(path: str) -> str | None:
    """The vendor whose paths ``path`` looks like, for recording a request nobody serves."""
    for spec in VENDORS:
        if path.startswith(spec.path_prefix):
            return spec.name
    return None
