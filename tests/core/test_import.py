"""The engine imports, and generates small datasets, with NumPy and pydantic alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("numba", "jax", "cupy", "pyarrow", "fastapi", "dask", "typer")


def run_python(code: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("JUNIPER_DATA_BACKEND", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_import_needs_no_optional_library() -> None:
    code = f"import sys; import juniper_data_core as jd; print([m for m in {OPTIONAL!r} if m in sys.modules])"
    assert ast.literal_eval(run_python(code)) == []


def test_small_generate_imports_no_optional_library() -> None:
    code = (
        "import sys; import juniper_data_core as jd; "
        "ds = jd.generate('spiral', {}); jd.generate_rows('gaussian', {'seed': 1}, split='train', stop=5); "
        "jd.recipe('xor'); jd.generators(); assert ds.meta['backend'] == 'numpy'; "
        f"print([m for m in {OPTIONAL!r} if m in sys.modules])"
    )
    assert ast.literal_eval(run_python(code)) == []
