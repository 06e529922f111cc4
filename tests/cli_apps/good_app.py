"""
An app that follows the architecture, configured with Config from ``CELERY_*`` variables.

Nothing in it connects when it is loaded: its default result backend (PostgreSQL, built from
the ``RESULT_DB_*`` variables) is only named, which is what the conformance suite checks.
"""

from __future__ import annotations

from celery import Celery

from cadasta.workertoolbox.conf import Config

app = Celery("good", set_as_current=False)
app.config_from_object(Config(imports=()))


@app.task(name="export.render", shared=False)
def render(project_id: int) -> str:
    """Render a project: a task that reaches the ``export`` queue."""
    return f"rendered {project_id}"
