"""The task module of ``worker_app``: ``export.render`` reaches the ``export`` queue."""

from __future__ import annotations

from tests.cli_apps.worker_app import app


@app.task(name="export.render", shared=False)
def render(project_id: int) -> str:
    """Render a project."""
    return f"rendered {project_id}"
