"""requirements-floor.txt pins every lower bound pyproject.toml declares, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def declared_floors() -> dict[str, Version]:
    """The ``>=`` bound of every dependency and extra of pyproject.toml, by package."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += [r for r in extra if not r.startswith("cadasta-workertoolbox")]
    floors = {}
    for text in requirements:
        requirement = Requirement(text)
        bounds = [s.version for s in requirement.specifier if s.operator == ">="]
        assert len(bounds) == 1, f"{text!r} in pyproject.toml needs one >= bound"
        floors[canonicalize_name(requirement.name)] = Version(bounds[0])
    return floors


def floor_pins() -> dict[str, Version]:
    """The ``==`` pins of requirements-floor.txt, by package."""
    pins = {}
    for line in (ROOT / "requirements-floor.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("."):
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{line!r} in requirements-floor.txt is not a pin"
        pins[canonicalize_name(requirement.name)] = Version(spec.version)
    return pins


def test_every_declared_floor_is_pinned_at_its_bound() -> None:
    """A bound raised in pyproject.toml without the floor run following it fails here."""
    pins = floor_pins()
    differing = {
        name: (str(bound), str(pins.get(name)))
        for name, bound in declared_floors().items()
        if pins.get(name) != bound
    }
    assert differing == {}, "pyproject.toml's bound and requirements-floor.txt's pin differ"
