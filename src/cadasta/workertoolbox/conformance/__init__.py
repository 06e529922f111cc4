"""
The conformance suite behind :func:`cadasta.workertoolbox.tests.build_functional_tests`.

:mod:`._suite` holds the checks (one test method per rule of the architecture) and the
survey they share; :mod:`._modules` imports an app's task modules as a starting worker
does; :mod:`._routing` asks the app's own router where Celery would publish a task, and
:mod:`._topology` which declared queues a message would reach. Nothing connects.

May import: the base modules, ``config``, ``publish`` (the delivery rules) and
``startup`` (the chord_unlock cap a worker applies).
"""
