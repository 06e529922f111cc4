from typing import Any

import pytest

from cadasta.workertoolbox.config._masking import MASK
from cadasta.workertoolbox.config._sentry_scrubbing import SecretScrubber

SECRET = "p@ss w/r\\d'1"


def scrub(event: dict[str, Any], *secrets: str) -> dict[str, Any]:
    """Scrub *event* as sentry-sdk's before_send would."""
    return dict(SecretScrubber(secrets)(event, {}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(SECRET, id="as-is"),
        pytest.param("p%40ss%20w%2Fr%5Cd%271", id="url-escaped"),
        pytest.param("p@ss w/r\\\\d'1", id="as-repr-shows-it"),
    ],
)
def test_a_known_secret_is_masked_wherever_it_appears(form: str) -> None:
    """In messages, frames, breadcrumbs, extra, contexts: every string, in every form."""
    event = {
        "message": f"failed with {form}",
        "exception": {"values": [{"stacktrace": {"frames": [{"vars": {"dsn": f"x={form}"}}]}}]},
        "breadcrumbs": {"values": [{"message": f"tried {form}", "data": {"n": [form, 3]}}]},
        "extra": {"sys.argv": ["celery", "-b", f"sqs://k:{form}@h"]},
        "contexts": {"celery": {"note": form}},
        "level": "error",
    }
    scrubbed = scrub(event, SECRET)
    assert form not in repr(scrubbed)
    assert scrubbed["message"] == f"failed with {MASK}"
    assert scrubbed["breadcrumbs"]["values"][0]["data"]["n"] == [MASK, 3]
    assert scrubbed["level"] == "error"


def test_secrets_found_in_texts_are_masked_without_being_known() -> None:
    """A URL's password, a secret query parameter, libpq's password=… are found in any text."""
    event = {
        "logentry": {
            "message": "cannot reach %s",
            "params": ["redis://u:unknown1@h/0", "h/?token=unknown2", "password=unknown3 x=1"],
        }
    }
    assert "unknown" not in repr(scrub(event))


def test_the_values_of_secret_named_keys_are_masked() -> None:
    """Any secret-named key, at any depth, outside the names of modules and metadata."""
    event = {
        "extra": {"password": "a1", "options": {"secret_access_key": "a2", "region": "eu"}},
        "request": {"headers": {"X-Api-Key": "a3", "Authorization": "a5", "Accept": "*/*"}},
        "breadcrumbs": {"values": [{"data": {"credentials": {"user": "a4"}}}]},
        "modules": {"passlib": "1.7.4"},
        "_meta": {"extra": {"password": {"": {"rem": [["!config", "s"]]}}}},
    }
    scrubbed = scrub(event)
    assert scrubbed["extra"] == {
        "password": MASK,
        "options": {"secret_access_key": MASK, "region": "eu"},
    }
    assert scrubbed["request"] == {
        "headers": {"X-Api-Key": MASK, "Authorization": MASK, "Accept": "*/*"}
    }
    assert scrubbed["breadcrumbs"] == {"values": [{"data": {"credentials": MASK}}]}
    assert scrubbed["modules"] == {"passlib": "1.7.4"}
    assert scrubbed["_meta"] == event["_meta"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"connecting with {SECRET[:6]}...", f"connecting with {MASK}..."),
        (f"{SECRET[:3]}...", f"{SECRET[:3]}..."),
        ("nothing secret...", "nothing secret..."),
    ],
)
def test_the_start_of_a_secret_in_a_string_cut_short_is_masked(text: str, expected: str) -> None:
    """sentry-sdk cuts long strings with '...': a secret cut there loses its start too."""
    assert SecretScrubber([SECRET]).text(text) == expected


def test_short_values_are_not_looked_for() -> None:
    """A secret shorter than four characters would mask too much: it is ignored."""
    assert SecretScrubber(["abc"]).text("abcdef") == "abcdef"


def test_tuples_become_lists_and_other_values_stay() -> None:
    """Numbers, booleans and None are kept; sequences come back as lists."""
    assert scrub({"a": (1, True, None, 2.5)}) == {"a": [1, True, None, 2.5]}


def test_the_repr_shows_no_secret() -> None:
    """The scrubber's repr (in sentry-sdk's debug output of its options) counts, not shows."""
    scrubber = SecretScrubber([SECRET])
    assert SECRET not in repr(scrubber)
    assert repr(scrubber) == f"SecretScrubber({len(scrubber._secrets)} values)"
