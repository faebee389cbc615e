"""The seed ledger entries drawn from the project's source article (SPEC §8)."""
