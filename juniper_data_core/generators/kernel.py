"""What a generator hands a backend: a :class:`Kernel` and a :class:`Task` to run it on.

The cut between generators and backends: a generator supplies a kernel (pure math
over an array namespace ``xp``, see :mod:`juniper_data_core.backends.namespace`, and
row indices) and its constants; a backend decides how the math is run. Neither knows
the other's internals, and both import this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from juniper_data_core.split import Permutation

PointFn = Callable[[Any, Any, Any], tuple[Any, Any]]
FeatureFn = Callable[[Any, Any, int, Any], Any]
LabelFn = Callable[[Any, Any, Any], Any]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Kernel:
    """A generator's index-pure math for one version.

    ``label(xp, i, c)`` gives the int class of row ``i``. Features come either from
    ``point(xp, i, c) -> (x, y)`` (two-feature generators, one call per row so work
    shared by x and y is done once) or ``feature(xp, i, j, c)`` (feature ``j``).
    ``i`` is a vector (array backends) or a scalar (Numba) of global row indices in
    generation order; ``c`` is the generator's constants (a NamedTuple of NumPy
    scalars and arrays). ``name`` identifies the math (compiled code is cached by it),
    so two kernels must never share one.
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
