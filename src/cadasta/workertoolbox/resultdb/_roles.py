"""
What an existing role could do beyond the result tables, through its attributes and roles.

:func:`~cadasta.workertoolbox.provisioning.provision_result_db` confines the workers' role
with grants, which mean nothing if the role can become another: ``SET ROLE`` gives a
member every privilege of the roles it belongs to, through any chain of memberships. An
existing role is therefore refused when it, or any role it reaches:

- is a superuser, or has ``CREATEROLE``, ``BYPASSRLS`` or ``REPLICATION``;
- is one of PostgreSQL's predefined roles that read or write files on the server, run
  programs there, or read or write every table (``pg_execute_server_program``,
  ``pg_read_server_files``, ``pg_write_server_files``, ``pg_read_all_data``,
  ``pg_write_all_data``);
- owns the database, the schema or a result table.

``CREATEDB``, the other predefined roles, and the other databases of the cluster the role
can connect to are reported, for review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._sql import query, quote

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["RoleReach", "inspect_role", "other_databases"]

#: Predefined roles that escape the result tables, and what each may do.
_ESCAPING_ROLES = {
    "pg_execute_server_program": "may run programs on the database server (COPY … TO PROGRAM)",
    "pg_read_server_files": "may read files on the database server (COPY … FROM a file)",
    "pg_write_server_files": "may write files on the database server (COPY … TO a file)",
    "pg_read_all_data": "may read every table of every database",
    "pg_write_all_data": "may write every table of every database",
}
#: The other predefined roles: reported, with what their members may do.
_REPORTED_ROLES = {
    "pg_monitor": "read the activity and statistics of every session",
    "pg_read_all_settings": "read every setting of the server",
    "pg_read_all_stats": "read every statistic, the queries of other sessions included",
    "pg_stat_scan_tables": "run monitoring functions that may lock tables",
    "pg_signal_backend": "cancel and terminate other sessions",
    "pg_checkpoint": "run CHECKPOINT",
    "pg_maintain": "vacuum, analyze, reindex and lock every table",
    "pg_use_reserved_connections": "use the connections reserved for administrators",
    "pg_create_subscription": "create subscriptions, which copy data from other servers",
    "pg_signal_autovacuum_worker": "signal autovacuum workers",
}
#: Implicit for the database's owner, which is refused for owning the database already.
_OWNER_ROLE = "pg_database_owner"
#: What each attribute of a reached role lets the member do.
_ESCAPING_ATTRIBUTES = ("CREATEROLE", "BYPASSRLS", "REPLICATION")

#: Every role the role reaches through memberships, with the shortest chain to it.
_REACHED_ROLES = """
WITH RECURSIVE reached(oid, path) AS (
    SELECT m.roleid, ARRAY[m.roleid]
      FROM pg_auth_members m
     WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = %(role)s)
    UNION
    SELECT m.roleid, r.path || m.roleid
      FROM reached r JOIN pg_auth_members m ON m.member = r.oid
     WHERE m.roleid <> ALL (r.path)
)
SELECT name, superuser, attributes, createdb, predefined, path FROM (
    SELECT DISTINCT ON (r.oid)
           g.rolname::text AS name,
           g.rolsuper AS superuser,
           array_remove(ARRAY[
               CASE WHEN g.rolcreaterole THEN 'CREATEROLE' END,
               CASE WHEN g.rolbypassrls THEN 'BYPASSRLS' END,
               CASE WHEN g.rolreplication THEN 'REPLICATION' END
           ], NULL) AS attributes,
           g.rolcreatedb AS createdb,
           g.oid < 16384 AND g.rolname LIKE 'pg\\_%%' AS predefined,
           ARRAY(SELECT p.rolname::text
                   FROM unnest(r.path) WITH ORDINALITY AS u(oid, n)
                   JOIN pg_roles p ON p.oid = u.oid
                  ORDER BY u.n) AS path
      FROM reached r JOIN pg_roles g ON g.oid = r.oid
     ORDER BY r.oid, cardinality(r.path)
) AS found
ORDER BY name
"""

#: The objects the role owns, itself or through a role it belongs to.
_OWNED = """
SELECT 'database ' || quote_ident(datname) FROM pg_database
 WHERE datname = current_database() AND pg_has_role(%(role)s, datdba, 'MEMBER')
UNION ALL
SELECT 'schema ' || quote_ident(nspname) FROM pg_namespace
 WHERE nspname = %(schema)s AND pg_has_role(%(role)s, nspowner, 'MEMBER')
UNION ALL
SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' ELSE 'table ' END
       || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %(schema)s AND c.relname = ANY(%(names)s)
   AND pg_has_role(%(role)s, c.relowner, 'MEMBER')
