"""
The SQS endpoint of the demo: moto's server on a free loopback port.

It is the pytest plugin's (:mod:`cadasta.workertoolbox.testing._endpoint`), which the
demo shares; the demo reads the monitor queue with the plugin's monitor reader.
"""

from __future__ import annotations

from ..testing._endpoint import (
    Endpoint,
    MotoMissing,
    decode_envelope,
    load_server_class,
    running_endpoint,
)

__all__ = ["Endpoint", "MotoMissing", "decode_envelope", "load_server_class", "running_endpoint"]
