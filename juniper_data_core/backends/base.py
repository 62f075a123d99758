"""The backend protocol and the evaluation shared by every array backend.

The cut: a generator supplies a :class:`~juniper_data_core.generators.kernel.Kernel`
(pure math over an array namespace ``xp``, declared in
:mod:`juniper_data_core.backends.namespace`, and a vector of row indices) and its
constants; a backend supplies the namespace and decides how the math is run (eagerly,
jitted, on a device, or compiled to a parallel loop). No backend knows any generator.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from juniper_data_core.generators.kernel import FloatArray, Task


class Backend(Protocol):
    """What every backend provides."""

    name: str
    #: True when shuffled splits are cheaper to compute at their positions than to gather
    #: from full (compiled backends); False gathers (NumPy computes rows slowly).
    recompute_shuffled: bool

    def probe(self) -> bool:
        """True when the backend's library imports and a real device runs a tiny kernel."""
        ...

    def devices(self) -> list[str]:
        """Human-readable names of the devices the backend would use."""
        ...

    def namespace(self) -> Any:
        """The array namespace ``xp`` kernels see here: the members that
        :mod:`~juniper_data_core.backends.namespace` declares for this backend."""
        ...

    def compute(self, task: Task) -> tuple[FloatArray, FloatArray]:
        """Host arrays ``X`` (rows, n_features) and one-hot ``Y`` (rows, n_classes), float32
        (no columns for a part the task skips)."""
        ...


def host_outputs(task: Task) -> tuple[FloatArray, FloatArray]:
    """Uninitialised host ``X`` and ``Y`` for ``task``: a skipped part has no columns."""
    n = task.stop - task.start
    X = np.empty((n, task.n_features if task.features else 0), np.float32)
    Y = np.empty((n, task.n_classes if task.labels else 0), np.float32)
    return X, Y


def evaluate(xp: Any, task: Task, rows: Any) -> tuple[Any, Any]:
    """Run a kernel over source ``rows`` with namespace ``xp``: (X, Y one-hot), float32;
    ``None`` for a part the task skips."""
    kernel, c = task.kernel, task.consts
    X = Y = None
    if task.features and kernel.point is not None:
        x, y = kernel.point(xp, rows, c)
        X = xp.stack([x, y], axis=1)
    elif task.features:
        assert kernel.feature is not None
        X = xp.stack([kernel.feature(xp, rows, j, c) for j in range(task.n_features)], axis=1)
    if task.labels:
        label = kernel.label(xp, rows, c)
        Y = xp.f32(label[:, None] == xp.arange(task.n_classes)[None, :])
    return X, Y
