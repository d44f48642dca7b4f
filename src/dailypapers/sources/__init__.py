"""Sources: one module per wire format, each turning its format into `PaperRecord`s.

Nothing here touches the database; `dailypapers.ingest` takes the records from here to the store.
"""

from dailypapers.sources.record import Author, Listing, PaperRecord, SourceError, Submitter, Version

__all__ = ["Author", "Listing", "PaperRecord", "SourceError", "Submitter", "Version"]
