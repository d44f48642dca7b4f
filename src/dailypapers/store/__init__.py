"""The store: every SQL statement of the project, on SQLite (embedded) and PostgreSQL (scale-out).

`schema` holds the tables and `migrations/` the Alembic revisions that create them; `db` engines and
transactions; `convert` what the two databases hand back differently. The other modules are named after
what they read and write (`feed`, `papers`, `listings`, `accounts`, `comments`, `votes`, `subscribers`,
`keyword`, `vectors`, ...), and their functions after the question they answer. No rules live here.
"""
