"""
The result backend URL: PostgreSQL through SQLAlchemy and psycopg2.

SQLAlchemy 2.1 made ``postgresql://`` mean the psycopg 3 driver; this library ships
psycopg2-binary, so every URL it builds, and every ``db+postgresql://`` URL it is given,
names ``postgresql+psycopg2`` explicitly.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..exceptions import ConfigError
from ._environment import READ_BY_CELERY, read_by_celery
from ._secrets import mask_url, masked, masked_text, protect

if TYPE_CHECKING:
    from ._config import Config

__all__ = ["build_result_backend", "render_result_backend", "set_result_backend"]

_DRIVERLESS_POSTGRES = re.compile(r"^db\+postgres(?:ql)?://", re.IGNORECASE)
_PSYCOPG2_PREFIX = "db+postgresql+psycopg2://"


class _TemplateFormatter(string.Formatter):
    """
    ``str.format`` without format specifications.

    A URL has no use for them, and one such as ``{0.RESULT_DB_PORT:>9999999999}`` would
    build a string of that many characters before anything could be checked.
    """

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec:
            raise TypeError(f"a format specification (':{format_spec}') is not accepted")
        return format(value)


def build_result_backend(user: str, password: str, host: str, port: object, name: str) -> str:
    """
    Return the default result backend URL, every part URL-escaped.

    A password holding ``@``, ``:``, ``/``, ``#`` or ``%`` survives the round trip
    through SQLAlchemy's URL parser.
    """
    host = str(host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    try:
        escaped = [quote(str(part), safe="") for part in (user, password)]
        database = _database_part(str(name))
    except UnicodeEncodeError:
        # Text os.environ decoded from bytes that are not UTF-8 (lone surrogates).
        raise ConfigError(
            "RESULT_DB_USER, RESULT_DB_PASS and RESULT_DB_NAME must be valid UTF-8 text; "
            "one holds bytes that are not. Fix the variable, or give result_backend."
        ) from None
    return f"{_PSYCOPG2_PREFIX}{escaped[0]}:{escaped[1]}@{host}:{port}/{database}"


def _database_part(name: str) -> str:
    """
    Return the database *name* as the installed SQLAlchemy reads it back from a URL.

    SQLAlchemy 2.1 percent-decodes a URL's database part; 2.0 takes it as written, up to
    a ``?``. A name without ``%`` and ``?`` reads the same either way and is written as
    it is, without importing SQLAlchemy; another is written as SQLAlchemy writes it.

    Raises:
        ConfigError: SQLAlchemy cannot read the name back from any URL (a ``?`` in it,
            with SQLAlchemy 2.0).
        UnicodeEncodeError: The name holds lone surrogates.

    """
    name.encode("utf-8")
    if "%" not in name and "?" not in name:
        return name
    from sqlalchemy.engine import URL, make_url

    written = URL.create("postgresql", database=name).render_as_string()
    if make_url(written).database != name:  # pragma: no cover - SQLAlchemy 2.0 only
        # Tested by the floor run (requirements-floor.txt): 2.0 cannot write a '?'.
        raise ConfigError(
            "RESULT_DB_NAME holds a '?', which SQLAlchemy 2.0 cannot read from a URL; "
            "rename the database, or install SQLAlchemy 2.1 or later."
        )
    return written[len("postgresql:///") :]


def render_result_backend(template: str, config: Any) -> str:
    """
    Render a user's ``result_backend`` with ``template.format(config)``.

    ``{0.RESULT_DB_USER}`` and the like are replaced by the configuration's variables;
    a driver-less ``db+postgresql://`` is pinned to psycopg2.

    Raises:
        ConfigError: The template refers to something the configuration lacks, or its
            braces are unbalanced.

    """
    if not isinstance(template, str):
        raise ConfigError(
            f"result_backend must be a URL string, not {type(template).__name__} "
            f"({masked_text('result_backend', template)}); "
            "pass result_backend='db+postgresql+psycopg2://…' or set CELERY_RESULT_BACKEND."
        )
    try:
        rendered = _TemplateFormatter().format(template, config)
    except (KeyError, IndexError, AttributeError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"result_backend {mask_url(template)!r} could not be rendered with "
            f"str.format(config): {type(exc).__name__}: {exc}. Refer to variables as "
            "{0.RESULT_DB_USER}, and write a literal brace as {{ or }}."
        ) from None
    return _DRIVERLESS_POSTGRES.sub(_PSYCOPG2_PREFIX, rendered)


class _TemplateFields:
    """
    What a ``result_backend`` template is rendered with: the configuration, keywords included.

    The template is rendered before the keywords that are neither Celery settings the
    configuration reads nor library variables (``Config(foo='abc')``) become attributes;
    0.6 rendered with them too, so ``{0.foo}`` reads the keyword.
    """

    def __init__(self, config: Config, given: Mapping[str, Any]) -> None:
        self._config = config
        self._given = given

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self._config, name)
        except AttributeError:
            if name in self._given:
                return protect(name, self._given[name])
            raise AttributeError(f"'Config' object has no attribute {name!r}") from None

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)


def set_result_backend(config: Config) -> None:
    """Set ``result_backend``: ``CELERY_RESULT_BACKEND``, a template, or ``RESULT_DB_*``."""
    variable = READ_BY_CELERY["result_backend"]
    from_celery = read_by_celery(config._environment, "result_backend")
    if from_celery is not None:
        url = render_result_backend(from_celery, config)
        if url != from_celery:
            raise ConfigError(
                f"{variable}={masked(variable, from_celery)} is read by Celery itself, "
                "as it is, so it cannot be rendered or pinned to a driver; write the "
                f"final URL in the variable, e.g. {masked(variable, url)}."
            )
        config.result_backend = protect("result_backend", url)
        return
    template = config._given.get("result_backend", config._environment.lookup("result_backend"))
    if template is None:
        url = build_result_backend(
            config.RESULT_DB_USER,
            config.RESULT_DB_PASS,
            config.RESULT_DB_HOST,
            config.RESULT_DB_PORT,
            config.RESULT_DB_NAME,
        )
    else:
        url = render_result_backend(template, _TemplateFields(config, config._given))
    config.result_backend = protect("result_backend", url)
