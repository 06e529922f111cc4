"""
:class:`Config`: the diff between Celery's defaults and the architecture.

Importing this module also connects a ``worker_init`` handler that runs
:func:`~cadasta.workertoolbox.setup.setup_app` when a worker of an app configured with
a :class:`Config` starts, as version 0.6 did. What the library does on the send path
(the monitor's copy first, each copy once, tasks due too late refused) it does in the
transports a :class:`Config` chooses (:mod:`.publish`), not by patching anything.
"""

from __future__ import annotations

import pprint
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any

from celery import signals

from . import DEFAULT_QUEUES
from ._chord_unlock import CHORD_UNLOCK_TASK, DEFAULT_MAX_RETRIES, annotation
from ._delivery import (
    AT_LEAST_ONCE_DEFAULTS,
    AT_LEAST_ONCE_SETTINGS,
    ENV_PREFIX_OPTION,
    at_least_once_problems,
)
from ._environment import Environment, parse_value
from ._logging import DEFAULT_FILE_MODE
from ._result_backend import build_result_backend, render_result_backend
from ._routing import TaskRouter, check_message_group
from ._secrets import masked, protect, secret_values
from ._topology import DEFAULT_PLATFORM_QUEUE, Topology
from ._validation import (
    check_broker_url,
    check_exchange,
    check_library_variables,
    check_non_negative_int,
    check_platform_queue_name,
    check_queue_name_prefix,
    check_queue_names,
    check_transport_options,
)
from .exceptions import ConfigError
from .publish.transports import transport_alias, transport_for

__all__ = ["LIBRARY_VARIABLES", "Config"]

#: The library's own variables (UPPERCASE) and their defaults. ``ENV_PREFIX`` and
#: ``SETUP_SENTRY_LOGGING`` are resolved apart: the first decides how the others are
#: read, the second defaults to whether ``SENTRY_DSN`` is set.
LIBRARY_VARIABLES: Mapping[str, Any] = {
    "QUEUES": DEFAULT_QUEUES,
    "QUEUE_PREFIX": "dev",
    "PLATFORM_QUEUE_NAME": DEFAULT_PLATFORM_QUEUE,
    "RESULT_DB_USER": "worker",
    "RESULT_DB_PASS": "cadasta",
    "RESULT_DB_HOST": "localhost",
    "RESULT_DB_PORT": "5432",
    "RESULT_DB_NAME": "cadasta",
    "CHORD_UNLOCK_MAX_RETRIES": DEFAULT_MAX_RETRIES,
    "MONITOR_MESSAGE_GROUP": "default",
    "AT_LEAST_ONCE": False,
    "SETUP_FILE_LOGGING": False,
    "LOG_DIR": "logs",
    "LOG_FILE_MODE": DEFAULT_FILE_MODE,
    "SENTRY_DSN": None,
    "SENTRY_NAME": None,
    "SENTRY_ENVIRONMENT": None,
    "SENTRY_RELEASE": None,
    "SENTRY_INCLUDE_LOCAL_VARIABLES": False,
}

_DEFAULT_TRANSPORT_OPTIONS: Mapping[str, Any] = {
    "region": "us-west-2",
    # Long polling: one ReceiveMessage call waits up to 20 s (SQS's maximum) for work.
    "wait_time_seconds": 20,
    # But not at all when a worker without an event loop (gevent, eventlet) polls several
    # queues in turn: kombu's polling_interval (1 s) paces its rounds of short polls, so a
    # task waits about 1 s, not 20 s per other queue (publish/sqs.py).
    "turn_wait_time_seconds": 0,
    # A task held unacknowledged (countdown, ETA, retry) longer than this is delivered
    # again; one hour covers Celery's retry delays and countdowns of up to 30 minutes.
    "visibility_timeout": 3600,
    # Fail fast when the broker is unreachable instead of hanging a producer.
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
    # Try one copy of a task (the monitor's or the work queue's) again for up to this many
    # seconds after a passing failure, before the send fails (see publish/sqs.py).
    "publish_retry_seconds": 5,
}

