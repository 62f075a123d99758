"""Backends: where a generator's math runs (NumPy, Numba, JAX, CuPy).

A backend is one small object behind :class:`~juniper_data_core.backends.base.Backend`;
each lives in its own module and imports its library lazily, in ``probe``.
"""

from juniper_data_core.backends.base import Backend
from juniper_data_core.backends.registry import available_backends, get_backend, resolve_backend

__all__ = ["Backend", "available_backends", "get_backend", "resolve_backend"]
