"""The backend protocol and the evaluation shared by every array backend.

The cut: a generator supplies a :class:`Kernel` (pure math over an array namespace
``xp`` and a vector of row indices) and its constants; a backend supplies the
namespace and decides how the math is run (eagerly, jitted, on a device, or
compiled to a parallel loop). No backend knows any generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from juniper_data_core.split import Permutation

PointFn = Callable[[Any, Any, Any], tuple[Any, Any]]
FeatureFn = Callable[[Any, Any, int, Any], Any]
LabelFn = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class Kernel:
    """A generator's math for one version.

    ``label(xp, i, c)`` gives the int class of row ``i``. Features come either from
    ``point(xp, i, c) -> (x, y)`` (two-feature generators, one call per row so work
    shared by x and y is done once) or ``feature(xp, i, j, c)`` (feature ``j``).
    ``i`` is a vector (array backends) or a scalar (Numba) of global row indices in
    generation order; ``c`` is the generator's constants (a NamedTuple).
    """

    name: str
    label: LabelFn
    point: PointFn | None = None
    feature: FeatureFn | None = None


class Task(NamedTuple):
    """Rows ``[start, stop)`` of a view of the dataset.

    With ``perm`` set, position ``p`` holds source row ``perm(p)`` (the shuffled
    order); without, position ``p`` is source row ``p`` (generation order).
    ``features=False`` or ``labels=False`` skips that output: its array comes back
    with no columns. The parts asked for are the same values as a task asking both
    (the NPZ writer streams X and y in separate passes rather than holding y back).
    """

    kernel: Kernel
    consts: Any
    n_features: int
    n_classes: int
    start: int
    stop: int
    perm: Permutation | None
    features: bool = True
    labels: bool = True


FloatArray = npt.NDArray[np.float32]
_GATHER_BLOCK = 1 << 18


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


def gather(
    X_full: FloatArray, Y_full: FloatArray, perm: Permutation, start: int, stop: int
) -> tuple[FloatArray, FloatArray]:
    """Rows ``perm(start) .. perm(stop - 1)`` of host arrays already generated: the same
    values as computing those rows again, at the cost of a permutation and a copy."""
    from juniper_data_core.backends.numpy import NAMESPACE
    from juniper_data_core.split import permute

    X = np.empty((stop - start, X_full.shape[1]), X_full.dtype)
    Y = np.empty((stop - start, Y_full.shape[1]), Y_full.dtype)
    # In blocks: the int64 source rows of the whole range would add 8 bytes per row to the
    # peak (1.6x the arrays returned at 1e7 rows, against the 1.5x the engine promises).
    for s in range(start, stop, _GATHER_BLOCK):
        e = min(stop, s + _GATHER_BLOCK)
        rows = permute(NAMESPACE, np.arange(s, e, dtype=np.int64), perm)
        np.take(X_full, rows, axis=0, out=X[s - start : e - start])
        np.take(Y_full, rows, axis=0, out=Y[s - start : e - start])
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
