"""One module per vendor: its routes' handling, its tenant, its exact replies."""
