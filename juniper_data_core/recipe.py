"""Recipes: a generator, a version, canonical params and a seed; computes nothing.

A dataset is a pure function of its recipe, so the recipe is its identity:
``dataset_id = f"{generator}-{version}-{sha256(canonical)[:16]}"`` with
``canonical = json.dumps({"generator", "version", "params"}, sort_keys=True,
separators=(",", ":"))`` (CONTRACT section 3; for 1.0.0 this reproduces the earlier
service's IDs).
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from juniper_data_core.errors import FieldValueError, ParamsError, UnknownGeneratorError
from juniper_data_core.generators import REGISTRY, GeneratorSpec, Shape
from juniper_data_core.split import split_sizes

if TYPE_CHECKING:
    from juniper_data_core.plan import Plan

SPLITS = ("full", "train", "test")
# Fresh seeds stay below 2**53 so that every JSON client reads them exactly.
_SEED_BITS = 53


def check_split(split: str) -> str:
    """``split`` itself if it is one of :data:`SPLITS`; else a ParamsError naming them."""
    if split not in SPLITS:
        raise ParamsError(f"split must be one of {', '.join(SPLITS)}, got {split!r}", [("split", "unknown")])
    return split


@dataclass(frozen=True)
class Recipe:
    """What a dataset is made from. ``params`` are canonical: every field present,
    defaults filled, aliases resolved, the seed drawn; treat them as read-only.

    ``model`` is the same params as the generator's validated params model (typed
    fields; made from ``params`` when not given). What the recipe implies (shape, split
    sizes, kernel constants, the shuffle) is compiled once, on first use, into
    :attr:`plan`, which every batch of every artifact of this recipe reuses.
    """

    generator: str
    version: str
    params: dict[str, Any]
    warnings: tuple[str, ...] = field(default=(), compare=False)
    model: BaseModel = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.model is None:
            object.__setattr__(self, "model", self.spec.params_model.model_validate(self.params))

    @property
    def spec(self) -> GeneratorSpec:
        return REGISTRY[self.generator]

    @property
    def canonical(self) -> str:
        """The JSON text whose hash is the dataset ID."""
        doc = {"generator": self.generator, "version": self.version, "params": self.params}
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    @property
    def dataset_id(self) -> str:
        digest = hashlib.sha256(self.canonical.encode()).hexdigest()[:16]
        return f"{self.generator}-{self.version}-{digest}"

    @property
    def seed(self) -> int:
        return int(self.params["seed"])

    @functools.cached_property
    def shape(self) -> Shape:
        return self.spec.shape(self.model)

    @functools.cached_property
    def split_sizes(self) -> tuple[int, int]:
        """``(n_train, n_test)``."""
        return split_sizes(self.shape.n_rows, self.params["train_ratio"], self.params["test_ratio"])

    @functools.cached_property
    def plan(self) -> Plan:
        """The compiled plan (built on first use, then kept with the recipe)."""
        from juniper_data_core.plan import compile_plan

        impl = self.spec.implementation(self.version)
        return compile_plan(self.shape, self.model, self.params, impl, self.version)

    def n_rows(self, split: str = "full") -> int:
        """Rows in ``split`` (``"full"``, ``"train"`` or ``"test"``)."""
        check_split(split)
        if split == "full":
            return self.shape.n_rows
        return self.split_sizes[0 if split == "train" else 1]


def _spec(name: str) -> GeneratorSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownGeneratorError(
            f"unknown generator {name!r}; available: {', '.join(sorted(REGISTRY))}"
        ) from None


def _format_errors(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in err.errors():
        cause = e.get("ctx", {}).get("error")
        # A model validator's error has no location: the field it names stands in.
        field = cause.field if isinstance(cause, FieldValueError) else "params"
        loc = ".".join(str(p) for p in e["loc"]) or field
        msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        if e["loc"] and not isinstance(got, dict | list):
            msg = f"{msg} (got {got!r})"
        out.append((loc, msg))
    return out


def recipe(name: str, params: Mapping[str, Any] | None = None, *, version: str | None = None) -> Recipe:
    """Validate and canonicalise a request into a :class:`Recipe`.

    Parameters
    ----------
    name : str
        A registered generator (see :func:`juniper_data_core.generator_catalog`).
    params : mapping, optional
        The generator's parameters; unknown keys are ignored and listed in
        ``Recipe.warnings``; aliases (e.g. spiral ``n_points``) are resolved; a
        missing or null seed (where the generator's default is null) draws a fresh
        one, recorded in the params. If only ``train_ratio`` is given, ``test_ratio``
        is ``1 - train_ratio``.
    version : str, optional
        The generator version; default the generator's default (2.0.0).

    Raises
    ------
    UnknownGeneratorError
        For an unknown generator or version.
    ParamsError
        For invalid parameters; the message names each field and its bound.
    """
    spec = _spec(name)
    version = version or spec.default_version
    if version not in spec.versions:
        raise UnknownGeneratorError(
            f"generator {name!r} has no version {version!r}; versions: {', '.join(spec.versions)}"
        )
    given = dict(params or {})
    fields = spec.params_model.model_fields
    known = set(fields) | set(spec.aliases)
    warnings = tuple(f"unknown parameter {k!r} ignored" for k in sorted(given) if k not in known)
    for alias, target in spec.aliases.items():
        if alias in given:
            value = given.pop(alias)
            if target in given:
                warnings += (f"parameter {alias!r} ignored: {target!r} is also given",)
            else:
                given[target] = value
    given = {k: v for k, v in given.items() if k in fields}
    if "train_ratio" in given and "test_ratio" not in given and isinstance(given["train_ratio"], int | float):
        # Rounded so that 1 - 0.8 is 0.2, the value clients and old IDs use.
        given["test_ratio"] = round(1.0 - float(given["train_ratio"]), 12)
    try:
        model = spec.params_model.model_validate(given)
    except ValidationError as err:
        errors = _format_errors(err)
        text = "; ".join(f"{loc}: {msg}" for loc, msg in errors)
        raise ParamsError(f"invalid {name} parameters: {text}", errors) from None
    canonical = model.model_dump(mode="json")
    if canonical.get("seed") is None:
        canonical["seed"] = secrets.randbits(_SEED_BITS)
        model = model.model_copy(update={"seed": canonical["seed"]})
    check = spec.implementation(version).check
    if check is not None:
        try:
            check(canonical)
        except FieldValueError as err:
            message = f"invalid {name} parameters for version {version}: {err}"
            raise ParamsError(message, [(err.field, str(err))]) from None
        except ValueError as err:
            message = f"invalid {name} parameters for version {version}: {err}"
            raise ParamsError(message, [("version", str(err))]) from None
    return Recipe(name, version, canonical, warnings, model)


def as_recipe(name_or_recipe: str | Recipe, params: Mapping[str, Any] | None, version: str | None) -> Recipe:
    """A Recipe as given, or one made from a name and params."""
    if isinstance(name_or_recipe, Recipe):
        if params is not None or version is not None:
            raise ParamsError("give params and version when passing a name, not with a Recipe")
        return name_or_recipe
    return recipe(name_or_recipe, params, version=version)
