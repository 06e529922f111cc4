"""Tasks of the export and msg queues: each reaches a work queue of Config's defaults."""

from tests.task_modules.worker import current

app = current()


@app.task(name="export.render", shared=False)
def render(project_id: int) -> str:
    """Render a project."""
    return f"rendered {project_id}"


@app.task(name="msg.send", shared=False)
def send(address: str) -> str:
    """Send a message."""
    return f"sent to {address}"
