"""docs/architecture.md stays true: every module it names exists, and every public
engine name it lists is exported."""

from __future__ import annotations

import re
from pathlib import Path

import juniper_data_core as jd

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
# Paths of the project's own files as the doc writes them, e.g. `juniper_data_core/plan.py`.
PATHS = re.findall(r"\b((?:juniper_data_core|juniper_data_service|tests|benchmarks)/[\w/]+\.py)\b", DOC)


def test_the_doc_names_modules() -> None:
    assert len(PATHS) >= 30


def test_every_module_named_exists() -> None:
    missing = sorted({p for p in PATHS if not (ROOT / p).is_file()})
    assert missing == []


def test_every_engine_module_is_named() -> None:
    # A new engine module gets its line in the table.
    named = set(PATHS)
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "juniper_data_core").rglob("*.py")}
    generators = {m for m in modules if m.startswith("juniper_data_core/generators/")}
    backends = {f"juniper_data_core/backends/{b}.py" for b in ("numba", "jax", "cupy")}
    # One example stands for the generators and the backends named "one module per ...".
    unnamed = modules - named - generators - backends - {"juniper_data_core/rng/__init__.py"}
    unnamed -= {m for m in modules if m.endswith("__init__.py") and m.count("/") > 1}
    assert unnamed == set()


def test_the_public_face_listed_is_exported() -> None:
    row = next(line for line in DOC.splitlines() if line.startswith("| `juniper_data_core/__init__.py`"))
    listed = set(re.findall(r"`(\w+)`", row.split("|")[2]))
    assert listed - {"the"} <= set(jd.__all__)
    assert {"recipe", "generate", "generate_rows", "backend_for", "class_distribution"} <= listed
