"""
:class:`Config`: the diff between Celery's defaults and the architecture.

A :class:`Config` resolves itself in steps (:data:`STEPS`), each living with its concern
in this package, then applies what it must to the process (:data:`EFFECTS`). What the
library does on the send path (the monitor's copy first, each copy once, tasks due too
late refused) it does in the transports a :class:`Config` chooses
(:mod:`cadasta.workertoolbox.publish`), not by patching anything. Importing this module
connects nothing: :mod:`cadasta.workertoolbox.conf` connects the worker's handlers.
"""

from __future__ import annotations

import pprint
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..exceptions import ConfigError
from ._broker import set_broker
from ._delivery_mode import set_delivery_mode
from ._environment import UNPREFIXED_FALLBACKS, read_environment
from ._keywords import given_settings, set_other_keywords
from ._logging import start_file_logging
from ._result_backend import set_result_backend
from ._secrets import protect
from ._sentry import start_sentry
from ._tasks import set_task_settings
from ._unclaimed import set_unclaimed_settings
from ._variables import check_variables, set_library_variables

__all__ = ["EFFECTS", "STEPS", "Config"]


class Config(Mapping[str, Any]):
    """
    The settings a Celery app needs to follow the architecture.

    Pass it to ``app.config_from_object``. Lowercase names are Celery settings,
    UPPERCASE names the library's variables; each comes from its keyword, else from
    the environment variable ``{ENV_PREFIX}{NAME}`` (``CELERY_RESULT_DB_PASS``…), else
    from its default. Any other ``{ENV_PREFIX}NAME`` variable becomes the Celery setting
    ``name``, parsed to the type Celery gives it.

    A :class:`Config` is a read-only mapping of those names: Celery sees exactly the
    settings and variables, and ``repr`` masks every secret.

    Args:
        environ: The environment to read; ``os.environ`` when omitted.
        **settings: Celery settings and library variables. ``queues`` is accepted for
            ``QUEUES``.

    Raises:
        ConfigError: Listing every problem found.

    .. versionadded:: 1.0
       Reading from a mapping given as *environ*; errors as :class:`ConfigError`.

    """

    # The library's variables, set on every instance (see LIBRARY_VARIABLES).
    ENV_PREFIX: str
    QUEUES: list[str]
    QUEUE_PREFIX: str
    PLATFORM_QUEUE_NAME: str
    RESULT_DB_USER: str
    RESULT_DB_PASS: str
    RESULT_DB_HOST: str
    RESULT_DB_PORT: str
    RESULT_DB_NAME: str
    CHORD_UNLOCK_MAX_RETRIES: int
    MONITOR_MESSAGE_GROUP: str
    AT_LEAST_ONCE: bool
    SETUP_FILE_LOGGING: bool
    LOG_DIR: str
    LOG_FILE_MODE: int
    SENTRY_DSN: str | None
    SENTRY_NAME: str | None
    SENTRY_ENVIRONMENT: str | None
    SENTRY_RELEASE: str | None
    SENTRY_INCLUDE_LOCAL_VARIABLES: bool
    SETUP_SENTRY_LOGGING: bool
    # The Celery settings the configuration itself reads back, or its steps set.
    task_default_exchange: str
    task_default_exchange_type: str
    broker_url: Any
    broker_transport: Any
    broker_transport_options: Any
    result_backend: Any
    task_annotations: Any

    def __init__(self, *, environ: Mapping[str, str] | None = None, **settings: Any) -> None:
        problems: list[str] = []
        # A subclass's class attributes are given like keywords, which beat them.
        self._given = given_settings(type(self), Config, settings, problems)
        self._environment = read_environment(environ, self._given.get("ENV_PREFIX"), problems)
        self.ENV_PREFIX = self._environment.prefix
        for step in STEPS:
            try:
                step(self)
            except ConfigError as error:
                problems.extend(error.problems)
        if problems:
            raise ConfigError(problems)
        for effect in EFFECTS:
            effect(self)

    # -- the 0.6 API --------------------------------------------------------------------

    def set(self, keyword: str, default: Any, from_env: bool = True) -> Any:
        """
        Set *keyword* from its keyword, else its environment variable, else *default*.

        The variable is ``{ENV_PREFIX}{KEYWORD}``; when *default* is not a string (nor
        ``None``), its text is parsed with :func:`ast.literal_eval` to the default's type.

        Returns:
            The value set.

        Raises:
            ConfigError: The environment variable does not parse.

        """
        if keyword in self._given:
            value = self._given[keyword]
        elif from_env:
            fallback = keyword if keyword in UNPREFIXED_FALLBACKS else None
            value = self._environment.get(keyword, default, fallback=fallback)
        else:
            value = default
        setattr(self, keyword, protect(keyword, value))
        return getattr(self, keyword)

    def to_dict(self) -> dict[str, Any]:
        """Return the Celery settings: the lowercase names and their values."""
        return {key: value for key, value in self.items() if key == key.lower()}

    # -- the mapping Celery reads -------------------------------------------------------

    def _public(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __getitem__(self, key: str) -> Any:
        # Celery's app.conf looks settings up here on every read (send_task reads about
        # fifteen): one dictionary look-up, not a copy of the public names each time.
        if not isinstance(key, str) or key.startswith("_"):
            raise KeyError(key)
        return vars(self)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._public())

    def __len__(self) -> int:
        return len(self._public())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({pprint.pformat(self._public())})"


#: What a Config does to resolve itself, in order. Each step sets attributes on the config
#: and raises one ConfigError listing the problems it found; the next step still runs.
STEPS: Sequence[Callable[[Config], None]] = (
    set_library_variables,  # the UPPERCASE variables: keyword, else {ENV_PREFIX}NAME, else default
    check_variables,  # queue names, the monitor's message group, CHORD_UNLOCK_MAX_RETRIES…
    set_broker,  # broker_url, broker_transport (the library's), broker_transport_options
    set_result_backend,  # result_backend: CELERY_RESULT_BACKEND, a template, or RESULT_DB_*
    set_task_settings,  # task defaults, task_queues, task_routes, task_annotations
    set_delivery_mode,  # AT_LEAST_ONCE
    set_unclaimed_settings,  # any other {ENV_PREFIX}NAME variable, parsed to Celery's type
    set_other_keywords,  # keywords that are neither: kept as attributes, as 0.6 did
)
#: What a Config then does to the process, once it resolved without a problem.
EFFECTS: Sequence[Callable[[Config], None]] = (start_file_logging, start_sentry)
