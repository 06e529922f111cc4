from __future__ import annotations

from collections.abc import Callable

import pytest
from celery import Celery
from hypothesis import given, settings
from hypothesis import strategies as st
from kombu.entity import Exchange, Queue, binding

from cadasta.workertoolbox.conformance._topology import Binding, DeclaredTopology, topic_matches

TOPIC = Exchange("task_exchange", type="topic")


@pytest.mark.parametrize(
    ("binding_key", "routing_key", "expected"),
    [
        ("export", "export", True),
        ("export", "msg", False),
        ("export", "export.render", False),
        ("#", "export", True),
        ("#", "export.render.pdf", True),
        ("#", "", True),
        ("*", "export", True),
        ("*", "export.render", False),
        ("export.*", "export.render", True),
        ("export.*", "export", False),
        ("export.#", "export", True),
        ("export.#", "export.render.pdf", True),
        ("export.#", "msg.render", False),
        ("*.render", "export.render", True),
        ("*.render", "render", False),
        ("#.pdf", "export.render.pdf", True),
        ("#.pdf", "pdf", True),
        ("#.pdf", "export.pdf.zip", False),
        ("export.#.pdf", "export.pdf", True),
        ("export.#.pdf", "export.a.b.pdf", True),
        ("a.*.#", "a", False),
        ("a.*.#", "a.b", True),
        ("x.#", "a.b", False),
    ],
)
def test_topic_matches(binding_key: str, routing_key: str, expected: bool) -> None:
    """'*' stands for exactly one word and '#' for zero or more, words split on '.'."""
    assert topic_matches(binding_key, routing_key) is expected


@pytest.mark.parametrize(
    ("exchange_type", "key", "routing_key", "expected"),
    [
        ("topic", "#", "export", True),
        ("direct", "export", "export", True),
        ("direct", "#", "export", False),
        ("fanout", "ignored", "export", True),
        ("headers", "export", "export", False),
    ],
)
def test_binding_matches_by_exchange_type(
    exchange_type: str, key: str, routing_key: str, expected: bool
) -> None:
    """A binding applies the semantics of its exchange's type; headers match nothing."""
    bound = Binding("q", "task_exchange", exchange_type, key)
    assert bound.matches(routing_key) is expected


def test_binding_describes_its_exchange_and_key() -> None:
    """A binding shows the exchange, its type and the key, for failure messages."""
    assert str(Binding("q", "task_exchange", "topic", "#")) == (
        "'task_exchange' (topic) with key '#'"
    )


def test_queue_bindings_are_read_besides_its_exchange() -> None:
    """A queue's own exchange and routing key, and each of its bindings, are bindings."""
    other = Exchange("other", type="fanout")
    queues = [
        Queue("export", TOPIC, routing_key="export"),
        Queue("multi", bindings=[binding(TOPIC, "msg.*"), binding(other, "")]),
    ]
    topology = DeclaredTopology(queues)
    assert topology.queue_names == ("export", "multi")
    assert set(topology.bindings_of("multi")) == {
        Binding("multi", "task_exchange", "topic", "msg.*"),
        Binding("multi", "other", "fanout", ""),
    }
    assert topology.destinations("task_exchange", "msg.send") == {"multi"}
    assert topology.destinations("task_exchange", "export") == {"export"}
    assert topology.destinations("other", "anything") == {"multi"}
    assert topology.destinations("unknown", "export") == frozenset()


def test_bindings_to_the_nameless_exchange_are_not_bindings() -> None:
    """Queues bound to a nameless exchange have no binding, as kombu declares them."""
    queues = [
        Queue("plain", Exchange(""), routing_key="plain"),
        Queue("b", [binding(Exchange(""))]),
    ]
    assert DeclaredTopology(queues).bindings == ()


def test_default_exchange_reaches_the_queue_named_by_the_routing_key() -> None:
    """On the default exchange '' a message reaches the declared queue of its key's name."""
    topology = DeclaredTopology([Queue("celery", Exchange("celery"), routing_key="celery")])
    assert topology.destinations("", "celery") == {"celery"}
    assert topology.destinations("", "export") == frozenset()


def test_answers_are_cached_per_exchange_and_routing_key() -> None:
    """The same question twice gets the same answer, computed once."""
    topology = DeclaredTopology([Queue("platform.fifo", TOPIC, routing_key="#")])
    first = topology.destinations("task_exchange", "export")
    assert topology.destinations("task_exchange", "export") is first
    assert first == {"platform.fifo"}


WORDS = st.sampled_from(["export", "msg", "render", "*", "#", ""])
KEYS = st.lists(WORDS, min_size=1, max_size=3).map(".".join)
BINDINGS = st.tuples(
    st.sampled_from(["task_exchange", "other"]),
    st.sampled_from(["topic", "direct", "fanout", "headers"]),
    KEYS,
)


@settings(max_examples=200, deadline=None)
@given(
    bindings=st.lists(BINDINGS, max_size=8),
    exchange=st.sampled_from(["task_exchange", "other", "unknown"]),
    routing_key=KEYS,
)
def test_indexed_answers_are_those_of_every_binding_matched_in_turn(
    bindings: list[tuple[str, str, str]], exchange: str, routing_key: str
) -> None:
    """The index gives what matching each binding of the exchange would give."""
    queues = [
        Queue(f"q{number}", Exchange(name, type=kind), routing_key=key)
        for number, (name, kind, key) in enumerate(bindings)
    ]
    topology = DeclaredTopology(queues)
    expected = {
        each.queue
        for each in topology.bindings
        if each.exchange == exchange and each.matches(routing_key)
    }
    assert topology.destinations(exchange, routing_key) == expected


def test_direct_keys_have_no_wildcards_and_headers_bindings_match_nothing() -> None:
    """'*' and '#' are words like others on a direct exchange; headers bindings never match."""
    queues = [
        Queue("star", Exchange("direct", type="direct"), routing_key="*"),
        Queue("by-headers", Exchange("headers", type="headers"), routing_key="export"),
    ]
    topology = DeclaredTopology(queues)
    assert topology.destinations("direct", "*") == {"star"}
    assert topology.destinations("direct", "export") == frozenset()
    assert topology.destinations("headers", "export") == frozenset()
    assert topology.bindings_of("by-headers") == [
        Binding("by-headers", "headers", "headers", "export")
    ]
    assert topology.bindings_of("undeclared") == []


def test_of_reads_the_queues_the_configuration_declares(make_app: Callable[..., Celery]) -> None:
    """An app's topology is its task_queues, not queues created on the fly since."""
    app = make_app()
    assert app.amqp.queues["created.on.the.fly"]  # Celery adds a missing queue on look-up
    assert "created.on.the.fly" in app.amqp.queues
    topology = DeclaredTopology.of(app)
    assert set(topology.queue_names) == {"celery", "platform.fifo", "export", "msg"}
    assert Binding("platform.fifo", "task_exchange", "topic", "#") in topology.bindings
