"""Request validation: every layer the real services may run, loaded once from ``schemas/``.

This package imports nothing else from mockserver.
"""

from mockserver.validation.contracts import (
    PROFILES,
    Contract,
    Contracts,
    LucidworksContract,
    NeuralensContract,
    Profile,
    Validated,
    load_contracts,
)
from mockserver.validation.errors import FieldError, Layer, json_path

__all__ = [
    "PROFILES",
    "Contract",
    "Contracts",
    "FieldError",
    "Layer",
    "LucidworksContract",
    "NeuralensContract",
    "Profile",
    "Validated",
    "json_path",
    "load_contracts",
]
