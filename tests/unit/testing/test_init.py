"""The testing package: its public names, imported on first access."""

from __future__ import annotations

import pytest

from cadasta.workertoolbox import testing


def test_every_public_name_is_importable_and_listed() -> None:
    """Each name of __all__ resolves to its module's object, and dir() lists it."""
    from cadasta.workertoolbox.testing import _monitor, _sent, _worker

    assert testing.MonitorReader is _monitor.MonitorReader
    assert testing.recording_sends is _sent.recording_sends
    assert testing.WorkerError is _worker.WorkerError
    assert set(testing.__all__) <= set(dir(testing))


def test_an_unknown_name_is_an_attribute_error() -> None:
    """As for any module: the module and the name."""
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        testing.nothing  # noqa: B018 (the access is the test)
