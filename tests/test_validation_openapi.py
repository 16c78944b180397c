"""mockserver.validation.openapi: operations, headers and schemas read from the vendor's files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mockserver.settings import Settings
from mockserver.validation.openapi import HeaderParameter, SpecSet

MAIN = "main.openapi.yaml"
OTHER = "other.openapi.yaml"


def _specs(tmp_path: Path, main: dict[str, Any], other: dict[str, Any] | None = None) -> SpecSet:
    (tmp_path / MAIN).write_text(yaml.safe_dump(main), encoding="utf-8")
    if other is not None:
        (tmp_path / OTHER).write_text(yaml.safe_dump(other), encoding="utf-8")
    return SpecSet(tmp_path)


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def test_every_operation_with_a_body_is_read_with_its_headers_and_schema(tmp_path: Path) -> None:
    specs = _specs(
        tmp_path,
        {
            "paths": {
                "/a": {
                    "parameters": [
                        {"name": "Authorization", "in": "header", "required": True},
                        {"name": "X-Trace", "in": "header"},
                        {"name": "q", "in": "query", "required": True},
                    ],
                    "get": {"operationId": "getA"},
                    "post": {
                        "operationId": "postA",
                        "parameters": [{"name": "x-trace", "in": "header", "required": True}],
                        "requestBody": _body({"type": "array"}),
                    },
                    "put": {"requestBody": {"content": {"text/plain": {}}}},
                },
                "/b": {"patch": {"requestBody": _body({"type": "object"})}},
            }
        },
    )
    post, put, patch = specs.operations(MAIN)
    assert (post.spec_file, post.path, post.method, post.operation_id) == (
        MAIN,
        "/a",
        "POST",
        "postA",
    )
    # An operation's own parameter overrides the path's of the same name, whatever its case.
    assert post.headers == (
        HeaderParameter("Authorization", True),
        HeaderParameter("x-trace", True),
    )
    assert (post.body_schema, post.body_media_types) == ({"type": "array"}, ("application/json",))
    assert (put.method, put.operation_id, put.body_schema) == ("PUT", "put /a", {})
    assert put.body_media_types == ("text/plain",)
    assert put.headers == (
        HeaderParameter("Authorization", True),
        HeaderParameter("X-Trace", False),
    )
    assert (patch.path, patch.method, patch.operation_id, patch.headers) == (
        "/b",
        "PATCH",
        "patch /b",
        (),
    )
    assert patch.body_schema == {"type": "object"}


def test_an_operation_without_a_request_body_has_an_empty_schema(tmp_path: Path) -> None:
    specs = _specs(tmp_path, {"paths": {"/a": {"post": {}}}})
    (operation,) = specs.operations(MAIN)
    assert (operation.body_schema, operation.body_media_types, operation.headers) == ({}, (), ())


def test_references_are_inlined_across_files_with_siblings_winning(tmp_path: Path) -> None:
    other = {
        "components": {
            "schemas": {
                "Id": {"type": "string", "maxLength": 8, "description": "theirs"},
                "Pair": {"type": "array", "items": {"$ref": "#/components/schemas/Id"}},
                "a/b~c": {"type": "integer"},
            },
            "parameters": {"Auth": {"name": "Authorization", "in": "header", "required": True}},
        },
        "list": [{"type": "boolean"}],
    }
    main = {
        "paths": {
            "/x": {"$ref": "#/components/pathItems/X"},
        },
        "components": {
            "pathItems": {
                "X": {
                    "parameters": [{"$ref": f"{OTHER}#/components/parameters/Auth"}],
                    "post": {
                        "requestBody": _body(
                            {
                                "type": "object",
                                "properties": {
                                    "id": {
                                        "$ref": f"{OTHER}#/components/schemas/Id",
                                        "description": "ours",
                                    },
                                    "pair": {"$ref": f"{OTHER}#/components/schemas/Pair"},
                                    "escaped": {"$ref": f"{OTHER}#/components/schemas/a~1b~0c"},
                                    "first": {"$ref": f"{OTHER}#/list/0"},
                                    "whole": {"$ref": "#/components/schemas/Flag"},
                                },
                            }
                        )
                    },
                }
            },
            "schemas": {"Flag": {"type": "boolean"}},
        },
    }
    specs = _specs(tmp_path, main, other)
    (operation,) = specs.operations(MAIN)
    assert operation.headers == (HeaderParameter("Authorization", True),)
    assert operation.body_schema["properties"] == {
        "id": {"type": "string", "maxLength": 8, "description": "ours"},
        "pair": {
            "type": "array",
            "items": {"type": "string", "maxLength": 8, "description": "theirs"},
        },
        "escaped": {"type": "integer"},
        "first": {"type": "boolean"},
        "whole": {"type": "boolean"},
    }


def test_a_reference_to_the_whole_document_is_the_document(tmp_path: Path) -> None:
    specs = _specs(tmp_path, {"paths": {}}, {"type": "string"})
    assert specs.inline({"$ref": OTHER}, MAIN) == {"type": "string"}
    assert specs.inline({"$ref": f"{OTHER}#/"}, MAIN) == {"type": "string"}


@pytest.mark.parametrize(
    ("ref", "token"),
    [
        ("#/components/missing", "components"),
        ("#/list/5", "5"),
        ("#/items/3", "3"),
        ("#/items/x", "x"),
    ],
)
def test_a_reference_that_leads_nowhere_says_which_part_is_missing(
    tmp_path: Path, ref: str, token: str
) -> None:
    specs = _specs(tmp_path, {"paths": {}, "items": [1], "list": {"5x": 1}})
    message = f"cannot resolve $ref {ref!r}: no {token!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        specs.inline({"$ref": ref}, MAIN)


def test_a_reference_loop_is_refused_past_the_depth_limit(tmp_path: Path) -> None:
    main = {"paths": {}, "Node": {"type": "object", "properties": {"next": {"$ref": "#/Node"}}}}
    specs = _specs(tmp_path, main)
    message = f"$ref chain deeper than 64 in {MAIN}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        specs.inline({"$ref": "#/Node"}, MAIN)


@pytest.mark.parametrize(("length", "resolves"), [(64, True), (65, False)])
def test_a_chain_of_sixty_four_references_resolves_and_one_more_does_not(
    tmp_path: Path, length: int, resolves: bool
) -> None:
    last = length - 1
    chain = {f"S{i}": {"properties": {"n": {"$ref": f"#/S{i + 1}"}}} for i in range(last)}
    specs = _specs(tmp_path, {"paths": {}, **chain, f"S{last}": {"type": "integer"}})
    if not resolves:
        with pytest.raises(ValueError, match="deeper than 64"):
            specs.inline({"$ref": "#/S0"}, MAIN)
        return
    node: Any = specs.inline({"$ref": "#/S0"}, MAIN)
    for _ in range(last):
        node = node["properties"]["n"]
    assert node == {"type": "integer"}


def test_each_document_is_read_once(tmp_path: Path) -> None:
    specs = _specs(tmp_path, {"paths": {}})
    first = specs.document(MAIN)
    (tmp_path / MAIN).write_text("paths: {changed: 1}", encoding="utf-8")
    assert specs.document(MAIN) is first


def test_the_lucidworks_click_operation_names_its_headers() -> None:
    specs = SpecSet(Settings().schema_dir / "lucidworks")
    (click,) = specs.operations("lucidworks-signals-click.openapi.yaml")
    assert (click.path, click.method) == ("/retail/signals/click", "POST")
    assert "authorization" in {h.name.lower() for h in click.headers}
    assert click.body_schema["type"] == "array"
    assert "$ref" not in str(click.body_schema)


def test_local_references_resolve_in_parameters_lists_and_siblings(tmp_path: Path) -> None:
    other = {"components": {"schemas": {"Base": {"type": "object", "title": "Base"}}}}
    main = {
        "paths": {
            "/x": {
                "post": {
                    "parameters": [{"$ref": "#/components/parameters/Auth"}],
                    "requestBody": _body(
                        {
                            "$ref": f"{OTHER}#/components/schemas/Base",
                            "properties": {"flag": {"$ref": "#/components/schemas/Flag"}},
                            "allOf": [{"$ref": "#/X"}],
                        }
                    ),
                }
            }
        },
        "components": {
            "parameters": {"Auth": {"name": "Authorization", "in": "header", "required": True}},
            "schemas": {"Flag": {"type": "boolean"}},
        },
        "X": {"type": "integer"},  # a first token of X alone (the pointer is "/X")
    }
    (operation,) = _specs(tmp_path, main, other).operations(MAIN)
    assert operation.headers == (HeaderParameter("Authorization", True),)
    assert operation.body_schema == {
        "type": "object",
        "title": "Base",
        "properties": {"flag": {"type": "boolean"}},
        "allOf": [{"type": "integer"}],
    }


@pytest.mark.parametrize(
    "node",
    [
        {"allOf": [{"$ref": "#/Node"}]},
        {"items": {"$ref": "#/Base", "items": {"$ref": "#/Node"}}},
    ],
    ids=["through a list", "through a sibling of a reference"],
)
def test_a_reference_loop_through_a_list_or_a_sibling_is_refused_past_the_depth_limit(
    tmp_path: Path, node: dict[str, Any]
) -> None:
    specs = _specs(tmp_path, {"paths": {}, "Node": node, "Base": {"type": "object"}})
    message = f"$ref chain deeper than 64 in {MAIN}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        specs.inline({"$ref": "#/Node"}, MAIN)
