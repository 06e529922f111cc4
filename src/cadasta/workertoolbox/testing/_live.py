"""
Real mode: the user's app pointed at a test's SQS endpoint and result store, then put back.

:func:`pointed_at` changes four settings of the app for the block, in ``app.conf``'s
layer of changes (which wins over the :class:`~cadasta.workertoolbox.conf.Config` the app
was configured with): ``broker_url`` (the endpoint), ``broker_transport`` (the library's
SQS transport), ``broker_transport_options`` (the app's own, with a queue name prefix of
the test's) and ``result_backend``. What the app built from the old settings (its
connection and producer pools, its result backend) is dropped before and after, so that
nothing of the test outlives it and nothing of before reaches it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = ["LiveSettings", "pointed_at", "unique_queue_prefix"]

#: The settings :func:`pointed_at` changes.
LiveSettings = Mapping[str, Any]

_SQS_TRANSPORT = "cadasta.workertoolbox.publish.sqs:Transport"
#: Where the settings the app is pointed at are kept, for a worker in a subprocess.
_POINTED = "_cadasta_live_settings"


def unique_queue_prefix() -> str:
    """A queue name prefix of one test's own: ``t`` and ten hexadecimal digits, then ``-``."""
    return f"t{uuid.uuid4().hex[:10]}-"


def live_settings(
    app: Any,
    broker_url: str,
    queue_prefix: str,
    result_backend: str,
    transport_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the settings that point *app* at the endpoint and the result store."""
    options = {
        **(app.conf.broker_transport_options or {}),
        **(transport_options or {}),
        "queue_name_prefix": queue_prefix,
    }
    return {
        "broker_url": broker_url,
        "broker_transport": _SQS_TRANSPORT,
        "broker_transport_options": options,
        "result_backend": result_backend,
    }


def _drop_built_state(app: Any) -> None:
    """Close and forget the pools and the result backend *app* built from its settings."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    backend = app._backend
    if backend is not None:
        app._backend_cache = None
        vars(app._local).pop("backend", None)
        # Celery's database backend keeps its engines (and their connections) itself.
        manager = getattr(backend, "session_manager", None)
        for engine in list(getattr(manager, "_engines", {}).values()):
            engine.dispose()


@contextmanager
def pointed_at(app: Any, settings: LiveSettings) -> Iterator[Any]:
    """
    Point *app* at the endpoint and the result store of *settings* during the block.

    The settings *app* had in its layer of changes, and whether it was set up, are put
    back afterwards.

    Raises:
        RuntimeError: *app* is already pointed at a test's endpoint.

    """
    if getattr(app, _POINTED, None) is not None:
        raise RuntimeError(
            f"app {app.main!r} is already pointed at a test's SQS endpoint: use one "
            "toolbox_live_app per test (toolbox_worker and toolbox_monitor use the same one)"
        )
    conf = app.conf
    changes = conf.changes
    saved = {key: changes[key] for key in settings if key in changes}
    was_set_up = app.__dict__.get("is_set_up")
    _drop_built_state(app)
    conf.update(settings)
    setattr(app, _POINTED, dict(settings))
    try:
        yield app
    finally:
        delattr(app, _POINTED)
        _drop_built_state(app)
        for key in settings:
            changes.pop(key, None)
        changes.update(saved)
        if was_set_up is None:
            app.__dict__.pop("is_set_up", None)
        else:
            app.is_set_up = was_set_up


def settings_of(app: Any) -> dict[str, Any] | None:
    """Return the settings *app* is pointed at, or ``None``."""
    found: dict[str, Any] | None = getattr(app, _POINTED, None)
    return found
