"""The messages of the role checks; the checks on a real server are in the integration tests."""

import pytest

from cadasta.workertoolbox.resultdb._roles import _membership


def test_a_member_of_a_superuser_is_refused_naming_the_chain() -> None:
    """The message names the role reached, the chain to it, and the membership to revoke."""
    problems, reported = _membership(
        "worker", "admins", True, [], False, False, ["team", "leads", "admins"]
    )
    assert reported == []
    assert problems == [
        "role 'worker' is a member of 'admins' (through 'team', 'leads'), which is a "
        'superuser; through that membership (SET ROLE "admins") it could escape the result '
        'tables. Revoke it (REVOKE "team" FROM "worker") or choose another role.'
    ]


def test_every_escaping_attribute_is_named() -> None:
    """Several attributes of one role reached are named together."""
    (problem,), _ = _membership(
        "worker", "ops", False, ["CREATEROLE", "BYPASSRLS"], True, False, ["ops"]
    )
    assert "'ops', which has CREATEROLE and BYPASSRLS;" in problem


@pytest.mark.parametrize(
    ("name", "predefined", "createdb", "expected"),
    [
        (
            "pg_monitor",
            True,
            False,
            ["the predefined role pg_monitor, whose members may read the activity"],
        ),
        (
            "pg_new_role",
            True,
            False,
            ["the predefined role pg_new_role, whose members may use what PostgreSQL"],
        ),
        ("pg_database_owner", True, False, []),
        ("creators", False, True, ["CREATEDB through its membership in 'creators'"]),
        ("readers", False, False, []),
    ],
)
def test_memberships_that_do_not_escape_are_reported_or_ignored(
    name: str, predefined: bool, createdb: bool, expected: list[str]
) -> None:
    """Predefined roles that do not escape, and CREATEDB, are reported; plain roles are not."""
    problems, reported = _membership("worker", name, False, [], createdb, predefined, [name])
    assert problems == []
    assert [line[: len(prefix)] for line, prefix in zip(reported, expected, strict=True)] == (
        expected
    )
