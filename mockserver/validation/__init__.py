"""Request validation: every layer the real services may run, loaded once from ``schemas/``.

This package imports nothing else from mockserver.
"""

from mockserver.validation.contracts import (
    Contracts,
    LucidworksContract,
    NeuralensContract,
    Validated,
    load_contracts,
)
from mockserver.validation.errors import FieldError, Layer, json_path

__all__ = [
    "Contracts",
    "FieldError",
    "Layer",
    "LucidworksContract",
    "NeuralensContract",
    "Validated",
    "json_path",
    "load_contracts",
]
