"""How a paper known to the store absorbs a record of it from another (or the same) source."""

from __future__ import annotations

from dailypapers.sources.record import PaperRecord, Version

_SCALARS = ("title", "abstract", "primary_category", "doi", "journal_ref", "comments", "license")


def _merge_versions(a: list[Version], b: list[Version]) -> list[Version]:
    by_number: dict[int, Version] = {}
    for v in [*b, *a]:  # `a` wins, but a dated entry beats an undated one
        old = by_number.get(v.version)
        if old is None or (v.date is not None or old.date is None):
            by_number[v.version] = Version(
                v.version, v.date or (old.date if old else None), v.size or (old.size if old else None)
            )
    return [by_number[n] for n in sorted(by_number)]


def _union(a: list[str], b: list[str]) -> list[str]:
    seen = {u.rstrip("/").lower() for u in a}
    return a + [u for u in b if u.rstrip("/").lower() not in seen]


def merge(stored: PaperRecord, incoming: PaperRecord) -> PaperRecord:
    """The stored paper updated by `incoming`.

    A record of a newer version replaces what it carries and keeps the rest; a record of the same
    or an older version only fills what the store lacks. Merging is idempotent: merging the same
    record twice gives the same paper, so re-importing a file changes nothing.
    """
    newer = incoming.latest_version > stored.latest_version
    base, other = (incoming, stored) if newer else (stored, incoming)
    fields = {name: getattr(base, name) or getattr(other, name) for name in _SCALARS}
    authors = base.authors or other.authors
    if (
        len(base.authors) == len(other.authors)
        and not any(a.affiliations for a in base.authors)
        and any(a.affiliations for a in other.authors)
    ):
        authors = other.authors  # same people, the other source knows their affiliations
    versions = _merge_versions(base.versions, other.versions)
    dates = [d for d in (stored.published, incoming.published) if d]
    first = versions[0].date if versions and versions[0].version == 1 else None
    updates = [d for d in (stored.updated, incoming.updated) if d]
    return PaperRecord(
        id=stored.id,
        source=base.source,
        authors=list(authors),
        versions=versions,
        categories=list(base.categories or other.categories),
        published=first or (min(dates) if dates else None),
        updated=max(updates) if updates else None,
        announced=base.announced or other.announced,
        code_urls=_union(base.code_urls, other.code_urls),
        project_urls=_union(base.project_urls, other.project_urls),
        extra={**other.extra, **base.extra},
        local=stored.local and incoming.local,
        withdrawn=base.withdrawn,
        **fields,
    )
