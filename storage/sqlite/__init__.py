"""The SQLite backend: the embedded default, one file, one writer at a time."""
