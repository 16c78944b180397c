"""The OpenAPI 3.1 description of ``/_mock/``, served at ``/_mock/openapi.json``.

tests/test_inspect_openapi.py keeps it true: every route is described, and real responses
validate against the schemas below.
"""

from __future__ import annotations

from typing import Any, get_args

from mockserver.events import OUTCOMES, UPSTREAM_BODY_CHARS
from mockserver.faults.book import MAX_RULES
from mockserver.faults.rules import BOUNDS, KINDS, NAMESPACE_PATTERN, STATUSES
from mockserver.inspect.params import ENDPOINTS
from mockserver.validation import Layer
from mockserver.vendors.registry import ENDPOINT_NAMES, VENDOR_NAMES, VENDORS
from mockserver.vendors.signal_quality import RULE_IDS

LAYERS = get_args(Layer)

_NULLABLE_STRING = {"type": ["string", "null"]}


def _parameters(endpoint: str) -> list[dict[str, Any]]:
    """The endpoint's query parameters, as declared once in inspect/params.py."""
    return [param.openapi() for param in ENDPOINTS[endpoint]]


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


_BAD_PARAMETER = _json("Error", "A query parameter is unknown or malformed; the message names it.")


def _fault_rule_schema() -> dict[str, Any]:
    """One rule: the fields every kind takes, and each kind's own (no others)."""

    def bounded(name: str, kind: str = "number", **more: Any) -> dict[str, Any]:
        low, high = BOUNDS[name]
        return {"type": kind, "minimum": low, "maximum": high, **more}

    own: dict[str, dict[str, Any]] = {
        "status": {"status": {"enum": list(STATUSES)}},
        "rate_limit": {
            "retry_after": bounded("retry_after", "integer"),
            "per_second": bounded("per_second"),
        },
        "latency": {
            **{name: bounded(name) for name in ("ms", "min_ms", "max_ms", "sigma")},
            "median_ms": {**bounded("median_ms"), "exclusiveMinimum": 0},
        },
        "hang": {"seconds": bounded("seconds")},
    }
    nullable = {"type": ["integer", "null"]}
    common = {
        "id": {"type": "integer", "readOnly": True},
        "hits": {"type": "integer", "readOnly": True},
        # null is the same as leaving the field out
        "vendor": {"enum": [*VENDOR_NAMES, None]},
        "endpoint": {"enum": [*ENDPOINT_NAMES, None]},
        "namespace": {"type": ["string", "null"], "pattern": f"^{NAMESPACE_PATTERN.pattern}$"},
        "times": {**bounded("times"), **nullable},
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "seed": {**bounded("seed"), **nullable},
    }
    # A vendor named: the endpoint is one of its own.
    own_endpoints = [
        {
            "if": {"properties": {"vendor": {"const": spec.name}}, "required": ["vendor"]},
            "then": {"properties": {"endpoint": {"enum": [*spec.endpoints, None]}}},
        }
        for spec in VENDORS
    ]
    latency_shapes = [["ms"], ["min_ms", "max_ms"], ["median_ms", "sigma"]]

    def kind_schema(kind: str) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "required": ["fault", *(["status"] if kind == "status" else [])],
            "properties": {"fault": {"const": kind}, **common, **own.get(kind, {})},
            "additionalProperties": False,
            "allOf": own_endpoints,
        }
        if kind == "latency":  # one shape: a fixed wait, a uniform range, or a lognormal
            names = [n for shape in latency_shapes for n in shape]
            schema["oneOf"] = [
                {
                    "required": shape,
                    "not": {"anyOf": [{"required": [n]} for n in names if n not in shape]},
                }
                for shape in latency_shapes
            ]
        return schema

    return {
        "description": "Where a fault applies (vendor, endpoint, namespace: each optional), "
        "the fault and its own fields, and how often (times, probability, seed). See "
        "docs/faults.md.",
        "oneOf": [kind_schema(kind) for kind in KINDS],
    }


