from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import URL, make_url

from cadasta.workertoolbox.config._result_backend import build_result_backend, render_result_backend
from cadasta.workertoolbox.exceptions import ConfigError

#: Text SQLAlchemy can carry in a URL: any character but lone surrogates, which have no
#: UTF-8 encoding to escape.
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1)


def _parse(url: str) -> URL:
    """Parse a result backend URL as Celery's database backend does, without 'db+'."""
    assert url.startswith("db+")
    return make_url(url[len("db+") :])


def test_default_url() -> None:
    """The default names psycopg2 and every part of the RESULT_DB_ variables."""
    url = build_result_backend("worker", "cadasta", "localhost", "5432", "cadasta")
    assert url == "db+postgresql+psycopg2://worker:cadasta@localhost:5432/cadasta"


@pytest.mark.parametrize(
    "password", ["p@ss", "p:ss", "p/ss", "p#ss", "p%ss", "p%40ss", "with space", "@:/#% ?&="]
)
def test_passwords_round_trip(password: str) -> None:
    """A password with URL punctuation reaches SQLAlchemy unchanged."""
    url = _parse(build_result_backend("worker", password, "db.example", 5432, "cadasta"))
    assert url.drivername == "postgresql+psycopg2"
    assert url.password == password
    assert (url.username, url.host, url.port, url.database) == (
        "worker",
        "db.example",
        5432,
        "cadasta",
    )


#: Whether the installed SQLAlchemy percent-decodes a URL's database part (2.1 does, 2.0
#: takes it as written, up to a '?').
_DECODES_DATABASE = make_url("postgresql:///%41").database == "A"


@given(user=_TEXT, password=_TEXT, name=_TEXT)
def test_any_credentials_round_trip(user: str, password: str, name: str) -> None:
    """
    Whatever the user, password and database name, SQLAlchemy reads them back.

    SQLAlchemy 2.0 cannot read a database name holding '?' from a URL: refused there.
    """
    if "?" in name and not _DECODES_DATABASE:
        with pytest.raises(ConfigError, match=r"RESULT_DB_NAME holds a '\?'"):
            build_result_backend(user, password, "localhost", "5432", name)
        return
    url = _parse(build_result_backend(user, password, "localhost", "5432", name))
    assert (url.username, url.password, url.database) == (user, password, name)


@pytest.mark.parametrize("name", ["cadasta", "a%41b", "%", "a/b:c@d e#f", "x%2Fy"])
def test_database_names_round_trip(name: str) -> None:
    """A database name with URL punctuation reaches SQLAlchemy unchanged, 2.0 or 2.1."""
    url = _parse(build_result_backend("worker", "p", "db.example", 5432, name))
    assert url.database == name


@pytest.mark.parametrize("name", ["a?b", "?"])
def test_a_question_mark_in_the_database_name(name: str) -> None:
    """SQLAlchemy 2.1 reads a '?' back (escaped); 2.0 cannot, and Config says so."""
    if _DECODES_DATABASE:
        url = _parse(build_result_backend("worker", "p", "db.example", 5432, name))
        assert url.database == name
    else:
        with pytest.raises(ConfigError, match=r"install SQLAlchemy 2\.1 or later"):
            build_result_backend("worker", "p", "db.example", 5432, name)


@pytest.mark.parametrize(("host", "parsed"), [("::1", "::1"), ("[::1]", "::1"), (10, "10")])
def test_hosts(host: Any, parsed: str) -> None:
    """An IPv6 address is bracketed, once; a host that is no string is written as text."""
    assert _parse(build_result_backend("u", "p", host, "5432", "n")).host == parsed


@pytest.mark.parametrize("part", ["user", "password", "name"])
def test_text_that_is_not_utf8(part: str) -> None:
    """A part holding lone surrogates (non-UTF-8 bytes in os.environ) is a ConfigError."""
    parts = {"user": "u", "password": "p", "name": "n", part: "pass\udcff"}
    with pytest.raises(ConfigError, match="must be valid UTF-8 text") as caught:
        build_result_backend(parts["user"], parts["password"], "h", "5432", parts["name"])
    assert "pass" not in str(caught.value)


class _Variables:
    RESULT_DB_USER = "worker"
    RESULT_DB_PASS = "p@ss"
    RESULT_DB_HOST = "db"
    RESULT_DB_NAME = "cadasta"


@pytest.mark.parametrize(
    ("template", "rendered"),
    [
        (
            "db+postgresql+psycopg2://{0.RESULT_DB_USER}@{0.RESULT_DB_HOST}/{0.RESULT_DB_NAME}",
            "db+postgresql+psycopg2://worker@db/cadasta",
        ),
        ("db+postgresql://{0.RESULT_DB_USER}@h/d", "db+postgresql+psycopg2://worker@h/d"),
        ("db+postgres://{0.RESULT_DB_USER}@h/d", "db+postgresql+psycopg2://worker@h/d"),
        ("DB+PostgreSQL://{0.RESULT_DB_USER}@h/d", "db+postgresql+psycopg2://worker@h/d"),
        ("db+postgresql+psycopg://u@h/d", "db+postgresql+psycopg://u@h/d"),
        ("db+sqlite:///{0.RESULT_DB_NAME}.db", "db+sqlite:///cadasta.db"),
        ("cache+memory://", "cache+memory://"),
        ("db+sqlite:///{{braces}}.db", "db+sqlite:///{braces}.db"),
    ],
)
def test_render(template: str, rendered: str) -> None:
    """A user's URL is rendered with str.format(config); a driverless PostgreSQL gets psycopg2."""
    assert render_result_backend(template, _Variables()) == rendered


@pytest.mark.parametrize(
    ("template", "missing"),
    [
        ("db+postgresql://{0.RESULT_DB_PORT}/x", "AttributeError: "),
        ("db+postgresql://{user}/x", "KeyError: 'user'"),
        ("db+postgresql://{1}/x", "IndexError: "),
        ("db+postgresql://{0/x", "ValueError: "),
        ("db+postgresql://{0:d}/x", "TypeError: "),
    ],
)
def test_render_failure(template: str, missing: str) -> None:
    """A template that does not render is an error naming result_backend and what failed."""
    with pytest.raises(ConfigError) as caught:
        render_result_backend(template, _Variables())
    message = str(caught.value)
    assert message.startswith(f"result_backend {template!r} could not be rendered")
    assert missing in message
    assert "Refer to variables as {0.RESULT_DB_USER}" in message


def test_render_failure_masks_the_password() -> None:
    """A password written in a template that fails to render is masked in the error."""
    with pytest.raises(ConfigError) as caught:
        render_result_backend("db+postgresql://u:hunter2@h/{0.MISSING}", _Variables())
    assert "hunter2" not in str(caught.value)
    assert "'MISSING'" in str(caught.value)


@pytest.mark.parametrize("template", [5, None, b"db+sqlite://"])
def test_render_needs_a_string(template: Any) -> None:
    """A result_backend that is not a string is an error saying what to give."""
    with pytest.raises(ConfigError, match="result_backend must be a URL string, not "):
        render_result_backend(template, _Variables())
