"""Keywords a Config is given (config/_keywords.py): a subclass's class attributes among them."""

from collections.abc import Callable

from cadasta.workertoolbox.conf import Config
from cadasta.workertoolbox.publish.transports import TRANSPORTS

MakeConfig = Callable[..., Config]
DEFAULT_BACKEND = "db+postgresql+psycopg2://worker:cadasta@localhost:5432/cadasta"


class _SubConfig(Config):
    QUEUES = ["report"]  # noqa: RUF012 - a 0.6-style configuration subclass
    broker_url = "memory://"
    task_acks_late = True
    RESULT_DB_PASS = "classpw"

    def helper(self) -> str:
        """Return something; methods are not settings."""
        return "helper"

    @property
    def computed(self) -> str:
        """Return something; properties are not settings."""
        return "computed"


class _SubSubConfig(_SubConfig):
    queues = ["render"]  # noqa: RUF012 - the 1.0 spelling overrides the base's QUEUES


def test_subclass_with_class_attributes(make_config: MakeConfig) -> None:
    """Class attributes of a subclass are given like keywords: they beat the environment."""
    config = _SubConfig(environ={"CELERY_QUEUES": "['env']", "CELERY_TASK_ACKS_LATE": "no"})
    assert config.QUEUES == ["report"]
    assert [q.name for q in config["task_queues"]] == ["celery", "platform.fifo", "report"]
    assert config["broker_url"] == "memory://"
    assert config["broker_transport"] == TRANSPORTS["memory"]
    assert config["task_acks_late"] is True
    assert config["result_backend"] == DEFAULT_BACKEND.replace(":cadasta@", ":classpw@")
    assert "helper" not in config
    assert "computed" not in config
    assert repr(config).startswith("_SubConfig({")
    assert "classpw" not in repr(config)


def test_subclass_keywords_beat_class_attributes() -> None:
    """A keyword beats the class attribute of the same name."""
    assert _SubConfig(environ={}, queues=["kw"]).QUEUES == ["kw"]


def test_subclass_of_subclass() -> None:
    """A subclass's attribute overrides its base's, whatever the spelling."""
    config = _SubSubConfig(environ={})
    assert config.QUEUES == ["render"]
    assert "queues" not in config
    assert config["task_acks_late"] is True
