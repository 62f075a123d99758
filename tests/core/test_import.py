"""The engine imports, and generates small datasets, with NumPy and pydantic alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

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
        "jd.recipe('xor'); jd.generator_catalog(); assert ds.meta['backend'] == 'numpy'; "
        f"print([m for m in {OPTIONAL!r} if m in sys.modules])"
    )
    assert ast.literal_eval(run_python(code)) == []


def test_auto_does_not_import_jax_without_a_jax_gpu_plugin() -> None:
    # Importing jax only to find it has no GPU cost every CPU process ~0.5 s on `auto`.
    from juniper_data_core.backends.registry import _jax_gpu_installed

    if _jax_gpu_installed():
        pytest.skip("a JAX GPU plugin is installed: probing jax is then the right thing to do")
    out = run_python(
        "import sys\n"
        "from juniper_data_core.backends.registry import resolve_backend\n"
        "print(resolve_backend('auto', 10**7), 'jax' in sys.modules)\n"
    )
    assert out.split()[-1] == "False", out
