"""Every backend computes the same datasets (docs/reproducibility.md).

``BackendContract`` holds the generic checks; one subclass per backend only names
it (NumPy random's test layout). ``AgreesWithNumpy`` compares a backend with the NumPy
reference: labels, split membership and uniform-derived values bit for bit; floats that
pass through transcendental functions within ``4 * spacing(max|a|)`` per array (NumPy
itself is checked against frozen known answers instead, test_known_answers.py). On each
backend: any chunking of any split gives the whole split bit for bit.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.backends import namespace
from juniper_data_core.errors import BackendUnavailableError
from juniper_data_core.generators import REGISTRY

ULP_BOUND = 4  # |a - b| <= ULP_BOUND * np.spacing(max|a|), per array
SPLITS = ("full", "train", "test")

# Every generator's example params (GeneratorSpec.examples, the table the ulp report and
# the benchmarks also use), noise on unless the example says otherwise, so that floats
# pass through log, sqrt, cos and sin. Over 1024 rows, so that the jax backend's chunked
# programs differ in size between the ranges of the chunking test.
CASE_ROWS = 1203


def _cases(kind: str | None) -> dict[str, tuple[str, dict[str, Any]]]:
    """``{"<generator>-<label>": (generator, params)}`` of the examples labelled ``kind``
    (``None``: every example but the defaults and the ``uniform`` and ``unshuffled`` ones)."""
    out = {}
    for seed, (name, spec) in enumerate(sorted(REGISTRY.items()), start=11):
        if spec.from_source:  # tested on every backend in tests/core/test_sources*.py
            continue
        for label in spec.example_labels:
            if label == "default" or (kind is None) == (label in ("uniform", "unshuffled")):
                continue
            if kind is None or label == kind:
                out[f"{name}-{label}"] = (name, spec.example(label, CASE_ROWS, seed=seed))
    return out


CASES = _cases(None)
# noise = 0: every value is a uniform scaled and shifted, exact on every backend.
UNIFORM_CASES = _cases("uniform")
UNSHUFFLED = _cases("unshuffled")
ALL_CASES = {**CASES, **UNIFORM_CASES, **UNSHUFFLED}


@functools.cache
def generated(case: str, backend: str) -> dict[str, np.ndarray]:
    """The arrays of one case on one backend (computed once per session)."""
    name, params = ALL_CASES[case]
    ds = jd.generate(name, params, backend=backend)
    assert ds.meta["backend"] == backend
    return ds.arrays


def source_rows(X_full: np.ndarray, X_part: np.ndarray) -> np.ndarray:
    """For each row of ``X_part``, the index of the bit-identical row of ``X_full``."""
    index = {row.tobytes(): i for i, row in enumerate(X_full)}
    assert len(index) == len(X_full), "rows of X_full are not distinct"
    return np.array([index.get(row.tobytes(), -1) for row in X_part], dtype=np.int64)


def assert_within_ulps(got: np.ndarray, ref: np.ndarray, ulps: int = ULP_BOUND) -> None:
    assert got.shape == ref.shape and got.dtype == ref.dtype == np.float32
    bound = ulps * np.spacing(np.max(np.abs(ref)))
    err = np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64)))
    assert err <= bound, f"max |a - b| = {err:.3g} > {ulps} * spacing(max|a|) = {bound:.3g}"


def chunk_bounds(n: int) -> list[int]:
    """Uneven cut points of ``[0, n)``."""
    return sorted({0, min(7, n), min(100, n), min(n // 2 + 3, n), n})


def test_cases_cover_every_generator() -> None:
    # A generator registered without examples of its own would go untested on the backends.
    synthetic = {name for name, info in jd.generator_catalog().items() if not info["from_source"]}
    assert {name for name, _ in CASES.values()} == synthetic
    assert {name for name, _ in UNIFORM_CASES.values()} == {"xor", "checkerboard"}
    assert all(not params["shuffle"] for _, params in UNSHUFFLED.values()) and UNSHUFFLED


# Rows of checkerboard (noise 0) whose coordinate lies within an ulp of a cell edge:
# (seed, row); their labels must still be the same on every backend.
EDGE_PARAMS = {"n_samples": 1_000_000, "n_squares": 16, "x_range": (0.0, 3.0), "y_range": (-1.0, 0.7)}
EDGE_ROWS = [(0, 468907), (1, 466677)]


class BackendContract:
    """The checks every backend passes; a subclass sets ``backend`` (and lists the
    engine bugs it shows, as ``(test, case) -> reason``, run as strict xfails)."""

    backend: str
    known_bugs: ClassVar[dict[tuple[str, str | None], str]] = {}

    @pytest.fixture(autouse=True)
    def _present(self, require_backend: Callable[[str], None], request: pytest.FixtureRequest) -> None:
        require_backend(self.backend)
        callspec = getattr(request.node, "callspec", None)
        case = callspec.params.get("case") if callspec else None
        reason = self.known_bugs.get((request.function.__name__, case))
        if reason:
            request.applymarker(pytest.mark.xfail(strict=True, reason=reason))

    def _xp(self) -> Any:
        from juniper_data_core.backends.registry import get_backend

        return get_backend(self.backend).namespace()

    def test_namespace_provides_every_declared_member(self) -> None:
        xp = self._xp()
        missing = [m.name for m in namespace.members(self.backend) if not callable(getattr(xp, m.name, None))]
        assert not missing, f"{self.backend}'s xp lacks {missing}"

    def test_integer_helpers_have_the_documented_widths_and_values(self) -> None:
        xp, widths = self._xp(), namespace.WIDTHS[self.backend]
        # Row 5, past 2**32 where the row index is 64-bit (JAX's is 32-bit: row 5 itself).
        row, hi = (5, 0) if widths["index"] == "int32" else (2**32 + 5, 1)
        if self.backend == "numba":
            results = {
                "i32": xp.i32(4),
                "u32": xp.u32(2**32 - 1),
                "index": xp.index(7),
                "mulhi": xp.mulhi(2**31, 3),
                "counter": xp.counter(row),
            }
            # A compiled helper's width is the return type Numba gave it.
            types = {name: str(getattr(xp, name).nopython_signatures[-1].return_type) for name in results}
            assert types.pop("counter") == f"UniTuple({widths['counter']} x 2)"
        else:
            ints = xp.arange(8)
            results = {
                "i32": xp.i32(ints)[4],
                "u32": xp.u32(ints - 1)[0],  # -1 wraps to 2**32 - 1
                "index": xp.index(ints)[7],
                "mulhi": xp.mulhi(xp.u32(xp.index(ints) * 2**30), 3)[2],  # h = 2**31
                "counter": tuple(word[5] for word in xp.counter(xp.index(ints) - 5 + row)),
            }
            types = {name: str(results[name].dtype) for name in ("i32", "u32", "index", "mulhi")}
            assert {str(word.dtype) for word in results["counter"]} == {widths["counter"]}
        assert types == {name: widths[name] for name in types}
        assert int(results["i32"]) == 4
        assert int(results["u32"]) == 2**32 - 1
        assert int(results["index"]) == 7
        assert int(results["mulhi"]) == 1  # floor(2**31 * 3 / 2**32)
        assert tuple(int(word) for word in results["counter"]) == (5, hi)

    @pytest.mark.parametrize("split", SPLITS)
    @pytest.mark.parametrize("case", ALL_CASES)
    def test_chunks_equal_whole_split(self, case: str, split: str) -> None:
        name, params = ALL_CASES[case]
        whole = generated(case, self.backend)
        cuts = chunk_bounds(len(whole[f"X_{split}"]))
        parts = [
            jd.generate_rows(name, params, split=split, start=a, stop=b, backend=self.backend)
            for a, b in itertools.pairwise(cuts)
        ]
        np.testing.assert_array_equal(np.concatenate([X for X, _ in parts]), whole[f"X_{split}"])
        np.testing.assert_array_equal(np.concatenate([y for _, y in parts]), whole[f"y_{split}"])

    @pytest.mark.parametrize("split", SPLITS)
    @pytest.mark.parametrize("case", CASES)
    def test_features_alone_and_labels_alone_equal_both(self, case: str, split: str) -> None:
        # The NPZ writer computes X and y of a range in separate passes.
        name, params = ALL_CASES[case]
        r = jd.recipe(name, params)
        whole = generated(case, self.backend)
        n = r.n_rows(split)
        X, no_y = r.plan.rows(self.backend, split, 3, n, labels=False)
        no_X, y = r.plan.rows(self.backend, split, 3, n, features=False)
        assert no_y.shape == (n - 3, 0) and no_X.shape == (n - 3, 0)
        np.testing.assert_array_equal(X, whole[f"X_{split}"][3:])
        np.testing.assert_array_equal(y, whole[f"y_{split}"][3:])

    @pytest.mark.parametrize("case", CASES)
    def test_train_and_test_are_disjoint_rows_of_full(self, case: str) -> None:
        got = generated(case, self.backend)
        train = source_rows(got["X_full"], got["X_train"])
        test = source_rows(got["X_full"], got["X_test"])
        assert train.min() >= 0 and test.min() >= 0, "a train or test row is not a row of full"
        assert not set(train) & set(test)
        np.testing.assert_array_equal(got["y_train"], got["y_full"][train])
        np.testing.assert_array_equal(got["y_test"], got["y_full"][test])

    @pytest.mark.parametrize("case", ["spiral-mirrored", "gaussian-3-class", "circles-noisy", "moon-noisy"])
    def test_shuffle_is_a_permutation(self, case: str) -> None:
        name, params = CASES[case]
        params = {**params, "train_ratio": 0.6, "test_ratio": 0.4}
        ds = jd.generate(name, params, backend=self.backend)
        full = ds.arrays["X_full"]
        order = source_rows(full, np.concatenate([ds.arrays["X_train"], ds.arrays["X_test"]]))
        np.testing.assert_array_equal(np.sort(order), np.arange(len(full)))
        assert not np.array_equal(order, np.arange(len(full))), "shuffle=True left the order unchanged"

    @pytest.mark.parametrize("case", UNSHUFFLED)
    def test_unshuffled_split_is_leading_rows_of_full(self, case: str) -> None:
        name, params = ALL_CASES[case]
        got = generated(case, self.backend)
        n_train = len(got["X_train"])
        n_test = len(got["X_test"])
        for key in ("X", "y"):
            np.testing.assert_array_equal(got[f"{key}_train"], got[f"{key}_full"][:n_train])
            np.testing.assert_array_equal(got[f"{key}_test"], got[f"{key}_full"][n_train : n_train + n_test])
        X, _ = jd.generate_rows(name, params, split="test", start=1, stop=n_test, backend=self.backend)
        np.testing.assert_array_equal(X, got["X_full"][n_train + 1 : n_train + n_test])

    def test_env_var_overrides_auto(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JUNIPER_DATA_BACKEND", self.backend)
        ds = jd.generate("xor", {"n_points_per_quadrant": 10, "seed": 1})
        assert ds.meta["backend"] == self.backend
        X, _ = jd.generate_rows("xor", {"n_points_per_quadrant": 10, "seed": 1}, stop=5)
        np.testing.assert_array_equal(X, ds.arrays["X_full"][:5])

    def test_explicit_backend_beats_env_var(self, monkeypatch: pytest.MonkeyPatch) -> None:
        other = "jax" if self.backend == "numpy" else "numpy"
        monkeypatch.setenv("JUNIPER_DATA_BACKEND", other)
        ds = jd.generate("moon", {"n_samples": 20}, backend=self.backend)
        assert ds.meta["backend"] == self.backend


class AgreesWithNumpy:
    """Checks of a backend against the NumPy reference. NumPy itself is not compared with
    itself: its numbers are checked against the frozen known answers (test_known_answers.py)."""

    backend: str

    @pytest.mark.parametrize("case", ALL_CASES)
    def test_labels_bit_identical_to_numpy(self, case: str) -> None:
        got, ref = generated(case, self.backend), generated(case, "numpy")
        for split in SPLITS:
            assert got[f"y_{split}"].dtype == np.float32
            np.testing.assert_array_equal(got[f"y_{split}"], ref[f"y_{split}"])

    @pytest.mark.parametrize("case", ALL_CASES)
    def test_split_membership_identical_to_numpy(self, case: str) -> None:
        got, ref = generated(case, self.backend), generated(case, "numpy")
        for split in ("train", "test"):
            rows = source_rows(got["X_full"], got[f"X_{split}"])
            np.testing.assert_array_equal(rows, source_rows(ref["X_full"], ref[f"X_{split}"]))

    @pytest.mark.parametrize("case", ALL_CASES)
    def test_floats_within_ulp_bound_of_numpy(self, case: str) -> None:
        got, ref = generated(case, self.backend), generated(case, "numpy")
        for split in SPLITS:
            assert_within_ulps(got[f"X_{split}"], ref[f"X_{split}"])

    @pytest.mark.parametrize("case", UNIFORM_CASES)
    def test_uniform_values_bit_identical_to_numpy(self, case: str) -> None:
        got, ref = generated(case, self.backend), generated(case, "numpy")
        for split in SPLITS:
            np.testing.assert_array_equal(got[f"X_{split}"], ref[f"X_{split}"])

    def test_checkerboard_labels_at_cell_edges_identical_to_numpy(self) -> None:
        for seed, row in EDGE_ROWS:
            params = {**EDGE_PARAMS, "seed": seed}
            got = jd.generate_rows("checkerboard", params, start=row, stop=row + 1, backend=self.backend)
            ref = jd.generate_rows("checkerboard", params, start=row, stop=row + 1, backend="numpy")
            np.testing.assert_array_equal(got[1], ref[1], err_msg=f"seed {seed}, row {row}")


class TestNumpy(BackendContract):
    backend = "numpy"


class TestNumba(AgreesWithNumpy, BackendContract):
    backend = "numba"

    def test_thread_count_does_not_change_bits(self) -> None:
        import numba

        name, params = CASES["spiral-mirrored"]
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            one = jd.generate(name, params, backend="numba").arrays
        finally:
            numba.set_num_threads(before)
        for key, value in generated("spiral-mirrored", "numba").items():
            np.testing.assert_array_equal(one[key], value)


class TestJax(AgreesWithNumpy, BackendContract):
    backend = "jax"

    def test_products_and_quotients_rounded_as_on_numpy(self) -> None:
        # Under jax.jit, XLA contracts a * b + c into a fused multiply-add and turns a
        # division by a scalar into a multiplication by its reciprocal; the backend's
        # jaxpr rewrite rounds every float product and divides by an array instead, in
        # nested jits too, so each operation rounds as NumPy's does.
        import jax
        import jax.numpy as jnp

        from juniper_data_core.backends.jax import _ZERO, _numpy_rounding

        u = np.arange(1 << 16, dtype=np.float32) * np.float32(2**-16)
        i = np.arange(1 << 16, dtype=np.int32)
        span, margin, cell = np.float32(1.8), np.float32(0.2), np.float32(0.10625)

        def f(u: Any, i: Any, cell: Any) -> Any:
            inner = jax.jit(lambda u: margin + span * u)
            return (
                inner(u),
                jnp.square(u) + margin,
                u * u * span + margin,
                (u + margin) / cell,
                u / np.float32(0.1),
                i * 3 + 1,
            )

        got = jax.jit(_numpy_rounding(f))(_ZERO, u, i, cell)
        want = (
            margin + span * u,
            np.square(u) + margin,
            u * u * span + margin,
            (u + margin) / cell,
            u / np.float32(0.1),
            i * 3 + 1,
        )
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.asarray(g), w)

    def test_products_in_a_loop_are_refused(self) -> None:
        import jax

        from juniper_data_core.backends.jax import _ZERO, _numpy_rounding

        def f(x: Any) -> Any:
            return jax.lax.fori_loop(0, 3, lambda _, v: v * np.float32(1.5) + np.float32(1.0), x)

        with pytest.raises(NotImplementedError, match="cannot round the products"):
            jax.jit(_numpy_rounding(f))(_ZERO, np.ones(4, np.float32))


@pytest.mark.gpu
class TestCupy(AgreesWithNumpy, BackendContract):
    backend = "cupy"


# --- choosing a backend ---


def test_available_backends_contains_numpy() -> None:
    available = jd.available_backends()
    assert available[0] == "numpy"
    assert set(available) <= {"numpy", "numba", "jax", "cupy"}


def test_unknown_backend_names_the_available_ones() -> None:
    with pytest.raises(BackendUnavailableError, match="tpu") as info:
        jd.generate("xor", {"seed": 1}, backend="tpu")
    for name in jd.available_backends():
        assert name in str(info.value)


def test_absent_backend_names_the_available_ones() -> None:
    available = jd.available_backends()
    absent = [b for b in ("numpy", "numba", "jax", "cupy") if b not in available]
    if not absent:
        pytest.skip("every backend is available here")
    with pytest.raises(BackendUnavailableError, match=f"{absent[0]!r} is not available") as info:
        jd.generate_rows("xor", {"seed": 1}, backend=absent[0])
    assert f"available: {', '.join(available)}" in str(info.value)


def test_env_var_with_unknown_backend_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNIPER_DATA_BACKEND", "tpu")
    with pytest.raises(BackendUnavailableError, match="tpu"):
        jd.generate("xor", {"seed": 1})


def test_auto_picks_numpy_for_small_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUNIPER_DATA_BACKEND", raising=False)
    assert jd.generate("xor", {"seed": 1}).meta["backend"] == "numpy"
