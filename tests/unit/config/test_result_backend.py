from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import URL, make_url

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.config._result_backend import build_result_backend, render_result_backend
from cadasta.workertoolbox.config._secrets import MASK
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


MakeConfig = Callable[..., Config]
DEFAULT_BACKEND = "db+postgresql+psycopg2://worker:cadasta@localhost:5432/cadasta"


# -- result backend ----------------------------------------------------------------------------


def test_result_backend_default(make_config: MakeConfig) -> None:
    """The result backend is PostgreSQL through psycopg2, from the RESULT_DB_ variables."""
    assert make_config()["result_backend"] == DEFAULT_BACKEND


def test_result_backend_from_the_variables(make_config: MakeConfig) -> None:
    """Each RESULT_DB_ variable, keyword or environment, is a part of the URL."""
    config = make_config(
        {"CELERY_RESULT_DB_HOST": "db.example", "CELERY_RESULT_DB_PORT": "6432"},
        RESULT_DB_USER="reporter",
        RESULT_DB_PASS="pw",
        RESULT_DB_NAME="platform",
    )
    assert config["result_backend"] == (
        "db+postgresql+psycopg2://reporter:pw@db.example:6432/platform"
    )


@pytest.mark.parametrize(
    "password", ["p@ss", "p:ss", "p/ss", "p#ss", "p%ss", "with spaces", "@:/#%"]
)
def test_result_backend_password_round_trips(make_config: MakeConfig, password: str) -> None:
    """A password with URL punctuation reaches SQLAlchemy unchanged."""
    url = make_url(make_config(RESULT_DB_PASS=password)["result_backend"].removeprefix("db+"))
    assert url.password == password
    assert url.drivername == "postgresql+psycopg2"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(password=st.text(st.characters(exclude_categories=["Cs"]), min_size=1))
def test_any_password_round_trips(make_config: MakeConfig, password: str) -> None:
    """Whatever the password, from the environment, SQLAlchemy reads it back."""
    config = make_config({"CELERY_RESULT_DB_PASS": password})
    url = make_url(config["result_backend"].removeprefix("db+"))
    assert url.password == password


def test_result_backend_password_not_utf8(make_config: MakeConfig) -> None:
    """A password os.environ could not decode as UTF-8 is a ConfigError, not a crash."""
    with pytest.raises(ConfigError, match="must be valid UTF-8 text"):
        make_config({"CELERY_RESULT_DB_PASS": "pass\udcff"})


@pytest.mark.parametrize("source", ["keyword", "prefixed variable"])
def test_result_backend_template(make_config: MakeConfig, source: str) -> None:
    """A result_backend given is rendered with str.format(config); postgresql gets psycopg2."""
    template = "db+postgresql://{0.RESULT_DB_USER}:{0.RESULT_DB_PASS}@{0.RESULT_DB_HOST}/x"
    if source == "keyword":
        config = make_config(result_backend=template, RESULT_DB_PASS="pw")
    else:
        config = make_config(
            {"WORKER_RESULT_BACKEND": template}, ENV_PREFIX="WORKER_", RESULT_DB_PASS="pw"
        )
    assert config["result_backend"] == "db+postgresql+psycopg2://worker:pw@localhost/x"


@pytest.mark.parametrize(
    "template",
    [
        "db+postgresql://{0.RESULT_DB_USER}:{0.db_password}@{0.db_host}:{0.db_port}/{0.db_name}",
        "db+postgresql://{0[RESULT_DB_USER]}:{0[db_password]}@{0[db_host]}:{0[db_port]}/"
        "{0[db_name]}",
    ],
    ids=["attributes", "items"],
)
def test_result_backend_template_reads_the_keywords_given(
    make_config: MakeConfig, template: str
) -> None:
    """
    Keywords given to Config that are no setting are fields of the template, as in 0.6.

    They mix with the library's variables, as attributes or items; a number is formatted.
    """
    config = make_config(
        result_backend=template,
        db_password="pw",
        db_host="db.example.org",
        db_port=6432,
        db_name="results",
    )
    assert config["result_backend"] == (
        "db+postgresql+psycopg2://worker:pw@db.example.org:6432/results"
    )
    assert config["db_host"] == "db.example.org"


