"""The Numba backend: fused, parallel loops over rows, on every CPU core.

Numba compiles the very functions the array backends run, called per row with
scalars. :func:`_jit_tree` compiles a kernel and, recursively, every plain Python
function it calls, so generators and the RNG are written once. Scalars of uint32
arithmetic are widened to int64 by Numba; the masks in the RNG keep them exact.

The loops are shaped for LLVM's vectoriser, which is where the speed is (about 3x on
the spiral): rows go in blocks; within a block, each inner loop is straight-line
arithmetic over 1-D temporaries (no libm calls: see :mod:`.numba_libm`; no Python
division checks: ``error_model="numpy"``; no strided stores, which are done in a
separate copy loop). The shuffle's rare cycle-walking repeats get their own loop, so
the Feistel rounds vectorise too.

Compiling a generator's loop takes seconds; the result is kept in Numba's on-disk cache
under a key of the kernel and this package's source (:func:`_cache_on_disk`), so later
processes load it instead.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from juniper_data_core.backends.base import host_outputs
from juniper_data_core.generators.kernel import FloatArray, Kernel, Task
from juniper_data_core.rng.threefry import MASK32
from juniper_data_core.split import FEISTEL_ROUNDS, feistel

_compiled: dict[Any, Any] = {}
_loops: dict[tuple[str, bool], Callable[..., None]] = {}
_NO_KEYS = (0,) * FEISTEL_ROUNDS
# Rows per block: the temporaries (a few KiB each) stay in L1/L2.
_BLOCK = 2048


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
    # The numpy error model drops the zero-division checks whose branches stop vectorisation
    # (no kernel divides by zero: every divisor is a validated count or size).
    jitted = numba.njit(clone, error_model="numpy", inline="always")
    _compiled[fn] = jitted
    return jitted


@functools.cache
def _namespace() -> types.ModuleType:
    import numba

    from juniper_data_core.backends import numba_libm

    ns = types.ModuleType("juniper_data_core.xp.numba")
    ns.__dict__.update(
        counter=numba.njit(lambda i: (i & MASK32, i >> 32)),
        f32=numba.njit(lambda x: np.float32(x)),
        i32=numba.njit(lambda x: np.int64(x)),
        u32=numba.njit(lambda x: x),
        index=numba.njit(lambda x: x),
        # h < 2**32 and a < 2**31, so the product fits int64.
        mulhi=numba.njit(lambda h, a: (h * a) >> 32),
        float32=np.float32,
        sqrt=np.sqrt,
        log=_jit_tree(numba_libm.log),
        cos=_jit_tree(numba_libm.cos),
        sin=_jit_tree(numba_libm.sin),
        floor=np.floor,
        minimum=numba.njit(lambda a, b: min(a, b)),
        maximum=numba.njit(lambda a, b: max(a, b)),
    )
    return ns


@functools.cache
def _source_rows() -> Callable[..., None]:
    """``rows[q] = perm(first + q)`` (or ``first + q``), vectorised but for rare re-walks."""
    import numba

    ns = _namespace()
    feistel_j = _jit_tree(feistel)

    def fill(rows, first, permuted, n, low_bits, high, keys):  # type: ignore[no-untyped-def]
        for q in range(rows.shape[0]):
            rows[q] = first + q
        if permuted:
            for q in range(rows.shape[0]):
                rows[q] = feistel_j(ns, rows[q], low_bits, high, keys)
            for q in range(rows.shape[0]):
                while rows[q] >= n:
                    rows[q] = feistel_j(ns, rows[q], low_bits, high, keys)

    compiled: Callable[..., None] = numba.njit(fill, error_model="numpy")
    return compiled


def _loop(kernel: Kernel) -> Callable[..., None]:
    """The compiled parallel loop for one kernel (built once per process)."""
    key = (kernel.name, kernel.point is not None)
    if key in _loops:
        return _loops[key]
    import numba

    ns = _namespace()
    label = _jit_tree(kernel.label)
    source_rows = _source_rows()
    if kernel.point is not None:
        point = _jit_tree(kernel.point)

        def features(rows, X, s, c):  # type: ignore[no-untyped-def]
            a = np.empty(rows.shape[0], np.float32)
            b = np.empty(rows.shape[0], np.float32)
            for q in range(rows.shape[0]):
                a[q], b[q] = point(ns, rows[q], c)
            for q in range(rows.shape[0]):
                X[s + q, 0] = a[q]
                X[s + q, 1] = b[q]

    else:
        feature = _jit_tree(kernel.feature)

        def features(rows, X, s, c):  # type: ignore[no-untyped-def]
            a = np.empty(rows.shape[0], np.float32)
            for j in range(X.shape[1]):
                for q in range(rows.shape[0]):
                    a[q] = feature(ns, rows[q], j, c)
                for q in range(rows.shape[0]):
                    X[s + q, j] = a[q]

    features_j = numba.njit(features, error_model="numpy")

    # ``total`` and the per-block tests of which parts to compute are runtime values: one
    # compiled loop serves X and y together or either alone (an array with no columns).
    def run(start, total, X, Y, c, permuted, n, low_bits, high, keys):  # type: ignore[no-untyped-def]
        for b in numba.prange((total + _BLOCK - 1) // _BLOCK):
            s = b * _BLOCK
            rows = np.empty(min(_BLOCK, total - s), np.int64)
            source_rows(rows, np.int64(start) + s, permuted, n, low_bits, high, keys)
            if X.shape[1]:
                features_j(rows, X, s, c)
            if Y.shape[1]:
                labels = np.empty(rows.shape[0], np.int64)
                for q in range(rows.shape[0]):
                    labels[q] = label(ns, rows[q], c)
                for q in range(rows.shape[0]):
                    for k in range(Y.shape[1]):
                        Y[s + q, k] = np.float32(1.0) if k == labels[q] else np.float32(0.0)

    compiled: Callable[..., None] = numba.njit(parallel=True, error_model="numpy")(run)
    if os.environ.get("JUNIPER_DATA_NUMBA_CACHE", "1").strip() != "0":
        digests = f"{_code_digest()}:{_kernel_digest(kernel)}"
        _cache_on_disk(compiled, f"{kernel.name}:{kernel.point is not None}:{digests}")
    _loops[key] = compiled
    return compiled


@functools.cache
def _code_digest() -> str:
    """A digest of this package's source and the versions a compiled loop depends on."""
    import numba

    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(f"numba {numba.__version__} numpy {np.__version__}".encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _kernel_digest(kernel: Kernel) -> str:
    """A digest of the source files of the kernel's functions: a generator registered from
    outside this package (a user's module) recompiles when its own source changes."""
    digest = hashlib.sha256()
    for fn in (kernel.label, kernel.point, kernel.feature):
        path = Path(fn.__code__.co_filename) if fn is not None else None
        if path is not None and path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache_on_disk(dispatcher: Any, key: str) -> None:
    """Keep the compiled loop in Numba's on-disk cache, found again by ``key`` in later processes.

    Compiling a generator's loop takes seconds, which a one-shot process (the CLI, a script)
    would pay on every run. Numba's own cache cannot find these loops again: its index key
    pickles the closure, and the jitted functions in it pickle with a per-process UUID. ``key``
    names the kernel and digests the package's source and the kernel's own source files
    instead, so any change recompiles.
    Where Numba finds no writable cache directory, the loop is compiled in each process.
    """
    from numba.core.caching import FunctionCache, IndexDataCacheFile

    class KeyedCache(FunctionCache):
        def __init__(self, py_func: Any) -> None:
            super().__init__(py_func)  # type: ignore[no-untyped-call]
            # One index file per key: every kernel's loop is the same function `run`, and one
            # shared index would hold every kernel's signature, whose constants' types pickle by
            # module; a kernel registered from a module another process cannot import (a test's)
            # would make that process fail to read the index of every kernel.
            base = f"{self._impl.filename_base}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
            stamp = self._impl.locator.get_source_stamp()
            self._cache_file = IndexDataCacheFile(self._cache_path, base, stamp)  # type: ignore[no-untyped-call]

        def _index_key(self, sig: Any, codegen: Any) -> Any:
            return (sig, codegen.magic_tuple(), key)

        def load_overload(self, sig: Any, target_context: Any) -> Any:
            # An entry this process cannot read (its types' module is not importable here, a
            # truncated file) is a miss: the loop is compiled, never a failed generation.
            try:
                return super().load_overload(sig, target_context)  # type: ignore[no-untyped-call]
            except Exception:  # noqa: BLE001 - anything unpicklable means "not cached"
                return None

    # Numba raises RuntimeError ("cannot cache function ...: no locator available") when no
    # cache directory is writable; the loop then stays in memory only.
    with contextlib.suppress(RuntimeError):
        dispatcher._cache = KeyedCache(dispatcher.py_func)


def _scalar_consts(consts: Any) -> Any:
    # uint32 keys become int64 so that no uint64/int64 mix (which Numba types as
    # float64) appears in the RNG.
    fields = [int(v) if isinstance(v, np.unsignedinteger) else v for v in consts]
    return type(consts)(*fields)


class NumbaBackend:
    """Numba-compiled parallel CPU loops."""

    name = "numba"
    #: Shuffled splits are computed at their positions rather than gathered from full.
    recompute_shuffled = True

    def probe(self) -> bool:
        try:
            import numba
        except ImportError:
            return False
        return bool(numba.njit(lambda a: a + 1)(1) == 2)

    def namespace(self) -> Any:
        return _namespace()

    def devices(self) -> list[str]:
        import numba

        return [f"cpu ({numba.get_num_threads()} threads of {os.cpu_count()} cores)"]

    def compute(self, task: Task) -> tuple[FloatArray, FloatArray]:
        X, Y = host_outputs(task)
        perm = task.perm
        _loop(task.kernel)(
            task.start,
            task.stop - task.start,
            X,
            Y,
            _scalar_consts(task.consts),
            perm is not None,
            perm.n if perm else 0,
            perm.low_bits if perm else 1,
            perm.high if perm else 1,
            perm.keys if perm else _NO_KEYS,
        )
        return X, Y
