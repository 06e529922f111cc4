"""A plain Celery app on kombu's memory transport, not configured with Config."""

from __future__ import annotations

from celery import Celery

app = Celery("plain", set_as_current=False)
app.conf.update(broker_url="memory://", result_backend="cache+memory://")
