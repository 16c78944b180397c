"""``mockserver simulate``: believable shoppers for a demo, sent to a running mockserver.

``catalogue`` (the demo shop) → ``shoppers`` (the model, in simulated time) → ``payloads``
(each vendor's requests) → ``traffic`` (sessions interleaved by time, client mistakes) →
``sender`` (HTTP). Reproducible: the same seed, flags and start send the same bytes.
"""
