"""The plugin's module costs nothing to load: pytest only, no boto3, moto or SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("boto3", "botocore", "moto", "sqlalchemy", "celery", "kombu")


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    """Importing the pytest11 target imports none of boto3, moto, SQLAlchemy, Celery."""
    code = (
        "import sys, json; import pytest; before = set(sys.modules);"
        "import cadasta.workertoolbox.testing.plugin;"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    added = json.loads(run.stdout)
    assert [name for name in added if name.split(".")[0] in HEAVY] == []


def test_the_plugin_only_imports_its_fixtures() -> None:
    """plugin.py re-exports every fixture of fixtures.py and defines nothing itself."""
    from cadasta.workertoolbox.testing import fixtures, plugin

    names = [name for name in fixtures.__all__ if name.startswith("toolbox_")]
    assert sorted(plugin.__all__) == sorted(names)
    assert all(getattr(plugin, name) is getattr(fixtures, name) for name in names)
