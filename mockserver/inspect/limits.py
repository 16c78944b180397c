"""The bounds of the inspection API's parameters, read by its parser and by its OpenAPI description.

Declared here once, so the two cannot drift apart (``test_inspect_openapi`` checks each
described bound against the server).
"""

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
DEFAULT_WAIT_SECONDS, MAX_WAIT_SECONDS = 5.0, 300.0
MAX_OFFSET = 2**63 - 1  # SQLite's largest integer: no row id or offset goes beyond it
MAX_WAIT_COUNT = 1_000_000  # a wait keeps the ids of its matches until it has this many
MAX_STREAM_SECONDS = 86_400.0  # /_mock/stream's longest duration: a day
