"""Fault rules and the book that holds them: the model behind ``/_mock/faults`` and
``--fault``. The request path applies them through ``vendors/faults.py``."""
