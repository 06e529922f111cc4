"""
The ``celery toolbox`` command: ``celery -A APP toolbox show|check|declare|provision-result-db``.

Celery loads :data:`toolbox` through the ``celery.commands`` entry point
(``cadasta.workertoolbox.cli:toolbox``). This module only imports it from :mod:`._commands`,
which wires click and imports each sub-command's module (:mod:`._show`, :mod:`._check`,
:mod:`._declare`, :mod:`._provision`) only when it runs, so that ``celery --help`` stays
fast; :mod:`._common` and :mod:`._queues` are what they share.

May import: the base modules, ``conformance``, ``config``, ``publish``, ``resultdb`` and
``startup``.
"""

from __future__ import annotations

from ._commands import toolbox

__all__ = ["toolbox"]
