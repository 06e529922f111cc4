import pytest

from cadasta.workertoolbox.resultdb._sql import driver_sql, quote


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("worker", '"worker"'), ('we"ird', '"we""ird"'), ("Worker", '"Worker"'), ("50%", '"50%"')],
)
def test_quote_always_double_quotes(name: str, quoted: str) -> None:
    """A name is one identifier as PostgreSQL reads it: quoted, its quotes doubled."""
    assert quote(name) == quoted


def test_driver_sql_escapes_percent_signs_for_psycopg2() -> None:
    """psycopg2 reads % as the start of a parameter: each is doubled."""
    assert driver_sql('GRANT USAGE ON SCHEMA "50%" TO "w"') == 'GRANT USAGE ON SCHEMA "50%%" TO "w"'
