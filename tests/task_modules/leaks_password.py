"""A task module that connects while it is imported, and fails with the URL in its error."""

from tests.task_modules import SECRET

raise RuntimeError(f"could not connect to postgresql://worker:{SECRET}@db:5432/results")
