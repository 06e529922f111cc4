"""
:func:`build_functional_tests`: the conformance suite a worker's tests run.

A worker's test module checks its Celery app against the architecture with::

    from cadasta.workertoolbox.tests import build_functional_tests

    from .celery import app

    FunctionalTests = build_functional_tests(app)

The checks live in :mod:`cadasta.workertoolbox._conformance`.
"""

from __future__ import annotations

from ._conformance import build_functional_tests

__all__ = ["build_functional_tests"]
