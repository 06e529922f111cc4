"""A task module of ``worker_app`` with ``report.build``, which reaches no work queue."""

from __future__ import annotations

from tests.cli_apps.worker_app import app


@app.task(name="report.build", shared=False)
def build(project_id: int) -> str:
    """Build a report: no worker would ever run it, since QUEUES has no ``report``."""
    return f"report {project_id}"
