"""Small Celery apps that ``celery -A tests.cli_apps.<module> toolbox …`` loads in tests."""
