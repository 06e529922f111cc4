"""
:func:`build_functional_tests`: the conformance suite a worker's tests run.

A worker's test module checks its Celery app against the architecture with::

    from cadasta.workertoolbox.tests import build_functional_tests

    from .celery import app

    FunctionalTests = build_functional_tests(app)

The checks live in :mod:`cadasta.workertoolbox.conformance`.
"""

from __future__ import annotations

from .conformance._suite import build_functional_tests

__all__ = ["build_functional_tests"]
