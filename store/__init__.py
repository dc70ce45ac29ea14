"""Store: SQLModel tables, the engine, ingest (facts -> observations -> findings -> scores), and queries.

Imports: `hub`, `scoring`, `config`.
"""
