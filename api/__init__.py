"""The HTTP API: thin routes over the ledger's services, errors as problem+json."""
