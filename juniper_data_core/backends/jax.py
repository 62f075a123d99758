"""The JAX backend: the kernels under ``jax.jit``, on JAX's default device (CPU or GPU).

JAX runs in its default 32-bit mode, so row indices are int32 and a dataset view is
limited to 2**31 - 1 rows here. Rows are computed in fixed-size chunks so that one
compiled program serves every request of a kernel (shapes are static under jit).

Kernels are traced through a jaxpr rewrite that rounds every float product and
quotient as NumPy does, which XLA on its own does not (see :func:`_numpy_rounding`).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from juniper_data_core.backends.base import evaluate, host_outputs
from juniper_data_core.errors import BackendUnavailableError
from juniper_data_core.generators.kernel import FloatArray, Kernel, Task
from juniper_data_core.split import feistel

_CHUNK = 1 << 20
_MAX_ROWS = 2**31 - 1
# The runtime zero of _opaque: an argument of every program, so XLA cannot fold it.
_ZERO = np.uint32(0)

# NumPy rounds the result of every operation to float32. Under jax.jit, XLA does not
# always: its code generator (LLVM, for CPU and for GPU) is allowed to contract
# ``a * b + c`` into one fused multiply-add, rounded once, and its simplifier rewrites a
# division by a scalar, a constant or a broadcast as a multiplication by the reciprocal,
# rounded twice. On NumPy's numbers that made scaled uniforms (``margin + span * u``)
# 1 ulp off, flipped checkerboard labels at cell edges and put spiral ~16 ulp off,
# where the contract asks bit-identity of both and 4 ulp. No XLA option turns these
# off for one program: ``--xla_cpu_enable_fast_math`` is already false and does not
# govern them; ``--xla_cpu_max_isa=AVX`` hides the FMA instructions, but on CPU only,
# for the whole process, and only if set before JAX starts; optimisation level 0 is 4x
# slower; ``lax.reduce_precision`` to float32 and ``lax.optimization_barrier`` leave
# the contraction in place. So :func:`_numpy_rounding` re-evaluates a kernel's jaxpr
# with every float product passed through :func:`_opaque` before anything uses it and
# every float division made by an opaque array. Nothing in that depends on the platform
# (it is verified on CPU; the GPU code generator contracts the same way and gets the same
# rewrite), it costs an integer ``and`` and ``or`` per product (a few per cent of time),
# and it leaves the generators, written once for every backend, unchanged.

# Primitives whose float results XLA may fuse, unrounded, into an add that uses them:
# products, and the functions XLA may expand inline into polynomials (whose last step
# can be a product). Matched by name, which is stable across JAX versions.
_PRODUCTS = frozenset(
    {"mul", "square", "integer_pow", "dot_general", "reduce_prod", "cumprod"}
    | {"exp", "exp2", "expm1", "log", "log1p", "pow", "logistic", "erf", "erfc", "erf_inv"}
    | {"sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh"}
    | {"asinh", "acosh", "atanh", "rsqrt", "cbrt", "lgamma", "digamma"}
)
# Call primitives whose body is inlined and rewritten (a custom derivative rule is
# dropped with its call: the backend never differentiates).
_CALLS = frozenset(
    {"jit", "pjit", "closed_call", "core_call", "remat", "remat2", "checkpoint"}
    | {"custom_jvp_call", "custom_vjp_call", "custom_vjp_call_jaxpr"}
)
_BODY_PARAMS = ("jaxpr", "call_jaxpr", "fun_jaxpr")


def _opaque(x: Any, zero: Any) -> Any:
    """``x`` unchanged, through its bits or-ed with a zero XLA cannot know.

    ``zero`` is the program's runtime argument (a uint32 0), and-ed with an iota so that
    the mask of an array is an array: a broadcast scalar would let XLA sink the ``or``
    below the broadcast and see a division by a broadcast again. Neither XLA nor LLVM can
    look through the ``or``, so ``x`` is rounded to its type where it is computed.
    """
    import jax.numpy as jnp
    from jax import lax

    bits = jnp.dtype(f"uint{8 * x.dtype.itemsize}")
    mask = zero.astype(bits)
    if x.ndim:
        mask = lax.broadcasted_iota(bits, x.shape, 0) & mask
    return lax.bitcast_convert_type(lax.bitcast_convert_type(x, bits) | mask, x.dtype)


def _eval_rounded(jaxpr: Any, consts: Sequence[Any], args: Sequence[Any], zero: Any) -> list[Any]:
    """Evaluate ``jaxpr`` in the enclosing trace, rounding as NumPy does: float results of
    :data:`_PRODUCTS` through :func:`_opaque`, float divisors made opaque arrays."""
    import jax.numpy as jnp
    from jax.extend.core import Literal

    env: dict[Any, Any] = {}

    def read(v: Any) -> Any:
        return v.val if isinstance(v, Literal) else env[v]

    env.update(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))
    for eqn in jaxpr.eqns:
        ins = [read(v) for v in eqn.invars]
        name = eqn.primitive.name
        if name in _CALLS:
            inner = next(eqn.params[key] for key in _BODY_PARAMS if key in eqn.params)
            inner_consts = getattr(inner, "consts", ())
            outs = _eval_rounded(getattr(inner, "jaxpr", inner), inner_consts, ins, zero)
        else:
            if any(_needs_rounding(sub) for sub in _subjaxprs(eqn.params)):
                raise NotImplementedError(
                    f"the jax backend cannot round the products inside a {name!r} of a kernel; "
                    "write the kernel without it or extend _eval_rounded"
                )
            aval = eqn.outvars[0].aval
            if name == "div" and _is_float(aval.dtype):
                divisor = jnp.broadcast_to(jnp.asarray(ins[1], aval.dtype), aval.shape)
                ins[1] = _opaque(divisor, zero)
            # (subfuns, params) before JAX 0.7, params since.
            bind = eqn.primitive.get_bind_params(eqn.params)
            subfuns, params = bind if isinstance(bind, tuple) else ((), bind)
            outs = eqn.primitive.bind(*subfuns, *ins, **params)
            outs = list(outs) if eqn.primitive.multiple_results else [outs]
            if name in _PRODUCTS:
                outs = [_opaque(o, zero) if _is_float(o.dtype) else o for o in outs]
        for v, out in zip(eqn.outvars, outs, strict=True):
            env[v] = out
    return [read(v) for v in jaxpr.outvars]


def _is_float(dtype: Any) -> bool:
    import jax.numpy as jnp

    return bool(jnp.issubdtype(dtype, jnp.floating))


def _subjaxprs(params: dict[str, Any]) -> list[Any]:
    """The jaxprs among an equation's params (the bodies of loops, branches, calls)."""
    from jax.extend.core import ClosedJaxpr, Jaxpr

    found = []
    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, ClosedJaxpr):
                found.append(item.jaxpr)
            elif isinstance(item, Jaxpr):
                found.append(item)
    return found


