"""Reading the vendor's OpenAPI files: operations, header parameters, and inlined schemas.

The Lucidworks click spec is used verbatim; the reconstructed spec for the other signals
points into it with ``$ref: 'lucidworks-signals-click.openapi.yaml#/...'``. ``SpecSet`` resolves
local and cross-file references and returns schemas with every ``$ref`` inlined, so that both
the JSON Schema validator and the Go struct compiler see one self-contained tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_MAX_REF_DEPTH = 64


@dataclass(frozen=True, slots=True)
class HeaderParameter:
    name: str
    required: bool


@dataclass(frozen=True, slots=True)
class Operation:
    spec_file: str
    path: str
    method: str
    operation_id: str
    headers: tuple[HeaderParameter, ...]
    body_schema: Mapping[str, Any]
    body_media_types: tuple[str, ...]


class SpecSet:
    """The OpenAPI documents of one directory, loaded once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._documents: dict[str, Any] = {}

    def document(self, file_name: str) -> Any:
        if file_name not in self._documents:
            with (self.directory / file_name).open(encoding="utf-8") as handle:
                self._documents[file_name] = yaml.safe_load(handle)
        return self._documents[file_name]

    def operations(self, file_name: str) -> list[Operation]:
        """Every operation with a JSON request body in ``file_name``."""
        found = []
        for path, item in self.document(file_name)["paths"].items():
            item = self._resolve(item, file_name)[0]
            shared = item.get("parameters", [])
            for method in ("post", "put", "patch"):
                if method in item:
                    found.append(self._operation(file_name, path, method, item[method], shared))
        return found

    def _operation(
        self, file_name: str, path: str, method: str, op: Any, shared: list[Any]
    ) -> Operation:
        headers = {}
        for raw in [*shared, *op.get("parameters", [])]:
            param = self.inline(raw, file_name)
            if param.get("in") == "header":
                headers[param["name"].lower()] = HeaderParameter(
                    param["name"], bool(param.get("required"))
                )
        body = self.inline(op.get("requestBody", {}), file_name)
        content = body.get("content", {})
        media = content.get("application/json", {})
        return Operation(
            spec_file=file_name,
            path=path,
            method=method.upper(),
            operation_id=op.get("operationId", f"{method} {path}"),
            headers=tuple(headers.values()),
            body_schema=media.get("schema", {}),
            body_media_types=tuple(content),
        )

    def inline(self, node: Any, file_name: str, depth: int = 0) -> Any:
        """``node`` with every ``$ref`` replaced by what it points at (siblings win)."""
        if depth > _MAX_REF_DEPTH:
            raise ValueError(f"$ref chain deeper than {_MAX_REF_DEPTH} in {file_name}")
        if isinstance(node, list):
            return [self.inline(item, file_name, depth) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target, target_file = self._resolve(node, file_name)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            resolved = self.inline(target, target_file, depth + 1)
            return {**resolved, **self.inline(siblings, file_name, depth)}
        return {key: self.inline(value, file_name, depth) for key, value in node.items()}

    def _resolve(self, node: Any, file_name: str) -> tuple[Any, str]:
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            target_file, _, pointer = ref.partition("#")
            file_name = target_file or file_name
            node = _follow_pointer(self.document(file_name), pointer, ref)
        return node, file_name


def _follow_pointer(document: Any, pointer: str, ref: str) -> Any:
    node = document
    for token in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        token = token.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"cannot resolve $ref {ref!r}: no {token!r}") from exc
    return node
