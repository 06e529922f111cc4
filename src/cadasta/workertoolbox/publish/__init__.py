"""
The send path on the broker: the library's kombu transports.

A :class:`~cadasta.workertoolbox.conf.Config` chooses, in ``broker_transport``, a
transport of this package in place of kombu's own for ``sqs``, ``memory`` and
``redis`` (:mod:`.transports` names them). Each is kombu's transport with one channel
method more: :meth:`~._fanout.FanOutChannel.basic_publish`, through which every
message of every app passes, whatever the app, its ``AMQP`` class or its task classes.
It

- refuses a task due later than the visibility timeout allows (:mod:`._delivery`);
- sends the platform monitor's copy first, then the work queue's, one call each, and
  retries a call that failed for a passing reason on its own (:mod:`._fanout`);
- raises :class:`~cadasta.workertoolbox.exceptions.PublishError` when a copy still
  could not be sent, naming the queues that hold the message and those that do not.

On SQS (:mod:`.sqs`) the monitor's copy also carries a deduplication id that is stable
for one message, so a retried call leaves one copy, and a message larger than a queue
accepts is refused before anything is sent; a worker also goes on polling a queue after
a poll failed on the server's side.

May import: the base modules only (``exceptions``, ``_env_prefix``). kombu's transport
modules (and with them boto3) are imported when kombu loads a transport; a
:class:`~cadasta.workertoolbox.conf.Config` imports only :mod:`.transports`, the names of
the transports and of the option it passes them.
"""
