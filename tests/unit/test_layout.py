"""
The package's layout: which part may import which, read from the sources with ``ast``.

Every import of the package counts, whether it runs at import time, under
``TYPE_CHECKING`` or inside a function: a function-local import is still a dependency,
only a later one. Each subpackage's ``__init__`` docstring states the same arrows.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import cadasta.workertoolbox

PACKAGE = "cadasta.workertoolbox"
SOURCES = Path(cadasta.workertoolbox.__file__).parent
TESTS = Path(__file__).parent

#: The public modules of 0.6 whose body lives in a subpackage: each may import those.
FACADES: dict[str, frozenset[str]] = {
    "conf": frozenset({"config", "startup"}),
    "provisioning": frozenset({"resultdb"}),
    "setup": frozenset({"startup"}),
    "tests": frozenset({"conformance"}),
}

#: What each part may import besides itself and the base: the package's ``__init__``,
#: ``exceptions``, ``utils`` and every other top-level module that is not a facade
#: (``_lazy``, ``_chord_unlock``…), which import nothing but the base themselves.
ALLOWED: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "publish": frozenset(),
    "startup": frozenset(),
    "config": frozenset({"publish"}),
    "resultdb": frozenset({"config"}),
    "conformance": frozenset({"config", "publish", "startup"}),
    "testing": frozenset({"conformance", "config", "publish", "startup"}),
    "cli": frozenset({"conformance", "config", "publish", "resultdb", "startup"}),
    # The demo builds its app as a user does: through conf, which connects worker_init.
    "demo": frozenset({"conf", "config", "resultdb", "testing"}),
    **FACADES,
}

#: Imports the arrows forbid but the layout needs: (importer, imported).
EXCEPTIONS = frozenset(
    {
        # The package re-exports provision_result_db lazily; only mypy reads this import.
        (PACKAGE, f"{PACKAGE}.provisioning"),
    }
)


def part_of(module: str) -> str:
    """Return the part of the package *module* belongs to."""
    if module == PACKAGE:
        return "base"
    head = module[len(PACKAGE) + 1 :].split(".")[0]
    if (SOURCES / head).is_dir():
        return head
    return head if head in FACADES else "base"


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SOURCES.rglob("*.py")):
        parts = list(path.relative_to(SOURCES).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join([PACKAGE, *parts]), path


MODULES = dict(_modules())


def _is_module(name: str) -> bool:
    return name in MODULES


def imports_of(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Yield each module of the package that *module* imports, with the line."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(f"{PACKAGE}."):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not (target == PACKAGE or target.startswith(f"{PACKAGE}.")):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if _is_module(sub) else target), node.lineno


def test_the_arrows_go_one_way() -> None:
    """The parts and what each may import form no cycle."""
    try:
        order = list(TopologicalSorter(ALLOWED).static_order())
    except CycleError as error:  # pragma: no cover (the failure message)
        pytest.fail(f"the arrows of ALLOWED make a cycle: {error.args[1]}")
    assert order[0] in {"base", "publish", "startup"}


def test_every_part_is_known() -> None:
    """Each subpackage of the source tree has its arrows in ALLOWED."""
    parts = {part_of(module) for module in MODULES}
    assert parts <= set(ALLOWED), f"add {sorted(parts - set(ALLOWED))} to ALLOWED"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_arrows(module: str) -> None:
    """A module imports only its own part, the base, and the parts its part may import."""
    part = part_of(module)
    may = {part, "base", *ALLOWED[part]}
    wrong = [
        f"{MODULES[module].relative_to(SOURCES)}:{line}: imports {target} ({part_of(target)})"
        for target, line in imports_of(module, MODULES[module])
        if part_of(target) not in may and (module, target) not in EXCEPTIONS
    ]
    assert not wrong, (
        f"{part} may import only {sorted(may)}: move what is imported down to a part "
        f"{part} may import, or change ALLOWED and the docstring of {part}/__init__.py.\n"
        + "\n".join(wrong)
    )


@pytest.mark.parametrize(
    "part", sorted(name for name in ALLOWED if (SOURCES / name / "__init__.py").exists())
)
def test_each_subpackage_states_its_arrows(part: str) -> None:
    """The docstring of each subpackage names each part it may import."""
    docstring = ast.get_docstring(ast.parse((SOURCES / part / "__init__.py").read_text()))
    assert docstring, f"{part}/__init__.py has no docstring"
    assert "May import" in docstring, f"{part}/__init__.py: say what it may import"
    stated = docstring.split("May import", 1)[1]
    for other in ALLOWED[part]:
        assert f"{other}" in stated, f"{part}/__init__.py does not name {other}"


#: Modules whose tests live in another test module than test_<name>.py beside them.
TESTED_ELSEWHERE: dict[str, str] = {
    "startup._setup": "test_setup.py",
    "startup._signals": "test_setup.py",
    "conformance._suite": "test_tests.py",
    "resultdb._provision": "test_provisioning.py",
    "cli._commands": "cli/test_commands.py",
    "testing.fixtures": "testing/test_plugin.py",
    "publish.redis": "../integration/test_redis_transport.py",
    "demo._endpoint": "demo/test_main.py",
    "demo._worker": "demo/test_main.py",
}


@pytest.mark.parametrize(
    "module",
    sorted(m for m, p in MODULES.items() if p.name not in {"__init__.py", "__main__.py"}),
)
def test_tests_mirror_the_modules(module: str) -> None:
    """Each module has its test module at the same place under tests/unit."""
    relative = module[len(PACKAGE) + 1 :]
    *folders, name = relative.split(".")
    expected = Path(*folders, f"test_{name.lstrip('_')}.py")
    where = TESTED_ELSEWHERE.get(relative, str(expected))
    assert (TESTS / where).exists(), f"{module}: no tests/unit/{where}"
