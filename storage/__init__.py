"""Storage adapters: the `eventsourcing` recorders the ledger writes through, and
the queries its reads need, for SQLite and PostgreSQL."""
