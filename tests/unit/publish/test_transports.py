from __future__ import annotations

import importlib.util
import subprocess
import sys
from typing import Any

import pytest
from kombu.transport import get_transport_cls
from kombu.transport import memory as kombu_memory
from kombu.transport.virtual import Transport as VirtualTransport
from kombu.utils.imports import symbol_by_name

from cadasta.workertoolbox.publish._fanout import FanOutChannel
from cadasta.workertoolbox.publish.memory import Transport as MemoryTransport
from cadasta.workertoolbox.publish.transports import TRANSPORTS, transport_alias, transport_for

#: Whether the redis package, which kombu's Redis transport imports, is installed.
HAS_REDIS = importlib.util.find_spec("redis") is not None


def importable(name: str) -> Any:
    """A parameter for transport *name*, skipped when kombu could not import its module."""
    marks = []
    if name.startswith("redis") and not HAS_REDIS:
        marks.append(pytest.mark.skip(reason="kombu's Redis transport needs the redis package"))
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sqs", "cadasta.workertoolbox.publish.sqs:Transport"),
        ("SQS", "cadasta.workertoolbox.publish.sqs:Transport"),
        ("memory", "cadasta.workertoolbox.publish.memory:Transport"),
        ("redis", "cadasta.workertoolbox.publish.redis:Transport"),
        ("rediss", "cadasta.workertoolbox.publish.redis:Transport"),
        ("amqp", None),
        ("pyamqp", None),
        ("", None),
    ],
)
def test_transport_for(name: str, expected: str | None) -> None:
    """The library's transport for kombu's name, in any case; none for other names."""
    assert transport_for(name) == expected


@pytest.mark.parametrize(
    ("transport", "expected"),
    [
        pytest.param("sqs", "sqs", id="kombus-name"),
        pytest.param("Memory", "memory", id="kombus-name-any-case"),
        pytest.param(TRANSPORTS["sqs"], "sqs", id="librarys-sqs"),
        pytest.param(TRANSPORTS["memory"].upper(), "memory", id="librarys-path-any-case"),
        pytest.param(TRANSPORTS["redis"], "redis", id="librarys-redis"),
        pytest.param(TRANSPORTS["rediss"], "redis", id="librarys-rediss-is-redis"),
        pytest.param("amqp", "amqp", id="no-transport-of-the-librarys"),
        pytest.param("myapp.transport:Transport", "myapp.transport:transport", id="unknown-path"),
        pytest.param(MemoryTransport, "memory", id="librarys-class"),
        pytest.param(kombu_memory.Transport, "memory", id="kombus-class"),
        pytest.param(object(), "", id="no-driver-type"),
        pytest.param(None, "", id="none"),
    ],
)
def test_transport_alias(transport: object, expected: str) -> None:
    """The kombu name of a transport given by name, the library's path, or class."""
    assert transport_alias(transport) == expected


@pytest.mark.parametrize("name", [importable(name) for name in TRANSPORTS])
def test_each_path_is_kombus_transport_with_the_fan_out(name: str) -> None:
    """
    Each path imports a subclass of kombu's transport of that name.

    Its channel is kombu's, with the library's send path before it; its driver_type is
    kombu's, which the refusal of late tasks reads.
    """
    transport = symbol_by_name(TRANSPORTS[name])
    kombus = get_transport_cls(name)
    assert issubclass(transport, kombus)
    assert issubclass(transport, VirtualTransport)
    assert issubclass(transport.Channel, kombus.Channel)
    assert transport.Channel.__mro__[1] is FanOutChannel
    assert transport.driver_type == kombus.driver_type
    assert transport_alias(transport) == transport_alias(TRANSPORTS[name])


def test_kombu_loads_the_librarys_transport_by_its_path() -> None:
    """The path a Config puts in broker_transport is one kombu resolves."""
    assert get_transport_cls(TRANSPORTS["memory"]) is MemoryTransport


def test_choosing_a_transport_imports_none() -> None:
    """
    Configuring an app imports no transport: kombu does, when it first connects.

    boto3 and kombu's SQS module are loaded by the first connection to SQS, not by
    importing the library.
    """
    script = (
        "import sys\n"
        "from cadasta.workertoolbox.conf import Config\n"
        "Config(environ={})\n"
        "for name in sorted(sys.modules):\n"
        "    if name.startswith(('cadasta.workertoolbox.publish.', 'boto', 'kombu.transport.SQS',\n"
        "                        'kombu.transport.memory', 'kombu.transport.redis')):\n"
        "        print(name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["cadasta.workertoolbox.publish.transports"]
