"""The inspection API under /_mock/: JSON reads of the store, and its OpenAPI description."""
