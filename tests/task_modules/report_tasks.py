"""A task of a queue no app here declares: ``report.build`` reaches no work queue."""

from tests.task_modules.worker import current

app = current()


@app.task(name="report.build", shared=False)
def build(project_id: int) -> str:
    """Build a report: no worker would ever run it, since QUEUES has no ``report``."""
    return f"report {project_id}"
