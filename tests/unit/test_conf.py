"""
The public module ``conf``, 0.6's path to ``Config``: what it exports, what importing it does.

How a Config resolves each setting is tested with its step, under ``tests/unit/config``
(``test_config.py`` for the class itself).
"""

import subprocess
import sys

from cadasta.workertoolbox import conf
from cadasta.workertoolbox.config._config import Config
from cadasta.workertoolbox.config._variables import LIBRARY_VARIABLES


def test_conf_exports_the_config_class_and_the_variables() -> None:
    """``from cadasta.workertoolbox.conf import Config`` is the class config/ holds."""
    assert conf.Config is Config
    assert conf.LIBRARY_VARIABLES is LIBRARY_VARIABLES
    assert sorted(conf.__all__) == ["Config", "LIBRARY_VARIABLES"]


def test_importing_conf_connects_the_workers_hooks_and_importing_config_does_not() -> None:
    """A fresh process: worker_init and celeryd_after_setup get their handler from conf."""
    code = (
        "from celery import signals\n"
        "def ours(signal):\n"
        "    return [r for r in signal.receivers if 'cadasta' in str(r[0])]\n"
        "import cadasta.workertoolbox.config._config\n"
        "print(len(ours(signals.worker_init)), len(ours(signals.celeryd_after_setup)))\n"
        "import cadasta.workertoolbox.conf\n"
        "print(len(ours(signals.worker_init)), len(ours(signals.celeryd_after_setup)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split("\n")[:2] == ["0 0", "1 1"]
