"""Read models rebuilt from the ledger's events."""
