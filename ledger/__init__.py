"""The domain: events, the Claim aggregate, the verdict fold, and their errors.

Pure Python: no HTTP, no SQL, nothing from `api/`, `projections/` or `storage/`.
"""