def _needs_rounding(jaxpr: Any) -> bool:
    return any(
        eqn.primitive.name in _PRODUCTS
        or eqn.primitive.name == "div"
        or any(_needs_rounding(sub) for sub in _subjaxprs(eqn.params))
        for eqn in jaxpr.eqns
    )


def _numpy_rounding(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` to be traced under ``jax.jit`` with its float products and quotients rounded
    as NumPy rounds them (see the comment above :data:`_PRODUCTS`). The result takes the
    runtime zero first: ``_numpy_rounding(fn)(zero, *args)``."""
    import jax

    def rounded(zero: Any, *args: Any) -> Any:
        closed, shapes = jax.make_jaxpr(fn, return_shape=True)(*args)
        outs = _eval_rounded(closed.jaxpr, closed.consts, jax.tree.leaves(args), zero)
        return jax.tree.unflatten(jax.tree.structure(shapes), outs)

    return rounded


@functools.cache
def _namespace() -> types.ModuleType:
    import jax.numpy as jnp

    def cast(dtype: Any) -> Any:
        return lambda x: jnp.asarray(x).astype(dtype)

    def mulhi(h: Any, a: Any) -> Any:
        # floor(h * a / 2**32) in uint32 arithmetic from 16-bit halves of h: exact
        # for a <= 2**16, which 2**31 rows guarantee (a <= 2**(31 - 15)).
        a = jnp.asarray(a).astype(jnp.uint32)
        top = (h >> 16) * a
        bottom = (h & 0xFFFF) * a
        return ((top + (bottom >> 16)) >> 16).astype(jnp.int32)

    ns = types.ModuleType("juniper_data_core.xp.jax")
    ns.__dict__.update(
        counter=lambda i: (i.astype(jnp.uint32), jnp.zeros_like(i, dtype=jnp.uint32)),
        f32=cast(jnp.float32),
        i32=cast(jnp.int32),
        u32=cast(jnp.uint32),
        index=cast(jnp.int32),
        float32=jnp.float32,
        sqrt=jnp.sqrt,
        log=jnp.log,
        cos=jnp.cos,
        sin=jnp.sin,
        floor=jnp.floor,
        minimum=jnp.minimum,
        maximum=jnp.maximum,
        stack=jnp.stack,
        arange=jnp.arange,
        mulhi=mulhi,
    )
    return ns


@functools.cache
def _program(
    kernel: Kernel, n_features: int, n_classes: int, size: int, low_bits: int, features: bool, labels: bool
) -> Any:
    import jax
    import jax.numpy as jnp

    ns = _namespace()

    @_numpy_rounding
    def points(rows: Any, consts: Any) -> Any:
        task = Task(kernel, consts, n_features, n_classes, 0, size, None, features, labels)
        return evaluate(ns, task, rows)

    def run(start: Any, consts: Any, n: Any, high: Any, keys: Any, zero: Any) -> Any:
        rows = start + jnp.arange(size, dtype=jnp.int32)
        if low_bits:
            # Padding rows past the view are clamped into [0, n): cycle walking only
            # terminates from a start inside the range.
            rows = jnp.minimum(rows, n - 1)

            # Cycle walking as a device loop: re-apply where still out of range.
            def walk(y: Any) -> Any:
                return jnp.where(y >= n, feistel(ns, y, low_bits, high, keys), y)

            first = feistel(ns, rows, low_bits, high, keys)
            rows = jax.lax.while_loop(lambda y: jnp.any(y >= n), walk, first)
        return points(zero, rows, consts)

    return jax.jit(run)


def _device_consts(consts: Any) -> Any:
    import jax.numpy as jnp

    def move(v: Any) -> Any:
        if isinstance(v, (np.ndarray, np.generic)):
            dtype = np.int32 if np.asarray(v).dtype == np.int64 else np.asarray(v).dtype
            return jnp.asarray(np.asarray(v).astype(dtype))
        return v

    return type(consts)(*[move(v) for v in consts])


class JaxBackend:
    """``jax.jit``-compiled kernels."""

    name = "jax"
    #: Shuffled splits are computed at their positions rather than gathered from full.
    recompute_shuffled = True

    def probe(self) -> bool:
        import jax
        import jax.numpy as jnp

        return int(jax.jit(lambda a: a + 1)(jnp.int32(1))) == 2

    def namespace(self) -> Any:
        return _namespace()

    def devices(self) -> list[str]:
        import jax

        return [f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()]

    def compute(self, task: Task) -> tuple[FloatArray, FloatArray]:
        import jax.numpy as jnp

        total = task.perm.n if task.perm else task.stop
        if total > _MAX_ROWS:
            raise BackendUnavailableError(
                f"the jax backend handles at most {_MAX_ROWS} rows (32-bit mode); "
                "use backend='numba', 'cupy' or 'numpy'"
            )
        n = task.stop - task.start
        size = min(_CHUNK, max(1024, 1 << (max(n, 1) - 1).bit_length()))
        perm = task.perm
        program = _program(
            task.kernel,
            task.n_features,
            task.n_classes,
            size,
            perm.low_bits if perm else 0,
            task.features,
            task.labels,
        )
        consts = _device_consts(task.consts)
        keys = jnp.asarray(np.asarray(perm.keys if perm else (0,) * 4, np.uint32))
        limit = jnp.int32(perm.n if perm else 0)
        high = jnp.int32(perm.high if perm else 1)
        X, Y = host_outputs(task)
        for s in range(0, n, size):
            e = min(n, s + size)
            Xc, Yc = program(jnp.int32(task.start + s), consts, limit, high, keys, _ZERO)
            if Xc is not None:
                X[s:e] = np.asarray(Xc)[: e - s]
            if Yc is not None:
                Y[s:e] = np.asarray(Yc)[: e - s]
        return X, Y
