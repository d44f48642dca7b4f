"""Search: keyword (FTS5 / PostgreSQL full text), semantic (embeddings and an ANN index), and the two fused."""
