"""
A demo of the architecture: ``python -m cadasta.workertoolbox.demo``.

It runs a real worker and an SQS endpoint on this machine (moto's server, from the
``local`` extra) and nothing else; see :func:`main`. Importing the package imports none
of that: the work is done by the private modules, on demand.

May import: the base modules, ``testing`` (the endpoint and the monitor reader),
``config``, ``resultdb`` and the public :mod:`cadasta.workertoolbox.conf`, through which it
builds its app as a user does.

.. versionadded:: 1.0
"""

from __future__ import annotations

from ._main import main

__all__ = ["main"]