"""


@dataclass(frozen=True)
class RoleReach:
    """
    What an existing role could do beyond the grants of the provisioning.

    Attributes:
        problems: Why the role must be refused, one sentence each; empty when it is safe.
        cluster_privileges: What deserves a review but does not escape the result tables:
            ``CREATEDB``, predefined roles that are not refused.

    """

    problems: tuple[str, ...]
    cluster_privileges: tuple[str, ...]


def inspect_role(connection: Connection, role: str, schema: str, names: Sequence[str]) -> RoleReach:
    """Tell what the existing *role* could do beyond the result tables *names* in *schema*."""
    ((superuser, createrole, bypassrls, replication, createdb),) = query(
        connection,
        "SELECT rolsuper, rolcreaterole, rolbypassrls, rolreplication, rolcreatedb"
        " FROM pg_roles WHERE rolname = %(role)s",
        role=role,
    )
    q_role = quote(role)
    if superuser:
        return RoleReach(
            (
                f"role {role!r} is a superuser and could read and change every table; the "
                "workers need an ordinary role (RESULT_DB_USER), such as 'worker'.",
            ),
            (),
        )
    problems: list[str] = []
    privileges: list[str] = []
    if createrole:
        problems.append(
            f"role {role!r} has the CREATEROLE attribute and could give itself more "
            f"privileges; remove it (ALTER ROLE {q_role} NOCREATEROLE) or choose another role."
        )
    if bypassrls:
        problems.append(
            f"role {role!r} has the BYPASSRLS attribute and would ignore the row-level "
            f"security of every table it reaches; remove it (ALTER ROLE {q_role} "
            "NOBYPASSRLS) or choose another role."
        )
    if replication:
        problems.append(
            f"role {role!r} has the REPLICATION attribute and could stream a copy of every "
            f"database of the cluster; remove it (ALTER ROLE {q_role} NOREPLICATION) or "
            "choose another role."
        )
    if createdb:
        privileges.append(
            f"CREATEDB, with which it can create databases (ALTER ROLE {q_role} NOCREATEDB "
            "removes it)"
        )
    for row in query(connection, _REACHED_ROLES, role=role):
        problem, privilege = _membership(role, *row)
        problems += problem
        privileges += privilege
    owned = [
        row[0] for row in query(connection, _OWNED, role=role, schema=schema, names=list(names))
    ]
    if owned:
        problems.append(
            f"role {role!r} owns (itself or through a role it belongs to) "
            f"{', '.join(owned)}, and could drop or alter it; make the database's owner "
            "their owner (ALTER … OWNER TO …) or choose another role."
        )
    return RoleReach(tuple(problems), tuple(privileges))


def _membership(
    role: str,
    name: str,
    superuser: bool,
    attributes: list[str],
    createdb: bool,
    predefined: bool,
    path: list[str],
) -> tuple[list[str], list[str]]:
    """Return why *role*'s membership in *name* is refused, and what it reports."""
    via = f" (through {', '.join(repr(step) for step in path[:-1])})" if len(path) > 1 else ""
    if superuser:
        what = "is a superuser"
    elif attributes:
        what = f"has {' and '.join(attributes)}"
    elif predefined and name in _ESCAPING_ROLES:
        what = _ESCAPING_ROLES[name]
    else:
        reported = []
        if predefined and name != _OWNER_ROLE:
            may = _REPORTED_ROLES.get(name, "use what PostgreSQL predefines for it")
            reported.append(f"the predefined role {name}{via}, whose members may {may}")
        if createdb:
            reported.append(f"CREATEDB through its membership in {name!r}{via}")
        return [], reported
    return [
        f"role {role!r} is a member of {name!r}{via}, which {what}; through that "
        f"membership (SET ROLE {quote(name)}) it could escape the result tables. Revoke "
        f"it (REVOKE {quote(path[0])} FROM {quote(role)}) or choose another role."
    ], []


def other_databases(connection: Connection, role: str) -> tuple[str, ...]:
    """
    Return the databases of the cluster, other than the connection's, *role* may connect to.

    Each is named as PostgreSQL quotes it, followed by `` (CREATE)`` when the role may
    create schemas there.
    """
    rows = query(
        connection,
        """
        SELECT quote_ident(datname)
               || CASE WHEN has_database_privilege(%(role)s, oid, 'CREATE')
                       THEN ' (CREATE)' ELSE '' END
          FROM pg_database
         WHERE datname <> current_database() AND datallowconn
           AND has_database_privilege(%(role)s, oid, 'CONNECT')
         ORDER BY datname
        """,
        role=role,
    )
    return tuple(row[0] for row in rows)
