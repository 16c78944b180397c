"""``mockserver simulate``: believable shoppers for a demo, sent to a running mockserver.

``catalogue`` (the demo shop) → ``shoppers`` (the model, in simulated time) → ``payloads``
(each vendor's requests) → ``traffic`` (sessions interleaved by time, client mistakes) →
``sender`` (HTTP). Reproducible: the same seed, flags and start send the same bytes.
"""

# The demo's share of requests with a client mistake (refused) and of sloppy ones (accepted,
# with a warning): a few in a hundred, so that the dashboard's Rejected, Rejection reasons
# and Warnings views show what they are for without drowning the clean traffic. Here, not in
# demo.py, so that the command line reads them without loading the client side (httpx).
DEMO_INVALID_RATE = 0.03
DEMO_SLOPPY_RATE = 0.05
