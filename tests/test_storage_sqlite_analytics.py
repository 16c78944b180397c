"""The SQLite analytics queries behind /_mock/analytics and the dashboard, pinned directly."""