_CELERY_TYPE_DEFAULTS: Mapping[str, Any] = {
    "bool": False,
    "int": 0,
    "float": 0.0,
    "tuple": (),
    "list": [],
    "dict": {},
}

#: Celery settings the configuration provides, with their defaults.
_TASK_DEFAULTS: Mapping[str, Any] = {
    "task_default_exchange": "task_exchange",
    "task_default_exchange_type": "topic",
    "task_track_started": True,
    "imports": ("app.tasks",),
    # Create the result tables on first use, not when the backend is built: a producer
    # must be able to send tasks while the result database is unreachable.
    "database_create_tables_at_setup": False,
    # Keep a result while the result database is down: Celery's database backend gives
    # up after 3 tries (about 0.1 s). 130 tries, each after a random pause of at most
    # 10 s (Celery's back-off), last about 10 minutes; then the result is lost.
    "result_backend_always_retry": True,
    "result_backend_max_retries": 130,
}

#: Lowercased names the configuration reads itself, never from the generic sweep.
_READ_EXPLICITLY = frozenset(
    {
        "env_prefix",
        "setup_sentry_logging",
        "broker_url",
        "broker_transport",
        "broker_transport_options",
        "result_backend",
        "task_queues",
        "task_routes",
        "task_annotations",
        *_TASK_DEFAULTS,
    }
)

#: Variables also read without the prefix, as version 0.6 and sentry-sdk read them.
_UNPREFIXED_FALLBACKS = frozenset(
    {"SENTRY_DSN", "SENTRY_NAME", "SENTRY_ENVIRONMENT", "SENTRY_RELEASE"}
)

#: Settings Celery reads from these environment variables itself, with precedence over
#: any configuration: the configuration follows the same rule so that it describes what
#: Celery will really use.
_READ_BY_CELERY: Mapping[str, str] = {
    "broker_url": "CELERY_BROKER_URL",
    "result_backend": "CELERY_RESULT_BACKEND",
}

#: Spellings of version 0.6 accepted as keywords: old name -> new name.
_ALIASES: Mapping[str, str] = {"queues": "QUEUES", "QUEUE_NAME_PREFIX": "QUEUE_PREFIX"}


