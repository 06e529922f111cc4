"""A task module whose own import fails: it needs a module that is not installed."""

import tests.task_modules.not_installed  # type: ignore[import-not-found]  # noqa: F401
