"""The one shape a validation problem takes, whatever layer found it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Layer = Literal["http", "auth", "header", "decode", "openapi", "validator", "schema", "semantic"]
"""Where a rule lives:

- ``http``: the request line and size (404, 405, 413);
- ``auth``: credentials (401);
- ``header``: headers the contract requires;
- ``decode``: JSON syntax and Go's ``encoding/json`` rules (types, int64, keys);
- ``openapi``: the vendor's OpenAPI schema (required, type, maxLength, minimum);
- ``validator``: go-playground validator tags from ``x-oapi-codegen-extra-tags``;
- ``schema``: mockserver's hand-written JSON Schema (Neuralens);
- ``semantic``: rules across fields that a schema cannot say (Neuralens).
"""


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    rule: str
    layer: Layer
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "rule": self.rule, "layer": self.layer, "message": self.message}


def json_path(parts: Iterable[str | int]) -> str:
    """``["0", "productDetails", 0]``-style parts as ``$[0].productDetails[0]``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)
