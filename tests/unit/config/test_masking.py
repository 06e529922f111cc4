import pytest

from cadasta.workertoolbox.config._masking import (
    MASK,
    looks_secret,
    mask_mapping,
    mask_text,
    mask_url,
    url_password,
    url_secrets,
)


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
        (
            "sqs://AKIA:pw@sqs.example/?sts_token=t1&aws_session_token=t2&region=eu-west-1",
            f"sqs://AKIA:{MASK}@sqs.example/?sts_token={MASK}&aws_session_token={MASK}"
            "&region=eu-west-1",
        ),
        ("redis://h:6379/0?password=pw&db=1", f"redis://h:6379/0?password={MASK}&db=1"),
        (
            "https://b.example/o?X-Amz-Credential=c&X-Amz-Signature=s&sig=z&x=1",
            f"https://b.example/o?X-Amz-Credential={MASK}&X-Amz-Signature={MASK}&sig={MASK}&x=1",
        ),
        ("redis://h/0?password=&db=1", "redis://h/0?password=&db=1"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    """
    mask_url replaces the password and secret query parameters; other URLs are unchanged.

    A query parameter is secret when its name holds password, pass, pwd, token, secret,
    key, sig(nature) or credential. When in doubt (an '@' in the query) it masks more than
    the password, never less.
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
        "aws_credentials",
        "url_signature",
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
    ("url", "password", "secrets"),
    [
        ("amqp://u:pw@h//", "pw", ["pw"]),
        ("sqs://AKIA:a%2Fb@h/?sts_token=t%40k&region=x", "a%2Fb", ["a%2Fb", "t%40k", "a/b", "t@k"]),
        ("amqp://u:p@ss@h//", "p@ss", ["p@ss"]),
        ("redis://h/0?password=pw", None, ["pw"]),
        ("amqp://u:@h//", "", []),
        ("memory://", None, []),
    ],
)
def test_url_password_and_url_secrets(url: str, password: str | None, secrets: list[str]) -> None:
    """The password as written, and every secret mask_url hides, as written and unescaped."""
    assert url_password(url) == password
    assert url_secrets(url) == secrets


def test_an_unparsable_url_is_a_secret_as_a_whole() -> None:
    """url_secrets cannot tell the parts of a URL urlsplit refuses: all of it is secret."""
    assert url_secrets("amqp://u:pw@[::1/") == ["amqp://u:pw@[::1/"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sqs://AKIA:wJal/K7MD@", f"sqs://AKIA:{MASK}@"),
        ("'amqp://u:p@ss@rabbit//'", f"'amqp://u:{MASK}@rabbit//'"),
        ("broker redis://u:pass word@h/0 now", f"broker redis://u:{MASK}@h/0 now"),
        ("got 'redis://u:a/b c@h/0' back", f"got 'redis://u:{MASK}@h/0' back"),
        ("url=redis://h:6379/0?password=pw&db=1", f"url=redis://h:6379/0?password={MASK}&db=1"),
        ("at sqs://AKIA@h/?sts_token=t1&x=2", f"at sqs://AKIA@h/?sts_token={MASK}&x=2"),
        ("host=h port=5432 password=pw dbname=d", f"host=h port=5432 password={MASK} dbname=d"),
        ("dsn='host=h password=pw dbname=d'", f"dsn='host=h password={MASK} dbname=d'"),
        (r"password='it\'s' user=x", f"password={MASK} user=x"),
        ('PGPASSWORD="pw" psql', f"PGPASSWORD={MASK} psql"),
        ("aws_secret_access_key=pw;", f"aws_secret_access_key={MASK};"),
        (
            "{'password': 'pw', 'user': 'w', 'secret_access_key': b'pw'}",
            f"{{'password': '{MASK}', 'user': 'w', 'secret_access_key': b'{MASK}'}}",
        ),
        ('{"token": "pw", "n": 1}', f'{{"token": "{MASK}", "n": 1}}'),
        # Left alone: no secret.
        ("redis://redis.internal:6379/0 by ops@example.org", None),
        ("https://public@example.invalid/1", None),
        ("no URL here: a:b@c", None),
        ("if password == other:", None),
        ("routing_key=export", None),
        ("{'user': 'w'}", None),
    ],
)
def test_mask_text(text: str, expected: str | None) -> None:
    """
    mask_text masks every secret a text shows, and keeps texts without one.

    URL passwords (with blanks too), secret query parameters, libpq's password=…, and
    the quoted values of quoted secret-named keys.
    """
    assert mask_text(text) == (text if expected is None else expected)


def test_mask_text_is_idempotent() -> None:
    """A masked text comes out of mask_text unchanged."""
    text = "amqp://u:pw@h// ?token=t password=p {'secret': 's'}"
    assert mask_text(mask_text(text)) == mask_text(text)


def test_mask_mapping_masks_secret_named_keys_in_copies() -> None:
    """Dicts, lists and tuples holding a secret-named key come back as masked copies."""
    given = ({"password": 1234, "nested": {"api_key": "k", "n": 1}}, [{"a": 1}], "text")
    masked = mask_mapping(given)
    assert masked == ({"password": MASK, "nested": {"api_key": MASK, "n": 1}}, [{"a": 1}], "text")
    assert given[0]["password"] == 1234
    assert masked[1] is given[1]


@pytest.mark.parametrize("value", [{"user": "w"}, ["a", ("b",)], "password", 5, None])
def test_mask_mapping_returns_values_without_secrets_as_they_are(value: object) -> None:
    """Nothing to mask: the very same object comes back."""
    assert mask_mapping(value) is value


def test_mask_mapping_keeps_the_kind_of_sequence() -> None:
    """A list stays a list, a tuple a tuple, and any other tuple becomes a plain one."""
    from collections import namedtuple

    pair = namedtuple("pair", "left right")
    assert mask_mapping([{"token": "t"}]) == [{"token": MASK}]
    assert mask_mapping(pair({"token": "t"}, 1)) == ({"token": MASK}, 1)
    assert type(mask_mapping(pair({"token": "t"}, 1))) is tuple


def test_mask_mapping_stops_at_a_depth() -> None:
    """Values nested deeper than ten levels are left as they are."""
    deep: dict[str, object] = {"password": "pw"}
    for _ in range(12):
        deep = {"next": deep}
    assert mask_mapping(deep) is deep
