"""The JAX backend: the kernels under ``jax.jit``, on JAX's default device (CPU or GPU).

JAX runs in its default 32-bit mode, so row indices are int32 and a dataset view is
limited to 2**31 - 1 rows here. Rows are computed in fixed-size chunks so that one
compiled program serves every request of a kernel (shapes are static under jit).
"""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np

from juniper_data_core.backends.base import FloatArray, Kernel, Task, evaluate
from juniper_data_core.errors import BackendUnavailableError
from juniper_data_core.split import feistel

_CHUNK = 1 << 20
_MAX_ROWS = 2**31 - 1


@functools.cache
def _namespace() -> types.ModuleType:
    import jax.numpy as jnp

    def cast(dtype: Any) -> Any:
        return lambda x: jnp.asarray(x).astype(dtype)

    def mulhi(h: Any, a: Any) -> Any:
        # floor(h * a / 2**32) in uint32 arithmetic from 16-bit halves of h: exact
        # for a <= 2**16, which 2**31 rows guarantee (a <= 2**(31 - 15)).
        a = jnp.asarray(a).astype(jnp.uint32)
        top = (h >> 16) * a
        bottom = (h & 0xFFFF) * a
        return ((top + (bottom >> 16)) >> 16).astype(jnp.int32)

    ns = types.ModuleType("juniper_data_core.xp.jax")
    ns.__dict__.update(
        counter=lambda i: (i.astype(jnp.uint32), jnp.zeros_like(i, dtype=jnp.uint32)),
        f32=cast(jnp.float32),
        i32=cast(jnp.int32),
        u32=cast(jnp.uint32),
        index=cast(jnp.int32),
        float32=jnp.float32,
        sqrt=jnp.sqrt,
        log=jnp.log,
        cos=jnp.cos,
        sin=jnp.sin,
        floor=jnp.floor,
        minimum=jnp.minimum,
        maximum=jnp.maximum,
        stack=jnp.stack,
        arange=jnp.arange,
        mulhi=mulhi,
    )
    return ns


@functools.cache
def _program(kernel: Kernel, n_features: int, n_classes: int, size: int, low_bits: int) -> Any:
    import jax
    import jax.numpy as jnp

    ns = _namespace()

    def run(start: Any, consts: Any, n: Any, high: Any, keys: Any) -> Any:
        rows = start + jnp.arange(size, dtype=jnp.int32)
        if low_bits:
            # Padding rows past the view are clamped into [0, n): cycle walking only
            # terminates from a start inside the range.
            rows = jnp.minimum(rows, n - 1)

            # Cycle walking as a device loop: re-apply where still out of range.
            def walk(y: Any) -> Any:
                return jnp.where(y >= n, feistel(ns, y, low_bits, high, keys), y)

            first = feistel(ns, rows, low_bits, high, keys)
            rows = jax.lax.while_loop(lambda y: jnp.any(y >= n), walk, first)
        task = Task(kernel, consts, n_features, n_classes, 0, size, None)
        return evaluate(ns, task, rows)

    return jax.jit(run)


def _device_consts(consts: Any) -> Any:
    import jax.numpy as jnp

    def move(v: Any) -> Any:
        if isinstance(v, (np.ndarray, np.generic)):
            dtype = np.int32 if np.asarray(v).dtype == np.int64 else np.asarray(v).dtype
            return jnp.asarray(np.asarray(v).astype(dtype))
        return v

    return type(consts)(*[move(v) for v in consts])


class JaxBackend:
    """``jax.jit``-compiled kernels."""

    name = "jax"
    #: Shuffled splits are computed at their positions rather than gathered from full.
    recompute_shuffled = True

    def probe(self) -> bool:
        import jax
        import jax.numpy as jnp

        return int(jax.jit(lambda a: a + 1)(jnp.int32(1))) == 2

    def devices(self) -> list[str]:
        import jax

        return [f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()]

    def compute(self, task: Task) -> tuple[FloatArray, FloatArray]:
        import jax.numpy as jnp

        total = task.perm.n if task.perm else task.stop
        if total > _MAX_ROWS:
            raise BackendUnavailableError(
                f"the jax backend handles at most {_MAX_ROWS} rows (32-bit mode); "
                "use backend='numba', 'cupy' or 'numpy'"
            )
        n = task.stop - task.start
        size = min(_CHUNK, max(1024, 1 << (max(n, 1) - 1).bit_length()))
        perm = task.perm
        program = _program(task.kernel, task.n_features, task.n_classes, size, perm.low_bits if perm else 0)
        consts = _device_consts(task.consts)
        keys = jnp.asarray(np.asarray(perm.keys if perm else (0,) * 4, np.uint32))
        limit = jnp.int32(perm.n if perm else 0)
        high = jnp.int32(perm.high if perm else 1)
        X = np.empty((n, task.n_features), np.float32)
        Y = np.empty((n, task.n_classes), np.float32)
        for s in range(0, n, size):
            e = min(n, s + size)
            Xc, Yc = program(jnp.int32(task.start + s), consts, limit, high, keys)
            X[s:e] = np.asarray(Xc)[: e - s]
            Y[s:e] = np.asarray(Yc)[: e - s]
        return X, Y