@cache
def _celery_option_types() -> Mapping[str, str]:
    from celery.app.defaults import NAMESPACES, flatten

    return {name: option.type for name, option in flatten(NAMESPACES)}


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
    # The Celery settings the configuration itself reads back.
    task_default_exchange: str
    task_default_exchange_type: str

    def __init__(self, *, environ: Mapping[str, str] | None = None, **settings: Any) -> None:
        problems: list[str] = []
        # A subclass's class attributes are given like keywords, which beat them.
        self._given = {
            **self._class_settings(problems),
            **self._resolve_aliases(settings, problems),
        }
        prefix = self._given.get("ENV_PREFIX")
        if prefix is not None and not isinstance(prefix, str):
            problems.append(f"ENV_PREFIX={prefix!r} must be a string such as 'CELERY_'.")
            prefix = None
        self._environment = Environment(environ, prefix)
        self.ENV_PREFIX = self._environment.prefix

        def attempt(step: Callable[..., Any], *args: Any) -> bool:
            try:
                step(*args)
            except ConfigError as error:
                problems.extend(error.problems)
                return False
            return True

        for keyword, default in LIBRARY_VARIABLES.items():
            if not attempt(self.set, keyword, default):
                setattr(self, keyword, default)
        if not attempt(self.set, "SETUP_SENTRY_LOGGING", bool(self.SENTRY_DSN)):
            self.SETUP_SENTRY_LOGGING = False
        problems.extend(self._check_variables())
        attempt(self._set_broker)
        attempt(self._set_result_backend)
        attempt(self._set_task_defaults)
        attempt(self._set_delivery_mode)
        attempt(self._set_unclaimed_from_environment)
        for keyword, value in self._given.items():
            if keyword not in vars(self):
                setattr(self, keyword, protect(keyword, value))
        if problems:
            raise ConfigError(problems)
        self._apply_side_effects()

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
            fallback = keyword if keyword in _UNPREFIXED_FALLBACKS else None
            value = self._environment.get(keyword, default, fallback=fallback)
        else:
            value = default
        setattr(self, keyword, protect(keyword, value))
        return getattr(self, keyword)

    def to_dict(self) -> dict[str, Any]:
        """Return the Celery settings: the lowercase names and their values."""
        return {key: value for key, value in self.items() if key == key.lower()}

    # -- the mapping Celery reads -------------------------------------------------------

    @classmethod
    def _class_settings(cls, problems: list[str]) -> dict[str, Any]:
        """
        Return the settings and variables subclasses give as class attributes.

        A subclass's attributes override its bases', whatever their spelling.
        """
        found: dict[str, Any] = {}
        for klass in reversed(cls.__mro__[: cls.__mro__.index(Config)]):
            own = {
                key: value
                for key, value in vars(klass).items()
                if not key.startswith("_") and not callable(value) and not hasattr(value, "__get__")
            }
            found.update(cls._resolve_aliases(own, problems))
        return found

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

    # -- how each part is resolved ------------------------------------------------------

    @staticmethod
    def _resolve_aliases(settings: dict[str, Any], problems: list[str]) -> dict[str, Any]:
        given = dict(settings)
        for old, new in _ALIASES.items():
            if old in given:
                if new in given:
                    problems.append(
                        f"{old} and {new} name the same variable; give only {new}, not both "
                        f"({old}={given[old]!r}, {new}={given[new]!r})."
                    )
                given[new] = given.pop(old)
        return given

    @property
    def _queue_name_prefix(self) -> str:
        """
        The queue name prefix SQS will see.

        The ``queue_name_prefix`` transport option when it is given (and valid), else
        ``QUEUE_PREFIX`` and a dash.
        """
        option = self._given_queue_name_prefix()
        if option is not None and not check_queue_name_prefix(option):
            return option
        prefix = self.QUEUE_PREFIX
        return f"{prefix}-" if isinstance(prefix, str) and prefix else ""

    def _given_queue_name_prefix(self) -> str | None:
        """Return the ``queue_name_prefix`` transport option given, if it is a string."""
        options = self._given.get("broker_transport_options")
        if options is None:
            try:
                options = self._environment.get("broker_transport_options", {})
            except ConfigError:
                return None  # reported when the broker is set
        prefix = options.get("queue_name_prefix") if isinstance(options, Mapping) else None
        return prefix if isinstance(prefix, str) else None

    def _check_variables(self) -> list[str]:
        problems: list[str] = []
        queue_prefix: object = self.QUEUE_PREFIX
        if not isinstance(queue_prefix, str):
            problems.append(f"QUEUE_PREFIX={queue_prefix!r} must be a string such as 'dev'.")
        names, queue_problems = check_queue_names(self.QUEUES, "QUEUES", self._queue_name_prefix)
        problems += queue_problems
        # Only the valid names, so that the topology can be built whatever was given.
        self.QUEUES = list(names)
        problems += check_platform_queue_name(
            self.PLATFORM_QUEUE_NAME, self._queue_name_prefix, names
        )
        problems += check_non_negative_int(
            self.CHORD_UNLOCK_MAX_RETRIES, "CHORD_UNLOCK_MAX_RETRIES"
        )
        problems += check_library_variables(self)
        group_problems = check_message_group(self.MONITOR_MESSAGE_GROUP)
        if group_problems:
            problems += group_problems
            # A valid value, so that the router can be built whatever was given.
            self.MONITOR_MESSAGE_GROUP = LIBRARY_VARIABLES["MONITOR_MESSAGE_GROUP"]
        return problems

    def _read_by_celery(self, setting: str) -> str | None:
        """
        Return the environment value Celery itself would give *setting* precedence to.

        Celery reads an empty value as unset (``os.environ.get(...) or ...``), and so
        does the configuration.
        """
        return self._environment.raw(_READ_BY_CELERY[setting]) or None

    def _set_broker(self) -> None:
        url = self._read_by_celery("broker_url")
        source = _READ_BY_CELERY["broker_url"]
        if url is None:
            in_keyword = "broker_url" in self._given
            url = self._given.get("broker_url", self._environment.lookup("broker_url"))
            source = "broker_url" if in_keyword else self._environment.variable("broker_url")
        url_problems = check_broker_url(url, source)
        if url_problems:
            raise ConfigError(url_problems)
        if url is not None:
            self.broker_url = protect("broker_url", url)
        scheme = str(url).split("://", 1)[0].lower() if url else "sqs"
        transport = self.set("broker_transport", "sqs" if scheme == "sqs" else None)
        if transport is not None and transport_alias(transport) != scheme and url:
            raise ConfigError(
                f"broker_transport={transport!r} contradicts broker_url, whose scheme is "
                f"{scheme!r}; Celery would use {transport!r} and ignore the URL's scheme. "
                "Remove broker_transport, or make the two agree."
            )
        # The library's own transport in place of kombu's, where it has one (see publish/).
        chosen = transport_alias(transport) if transport is not None else scheme
        # A transport class of the user's own is kept as it is.
        ours = transport_for(chosen) if transport is None or isinstance(transport, str) else None
        if ours is not None:
            self.broker_transport = ours
        elif transport is None:
            delattr(self, "broker_transport")
        given = self.set("broker_transport_options", {})
        problems = check_transport_options(given, chosen)
        if problems:
            raise ConfigError(problems)
        options = {
            **_DEFAULT_TRANSPORT_OPTIONS,
            "queue_name_prefix": self._queue_name_prefix,
            **given,
        }
        prefix = options["queue_name_prefix"]
        if isinstance(prefix, str) and prefix != self._queue_name_prefix:
            # The queue names were checked with QUEUE_PREFIX: SQS would refuse this one.
            raise ConfigError(check_queue_name_prefix(prefix))
        if self.ENV_PREFIX != "CELERY_":
            options[ENV_PREFIX_OPTION] = self.ENV_PREFIX
        self.broker_transport_options = protect("broker_transport_options", options)

    def _set_result_backend(self) -> None:
        variable = _READ_BY_CELERY["result_backend"]
        from_celery = self._read_by_celery("result_backend")
        if from_celery is not None:
            url = render_result_backend(from_celery, self)
            if url != from_celery:
                raise ConfigError(
                    f"{variable}={masked(variable, from_celery)} is read by Celery itself, "
                    "as it is, so it cannot be rendered or pinned to a driver; write the "
                    f"final URL in the variable, e.g. {masked(variable, url)}."
                )
            self.result_backend = protect("result_backend", url)
            return
        template = self._given.get("result_backend", self._environment.lookup("result_backend"))
        if template is None:
            url = build_result_backend(
                self.RESULT_DB_USER,
                self.RESULT_DB_PASS,
                self.RESULT_DB_HOST,
                self.RESULT_DB_PORT,
                self.RESULT_DB_NAME,
            )
        else:
            url = render_result_backend(template, _TemplateFields(self, self._given))
        self.result_backend = protect("result_backend", url)

    def _set_task_defaults(self) -> None:
        problems: list[str] = []
        for keyword, default in _TASK_DEFAULTS.items():
            try:
                self.set(keyword, default)
            except ConfigError as error:
                problems.extend(error.problems)
                setattr(self, keyword, default)
        if self.SETUP_FILE_LOGGING:
            self.set("worker_hijack_root_logger", False)
        exchange_problems = check_exchange(
            self.task_default_exchange, self.task_default_exchange_type, self.ENV_PREFIX
        )
        if exchange_problems:
            problems += exchange_problems
            # Valid values, so that the topology can be built whatever was given.
            self.task_default_exchange = _TASK_DEFAULTS["task_default_exchange"]
            self.task_default_exchange_type = _TASK_DEFAULTS["task_default_exchange_type"]
        topology = Topology.build(
            self.QUEUES,
            self.PLATFORM_QUEUE_NAME,
            self.task_default_exchange,
            self.task_default_exchange_type,
        )
        self.set("task_queues", topology.task_queues, from_env=False)
        router = TaskRouter(topology, self.MONITOR_MESSAGE_GROUP)
        self.set("task_routes", (router,), from_env=False)
        try:
            self.task_annotations = self._annotations()
        except ConfigError as error:
            problems.extend(error.problems)
        if problems:
            raise ConfigError(problems)

    def _set_delivery_mode(self) -> None:
        """Set the Celery settings ``AT_LEAST_ONCE`` implies (see :mod:`._delivery`)."""
        problems: list[str] = []
        if self.AT_LEAST_ONCE is True:
            for setting, value in {**AT_LEAST_ONCE_SETTINGS, **AT_LEAST_ONCE_DEFAULTS}.items():
                try:
                    self.set(setting, value)
                except ConfigError as error:
                    problems.extend(error.problems)
                    setattr(self, setting, value)
        problems += at_least_once_problems(self.AT_LEAST_ONCE, self)
        if problems:
            raise ConfigError(problems)

    def _annotations(self) -> Any:
        cap = annotation(self.CHORD_UNLOCK_MAX_RETRIES)
        given = self._given.get("task_annotations")
        if given is None:
            return {CHORD_UNLOCK_TASK: cap}
        if isinstance(given, Mapping):
            own = given.get(CHORD_UNLOCK_TASK, {})
            if not isinstance(own, Mapping):
                raise ConfigError(
                    f"task_annotations[{CHORD_UNLOCK_TASK!r}]={own!r} must be a dict of task "
                    "attributes, e.g. {'max_retries': 100}; it is merged over the cap."
                )
            return {**given, CHORD_UNLOCK_TASK: {**cap, **own}}
        given_list = list(given) if isinstance(given, (list, tuple)) else [given]
        return ({CHORD_UNLOCK_TASK: cap}, *given_list)

    def _set_unclaimed_from_environment(self) -> None:
        claimed = {key.lower() for key in (*vars(self), *self._given, *LIBRARY_VARIABLES)}
        claimed |= _READ_EXPLICITLY
        # Never an attribute of the class: CELERY_ITEMS must not hide Config.items.
        claimed |= {name.lower() for name in dir(Config)}
        types = _celery_option_types()
        problems: list[str] = []
        for variable, setting, raw in self._environment.unclaimed(claimed):
            default = _CELERY_TYPE_DEFAULTS.get(types.get(setting, "string"))
            try:
                value = parse_value(variable, raw, default)
            except ConfigError as error:
                problems.extend(error.problems)
            else:
                setattr(self, setting, protect(setting, value))
        if problems:
            raise ConfigError(problems)

    def _apply_side_effects(self) -> None:
        if self.SETUP_FILE_LOGGING:
            from ._logging import configure_file_logging

            configure_file_logging(self.LOG_DIR, self.LOG_FILE_MODE)
        if self.SETUP_SENTRY_LOGGING:
            from ._sentry import init_sentry

            # The library's defaults are public: masking 'cadasta' would hide module names.
            public = {value for value in LIBRARY_VARIABLES.values() if isinstance(value, str)}
            init_sentry(
                dsn=self.SENTRY_DSN,
                name=self.SENTRY_NAME,
                environment=self.SENTRY_ENVIRONMENT,
                release=self.SENTRY_RELEASE,
                secrets=secret_values(self) - public,
                include_local_variables=self.SENTRY_INCLUDE_LOCAL_VARIABLES,
            )


def _set_up_worker(sender: Any = None, **kwargs: Any) -> None:
    """Set up the app of a starting worker, if a :class:`Config` configured it."""
    from .setup import is_configured_by_toolbox, setup_app

    app = getattr(sender, "app", None)
    if app is not None and is_configured_by_toolbox(app):
        setup_app(app, throw=False)


def _report_setup_failures(sender: Any = None, instance: Any = None, **kwargs: Any) -> None:
    """Log again, once the worker's logging is set up, what failed at ``worker_init``."""
    from .setup import report_setup_failures

    app = getattr(instance, "app", None)
    if app is not None:
        report_setup_failures(app)


signals.worker_init.connect(
    _set_up_worker, weak=False, dispatch_uid="cadasta.workertoolbox.setup_worker"
)
# Celery sends worker_init before it sets up the worker's logging (--logfile…), so a
# failure logged then reaches only stderr; celeryd_after_setup comes after logging.
signals.celeryd_after_setup.connect(
    _report_setup_failures, weak=False, dispatch_uid="cadasta.workertoolbox.report_setup"
)
