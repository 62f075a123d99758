"""What a generator is: a params model, its shape, its example params, and one
implementation record per version.

A version is implemented either as an :class:`IndexPure` kernel (row ``i`` computed
from the params and ``i`` alone: every backend, any row range) or as a
:class:`Sequential` producer of the whole dataset (the frozen 1.0.0 algorithms, which
draw rows in sequence), or, for a generator from a source, as a :class:`FromTable`
reader of a table's rows (:mod:`juniper_data_core.sources`). :mod:`juniper_data_core.plan`
turns a recipe's record into the one compiled plan that everything else runs; nothing else
asks which version it is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol, get_args, get_origin

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from juniper_data_core.errors import FieldValueError
from juniper_data_core.generators.kernel import FloatArray, Kernel

V1 = "1.0.0"
V2 = "2.0.0"
#: The largest magnitude of any float parameter: whatever their combination, the values a
#: generator computes from such params stay finite in float32 (max 3.4e38), with a margin of
#: over twenty orders of magnitude (a normal draw is below 7 in magnitude).
MAX_MAGNITUDE = 1e15


class SplitParams(BaseModel):
    """Parameters common to every synthetic generator (CONTRACT section 5).

    Numbers must be numbers: a boolean or a string given for a numeric field is refused
    (not read as 1 or parsed), and so is anything but a boolean for a boolean field. Every
    number, also inside lists and pairs, is at most :data:`MAX_MAGNITUDE` in magnitude.
    """

    # NaN and infinities would make NaN datasets and IDs that strict JSON cannot carry.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _strict_bounded_numbers(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        for name, info in cls.model_fields.items():
            if name not in data:
                continue
            value, kind = data[name], _kind(info.annotation)
            if kind == "bool" and not isinstance(value, bool):
                raise FieldValueError(name, f"{name} must be true or false, got {value!r}")
            if kind == "number":
                # Integer fields (counts, seeds) are bounded by their own limits and the size budget.
                _check_number(name, value, bounded=_has_float(info.annotation))
        return data

    seed: int | None = Field(default=None, ge=0, lt=2**63, description="Random seed; null draws one")
    train_ratio: float = Field(default=0.8, ge=0.0, le=1.0, description="Fraction of rows in train")
    test_ratio: float = Field(default=0.2, ge=0.0, le=1.0, description="Fraction of rows in test")
    shuffle: bool = Field(default=True, description="Shuffle before splitting")

    @property
    def rng_seed(self) -> int:
        """The seed as an int: a recipe always draws one before anything is computed."""
        if self.seed is None:
            raise ValueError("no seed drawn yet: build params through juniper_data_core.recipe()")
        return self.seed

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


def _kind(annotation: Any) -> str:
    """``"bool"``, ``"number"`` (int, float, or lists, pairs or unions of them) or ``"other"``."""
    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return "number"
    args = [a for a in get_args(annotation) if a is not type(None) and a is not Ellipsis]
    if get_origin(annotation) is Literal or not args:
        return "other"
    return "number" if all(_kind(a) == "number" for a in args) else "other"


def _has_float(annotation: Any) -> bool:
    return annotation is float or any(_has_float(a) for a in get_args(annotation))


def _check_number(name: str, value: Any, bounded: bool) -> None:
    """Refuse booleans and strings where numbers go and, when ``bounded``, magnitudes above
    MAX_MAGNITUDE."""
    if isinstance(value, list | tuple):
        for item in value:
            _check_number(name, item, bounded)
    elif isinstance(value, bool | str):
        raise FieldValueError(name, f"{name} must be a number, not {type(value).__name__} {value!r}")
    elif bounded and isinstance(value, int | float) and abs(value) > MAX_MAGNITUDE:
        raise FieldValueError(
            name, f"{name} must be at most {MAX_MAGNITUDE:g} in magnitude, got {value!r}; scale the data"
        )


@dataclass(frozen=True)
class Shape:
    """Rows, features and classes of the full dataset."""

    n_rows: int
    n_features: int
    n_classes: int


@dataclass(frozen=True)
class IndexPure:
    """A version whose row ``i`` is a pure function of the params and ``i``.

    ``build(params)`` takes the validated params model (seed set) and returns the
    kernel and its constants (a NamedTuple of NumPy scalars and arrays); ``check``,
    if given, rejects canonical params this version does not accept (as for
    :class:`Sequential`).
    """

    build: Callable[[Any], tuple[Kernel, Any]]
    check: Callable[[Mapping[str, Any]], None] | None = None


@dataclass(frozen=True)
class Sequential:
    """A version that can only produce the whole dataset at once (rows drawn in sequence).

    ``produce(params)`` takes canonical params (a dict, seed set) and returns the six
    arrays; ``check(params)`` rejects params this version does not accept (raising
    :class:`~juniper_data_core.errors.FieldValueError` or ``ValueError``); ``backends``
    are the only backends it runs on, the first being the one it reports.
    """

    produce: Callable[[Mapping[str, Any]], dict[str, FloatArray]]
    check: Callable[[Mapping[str, Any]], None]
    backends: tuple[str, ...] = ("numpy",)


class TableRows(Protocol):
    """Rows read from a table (a source) instead of computed: what a :class:`FromTable`
    version opens. Row indices are the table's own order (generation order); the plan
    maps split positions to them with the same keyed shuffle as every generator.

    ``features(rows)`` -> float32 ``(len(rows), n_features)`` and ``labels(rows)`` ->
    int64 classes in ``[0, n_classes)``, for ``rows`` a ``slice`` (contiguous) or an
    int64 array of row indices. ``normalize``: scale each feature to [0, 1] with the
    minimum and range of the TRAINING rows (the plan computes them; a constant feature
    keeps a range of 1). ``one_hot``: labels as one-hot rows (else one column holding the
    class). ``meta()``: what the dataset's meta adds (``source_id``, the label mapping...).
    """

    n_rows: int
    n_features: int
    n_classes: int
    normalize: bool
    one_hot: bool

    def features(self, rows: slice | npt.NDArray[np.int64]) -> FloatArray: ...

    def labels(self, rows: slice | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...

    def meta(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FromTable:
    """A version whose rows come from a table rather than a kernel (``csv_import``, ``mnist``).

    ``open(params)`` takes the validated params model (seed set) and returns the
    :class:`TableRows`; :meth:`rows` calls it once per canonical params, so the spec's
    ``shape`` (:meth:`shape`) and the plan share one object. ``guard(params)``, if given,
    runs on every :meth:`rows` call, before the cache: what must still hold when the rows
    are cached (a source that was deleted is gone). ``check`` as for :class:`IndexPure`.
    Rows are read on the host whatever the backend asked for, so every backend gives the
    same arrays.
    """

    open: Callable[[Any], TableRows]
    check: Callable[[Mapping[str, Any]], None] | None = None
    guard: Callable[[Any], None] | None = None

    def rows(self, params: BaseModel) -> TableRows:
        """``open(params)``, once per canonical params."""
        if self.guard is not None:
            self.guard(params)
        key = json.dumps(params.model_dump(mode="json"), sort_keys=True)
        return _opened(self.open, type(params), key)

    @staticmethod
    def cache_clear() -> None:
        """Forget every table version's opened rows (a cold start, for timings)."""
        _opened.cache_clear()

    def shape(self, params: BaseModel) -> Shape:
        """The full dataset's shape: ``y`` has one column (the class) unless labels are one-hot."""
        rows = self.rows(params)
        return Shape(rows.n_rows, rows.n_features, rows.n_classes if rows.one_hot else 1)