def test_result_backend_template_setting_beats_keyword_of_same_name(
    make_config: MakeConfig,
) -> None:
    """A field that is a setting reads the setting's value, given or from the environment."""
    config = make_config(
        {"CELERY_RESULT_DB_HOST": "from-env"},
        result_backend="db+postgresql://u@{0.RESULT_DB_HOST}/{0.QUEUE_PREFIX}",
        QUEUE_PREFIX="prod",
    )
    assert config["result_backend"] == "db+postgresql+psycopg2://u@from-env/prod"


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        pytest.param(
            "db+postgresql://u@{0.db_hots}/x", "'db+postgresql://u@{0.db_hots}/x'", id="attribute"
        ),
        # Brackets make the text no URL a password could be found in: masked whole.
        pytest.param("db+postgresql://u@{0[db_hots]}/x", repr(MASK), id="item"),
    ],
)
def test_result_backend_template_field_neither_setting_nor_keyword(
    make_config: MakeConfig, template: str, shown: str
) -> None:
    """A field that is neither a setting nor a keyword given is still an error naming it."""
    with pytest.raises(ConfigError) as caught:
        make_config(result_backend=template, db_host="db.example.org")
    message = str(caught.value)
    assert message.startswith(f"result_backend {shown} could not be rendered")
    assert "AttributeError: 'Config' object has no attribute 'db_hots'" in message
    assert "Refer to variables as {0.RESULT_DB_USER}" in message


def test_result_backend_template_keyword_holding_a_secret_is_not_shown(
    make_config: MakeConfig,
) -> None:
    """
    A keyword with a secret's name, used in the template, shows in no error nor repr.

    When another field of the template fails, the error shows the template, not the
    keyword's value; once rendered, the URL's password and the keyword are masked.
    """
    secret = "Sup3r-keyword-s3cret"
    with pytest.raises(ConfigError) as caught:
        make_config(
            result_backend="db+postgresql://worker:{0.db_password}@{0.db_hots}/x",
            db_host="db",
            db_password=secret,
        )
    assert "{0.db_hots}" in str(caught.value)
    assert secret not in str(caught.value)
    config = make_config(
        result_backend="db+postgresql://worker:{0.db_password}@{0.db_host}/x",
        db_host="db",
        db_password=secret,
    )
    assert config["result_backend"] == f"db+postgresql+psycopg2://worker:{secret}@db/x"
    assert secret not in repr(config)
    assert secret not in str(config)


def test_celery_result_backend_variable_cannot_be_a_template(make_config: MakeConfig) -> None:
    """Celery reads CELERY_RESULT_BACKEND as it is, so a template there is refused, masked."""
    template = "db+postgresql://{0.RESULT_DB_USER}:s3cret@{0.RESULT_DB_HOST}/x"
    with pytest.raises(ConfigError, match="CELERY_RESULT_BACKEND=") as caught:
        make_config({"CELERY_RESULT_BACKEND": template})
    message = str(caught.value)
    assert "final URL" in message
    assert "db+postgresql+psycopg2://worker:********@localhost/x" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("variable", "setting", "value"),
    [
        ("CELERY_RESULT_BACKEND", "result_backend", "db+postgresql+psycopg2://u:p@h/env"),
        ("CELERY_BROKER_URL", "broker_url", "amqp://u:p@h//"),
    ],
)
def test_variables_celery_reads_itself_beat_the_keyword(
    make_config: MakeConfig, variable: str, setting: str, value: str
) -> None:
    """Celery gives CELERY_BROKER_URL and CELERY_RESULT_BACKEND precedence; so does Config."""
    config = make_config({variable: value}, **{setting: "memory://keyword"})
    assert config[setting] == value


@pytest.mark.parametrize(
    ("template", "missing"),
    [
        ("db+postgresql://{0.RESULT_DB_PASSWORD}@h/x", "RESULT_DB_PASSWORD"),
        ("db+postgresql://{user}@h/x", "KeyError: 'user'"),
        ("db+postgresql://{0:d}@h/x", "TypeError"),
    ],
)
def test_result_backend_template_failure(
    make_config: MakeConfig, template: str, missing: str
) -> None:
    """A template that does not render is an error naming result_backend and what is missing."""
    with pytest.raises(ConfigError, match="result_backend") as caught:
        make_config(result_backend=template)
    assert missing in str(caught.value)


def test_result_backend_other_databases(make_config: MakeConfig) -> None:
    """Other result backends are kept as they are given."""
    assert make_config(result_backend="cache+memory://")["result_backend"] == "cache+memory://"
