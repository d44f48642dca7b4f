"""Papers by the names on them (the author and organization pages): `paper_names`, filled for the papers
already stored, in chunks.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10
"""

import orjson
import sqlalchemy as sa
from alembic import op

from dailypapers.sources.names import keys_of, org_key

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHUNK = 2000


def _json(value):  # type: ignore[no-untyped-def]
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _keys(authors, extra) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    # The same entries as dailypapers.store.paper_names.name_keys, from the same normalization.
    names = [a.get("name") or "" for a in _json(authors) or [] if isinstance(a, dict)]
    keys = [("author", k) for k in keys_of(names)]
    org = (_json(extra) or {}).get("organization")
    if isinstance(org, dict) and isinstance(org.get("name"), str) and (key := org_key(org["name"])):
        keys.append(("org", key))
    return keys


def upgrade() -> None:
    op.create_table(
        "paper_names",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("paper_pk", PK, sa.ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_paper_names_paper", "paper_names", ["paper_pk"])
    bind = op.get_bind()
    names = sa.table("paper_names", sa.column("kind"), sa.column("key"), sa.column("paper_pk"))
    after = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT pk, authors, extra FROM papers WHERE pk > :after ORDER BY pk LIMIT :n"),
            {"after": after, "n": CHUNK},
        ).all()
        if not rows:
            break
        entries = [{"kind": k, "key": key, "paper_pk": r.pk} for r in rows for k, key in _keys(r.authors, r.extra)]
        if entries:
            bind.execute(names.insert(), entries)
        after = rows[-1].pk


def downgrade() -> None:
    op.drop_index("ix_paper_names_paper", "paper_names")
    op.drop_table("paper_names")
