"""
The checks of the conformance suite, written down apart from the library.

The tests compare what the suite and ``celery toolbox check`` report with this list, so
that a check added, renamed or lost shows as a failure.
"""

#: Every check of the suite, by test method name.
CHECKS = frozenset(
    {
        "test_celery_routing_key_reaches_celery_queue",
        "test_chord_unlock_reaches_celery_queue",
        "test_chord_unlock_retries_are_capped",
        "test_default_exchange_is_topic",
        "test_default_queue_is_celery",
        "test_each_work_queue_receives_its_tasks",
        "test_every_task_reaches_a_work_queue",
        "test_platform_queue_receives_every_task",
        "test_result_backend_is_database",
        "test_retry_delays_fit_the_visibility_timeout",
        "test_task_modules_import",
        "test_task_track_started",
    }
)
