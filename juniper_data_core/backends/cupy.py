"""The CuPy backend: the kernels as CuPy array expressions on an NVIDIA GPU.

Rows are computed on the device in large blocks and copied to the host once per
block; the shuffle's cycle walking compacts on the device like the NumPy path.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np

from juniper_data_core.backends.base import evaluate, host_outputs
from juniper_data_core.generators.kernel import FloatArray, Task
from juniper_data_core.rng.threefry import MASK32
from juniper_data_core.split import permute

_BLOCK = 1 << 24


@functools.cache
def _namespace() -> types.ModuleType:
    import cupy as cp

    def cast(dtype: Any) -> Any:
        return lambda x: cp.asarray(x).astype(dtype, copy=False)

    ns = types.ModuleType("juniper_data_core.xp.cupy")
    ns.__dict__.update(
        counter=lambda i: ((i & MASK32).astype(cp.uint32), (i >> 32).astype(cp.uint32)),
        f32=cast(cp.float32),
        i32=cast(cp.int32),
        u32=cast(cp.uint32),
        index=cast(cp.int64),
        float32=np.float32,
        sqrt=cp.sqrt,
        log=cp.log,
        cos=cp.cos,
        sin=cp.sin,
        floor=cp.floor,
        minimum=cp.minimum,
        maximum=cp.maximum,
        stack=cp.stack,
        arange=cp.arange,
        nonzero=cp.nonzero,
        mulhi=lambda h, a: ((h.astype(cp.uint64) * cp.uint64(a)) >> cp.uint64(32)).astype(cp.int64),
    )
    return ns


def _device_consts(consts: Any) -> Any:
    import cupy as cp

    return type(consts)(*[cp.asarray(v) if isinstance(v, np.ndarray) else v for v in consts])


class CupyBackend:
    """CuPy on the current CUDA device."""

    name = "cupy"
    #: Shuffled splits are computed at their positions rather than gathered from full.
    recompute_shuffled = True

    def probe(self) -> bool:
        import cupy as cp

        if cp.cuda.runtime.getDeviceCount() < 1:
            return False
        return int(cp.arange(4, dtype=cp.int32).sum().item()) == 6

    def namespace(self) -> Any:
        return _namespace()

    def devices(self) -> list[str]:
        import cupy as cp

        names = []
        for d in range(cp.cuda.runtime.getDeviceCount()):
            props = cp.cuda.runtime.getDeviceProperties(d)
            names.append(f"cuda:{d} ({props['name'].decode()})")
        return names

    def compute(self, task: Task) -> tuple[FloatArray, FloatArray]:
        import cupy as cp

        ns = _namespace()
        consts = _device_consts(task.consts)
        device_task = task._replace(consts=consts)
        X, Y = host_outputs(task)
        for s in range(task.start, task.stop, _BLOCK):
            e = min(task.stop, s + _BLOCK)
            rows = cp.arange(s, e, dtype=cp.int64)
            if task.perm is not None:
                rows = permute(ns, rows, task.perm)
            Xd, Yd = evaluate(ns, device_task, rows)
            if Xd is not None:
                X[s - task.start : e - task.start] = cp.asnumpy(Xd)
            if Yd is not None:
                Y[s - task.start : e - task.start] = cp.asnumpy(Yd)
        return X, Y