def _list_of(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """An array of objects with these ``properties``, of which ``required`` are always there."""
    return {
        "type": "array",
        "items": {"type": "object", "required": required, "properties": properties},
    }


def _array_of(schema_name: str) -> dict[str, Any]:
    return {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_name}"}}


def _page(rows: str, schema_name: str, **more: dict[str, Any]) -> dict[str, Any]:
    """A page of a list endpoint: ``total`` (before paging) and the page's ``rows``."""
    return {
        "type": "object",
        "required": ["total", rows],
        "properties": {
            "total": {"type": "integer", "description": "Matching rows, before paging."},
            rows: _array_of(schema_name),
            **more,
        },
    }


_SCHEMAS: dict[str, Any] = {
    "Event": {
        "type": "object",
        "required": [
            "id", "request_id", "vendor", "endpoint", "type", "namespace", "tenant", "user",
            "session", "query", "query_id", "items", "position", "timestamp_ms", "received_at",
            "payload", "warnings",
        ],
        "properties": {
            "id": {"type": "integer"},
            "request_id": {"type": "string", "description": "Shared by the events of one request."},
            "vendor": {"enum": list(VENDOR_NAMES)},
            "endpoint": {"type": "string", "examples": ["/retail/signals/click"]},
            "type": {"type": "string"},
            "namespace": {"type": "string"},
            "tenant": _NULLABLE_STRING,
            "user": _NULLABLE_STRING,
            "session": _NULLABLE_STRING,
            "query": _NULLABLE_STRING,
            "query_id": _NULLABLE_STRING,
            "items": {"type": "array", "items": {"type": "string"}},
            "position": {"type": ["integer", "null"], "description": "1-based for both vendors."},
            "timestamp_ms": {"type": ["integer", "null"], "description": "Event time, epoch ms."},
            "received_at": {"type": "string", "format": "date-time"},
            "payload": {"description": "The signal as sent."},
            "headers": {
                "type": ["object", "null"],
                "additionalProperties": {"type": "string"},
                "description": "The request's headers, as a rejection's (null for events "
                "stored before mockserver kept them).",
            },
            "page": {**_NULLABLE_STRING, "description": "Neuralens page."},
            "duplicate_of": {
                "type": ["integer", "null"],
                "description": "The id of an earlier event with the same payload, namespace "
                "and endpoint, received at most 10 minutes before: a client's repeat.",
            },
            "revenue": {
                "type": ["number", "null"],
                "description": "A Lucidworks purchase's revenue.",
            },
            "warnings": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/SignalWarning"},
                "description": "Signal-quality warnings: accepted, but it spoils the analytics "
                "(docs/signal-quality.md). unknown-query is as of this read.",
            },
        },
    },
    "SignalWarning": {
        "type": "object",
        "required": ["rule", "path", "message"],
        "properties": {
            "rule": {"enum": list(RULE_IDS)},
            "path": {"type": "string", "examples": ["$.timestamp"]},
            "message": {"type": "string"},
        },
    },
    "ValidationError": {
        "type": "object",
        "required": ["path", "rule", "layer", "message"],
        "properties": {
            "path": {"type": "string", "examples": ["$[0].productDetails[0].product.currencyCode"]},
            "rule": {"type": "string", "examples": ["iso4217", "required", "maxLength"]},
            "layer": {"enum": list(LAYERS)},
            "message": {"type": "string"},
        },
    },
    "Rejection": {
        "type": "object",
        "required": [
            "id", "request_id", "vendor", "method", "endpoint", "namespace", "tenant", "status",
            "errors", "headers", "body", "received_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "request_id": {"type": "string"},
            "vendor": {"type": ["string", "null"]},
            "method": {"type": "string"},
            "endpoint": {"type": "string"},
            "namespace": {"type": "string"},
            "tenant": _NULLABLE_STRING,
            "status": {"type": "integer"},
            "errors": _array_of("ValidationError"),
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "As received; a header whose name says credential (auth, token, "
                "key, secret, password, cookie) is replaced by a fingerprint salted per store.",
            },
            "body": _NULLABLE_STRING,
            "received_at": {"type": "string", "format": "date-time"},
        },
    },
    "EventPage": _page("events", "Event", error={"type": "string"}),
    "RejectionPage": _page("rejections", "Rejection"),
    "UpstreamPage": _page("upstream", "UpstreamCall"),
    "DisagreementPage": _page("disagreements", "UpstreamCall"),
    "AttemptPage": _page("attempts", "Attempt"),
    "Reason": {
        "type": "object",
        "required": ["rule", "path", "layer", "count", "message"],
        "properties": {
            "rule": {"type": "string"},
            "path": {"type": "string"},
            "layer": {"enum": list(LAYERS)},
            "count": {"type": "integer", "description": "Rejections with this rule and path."},
            "message": {"type": "string", "description": "One of their messages."},
        },
    },
    "FaultRule": _fault_rule_schema(),
    "Attempt": {
        "type": "object",
        "required": [
            "id", "request_id", "rule_id", "fault", "vendor", "endpoint", "namespace",
            "tenant", "status", "stored", "received_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "request_id": {"type": "string"},
            "rule_id": {"type": "integer"},
            "fault": {"enum": list(KINDS)},
            "vendor": {"type": ["string", "null"]},
            "endpoint": {"type": "string"},
            "namespace": {"type": "string"},
            "tenant": _NULLABLE_STRING,
            "status": {"type": ["integer", "null"], "description": "null: no reply at all."},
            "stored": {"type": "boolean", "description": "Its events were stored."},
            "received_at": {"type": "string", "format": "date-time"},
        },
    },
    "UpstreamCall": {
        "type": "object",
        "required": [
            "id", "request_id", "vendor", "endpoint", "namespace", "tenant", "profile", "mode",
            "mock_status", "mock_errors", "upstream_url", "upstream_status", "upstream_body",
            "upstream_ms", "upstream_error", "outcome", "body", "received_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "request_id": {"type": "string"},
            "vendor": {"type": "string"},
            "endpoint": {"type": "string"},
            "namespace": {"type": "string"},
            "tenant": _NULLABLE_STRING,
            "profile": {"enum": ["strict", "lenient"], "description": "The mock's profile."},
            "mode": {"enum": ["shadow", "passthrough"]},
            "mock_status": {"type": "integer", "description": "The mock's verdict."},
            "mock_errors": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ValidationError"},
                "description": "The mock's reasons, when it refused.",
            },
            "upstream_url": {"type": "string", "description": "Where it was forwarded."},
            "upstream_status": {"type": ["integer", "null"], "description": "null: no reply."},
            "upstream_body": {
                "type": ["string", "null"],
                "description": f"The first {UPSTREAM_BODY_CHARS} characters of its reply.",
            },
            "upstream_ms": {"type": ["number", "null"], "description": "Its reply's latency."},
            "upstream_error": {
                "type": ["string", "null"],
                "description": "Why no reply came: a timeout, a refused connection.",
            },
            "outcome": {
                "enum": list(OUTCOMES),
                "description": "disagree: one side accepted (2xx) what the other refused (4xx); "
                "upstream-unavailable: no reply, or a 5xx; not-compared: the mock answered "
                "neither 2xx nor 4xx.",
            },
            "body": {
                "type": ["string", "null"],
                "description": "The request's body, kept for a disagreement only.",
            },
            "received_at": {"type": "string", "format": "date-time"},
        },
    },
    "FaultRules": {
        "type": "object",
        "required": ["rules"],
        "properties": {
            "rules": _array_of("FaultRule")
        },
    },
    "Removed": {
        "type": "object",
        "required": ["removed"],
        "properties": {"removed": {"type": "integer"}},
    },
    "Counts": {"type": "object", "additionalProperties": {"type": "integer"}},
    "Rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "QueryCount": {
        "type": "object",
        "required": ["query", "count"],
        "properties": {"query": {"type": "string"}, "count": {"type": "integer"}},
    },
    "Analytics": {
        "type": "object",
        "required": [
            "filters", "totals", "series", "sessions", "searches", "ctr", "avg_click_position",
            "clicks_by_position", "no_click_queries", "zero_result_queries", "top_queries",
            "add_to_cart_rate", "conversion_rate", "purchases", "revenue", "funnel",
            "signal_quality", "definitions",
        ],
        "properties": {
            "filters": {"type": "object"},
            "totals": {
                "type": "object",
                "required": ["events", "by_type"],
                "properties": {
                    "events": {"type": "integer"},
                    "by_type": {"$ref": "#/components/schemas/Counts"},
                },
            },
            "series": _list_of(["start", "start_ms", "counts", "total"], {
                "start": {"type": ["string", "null"], "format": "date-time"},
                "start_ms": {"type": "integer"},
                "counts": {"$ref": "#/components/schemas/Counts"},
                "total": {"type": "integer"},
            }),
            "sessions": {"type": "integer"},
            "searches": {"type": "integer"},
            "ctr": {"$ref": "#/components/schemas/Rate"},
            "avg_click_position": {"type": ["number", "null"]},
            "clicks_by_position": {"$ref": "#/components/schemas/Counts"},
            "no_click_queries": _array_of("QueryCount"),
            "zero_result_queries": _array_of("QueryCount"),
            "top_queries": _list_of(["query", "searches", "ctr"], {
                "query": {"type": "string"},
                "searches": {"type": "integer"},
                "ctr": {"$ref": "#/components/schemas/Rate"},
            }),
            "add_to_cart_rate": {"$ref": "#/components/schemas/Rate"},
            "conversion_rate": {"$ref": "#/components/schemas/Rate"},
            "purchases": {"type": "integer"},
            "revenue": {"type": ["number", "null"]},
            "funnel": _list_of(["step", "count"], {
                "step": {"enum": ["searches", "clicked", "added_to_cart", "purchased"]},
                "count": {"type": "integer"},
            }),
            "signal_quality": {
                "type": "object",
                "required": [
                    "clicks_with_position", "signals_tied_to_query", "signals_with_warnings",
                    "top_rules", "counts",
                ],
                "properties": {
                    "clicks_with_position": {"$ref": "#/components/schemas/Rate"},
                    "signals_tied_to_query": {"$ref": "#/components/schemas/Rate"},
                    "signals_with_warnings": {"$ref": "#/components/schemas/Rate"},
                    "top_rules": _list_of(["rule", "count"], {
                        "rule": {"enum": list(RULE_IDS)},
                        "count": {"type": "integer"},
                    }),
                    "counts": {"$ref": "#/components/schemas/Counts"},
                },
            },
            "definitions": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Summary": {
        "type": "object",
        "required": ["events", "rejections", "warnings", "upstream", "disagreements"],
        "properties": {
            "events": {
                "type": "object",
                "required": ["total", "by_vendor", "by_type", "by_tenant", "by_namespace"],
                "properties": {
                    "total": {"type": "integer"},
                    "by_vendor": {"$ref": "#/components/schemas/Counts"},
                    "by_type": {"$ref": "#/components/schemas/Counts"},
                    "by_tenant": {"$ref": "#/components/schemas/Counts"},
                    "by_namespace": {"$ref": "#/components/schemas/Counts"},
                },
            },
            "rejections": {
                "type": "object",
                "required": ["total", "by_vendor", "by_status", "by_namespace"],
                "properties": {
                    "total": {"type": "integer"},
                    "by_vendor": {"$ref": "#/components/schemas/Counts"},
                    "by_status": {"$ref": "#/components/schemas/Counts"},
                    "by_namespace": {"$ref": "#/components/schemas/Counts"},
                },
            },
            "warnings": {
                "$ref": "#/components/schemas/Counts",
                "description": "Events by signal-quality warning rule (unknown-query as of "
                "this read).",
            },
            "upstream": {
                "type": "object",
                "required": ["total", "by_outcome"],
                "description": "Requests forwarded to the real service (--upstream).",
                "properties": {
                    "total": {"type": "integer"},
                    "by_outcome": {"$ref": "#/components/schemas/Counts"},
                },
            },
            "disagreements": {"type": "integer", "description": "Of those, disagreements."},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"enum": ["ok", "unavailable"]},
            "store": {"type": "string", "description": "Why the store takes no writes."},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "parameter": {"type": "string"},
            "field": {"type": "string", "description": "The fault rule field at fault."},
        },
    },
}  # fmt: skip


