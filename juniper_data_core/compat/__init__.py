"""Compat: the frozen 1.0.0 generators, replaying the earlier service bit for bit.

NumPy only, sequential PCG64; kept apart from the 2.0.0 generators so that nothing
they share can change these numbers. See :mod:`juniper_data_core.compat.v1`.
"""

from juniper_data_core.compat.v1 import (
    V1_ALIASES,
    V1_DEFAULTS,
    V1_GENERATORS,
    V1_VERSION,
    check_v1_params,
    generate_v1,
)

__all__ = [
    "V1_ALIASES",
    "V1_DEFAULTS",
    "V1_GENERATORS",
    "V1_VERSION",
    "check_v1_params",
    "generate_v1",
]
