"""The ``juniper-data`` command line: generate artifacts, plot them, list backends and generators.

Other installed packages add commands through the ``juniper_data.commands`` entry
points (the service adds ``serve``); see :func:`add_installed_commands`.

``juniper-data generate spiral -p n_spirals=3 -p noise=0.1 --format arrow -o spiral.arrow``

``juniper-data generate spiral -p n_points_per_spiral=500000000 --format parquet -o DIR --dask local:2``
writes partitioned files with a manifest on Dask (:mod:`juniper_data_core.dask`).

``juniper-data plot spiral -p seed=1 -o spiral.png`` (or ``plot data.npz``) draws a scatter plot
(:mod:`juniper_data_core.preview`).

A user's mistake (an unknown generator, option or backend, a bad parameter) prints one
line ``error: ...`` on stderr and exits with code 2, never a traceback. typer and rich
(the ``cli`` extra) are imported when :func:`main` runs, so this module imports without them.
"""

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

from juniper_data_core.errors import JuniperDataError

if TYPE_CHECKING:
    import typer

    from juniper_data_core.formats.chunks import Chunk
    from juniper_data_core.recipe import Recipe

#: Outputs with more rows than this get a progress bar (when stderr is a terminal).
PROGRESS_MIN_ROWS = 1_000_000
USAGE_EXIT = 2
#: Entry-point group of the commands other packages add (a function taking the typer app).
COMMANDS_GROUP = "juniper_data.commands"


class Format(StrEnum):
    npz = "npz"
    arrow = "arrow"
    parquet = "parquet"


class Split(StrEnum):
    full = "full"
    train = "train"
    test = "test"


class CommandLineError(Exception):
    """A user's mistake found by this module (not the engine): one line, exit 2."""


class OutputError(Exception):
    """The output file could not be written: one line naming it and the reason, exit 1."""


def _fail(message: str, code: int = USAGE_EXIT) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def parse_params(pairs: Iterable[str]) -> dict[str, Any]:
    """``["k=v", ...]`` -> params; a value is JSON when it parses (``3``, ``0.1``, ``true``,
    ``[1, 2]``, ``null``), else the text itself (``modern``)."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise CommandLineError(f"--param expects KEY=VALUE, got {pair!r}")
        try:
            params[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            params[key.strip()] = text
    return params


# --------------------------------------------------------------------------- generate


def _artifact(
    recipe: "Recipe", fmt: Format, split: Split | None, offset: int, limit: int | None, backend: str
) -> "tuple[Iterator[Chunk], int, int, int]":
    """The artifact's chunks, the rows it holds (for the summary), and for the progress
    bar the rows it writes over all its arrays and the bytes of one such row."""
    from juniper_data_core.formats import iter_arrow, iter_npz
    from juniper_data_core.formats.rows import row_range

    width = 4 * (recipe.shape.n_features + recipe.shape.n_classes)
    if fmt is Format.arrow:
        name = (split or Split.full).value
        rows = row_range(recipe, name, offset, limit).n_rows
        chunks = iter_arrow(recipe, split=name, offset=offset, limit=limit, backend=backend)
        return chunks, rows, rows, width + 4  # + the int32 label column
    if split is None:
        chunks = iter_npz(recipe, offset=offset, limit=limit, backend=backend)
        n_full = recipe.n_rows("full")
        return chunks, n_full, n_full + sum(recipe.split_sizes), width
    rows = row_range(recipe, split.value, offset, limit).n_rows
    chunks = iter_npz(recipe, split=split.value, offset=offset, limit=limit, backend=backend)
    return chunks, rows, rows, width


@contextlib.contextmanager
def _progress_bar(total_rows: int) -> "Iterator[Callable[[float], None]]":
    """A rows/s + ETA bar on stderr (when it is a terminal); yields ``advance(rows)``."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("generating", total=total_rows, rate="")
        start = time.perf_counter()
        done = 0.0

        def advance(rows: float) -> None:
            nonlocal done
            done = min(total_rows, done + rows)
            rate = done / max(time.perf_counter() - start, 1e-9)
            progress.update(task, completed=done, rate=f"{rate:,.0f} rows/s")

        yield advance


