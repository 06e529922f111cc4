"""
The result database: Celery's tables, and a workers' role confined to them.

:mod:`._provision` holds :func:`~cadasta.workertoolbox.provisioning.provision_result_db`
(public through :mod:`cadasta.workertoolbox.provisioning`); :mod:`._roles` finds what an
existing role could reach; :mod:`._sql` quotes and runs SQL through SQLAlchemy and psycopg2,
which only this package imports.

May import: the base modules and ``config`` (secrets and masking).
"""
