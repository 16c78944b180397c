"""CI tools: offline validation of payload files, contract coverage, and reports."""
