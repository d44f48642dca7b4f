"""How papers are ordered: the trending score (`score`, pure arithmetic) and the order of every view of
the feed (`order`: pages, API, Atom and digests). docs/ranking.md explains the choices."""
