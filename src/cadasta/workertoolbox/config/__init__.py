"""
How a :class:`~cadasta.workertoolbox.conf.Config` is resolved, and what it applies.

:mod:`._config` holds the class, whose ``STEPS`` list what it does in order; each step lives
with its concern: the library's variables (:mod:`._variables`), keywords and 0.6 aliases
(:mod:`._keywords`), the environment (:mod:`._environment`; the variables Celery reads
itself, :mod:`._celery_environment`; every other variable, :mod:`._unclaimed`), the broker
(:mod:`._broker`), the result backend (:mod:`._result_backend`), the task settings with the
topology and the router (:mod:`._tasks`, :mod:`._topology`, :mod:`._routing`),
``AT_LEAST_ONCE`` (:mod:`._delivery_mode`) and the checks (:mod:`._validation`). Secrets are
wrapped and masked by :mod:`._secrets` and :mod:`._masking`; file logging (:mod:`._logging`)
and Sentry (:mod:`._sentry`, :mod:`._sentry_scrubbing`) are what a Config applies.

Nothing here is public: users import :mod:`cadasta.workertoolbox.conf`, which also
connects the worker's start-up handler. Importing this package does nothing.

May import: the base modules and ``publish`` (the transports' names).
"""
