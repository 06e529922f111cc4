import pprint

import pytest

from cadasta.workertoolbox.config._secrets import (
    MASK,
    Secret,
    SecretURL,
    masked,
    protect,
    secret_values,
)


def test_secret_is_the_string_but_its_repr_is_masked() -> None:
    """A Secret compares, formats and concatenates as its text; only repr masks it."""
    secret = Secret("hunter2")
    assert secret == "hunter2"
    assert f"{secret}" == "hunter2"
    assert str(secret) == "hunter2"
    assert repr(secret) == repr(MASK)
    assert "hunter2" not in pprint.pformat({"password": secret})


def test_secret_url_masks_only_the_password() -> None:
    """A SecretURL is the URL; its repr shows everything but the password."""
    url = SecretURL("amqp://user:hunter2@broker:5672//")
    assert url == "amqp://user:hunter2@broker:5672//"
    assert repr(url) == repr(f"amqp://user:{MASK}@broker:5672//")


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("RESULT_DB_PASS", "hunter2", repr(MASK)),
        ("SENTRY_DSN", None, "None"),
        ("broker_url", "amqp://u:hunter2@h//", repr(f"amqp://u:{MASK}@h//")),
        ("result_backend", "db+sqlite:///results.db", repr("db+sqlite:///results.db")),
        ("broker_url", 5, "5"),
        ("region", "us-west-2", repr("us-west-2")),
        (
            "result_backend",
            "redis://h:6379/0?password=hunter2",
            repr(f"redis://h:6379/0?password={MASK}"),
        ),
        ("broker_ur", "sqs://AKIA:hunter2@h", repr(f"sqs://AKIA:{MASK}@h")),
        ("result_backen", "db+postgresql://u:p/w@h/d", repr(f"db+postgresql://u:{MASK}@h/d")),
        ("my_options", {"token": "hunter2"}, repr({"token": MASK})),
        ("QUEUES", ["export"], repr(["export"])),
    ],
)
def test_masked(name: str, value: object, shown: str) -> None:
    """
    masked() shows a value as it may appear for its setting: secrets masked.

    Whatever the name (a misspelt CELERY_BROKER_UR), a URL loses its password and its
    secret query parameters, and a quoted secret-named key its value.
    """
    assert masked(name, value) == shown


def test_protect_wraps_strings_by_their_name() -> None:
    """Secrets become Secret, URLs SecretURL, anything else stays as it is."""
    assert type(protect("RESULT_DB_PASS", "pw")) is Secret
    assert type(protect("broker_url", "amqp://u:pw@h//")) is SecretURL
    assert type(protect("result_backend", "cache+memory://")) is SecretURL
    assert type(protect("region", "us-west-2")) is str
    assert protect("RESULT_DB_PASS", 1234) == 1234


def test_protect_keeps_protected_values() -> None:
    """An already protected value is returned as it is."""
    secret = Secret("pw")
    url = SecretURL("amqp://u:pw@h//")
    assert protect("broker_url", secret) is secret
    assert protect("password", url) is url


def test_protect_walks_dicts_by_their_keys() -> None:
    """The values of a dict, nested or not, are protected by their own keys."""
    options = protect(
        "broker_transport_options",
        {
            "region": "us-west-2",
            "predefined_queues": {
                "export": {
                    "url": "https://user:pw@sqs.example/export",
                    "access_key_id": "AKIAEXAMPLE",
                    "secret_access_key": "s3cr3t",
                }
            },
            1: "one",
        },
    )
    assert isinstance(options, dict)
    shown = repr(options)
    for secret in ("pw@", "AKIAEXAMPLE", "s3cr3t"):
        assert secret not in shown
    assert "'us-west-2'" in shown
    assert options["predefined_queues"]["export"]["secret_access_key"] == "s3cr3t"
    assert options[1] == "one"


def test_an_unset_secret_is_shown_as_none() -> None:
    """A secret that is not set shows as None, not as a mask that suggests a value."""
    assert masked("SENTRY_DSN", None) == "None"


def test_secret_values_finds_every_secret_of_a_configuration() -> None:
    """
    Secret-named values, URL passwords and secret query parameters, a DSN's key.

    In dicts and lists too; escaped URL parts are also given unescaped; short values
    and everything else are left out.
    """
    found = secret_values(
        {
            "RESULT_DB_PASS": "db-pass",
            "broker_url": "sqs://AKIA:aws%2Fsecret@h/?sts_token=tok-123&region=eu",
            "result_backend": "db+postgresql+psycopg2://worker:db-pass@h/cadasta",
            "SENTRY_DSN": "https://dsn-key@o1.ingest.example/2",
            "broker_transport_options": {
                "predefined_queues": {"q": {"secret_access_key": "qsecret", "url": "https://x/q"}},
                "region": "us-west-2",
            },
            "some_list": ["redis://:list-pass@h/0", 5],
            "SHORT_PASS": "abc",
            "QUEUES": ["export"],
            "CHORD_UNLOCK_MAX_RETRIES": 3,
        }
    )
    assert found == {
        "db-pass",
        "aws%2Fsecret",
        "aws/secret",
        "tok-123",
        "https://dsn-key@o1.ingest.example/2",
        "dsn-key",
        "qsecret",
        "list-pass",
    }
