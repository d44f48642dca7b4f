"""Ingestion: records from the sources, merged and written to the store, idempotently and resumably."""