@functools.lru_cache(maxsize=16)
def _opened(open_rows: Callable[[Any], TableRows], model: type[BaseModel], key: str) -> TableRows:
    return open_rows(model.model_validate(json.loads(key)))


Implementation = IndexPure | Sequential | FromTable


@dataclass(frozen=True)
class GeneratorSpec:
    """A registered generator.

    Parameters
    ----------
    name, description : str
    params_model : type[SplitParams]
        Validates and fills the params; its JSON schema is what the API serves.
    shape : callable
        Validated params -> :class:`Shape` of the full dataset.
    build : callable
        The 2.0.0 kernel builder (see :class:`IndexPure`); a generator from a source
        gives ``table`` instead. Every generator has 2.0.0.
    sized : callable, optional
        ``sized(params, n_rows)`` -> the params that give about ``n_rows`` rows with
        the other ``params`` (e.g. spiral: ``n_points_per_spiral``); how tests and
        benchmarks scale the examples.
    examples : mapping
        Label -> params (without size or seed): the cases tests, the ulp report and the
        benchmarks run; ``"default"`` (the defaults) is always there.
    other_versions : mapping
        Version -> implementation record of any version besides 2.0.0 (e.g. the frozen
        1.0.0 ones); a generator has only 2.0.0 unless it says otherwise here.
    default_version : str
    aliases : mapping
        Accepted alias -> field name (resolved before validation, e.g. spiral ``n_points``).
    table : FromTable, optional
        The 2.0.0 record of a generator whose rows are read from a source (see
        :mod:`juniper_data_core.sources`).
    unavailable : callable, optional
        ``unavailable()`` -> why the generator cannot run here now (what to install or fetch),
        or None when it can; what the catalogue's ``available`` and ``install_hint`` say.
    """

    name: str
    description: str
    params_model: type[SplitParams]
    shape: Callable[[Any], Shape]
    build: Callable[[Any], tuple[Kernel, Any]] | None = None
    sized: Callable[[Mapping[str, Any], int], dict[str, Any]] | None = None
    examples: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    other_versions: Mapping[str, Implementation] = field(default_factory=dict)
    default_version: str = V2
    aliases: Mapping[str, str] = field(default_factory=dict)
    table: FromTable | None = None
    unavailable: Callable[[], str | None] | None = None

    @property
    def from_source(self) -> bool:
        """True for a generator whose rows are read from a source (its 2.0.0 is ``table``)."""
        return self.table is not None

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version this generator has, oldest first."""
        return tuple(sorted({V2, *self.other_versions}, key=_version_key))

    def implementation(self, version: str) -> Implementation:
        """The implementation record of ``version`` (a KeyError for a version it lacks)."""
        if version != V2:
            return self.other_versions[version]
        if self.table is not None:
            return self.table
        if self.build is None:
            raise KeyError(f"generator {self.name!r} has neither a kernel builder nor a table for {V2}")
        return IndexPure(self.build)

    def example(self, label: str = "default", n_rows: int | None = None, seed: int = 0) -> dict[str, Any]:
        """The example ``label``'s params with ``seed``, scaled to about ``n_rows`` rows if given."""
        params = {**self.examples.get(label, {}), "seed": seed}
        if label != "default" and label not in self.examples:
            raise KeyError(f"generator {self.name!r} has no example {label!r}; has {self.example_labels}")
        if n_rows is None:
            return params
        if self.sized is None:
            raise KeyError(
                f"generator {self.name!r} cannot be scaled to {n_rows} rows (its size is its source's)"
            )
        return {**params, **self.sized(params, n_rows)}

    @property
    def example_labels(self) -> tuple[str, ...]:
        return ("default", *(k for k in self.examples if k != "default"))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def compat_v1(name: str) -> Sequential:
    """The frozen 1.0.0 record of generator ``name`` (:mod:`juniper_data_core.compat`)."""
    from juniper_data_core.compat import check_v1_params, generate_v1

    return Sequential(produce=partial(generate_v1, name), check=partial(check_v1_params, name))