def _with_progress(chunks: "Iterator[Chunk]", total_rows: int, row_bytes: int) -> "Iterator[Chunk]":
    """The same chunks, advancing the progress bar as their bytes pass."""
    with _progress_bar(total_rows) as advance:
        for chunk in chunks:
            yield chunk
            advance(len(chunk) / row_bytes)


def generate_command(
    name: str,
    params: dict[str, Any],
    *,
    version: str | None,
    backend: str,
    fmt: Format,
    split: Split | None,
    offset: int,
    limit: int | None,
    output: str | None,
    dask: str | None = None,
    rows_per_file: int | None = None,
) -> None:
    """Write one artifact of a recipe to ``output`` ('-': stdout; default ``<dataset_id>.<format>``);
    partitioned files (``--format parquet``, or ``--dask``) go to :func:`partitioned_command`."""
    from juniper_data_core.formats.chunks import write_chunks
    from juniper_data_core.recipe import recipe as make_recipe

    partitioned = fmt is Format.parquet or dask is not None
    _check_partitioned_options(fmt, partitioned, offset, limit, rows_per_file)
    r = make_recipe(name, params, version=version)
    for warning in r.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if partitioned:
        partitioned_command(r, fmt, split or Split.full, output, dask, rows_per_file, backend)
        return
    chunks, rows, work_rows, row_bytes = _artifact(r, fmt, split, offset, limit, backend)
    if work_rows > PROGRESS_MIN_ROWS:
        chunks = _with_progress(chunks, work_rows, row_bytes)
    target = output or f"{r.dataset_id}.{fmt.value}"
    start = time.perf_counter()
    if target == "-":
        nbytes = write_chunks(chunks, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        try:
            nbytes = write_chunks(chunks, target)
        except BaseException as err:
            # A half-written artifact is worse than none.
            if os.path.isfile(target):
                os.unlink(target)
            if isinstance(err, OSError):
                raise OutputError(f"cannot write {target}: {err.strerror or err}") from None
            raise
    seconds = time.perf_counter() - start
    where = "stdout" if target == "-" else target
    print(f"{r.dataset_id}: {rows:,} rows, {nbytes:,} bytes in {seconds:.2f} s -> {where}", file=sys.stderr)


def _check_partitioned_options(
    fmt: Format, partitioned: bool, offset: int, limit: int | None, rows_per_file: int | None
) -> None:
    if partitioned and fmt is Format.npz:
        raise CommandLineError("--dask writes partitioned parquet or arrow files: add --format parquet")
    if partitioned and (offset or limit is not None):
        raise CommandLineError("partitioned output holds a whole split: --offset and --limit do not apply")
    if not partitioned and rows_per_file is not None:
        raise CommandLineError("--rows-per-file applies to partitioned output (--format parquet, or --dask)")


def partitioned_command(
    recipe: "Recipe",
    fmt: Format,
    split: Split,
    output: str | None,
    dask: str | None,
    rows_per_file: int | None,
    backend: str,
) -> None:
    """Write one split as partitioned files with a manifest, on the cluster at ``dask``
    (``local:N``: a new local one) or Dask's threaded scheduler, with a progress bar fed by
    the files the workers finish. A re-run writes only the files missing or damaged."""
    from juniper_data_core import dask as scale

    target = output or f"{recipe.dataset_id}.{fmt.value}"
    if target == "-":
        raise CommandLineError("partitioned output is a directory or URL (--output), not stdout")
    write = scale.write_parquet if fmt is Format.parquet else scale.write_arrow_files
    client = scale.connect(dask) if dask else None
    start = time.perf_counter()
    try:
        with _progress_bar(recipe.n_rows(split.value)) as advance:
            result = write(
                recipe,
                target,
                split=split.value,
                rows_per_file=rows_per_file,
                backend=backend,
                scheduler=client if client is not None else "threads",
                progress=advance,
            )
    finally:
        if client is not None:
            client.close()
    seconds = time.perf_counter() - start
    manifest = result.manifest
    print(
        f"{recipe.dataset_id}: {manifest['n_rows']:,} rows, {result.n_bytes:,} bytes in {seconds:.2f} s "
        f"-> {target} ({manifest['n_files']} files: {len(result.written)} written, {len(result.kept)} kept)",
        file=sys.stderr,
    )


# --------------------------------------------------------------------------- listings


def backends_command() -> None:
    """Each backend, whether it runs here, and its devices."""
    from juniper_data_core.backends.registry import NAMES, available_backends, get_backend

    available = set(available_backends())
    for name in NAMES:
        if name in available:
            print(f"{name:<8} available    {', '.join(get_backend(name).devices())}")
        else:
            print(f"{name:<8} unavailable")


def generators_command() -> None:
    """Each generator, its versions, and its parameters with their defaults."""
    from juniper_data_core import generator_catalog

    for name, info in generator_catalog().items():
        others = ", ".join(v for v in info["versions"] if v != info["default_version"])
        versions = f"version {info['default_version']} (default)" + (f", {others}" if others else "")
        state = "" if info["available"] else f" [unavailable: {info['install_hint']}]"
        print(f"{name}: {info['description']}{state}")
        print(f"  {versions}")
        fields = info["params_model"].model_fields
        defaults = (f"{k}={json.dumps(f.get_default(call_default_factory=True))}" for k, f in fields.items())
        print(f"  params: {' '.join(defaults)}")


def add_installed_commands(app: "typer.Typer") -> None:
    """Add the commands other installed packages declare (entry-point group
    ``juniper_data.commands``: a function taking the typer app), e.g. the service's
    ``serve``. The engine imports none of them by name; a command whose package cannot
    be imported is left out, and ``serve`` then says how to install the service."""
    import importlib.metadata

    for entry in importlib.metadata.entry_points(group=COMMANDS_GROUP):
        try:
            entry.load()(app)
        except ImportError:
            continue
    if not any(command.name == "serve" for command in app.registered_commands):

        @app.command("serve", add_help_option=False, context_settings={"ignore_unknown_options": True})
        def serve() -> None:
            """Run the HTTP service (needs the service extra)."""
            raise CommandLineError("the HTTP service is not installed; pip install 'juniper-data[service]'")


# --------------------------------------------------------------------------- plot


def _points_of_file(path: str, split: Split) -> "tuple[Any, Any]":
    """``(X, labels)`` of ``split`` in an NPZ (``X_<split>``, ``y_<split>``) or an Arrow IPC
    stream or file (columns ``X`` and ``label``, as written by ``generate``)."""
    import numpy as np

    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as npz:
            names = (f"X_{split.value}", f"y_{split.value}")
            if not all(name in npz.files for name in names):
                raise CommandLineError(
                    f"{path} has no {names[0]}/{names[1]}; it holds {', '.join(npz.files)}"
                )
            X, y = npz[names[0]], npz[names[1]]
        return X, y.argmax(axis=1) if y.ndim == 2 else y
    try:
        import pyarrow as pa
    except ImportError as err:
        raise CommandLineError(f"reading Arrow files needs pyarrow ({err}); pip install pyarrow") from None
    try:
        with pa.memory_map(path) as source:
            try:
                table = pa.ipc.open_stream(source).read_all()
            except pa.ArrowInvalid:
                table = pa.ipc.open_file(source).read_all()
    except pa.ArrowInvalid:
        raise CommandLineError(f"{path} is neither an NPZ nor an Arrow IPC stream or file") from None
    if "X" not in table.column_names or "label" not in table.column_names:
        raise CommandLineError(f"{path} has no X and label columns (it has {', '.join(table.column_names)})")
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(table.num_rows, -1)
    return X, np.asarray(table.column("label"))


def _plot_recipe(source: str, params: dict[str, Any], version: str | None) -> "Recipe":
    """A recipe from a JSON file or text (``{"generator", "params", "version"}``) or a name."""
    from juniper_data_core.recipe import recipe as make_recipe

    text = source
    if source.endswith(".json"):
        with open(source, encoding="utf-8") as f:
            text = f.read()
    if text.lstrip().startswith("{"):
        try:
            body = json.loads(text)
        except json.JSONDecodeError as err:
            raise CommandLineError(f"the recipe is not valid JSON: {err}") from None
        if not isinstance(body, dict) or "generator" not in body:
            raise CommandLineError('a recipe is {"generator": NAME, "params": {...}, "version": optional}')
        merged = {**(body.get("params") or {}), **params}
        return make_recipe(body["generator"], merged, version=version or body.get("version"))
    return make_recipe(source, params, version=version)


def plot_command(
    source: str,
    params: dict[str, Any],
    *,
    version: str | None,
    output: str | None,
    split: Split,
    width: int,
    height: int,
    x: int,
    y: int,
    backend: str,
) -> None:
    """Write the scatter-plot PNG of a recipe (a generator name with ``-p``, a JSON recipe)
    or of an NPZ or Arrow file to ``output`` (default ``<dataset_id or file stem>.png``)."""
    from juniper_data_core.preview import preview_png, scatter_png

    if os.path.isfile(source) and not source.endswith(".json"):
        X, labels = _points_of_file(source, split)
        png = scatter_png(X, labels, width=width, height=height, x=x, y=y)
        target = output or os.path.splitext(os.path.basename(source))[0] + ".png"
    else:
        r = _plot_recipe(source, params, version)
        png = preview_png(r, width=width, height=height, split=split.value, x=x, y=y, backend=backend)
        target = output or f"{r.dataset_id}.png"
    try:
        with open(target, "wb") as f:
            f.write(png)
    except OSError as err:
        raise OutputError(f"cannot write {target}: {err.strerror or err}") from None
    print(f"{target}: {width}x{height} PNG, {len(png):,} bytes", file=sys.stderr)


# --------------------------------------------------------------------------- typer app


def build_app() -> "typer.Typer":
    """The typer application (typer is imported here)."""
    import typer

    app = typer.Typer(
        name="juniper-data",
        help="Synthetic ML datasets: generate artifacts, list backends and generators, serve HTTP.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.command("generate")
    def generate(
        name: Annotated[str, typer.Argument(help="Generator name (see `juniper-data generators`).")],
        param: Annotated[
            list[str] | None,
            typer.Option(
                "--param", "-p", help="KEY=VALUE, repeatable; VALUE is JSON when it parses, else text."
            ),
        ] = None,
        backend: Annotated[str, typer.Option(help="auto, numpy, numba, jax or cupy.")] = "auto",
        version: Annotated[str | None, typer.Option(help="Generator version (default: the newest).")] = None,
        fmt: Annotated[Format, typer.Option("--format", "-f", help="Artifact format.")] = Format.npz,
        split: Annotated[
            Split | None,
            typer.Option(help="Split to write (arrow: default full; npz: default all six arrays)."),
        ] = None,
        offset: Annotated[int, typer.Option(help="First row of the split to write.")] = 0,
        limit: Annotated[int | None, typer.Option(help="Rows to write (default: to the end).")] = None,
        output: Annotated[
            str | None,
            typer.Option(
                "--output",
                "-o",
                help="File to write; '-' for stdout (default <id>.<format>); "
                "for partitioned output a directory or fsspec URL.",
            ),
        ] = None,
        dask: Annotated[
            str | None,
            typer.Option(
                help="Write partitioned files on this Dask scheduler (tcp://host:8786) or on a new "
                "local cluster of N worker processes (local:N).",
            ),
        ] = None,
        rows_per_file: Annotated[
            int | None,
            typer.Option(min=1, help="Rows per file of partitioned output (default about 128 MiB per file)."),
        ] = None,
    ) -> None:
        """Generate a dataset and write it as an NPZ, an Arrow IPC stream, or partitioned
        Parquet or Arrow files with a manifest (--format parquet, or --dask)."""
        generate_command(
            name, parse_params(param or ()), version=version, backend=backend, fmt=fmt,
            split=split, offset=offset, limit=limit, output=output, dask=dask,
            rows_per_file=rows_per_file,
        )  # fmt: skip

    @app.command("plot")
    def plot(
        source: Annotated[
            str,
            typer.Argument(
                help="A generator name (with -p), a JSON recipe (text or .json file: "
                '{"generator", "params", "version"}), or an .npz or Arrow file.',
                metavar="RECIPE_OR_FILE",
            ),
        ],
        param: Annotated[
            list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE for a recipe, repeatable.")
        ] = None,
        output: Annotated[
            str | None, typer.Option("--output", "-o", help="PNG to write (default <id or stem>.png).")
        ] = None,
        split: Annotated[Split, typer.Option(help="Split to plot.")] = Split.full,
        width: Annotated[int, typer.Option(help="Width in pixels (16..2048).")] = 512,
        height: Annotated[int, typer.Option(help="Height in pixels (16..2048).")] = 512,
        x: Annotated[int, typer.Option("--x", help="Feature column on the horizontal axis.")] = 0,
        y: Annotated[int, typer.Option("--y", help="Feature column on the vertical axis.")] = 1,
        version: Annotated[str | None, typer.Option(help="Generator version (default: the newest).")] = None,
        backend: Annotated[str, typer.Option(help="auto, numpy, numba, jax or cupy.")] = "auto",
    ) -> None:
        """Draw a dataset as a scatter plot PNG coloured by class (up to 50,000 points;
        larger splits are sampled), as the service's preview.png does."""
        plot_command(
            source, parse_params(param or ()), version=version, output=output, split=split,
            width=width, height=height, x=x, y=y, backend=backend,
        )  # fmt: skip

    @app.command("backends")
    def backends() -> None:
        """List the backends, whether each can run here, and its devices."""
        backends_command()

    @app.command("generators")
    def generators() -> None:
        """List the generators, their versions and their parameters with defaults."""
        generators_command()

    from juniper_data_core.fetch import register as register_fetch

    register_fetch(app)
    add_installed_commands(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``juniper-data`` console script; exits with the command's status."""
    try:
        import typer

        try:  # typer >= 0.20 carries its own copy of click
            from typer._click import exceptions as click_errors
        except ImportError:
            from click import exceptions as click_errors  # type: ignore[no-redef]
    except ImportError as err:
        _fail(f"the command line needs typer and rich ({err}); pip install 'juniper-data[cli]'")
    no_args = getattr(click_errors, "NoArgsIsHelpError", ())
    aborts = (typer.Abort, getattr(click_errors, "Abort", typer.Abort))
    command = typer.main.get_command(build_app())
    try:
        code = command.main(args=argv, prog_name="juniper-data", standalone_mode=False)
    except click_errors.ClickException as err:
        if isinstance(err, no_args):
            print(err.format_message(), file=sys.stderr)
            raise SystemExit(USAGE_EXIT) from None
        _fail(" ".join(err.format_message().split()), err.exit_code)
    except aborts:
        _fail("aborted", 1)
    except (JuniperDataError, CommandLineError) as err:
        _fail(" ".join(str(err).split()))
    except OutputError as err:
        _fail(str(err), 1)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as other tools do, and keep
        # the interpreter from failing again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except OSError as err:
        _fail(str(err), 1)
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    # Through the package's module, not this __main__ copy: commands that other packages
    # add raise juniper_data_core.cli.CommandLineError, which must be the class caught.
    from juniper_data_core.cli import main as package_main

    package_main()
