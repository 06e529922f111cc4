"""
What a process does once before it runs tasks, and the worker's hooks that do it.

:mod:`._setup` holds the steps behind :func:`cadasta.workertoolbox.setup.setup_app` (cap
``celery.chord_unlock`` retries, declare the exchange and every queue on the broker);
:mod:`._signals` the ``worker_init`` and ``celeryd_after_setup`` handlers that
:mod:`cadasta.workertoolbox.conf` connects when it is imported.

May import: the base modules only (``_chord_unlock``, ``exceptions``).
"""
