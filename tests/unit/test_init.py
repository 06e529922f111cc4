import importlib
import importlib.metadata
import subprocess
import sys

import pytest

import cadasta.workertoolbox as package
from cadasta.workertoolbox import DEFAULT_QUEUES, __version__
from cadasta.workertoolbox.config._validation import check_queue_names

#: Names re-exported lazily, and the module of each.
LAZY = sorted(package._LAZY.items())


def _run(code: str) -> str:
    """Run *code* in a fresh interpreter and return what it prints."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_version_is_the_distribution_version() -> None:
    """__version__ is the version the installed distribution declares."""
    assert __version__ == importlib.metadata.version("cadasta-workertoolbox")


def test_all_is_sorted_and_every_name_exists() -> None:
    """__all__ is sorted, and every name in it can be imported from the package."""
    assert package.__all__ == sorted(package.__all__)
    assert {"DEFAULT_QUEUES", "__version__"} <= set(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_default_queues_are_valid_work_queues() -> None:
    """DEFAULT_QUEUES is an immutable tuple of names every check accepts."""
    assert isinstance(DEFAULT_QUEUES, tuple)
    assert DEFAULT_QUEUES == ("export", "msg")
    assert check_queue_names(DEFAULT_QUEUES, "QUEUES", "dev-") == (DEFAULT_QUEUES, [])


@pytest.mark.parametrize("heavy", ["celery", "kombu", "sqlalchemy"])
def test_import_is_cheap(heavy: str) -> None:
    """Importing the package imports neither Celery, kombu nor SQLAlchemy."""
    assert _run(f"import sys, cadasta.workertoolbox; print({heavy!r} in sys.modules)") == "False"


@pytest.mark.parametrize(("name", "module"), LAZY)
def test_lazy_names_are_imported_on_first_use(name: str, module: str) -> None:
    """A lazily re-exported name imports its module only when it is first used."""
    code = (
        "import sys, cadasta.workertoolbox as p\n"
        f"print(p.__name__ + '.{module}' in sys.modules)\n"
        f"getattr(p, {name!r})\n"
        f"print(p.__name__ + '.{module}' in sys.modules)"
    )
    assert _run(code).split() == ["False", "True"]


@pytest.mark.parametrize(("name", "module"), LAZY)
def test_lazy_names_are_their_modules_names(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str
) -> None:
    """A lazy name is the object its module defines, kept once looked up."""
    monkeypatch.delitem(vars(package), name, raising=False)
    value = getattr(package, name)
    assert value is getattr(importlib.import_module(f"cadasta.workertoolbox.{module}"), name)
    assert vars(package)[name] is value
    assert name in dir(package)


def test_unknown_names_raise_attribute_error() -> None:
    """A name the package does not have raises AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="has no attribute 'Nonexistent'"):
        package.Nonexistent  # noqa: B018 - the look-up is what is tested
    assert not hasattr(package, "setup_app")
