"""The store: its interface, the SQLite implementation, group commit and migrations."""
