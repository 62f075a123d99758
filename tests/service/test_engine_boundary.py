"""The service reaches the engine through its public face only (docs/architecture.md).

Every import of ``juniper_data_core`` in ``juniper_data_service`` must name a
documented public module and, for each name imported or used as an attribute of the
module, a name in that module's ``__all__`` (no leading underscore).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "juniper_data_service"
#: The engine modules the service may import, each promising what its ``__all__`` lists.
PUBLIC_MODULES = (
    "juniper_data_core",
    "juniper_data_core.formats",
    "juniper_data_core.dask",
    "juniper_data_core.cli",
)
#: What ``juniper_data_core.cli`` offers the commands of other packages.
CLI_PUBLIC = ("COMMANDS_GROUP", "CommandLineError")


def _public_names(module: str) -> set[str]:
    if module == "juniper_data_core.cli":
        return set(CLI_PUBLIC)
    return set(importlib.import_module(module).__all__)


def engine_uses(source: str) -> list[tuple[int, str, str]]:
    """``(line, module, name)`` for each engine name a service module imports or reads
    as an attribute of an imported engine module (``jd.generate``)."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    uses: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("juniper_data_core"):
                    aliases[alias.asname or alias.name] = alias.name
                    uses.append((node.lineno, alias.name, ""))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("juniper_data_core"):
            uses.extend((node.lineno, str(node.module), alias.name) for alias in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            uses.append((node.lineno, aliases[node.value.id], node.attr))
    return uses


def violations(source: str) -> list[str]:
    found = []
    for line, module, name in engine_uses(source):
        if module not in PUBLIC_MODULES:
            found.append(f"line {line}: {module} is not a public engine module")
        elif name and (name.startswith("_") or name not in _public_names(module)):
            found.append(f"line {line}: {module}.{name} is not in its public API")
    return found


@pytest.mark.parametrize("path", sorted(SERVICE.rglob("*.py")), ids=lambda p: str(p.relative_to(SERVICE)))
def test_service_module_uses_only_public_engine_names(path: Path) -> None:
    assert violations(path.read_text()) == []


def test_service_does_use_the_engine() -> None:
    # Guards the scan itself: were it to find nothing, every module would pass.
    uses = [u for path in SERVICE.rglob("*.py") for u in engine_uses(path.read_text())]
    assert {module for _, module, _ in uses} >= {"juniper_data_core", "juniper_data_core.formats"}
    assert ("juniper_data_core", "generate_rows") in {(m, n) for _, m, n in uses}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from juniper_data_core.dataset import generate", "juniper_data_core.dataset is not a public"),
        ("from juniper_data_core.backends.numpy import NAMESPACE", "backends.numpy is not a public"),
        ("import juniper_data_core.generators", "generators is not a public"),
        ("import juniper_data_core as jd\njd.dataset._rows", "juniper_data_core.dataset is not in"),
        ("from juniper_data_core.formats import _npz_ranges", "_npz_ranges is not in"),
        ("from juniper_data_core import recipe_of", "recipe_of is not in"),
    ],
)
def test_private_or_internal_imports_are_reported(source: str, expected: str) -> None:
    found = violations(source)
    assert any(expected in v for v in found), found


def test_public_imports_are_not_reported() -> None:
    source = "import juniper_data_core as jd\nfrom juniper_data_core.formats import iter_npz\njd.generate\n"
    assert violations(source) == []
