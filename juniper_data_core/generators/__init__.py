"""The generator registry: one module per generator, each exposing ``SPEC``."""

from __future__ import annotations

from juniper_data_core.generators import checkerboard, circles, gaussian, moon, spiral, xor
from juniper_data_core.generators.base import V1, V2, GeneratorSpec, Shape, SplitParams

REGISTRY: dict[str, GeneratorSpec] = {
    m.SPEC.name: m.SPEC for m in (spiral, xor, gaussian, circles, checkerboard, moon)
}

__all__ = ["REGISTRY", "V1", "V2", "GeneratorSpec", "Shape", "SplitParams"]
