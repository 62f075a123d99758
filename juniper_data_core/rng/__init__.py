"""Counter-based random numbers: Threefry-2x32-20 and its conversions to floats.

Every function here is written over an array namespace ``xp`` (see
:mod:`juniper_data_core.backends.namespace`) with uint32 arithmetic expressed as
masked integer operations, so the same source runs on NumPy, CuPy and JAX arrays
and, compiled by Numba, on scalars.
"""

from juniper_data_core.rng.conversions import normal_pair, uniform, uniform_open
from juniper_data_core.rng.threefry import stream_key, threefry2x32

__all__ = ["normal_pair", "stream_key", "threefry2x32", "uniform", "uniform_open"]
