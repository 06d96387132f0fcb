"""The engine database: SQLAlchemy 2 tables, Alembic migrations and plain query functions.

Storage functions flush; the caller owns the transaction (`Database.transaction()`).
"""
