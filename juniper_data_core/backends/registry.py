"""Which backends exist, which can run here, and which ``auto`` picks.

``auto`` prefers a GPU for large work (CuPy, then JAX on a GPU), Numba for work
large enough to repay its one-off compilation, and NumPy otherwise. The
environment variable ``JUNIPER_DATA_BACKEND`` overrides ``auto``.
"""

from __future__ import annotations

import functools
import importlib
import os

from juniper_data_core.backends.base import Backend
from juniper_data_core.errors import BackendUnavailableError

# Backend name -> the class that implements it, imported only when first asked for.
_CLASSES: dict[str, tuple[str, str]] = {
    "numpy": ("juniper_data_core.backends.numpy", "NumpyBackend"),
    "numba": ("juniper_data_core.backends.numba", "NumbaBackend"),
    "jax": ("juniper_data_core.backends.jax", "JaxBackend"),
    "cupy": ("juniper_data_core.backends.cupy", "CupyBackend"),
}
NAMES = tuple(_CLASSES)
# Below these sizes the compile or transfer cost outweighs the faster kernel.
_NUMBA_MIN_ROWS = 200_000
_GPU_MIN_ROWS = 1_000_000


def _make(name: str) -> Backend:
    try:
        module, cls = _CLASSES[name]
    except KeyError:
        raise BackendUnavailableError(
            f"unknown backend {name!r}; choose one of {', '.join(NAMES)} or 'auto'"
        ) from None
    backend: Backend = getattr(importlib.import_module(module), cls)()
    return backend


@functools.cache
def _probed(name: str) -> Backend | None:
    backend = _make(name)
    try:
        return backend if backend.probe() else None
    except Exception:  # noqa: BLE001 - a broken install or driver means "not available"
        return None


def available_backends() -> list[str]:
    """Backends that can run here now, probed with a real computation, e.g. ``["numpy", "numba"]``."""
    return [name for name in NAMES if _probed(name) is not None]


def get_backend(name: str) -> Backend:
    """The backend called ``name``; an error naming the available ones if it cannot run."""
    if name not in NAMES:
        _make(name)  # raises the "unknown backend" error
    backend = _probed(name)
    if backend is None:
        raise BackendUnavailableError(
            f"backend {name!r} is not available here; available: {', '.join(available_backends())}"
            + (" (install the 'cpu' or 'gpu' extra)" if name != "numpy" else "")
        )
    return backend


def _jax_gpu_installed() -> bool:
    # JAX reaches a GPU through a plugin (jax[cuda12] installs jax_cuda12_plugin and the
    # jax_plugins namespace; ROCm likewise) or, in old releases, a CUDA build of jaxlib.
    # Without one, importing jax just to learn it has no GPU would cost ~0.5 s of every
    # CPU process that asks for `auto`.
    import importlib.metadata
    import importlib.util

    if importlib.util.find_spec("jax") is None:
        return False
    plugins = ("jax_plugins", "jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin")
    if any(importlib.util.find_spec(name) is not None for name in plugins):
        return True
    try:
        build = importlib.metadata.version("jaxlib")
        return "cuda" in build or "rocm" in build
    except importlib.metadata.PackageNotFoundError:
        return False


def gpu_backend() -> str | None:
    """The preferred GPU backend present, if any."""
    if _probed("cupy") is not None:
        return "cupy"
    if not _jax_gpu_installed():
        return None
    jax = _probed("jax")
    if jax is not None and any("cpu" not in d.lower() for d in jax.devices()):
        return "jax"
    return None


def resolve_backend(name: str, n_rows: int) -> str:
    """The concrete backend for a request: ``name`` itself, or what ``auto`` picks for ``n_rows``."""
    if name == "auto":
        name = os.environ.get("JUNIPER_DATA_BACKEND", "auto").strip().lower() or "auto"
    if name != "auto":
        get_backend(name)
        return name
    gpu = gpu_backend() if n_rows >= _GPU_MIN_ROWS else None
    if gpu is not None:
        return gpu
    if n_rows >= _NUMBA_MIN_ROWS and _probed("numba") is not None:
        return "numba"
    return "numpy"
