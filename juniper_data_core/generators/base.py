"""What a generator is: a params model, its shape, and its math for each version."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from juniper_data_core.backends.base import Kernel
from juniper_data_core.errors import FieldValueError

V1 = "1.0.0"
V2 = "2.0.0"


class SplitParams(BaseModel):
    """Parameters common to every synthetic generator (CONTRACT section 5)."""

    # NaN and infinities would make NaN datasets and IDs that strict JSON cannot carry.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", allow_inf_nan=False)

    seed: int | None = Field(default=None, ge=0, lt=2**63, description="Random seed; null draws one")
    train_ratio: float = Field(default=0.8, ge=0.0, le=1.0, description="Fraction of rows in train")
    test_ratio: float = Field(default=0.2, ge=0.0, le=1.0, description="Fraction of rows in test")
    shuffle: bool = Field(default=True, description="Shuffle before splitting")

    @model_validator(mode="after")
    def _ratios_fit(self) -> SplitParams:
        total = self.train_ratio + self.test_ratio
        if total > 1.0 + 1e-12:
            raise FieldValueError(
                "test_ratio",
                f"train_ratio ({self.train_ratio}) + test_ratio ({self.test_ratio}) = {total:g} "
                "must be <= 1; lower one of them",
            )
        return self


@dataclass(frozen=True)
class Shape:
    """Rows, features, classes, and the class of each block of rows."""

    n_rows: int
    n_features: int
    n_classes: int


@dataclass(frozen=True)
class GeneratorSpec:
    """A registered generator.

    ``build(params, version)`` returns ``(Kernel, consts)`` for version 2.0.0 (the
    seed is ``params["seed"]``); 1.0.0 is served by :mod:`juniper_data_core.compat`.
    """

    name: str
    description: str
    params_model: type[BaseModel]
    shape: Callable[[Mapping[str, Any]], Shape]
    build: Callable[[Mapping[str, Any]], tuple[Kernel, Any]]
    versions: tuple[str, ...] = (V1, V2)
    default_version: str = V2
    aliases: Mapping[str, str] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
