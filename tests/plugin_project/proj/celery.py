"""The worker project's app, configured as every worker of the architecture is."""

from celery import Celery

from cadasta.workertoolbox.conf import Config

app = Celery("proj")
app.config_from_object(Config(QUEUES=["export", "msg"], imports=("proj.tasks",)))
