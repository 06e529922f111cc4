"""An app that does not conform: its task ``report.build`` has no ``report`` queue."""

from __future__ import annotations

from celery import Celery

from cadasta.workertoolbox.conf import Config

app = Celery("broken", set_as_current=False)
app.config_from_object(Config(imports=()))


@app.task(name="report.build", shared=False)
def build(project_id: int) -> str:
    """Build a report: no worker would ever run it, since QUEUES has no ``report``."""
    return f"report {project_id}"