_CROSS_SITE = {
    "description": "Sent by a browser from a page on another origin (not the dashboard, nor a "
    "--cors-origin): refused, nothing changed.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _faults_path() -> dict[str, Any]:
    rule = {"$ref": "#/components/schemas/FaultRule"}
    wrong = _json("Error", "A rule is wrong: `field` names what, `error` says why.")

    refused = {
        "403": _CROSS_SITE,
        "413": _json("Error", "The body is over 256 KiB."),
        "415": _json("Error", "The body is not Content-Type: application/json."),
    }

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    return {
        "get": {
            "operationId": "listFaults",
            "description": "The fault rules in force, in order, each with `hits`: how many "
            "requests it was applied to.",
            "parameters": _parameters("GET /faults"),
            "responses": {"200": _json("FaultRules", "The rules."), "400": _BAD_PARAMETER},
        },
        "put": {
            "operationId": "replaceFaults",
            "description": "Replace the rules; all or none (a wrong rule changes nothing).",
            "requestBody": body(
                {
                    "type": "object",
                    "required": ["rules"],
                    "properties": {
                        "rules": {"type": "array", "items": rule, "maxItems": MAX_RULES}
                    },
                }
            ),
            "responses": {"200": _json("FaultRules", "The rules now."), "400": wrong, **refused},
        },
        "post": {
            "operationId": "addFault",
            "description": "Add one rule after the others.",
            "requestBody": body(rule),
            "responses": {
                "201": _json("FaultRule", "The rule, with its id."),
                "400": wrong,
                **refused,
            },
        },
        "delete": {
            "operationId": "clearFaults",
            "description": "Remove every rule, or those of `namespace`, or the one `id`.",
            "parameters": _parameters("DELETE /faults"),
            "responses": {
                "200": _json("Removed", "How many went."),
                "400": _BAD_PARAMETER,
                "403": _CROSS_SITE,
            },
        },
    }


def inspection_openapi() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mockserver inspection API",
            "version": "1",
            "description": "See what reached the Neuralens and Lucidworks mocks: events, "
            "rejections with their reasons, counts; wait for events; reset.",
        },
        "paths": {
            "/_mock/health": {
                "get": {
                    "operationId": "health",
                    "responses": {
                        "200": _json("Health", "The server is up and its store takes writes."),
                        "503": _json("Health", "The store takes no writes now; `store` says why."),
                    },
                }
            },
            "/_mock/events": {
                "get": {
                    "operationId": "listEvents",
                    "description": "Accepted events, newest first.",
                    "parameters": _parameters("GET /events"),
                    "responses": {
                        "200": _json("EventPage", "A page of events."),
                        "400": _BAD_PARAMETER,
                    },
                }
            },
            "/_mock/events/{event_id}": {
                "get": {
                    "operationId": "getEvent",
                    "parameters": [
                        {
                            "name": "event_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": _json("Event", "The event."),
                        "404": _json("Error", "No event with this id."),
                    },
                }
            },
            "/_mock/rejections": {
                "get": {
                    "operationId": "listRejections",
                    "description": "Refused requests with every reason, newest first.",
                    "parameters": _parameters("GET /rejections"),
                    "responses": {
                        "200": _json("RejectionPage", "A page of rejections."),
                        "400": _BAD_PARAMETER,
                    },
                }
            },
            "/_mock/rejections/{rejection_id}": {
                "get": {
                    "operationId": "getRejection",
                    "parameters": [
                        {
                            "name": "rejection_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": _json("Rejection", "The rejection."),
                        "404": _json("Error", "No rejection with this id."),
                    },
                }
            },
            "/_mock/rejections/reasons": {
                "get": {
                    "operationId": "rejectionReasons",
                    "description": "The reasons of the matching rejections grouped by rule and "
                    "path, most frequent first: `37 × $[0].currencyCode iso4217`. List a "
                    "group's requests with `/_mock/rejections?rule=…&path=…`.",
                    "parameters": _parameters("GET /rejections/reasons"),
                    "responses": {
                        "200": {
                            "description": "The groups.",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["reasons"],
                                        "properties": {
                                            "reasons": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Reason"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "400": _BAD_PARAMETER,
                    },
                }
            },
            "/_mock/summary": {
                "get": {
                    "operationId": "summary",
                    "parameters": _parameters("GET /summary"),
                    "responses": {"200": _json("Summary", "Counts."), "400": _BAD_PARAMETER},
                }
            },
            "/_mock/reset": {
                "post": {
                    "operationId": "reset",
                    "description": "Delete events, rejections, attempts and upstream calls: "
                    "all, or one namespace's.",
                    "parameters": _parameters("POST /reset"),
                    "responses": {
                        "204": {"description": "Deleted."},
                        "400": _BAD_PARAMETER,
                        "403": _CROSS_SITE,
                        "415": _json("Error", "A body was sent, and not as application/json."),
                        "503": _json("Error", "The store takes no writes now; the error says why."),
                    },
                }
            },
            "/_mock/analytics": {
                "get": {
                    "operationId": "analytics",
                    "description": "Search analytics over the events whose event time is in "
                    "the period: totals and a series by event type, sessions, searches, "
                    "click-through rate, click positions, top / no-click / zero-result "
                    "queries, add-to-cart and conversion rates, revenue, the funnel. Counted "
                    "in the database; every figure's definition is in `definitions` (and "
                    "docs/analytics.md). Empty: zeros, and null rates.",
                    "parameters": _parameters("GET /analytics"),
                    "responses": {
                        "200": _json("Analytics", "The figures."),
                        "400": _BAD_PARAMETER,
                    },
                }
            },
            "/_mock/faults": _faults_path(),
            "/_mock/upstream": {
                "get": {
                    "operationId": "listUpstreamCalls",
                    "description": "Requests forwarded to the real service (--upstream), newest "
                    "first: the mock's verdict and reasons beside the upstream's status, reply "
                    "and latency. Waits for the shadow calls of requests already answered.",
                    "parameters": _parameters("GET /upstream"),
                    "responses": {
                        "200": _json("UpstreamPage", "A page of upstream calls."),
                        "400": _BAD_PARAMETER,
                    },
                }
            },
            "/_mock/disagreements": {
                "get": {
                    "operationId": "listDisagreements",
                    "description": "The forwarded requests that one side accepted (2xx) and "
                    "the other refused (4xx), newest first, with the body. Waits for the shadow "
                    "calls of requests already answered.",
                    "parameters": _parameters("GET /disagreements"),
                    "responses": {
                        "200": _json("DisagreementPage", "A page of disagreements."),
                        "400": _BAD_PARAMETER,
                    },
                }
            },
            "/_mock/attempts": {
                "get": {
                    "operationId": "listAttempts",
                    "description": "Requests a fault rule touched, newest first: which rule "
                    "and fault, the status the client got (null: no reply at all) and whether "
                    "its events were stored.",
                    "parameters": _parameters("GET /attempts"),
                    "responses": {
                        "200": _json("AttemptPage", "A page of attempts."),
                        "400": _BAD_PARAMETER,
                    },
                }
            },
            "/_mock/stream": {
                "get": {
                    "operationId": "streamChanges",
                    "description": "Server-Sent Events for live views: `event: change` with "
                    '`data: {"events", "rejections", "attempts", "latest_event_id", "reset"}` '
                    "counting what arrived since the last message (at most four a second), a "
                    "`: still here` comment every 15 s, and `retry: 1000` so that a browser "
                    "reconnects after a restart.",
                    "parameters": _parameters("GET /stream"),
                    "responses": {
                        "200": {
                            "description": "The event stream.",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}},
                        },
                        "400": _BAD_PARAMETER,
                    },
                }
            },
            "/_mock/wait": {
                "get": {
                    "operationId": "waitForEvents",
                    "description": "Return as soon as at least `count` events match the filters.",
                    "parameters": _parameters("GET /wait"),
                    "responses": {
                        "200": _json("EventPage", "Enough events matched."),
                        "400": _BAD_PARAMETER,
                        "408": _json("EventPage", "The timeout passed; what matched so far."),
                        "503": _json(
                            "Error",
                            "Earlier waits' counts still run over a large store (their waits "
                            "timed out): retry after Retry-After seconds. Or the server is "
                            "stopping: a wait in progress ends with it.",
                        ),
                    },
                }
            },
            "/_mock/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "responses": {
                        "200": {
                            "description": "This document.",
                            "content": {"application/json": {}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": _SCHEMAS},
    }
