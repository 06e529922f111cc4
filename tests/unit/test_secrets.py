import pprint

import pytest

from cadasta.workertoolbox._secrets import (
    MASK,
    Secret,
    SecretURL,
    looks_secret,
    mask_url,
    masked,
    protect,
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
    ("url", "shown"),
    [
        ("amqp://user:pw@host//", f"amqp://user:{MASK}@host//"),
        ("redis://:pw@host:6379/0", f"redis://:{MASK}@host:6379/0"),
        ("sqs://AKIAEXAMPLE:secret%2Fkey@", f"sqs://AKIAEXAMPLE:{MASK}@"),
        ("amqp://user:p@ss@host//", f"amqp://user:{MASK}@host//"),
        (
            "db+postgresql+psycopg2://worker:pa%40ss@db:5432/cadasta?sslmode=require",
            f"db+postgresql+psycopg2://worker:{MASK}@db:5432/cadasta?sslmode=require",
        ),
        ("redis://host:6379/0?tag=a@b", f"redis://host:{MASK}@b"),
        ("amqp://user@host//", "amqp://user@host//"),
        ("memory://", "memory://"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    """
    mask_url replaces the password; a URL without one is unchanged.

    When in doubt (an '@' in the query) it masks more than the password, never less.
    """
    assert mask_url(url) == shown


@pytest.mark.parametrize("password", ["pa/ss", "pa#ss", "pa?ss", "p@ss/word"])
def test_mask_url_masks_unescaped_passwords(password: str) -> None:
    """A password with an unescaped '/', '?' or '#', which urlsplit misses, is masked too."""
    assert mask_url(f"amqp://user:{password}@host//") == f"amqp://user:{MASK}@host//"


@pytest.mark.parametrize(
    "url", ["http://host/path@v2", "redis://host:6379/0", "user:pa/ss@host", "sqs://"]
)
def test_mask_url_leaves_urls_without_userinfo(url: str) -> None:
    """An '@' with no user and password before it, or no scheme, leaves the URL unchanged."""
    assert mask_url(url) == url


def test_mask_url_masks_what_it_cannot_parse() -> None:
    """A URL that cannot be parsed is masked whole rather than risk showing a secret."""
    assert mask_url("amqp://user:pw@[::1/") == MASK


@pytest.mark.parametrize(
    "name",
    [
        "RESULT_DB_PASS",
        "password",
        "SENTRY_DSN",
        "AWS_SECRET_ACCESS_KEY",
        "access_key_id",
        "api_key",
        "APIKEY",
        "auth_token",
        "security_key_private",
    ],
)
def test_looks_secret(name: str) -> None:
    """Names of passwords, DSNs, tokens and keys hold secrets as a whole."""
    assert looks_secret(name)


@pytest.mark.parametrize("name", ["RESULT_DB_USER", "broker_url", "region", "QUEUES"])
def test_does_not_look_secret(name: str) -> None:
    """Other names do not."""
    assert not looks_secret(name)


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("RESULT_DB_PASS", "hunter2", repr(MASK)),
        ("SENTRY_DSN", None, "None"),
        ("broker_url", "amqp://u:hunter2@h//", repr(f"amqp://u:{MASK}@h//")),
        ("result_backend", "db+sqlite:///results.db", repr("db+sqlite:///results.db")),
        ("broker_url", 5, "5"),
        ("region", "us-west-2", repr("us-west-2")),
    ],
)
def test_masked(name: str, value: object, shown: str) -> None:
    """masked() shows a value as it may appear for its setting: secrets masked."""
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
