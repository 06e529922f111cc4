"""
Reporting errors to Sentry, without the configuration's secrets nor the tasks' arguments.

With ``SETUP_SENTRY_LOGGING`` (true by default when ``SENTRY_DSN`` is set),
:class:`~cadasta.workertoolbox.conf.Config` calls :func:`init_sentry`: sentry-sdk reports
every task that fails and every record logged at ERROR and above. sentry-sdk is an
optional dependency (the ``sentry`` extra), imported only here and only then.

Frames are sent without their local variables (``SENTRY_INCLUDE_LOCAL_VARIABLES`` turns
them on): they held the result database's password (SQLAlchemy's and psycopg2's
connection arguments) and the arguments of the task that failed. Every event is scrubbed
by :class:`~._sentry_scrubbing.SecretScrubber` before it leaves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..exceptions import ConfigError
from ._secrets import Secret, secret_values
from ._sentry_scrubbing import SecretScrubber

if TYPE_CHECKING:
    from sentry_sdk.transport import Transport

    from ._config import Config

__all__ = ["init_sentry", "start_sentry"]

_MISSING_DSN = (
    "SETUP_SENTRY_LOGGING is true but SENTRY_DSN is not set. Set SENTRY_DSN (the "
    "environment variable CELERY_SENTRY_DSN by default) to the DSN of the Sentry "
    "project, or set SETUP_SENTRY_LOGGING to false."
)
_MISSING_SDK = (
    "SENTRY_DSN (or SETUP_SENTRY_LOGGING) is set but sentry-sdk is missing; install it "
    'with pip install "cadasta-workertoolbox[sentry]", or unset the variable.'
)


def init_sentry(
    dsn: str | None,
    name: str | None,
    environment: str | None,
    release: str | None,
    *,
    secrets: Iterable[str] = (),
    include_local_variables: bool = False,
    transport: Transport | None = None,
) -> None:
    """
    Initialise sentry-sdk with its Celery and logging integrations.

    Call it before the worker starts: the Celery integration hooks into the tasks as
    the worker prepares them. The DSN is never logged nor shown in an error, and no
    event carries it, nor any of *secrets*.

    Args:
        dsn: The DSN of the Sentry project (``SENTRY_DSN``).
        name: The name the process reports as (``SENTRY_NAME``); the host name when
            ``None``.
        environment: The environment reported (``SENTRY_ENVIRONMENT``); sentry-sdk's
            default when ``None``.
        release: The release reported (``SENTRY_RELEASE``); sentry-sdk's default when
            ``None``.
        secrets: Values masked wherever they appear in an event (the configuration's
            passwords, keys and tokens); the DSN and its key are always masked.
        include_local_variables: Send the local variables of each frame of a
            traceback (``SENTRY_INCLUDE_LOCAL_VARIABLES``). They can hold anything the
            code had at hand, a task's arguments included; the scrubber masks only the
            secrets it knows or recognises.
        transport: Where events go instead of the Sentry server: for tests, or for a
            process that ships its events another way.

    Raises:
        ConfigError: *dsn* is empty, or sentry-sdk is not installed; both are
            reported at once.

    """
    problems = [] if dsn else [_MISSING_DSN]
    try:
        import sentry_sdk
        from sentry_sdk.integrations.celery import CeleryIntegration
        from sentry_sdk.integrations.logging import LoggingIntegration
    except ImportError:
        raise ConfigError([*problems, _MISSING_SDK]) from None
    if not dsn:
        raise ConfigError(problems)
    scrubber = SecretScrubber([*secrets, *secret_values({"SENTRY_DSN": dsn})])
    sentry_sdk.init(
        # A Secret, so that sentry-sdk's own debug output shows it masked.
        dsn=Secret(dsn),
        server_name=name,
        environment=environment,
        release=release,
        # No trace headers: their "baggage" carries the DSN's public key, which would
        # travel with every HTTP request (to SQS…), and every task message, and be logged.
        integrations=[CeleryIntegration(propagate_traces=False), LoggingIntegration()],
        trace_propagation_targets=[],
        # Frame variables held the result database's password and the tasks' arguments.
        include_local_variables=include_local_variables,
        before_send=scrubber,
        before_send_transaction=scrubber,
        transport=transport,
    )


def start_sentry(config: Config) -> None:
    """Report errors to Sentry when the configuration's ``SETUP_SENTRY_LOGGING`` is on."""
    if config.SETUP_SENTRY_LOGGING:
        from ._variables import LIBRARY_VARIABLES

        # The library's defaults are public: masking 'cadasta' would hide module names.
        public = {value for value in LIBRARY_VARIABLES.values() if isinstance(value, str)}
        init_sentry(
            dsn=config.SENTRY_DSN,
            name=config.SENTRY_NAME,
            environment=config.SENTRY_ENVIRONMENT,
            release=config.SENTRY_RELEASE,
            secrets=secret_values(config) - public,
            include_local_variables=config.SENTRY_INCLUDE_LOCAL_VARIABLES,
        )
