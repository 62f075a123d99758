"""The Numba backend: one fused, parallel loop over rows, on every CPU core.

Numba compiles the very functions the array backends run, called per row with
scalars. :func:`_jit_tree` compiles a kernel and, recursively, every plain Python
function it calls, so generators and the RNG are written once. Scalars of uint32
arithmetic are widened to int64 by Numba; the masks in the RNG keep them exact.
"""

from __future__ import annotations

import functools
import os
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from juniper_data_core.backends.base import FloatArray, Kernel, Task
from juniper_data_core.rng.threefry import MASK32
from juniper_data_core.split import FEISTEL_ROUNDS, Permutation, walk

_compiled: dict[Any, Any] = {}
_loops: dict[tuple[str, bool], Callable[..., None]] = {}
_NO_KEYS = (0,) * FEISTEL_ROUNDS


def _jit_tree(fn: Any) -> Any:
    """``numba.njit`` of ``fn`` with every Python function it calls compiled too."""
    import numba

    if fn in _compiled:
        return _compiled[fn]
    scope = dict(fn.__globals__)
    for name in fn.__code__.co_names:
        value = scope.get(name)
        if isinstance(value, types.FunctionType):
            scope[name] = _jit_tree(value)
    clone = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    jitted = numba.njit(clone)
    _compiled[fn] = jitted
    return jitted


def _namespace() -> types.ModuleType:
    import numba

    ns = types.ModuleType("juniper_data_core.xp.numba")
    ns.__dict__.update(
        counter=numba.njit(lambda i: (i & MASK32, i >> 32)),
        f32=numba.njit(lambda x: np.float32(x)),
        i32=numba.njit(lambda x: np.int64(x)),
        u32=numba.njit(lambda x: x),
        index=numba.njit(lambda x: x),
        float32=np.float32,
        sqrt=np.sqrt,
        log=np.log,
        cos=np.cos,
        sin=np.sin,
        floor=np.floor,
        minimum=numba.njit(lambda a, b: min(a, b)),
        maximum=numba.njit(lambda a, b: max(a, b)),
    )
    return ns


def _loop(kernel: Kernel) -> Callable[..., None]:
    """The compiled parallel loop for one kernel (built once per process)."""
    key = (kernel.name, kernel.point is not None)
    if key in _loops:
        return _loops[key]
    import numba

    ns = _namespace()
    label = _jit_tree(kernel.label)
    walk_j = _jit_tree(walk)
    if kernel.point is not None:
        point = _jit_tree(kernel.point)

        def run(start, X, Y, c, permuted, n, bits, keys):  # type: ignore[no-untyped-def]
            for p in numba.prange(X.shape[0]):
                i = np.int64(start) + np.int64(p)
                if permuted:
                    i = walk_j(ns, i, n, bits, keys)
                x, y = point(ns, i, c)
                X[p, 0] = x
                X[p, 1] = y
                lab = label(ns, i, c)
                for k in range(Y.shape[1]):
                    Y[p, k] = np.float32(1.0) if k == lab else np.float32(0.0)

    else:
        feature = _jit_tree(kernel.feature)

        def run(start, X, Y, c, permuted, n, bits, keys):  # type: ignore[no-untyped-def]
            for p in numba.prange(X.shape[0]):
                i = np.int64(start) + np.int64(p)
                if permuted:
                    i = walk_j(ns, i, n, bits, keys)
                for j in range(X.shape[1]):
                    X[p, j] = feature(ns, i, j, c)
                lab = label(ns, i, c)
                for k in range(Y.shape[1]):
                    Y[p, k] = np.float32(1.0) if k == lab else np.float32(0.0)

    compiled: Callable[..., None] = numba.njit(parallel=True)(run)
    _loops[key] = compiled
    return compiled


@functools.cache
def _gather_loop() -> Callable[..., None]:
    import numba

    ns = _namespace()
    walk_j = _jit_tree(walk)

    def run(start, X_full, Y_full, X, Y, n, bits, keys):  # type: ignore[no-untyped-def]
        for p in numba.prange(X.shape[0]):
            i = walk_j(ns, np.int64(start) + np.int64(p), n, bits, keys)
            X[p] = X_full[i]
            Y[p] = Y_full[i]

    compiled: Callable[..., None] = numba.njit(parallel=True)(run)
    return compiled


def _scalar_consts(consts: Any) -> Any:
    # uint32 keys become int64 so that no uint64/int64 mix (which Numba types as
    # float64) appears in the RNG.
    fields = [int(v) if isinstance(v, np.unsignedinteger) else v for v in consts]
    return type(consts)(*fields)


class NumbaBackend:
    """Numba-compiled parallel CPU loops."""

    name = "numba"

    def probe(self) -> bool:
        try:
            import numba
        except ImportError:
            return False
        return bool(numba.njit(lambda a: a + 1)(1) == 2)

    def devices(self) -> list[str]:
        import numba

        return [f"cpu ({numba.get_num_threads()} threads of {os.cpu_count()} cores)"]

    def compute(self, task: Task) -> tuple[FloatArray, FloatArray]:
        n = task.stop - task.start
        X = np.empty((n, task.n_features), np.float32)
        Y = np.empty((n, task.n_classes), np.float32)
        perm = task.perm
        _loop(task.kernel)(
            task.start,
            X,
            Y,
            _scalar_consts(task.consts),
            perm is not None,
            perm.n if perm else 0,
            perm.bits if perm else 2,
            perm.keys if perm else _NO_KEYS,
        )
        return X, Y

    def gather(
        self, X_full: FloatArray, Y_full: FloatArray, perm: Permutation, start: int, stop: int
    ) -> tuple[FloatArray, FloatArray]:
        """Rows ``perm(start) .. perm(stop - 1)`` of arrays already generated, in one pass."""
        X = np.empty((stop - start, X_full.shape[1]), np.float32)
        Y = np.empty((stop - start, Y_full.shape[1]), np.float32)
        _gather_loop()(start, X_full, Y_full, X, Y, perm.n, perm.bits, perm.keys)
        return X, Y
