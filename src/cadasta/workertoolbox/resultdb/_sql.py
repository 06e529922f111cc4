"""
Running SQL on a PostgreSQL connection through SQLAlchemy and psycopg2.

What the provisioning modules share: quoting identifiers as PostgreSQL reads them,
escaping a statement for psycopg2, and running a query with parameters.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["driver_sql", "query", "quote"]


@cache
def _preparer() -> Any:
    from sqlalchemy.dialects.postgresql.base import PGDialect

    # The "named" paramstyle: this preparer does not double "%" for the driver, so what
    # it returns is the SQL PostgreSQL reads; driver_sql() escapes it for psycopg2.
    return PGDialect(paramstyle="named").identifier_preparer  # type: ignore[no-untyped-call]


def quote(name: str) -> str:
    """Return *name* quoted as a PostgreSQL identifier: always double-quoted."""
    return str(_preparer().quote_identifier(name))


def driver_sql(statement: str) -> str:
    """Escape *statement* for psycopg2, which reads ``%`` as the start of a parameter."""
    return statement.replace("%", "%%")


def query(connection: Connection, sql: str, **params: Any) -> list[Any]:
    """Run *sql* with the psycopg2 parameters *params*; return its rows."""
    return list(connection.exec_driver_sql(sql, params).all())
