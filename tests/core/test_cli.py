"""The ``juniper-data`` command line, run in a subprocess as a user would."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.cli import parse_params

REPO = Path(__file__).resolve().parents[2]
SPIRAL = ["spiral", "-p", "n_points_per_spiral=500", "-p", "seed=3"]


def _env(extra_path: Path | None = None, **variables: str) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(extra_path)] if extra_path else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("JUNIPER_DATA_BACKEND", None)
    env.update(variables)
    return env


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "juniper_data_core.cli", *args],
        capture_output=True,
        cwd=cwd,
        env=env or _env(),
        timeout=300,
        check=False,
    )


def _assert_one_line_usage_error(result: subprocess.CompletedProcess[bytes], needle: str) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert needle in stderr and "Traceback" not in stderr


def test_cli_parse_params_reads_json_else_text() -> None:
    pairs = ["n_spirals=3", "noise=0.1", "origin=[1,2]", "algorithm=modern", "seed=null", "a=b=c"]
    params = parse_params(pairs)
    expected = {"n_spirals": 3, "noise": 0.1, "origin": [1, 2], "algorithm": "modern", "seed": None}
    expected["a"] = "b=c"
    assert params == expected


def test_cli_generate_npz_equals_generate(tmp_path: Path) -> None:
    result = _cli("generate", *SPIRAL, "--backend", "numpy", "-o", "out.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    expected = jd.generate("spiral", {"n_points_per_spiral": 500, "seed": 3}, backend="numpy").arrays
    with np.load(tmp_path / "out.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(expected)
        assert all(np.array_equal(npz[k], expected[k]) for k in expected)


def test_cli_generate_default_output_is_named_by_dataset_id(tmp_path: Path) -> None:
    r = jd.recipe("spiral", {"n_points_per_spiral": 500, "seed": 3})
    assert _cli("generate", *SPIRAL, cwd=tmp_path).returncode == 0
    assert (tmp_path / f"{r.dataset_id}.npz").is_file()


def test_cli_generate_summary_line_on_stderr(tmp_path: Path) -> None:
    r = jd.recipe("spiral", {"n_points_per_spiral": 500, "seed": 3})
    result = _cli("generate", *SPIRAL, "-o", "out.npz", cwd=tmp_path)
    size = (tmp_path / "out.npz").stat().st_size
    assert result.stderr.decode() == (
        f"{r.dataset_id}: 1,000 rows, {size:,} bytes in "
        + result.stderr.decode().split(" bytes in ")[1].split(" s ")[0]
        + " s -> out.npz\n"
    )


def test_cli_generate_arrow_to_stdout_parses(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    result = _cli("generate", *SPIRAL, "--backend", "numpy", "--format", "arrow", "-o", "-", cwd=tmp_path)
    table = pa.ipc.open_stream(io.BytesIO(result.stdout)).read_all()
    expected = jd.generate("spiral", {"n_points_per_spiral": 500, "seed": 3}, backend="numpy").arrays
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(-1, 2)
    assert np.array_equal(X, expected["X_full"])


def test_cli_generate_arrow_range_of_split(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    args = ["--format", "arrow", "--split", "test", "--offset", "10", "--limit", "25", "-o", "-"]
    table = pa.ipc.open_stream(io.BytesIO(_cli("generate", *SPIRAL, *args, cwd=tmp_path).stdout)).read_all()
    meta = table.schema.metadata
    assert table.num_rows == 25 and (meta[b"split"], meta[b"offset"]) == (b"test", b"10")


def test_cli_unknown_option_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _cli("generate", "spiral", "--no-such-option", cwd=tmp_path)
    _assert_one_line_usage_error(result, "--no-such-option")


def test_cli_bad_choice_is_one_line_exit_2(tmp_path: Path) -> None:
    _assert_one_line_usage_error(_cli("generate", "spiral", "--format", "csv", cwd=tmp_path), "csv")


def test_cli_unknown_generator_is_one_line_exit_2(tmp_path: Path) -> None:
    _assert_one_line_usage_error(_cli("generate", "no_such_generator", cwd=tmp_path), "no_such_generator")


def test_cli_bad_parameter_is_one_line_exit_2(tmp_path: Path) -> None:
    _assert_one_line_usage_error(_cli("generate", "spiral", "-p", "n_spirals=99", cwd=tmp_path), "n_spirals")


def test_cli_param_without_value_is_one_line_exit_2(tmp_path: Path) -> None:
    _assert_one_line_usage_error(_cli("generate", "spiral", "-p", "n_spirals", cwd=tmp_path), "KEY=VALUE")


def test_cli_unknown_backend_is_one_line_exit_2(tmp_path: Path) -> None:
    _assert_one_line_usage_error(_cli("generate", "spiral", "--backend", "abacus", cwd=tmp_path), "abacus")


def test_cli_offset_beyond_split_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _cli("generate", *SPIRAL, "--split", "train", "--offset", "5000", cwd=tmp_path)
    _assert_one_line_usage_error(result, "offset")
    assert not list(tmp_path.iterdir())


def test_cli_unwritable_output_is_one_line_exit_1_naming_the_file(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "out.npz"
    result = _cli("generate", *SPIRAL, "-o", str(target), cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert stderr == f"error: cannot write {target}: No such file or directory\n", stderr
    assert not target.parent.exists()


def test_cli_backends_lists_numpy_available(tmp_path: Path) -> None:
    result = _cli("backends", cwd=tmp_path)
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0
    assert any(line.split()[:2] == ["numpy", "available"] for line in lines)
    assert {line.split()[0] for line in lines} == {"numpy", "numba", "jax", "cupy"}


def test_cli_generators_lists_spiral_with_defaults(tmp_path: Path) -> None:
    out = _cli("generators", cwd=tmp_path).stdout.decode()
    assert out.startswith("spiral:") and "n_points_per_spiral=97" in out and "2.0.0 (default)" in out
    assert all(f"{name}:" in out for name in jd.generator_catalog())


def _fake_service(root: Path, app_source: str | None) -> Path:
    """A stand-in service package first on the path: the real ``command.py`` (what the
    CLI loads through the ``juniper_data.commands`` entry point) over a fake ``app.run``;
    with no app source, no ``command`` module either (the service not installed)."""
    package = root / "fake" / "juniper_data_service"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    if app_source is not None:
        (package / "command.py").write_text((REPO / "juniper_data_service" / "command.py").read_text())
        (package / "app.py").write_text(app_source)
    return root / "fake"


def test_cli_serve_passes_host_and_port_from_environment(tmp_path: Path) -> None:
    app = "def run(host, port):\n    print(f'run {host} {port}')\n"
    env = _env(_fake_service(tmp_path, app), JUNIPER_DATA_HOST="0.0.0.0", JUNIPER_DATA_PORT="9123")
    result = _cli("serve", cwd=tmp_path, env=env)
    assert result.returncode == 0 and result.stdout.decode() == "run 0.0.0.0 9123\n"


def test_cli_serve_defaults_to_localhost_8100(tmp_path: Path) -> None:
    app = "def run(host, port):\n    print(f'run {host} {port}')\n"
    env = _env(_fake_service(tmp_path, app))
    env.pop("JUNIPER_DATA_HOST", None)
    env.pop("JUNIPER_DATA_PORT", None)
    assert _cli("serve", cwd=tmp_path, env=env).stdout.decode() == "run 127.0.0.1 8100\n"


def test_cli_serve_without_service_is_one_line_exit_2(tmp_path: Path) -> None:
    result = _cli("serve", cwd=tmp_path, env=_env(_fake_service(tmp_path, None)))
    _assert_one_line_usage_error(result, "pip install 'juniper-data[service]'")


# Run in the child: the CLI under a thread that samples the process's private resident memory
# (anonymous + shared-memory pages) every 5 ms. Not VmHWM or ru_maxrss alone: those also count the
# pages of shared libraries mapped from the page cache, which depend on the cache, not on this
# process. The same command read 267 MB of VmHWM here and 327 MB in a virtualenv just installed
# (libllvmlite 73 -> 109 MB, libarrow 12 -> 29 MB resident: the kernel maps pages around each
# fault when the file is cached), with the same private memory. Where /proc is missing (not
# Linux), ru_maxrss, which counts everything, stands in.
_RSS_WRAPPER = """
import resource, sys, threading

def private_kb():
    try:
        status = open('/proc/self/status').read()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return sum(int(status.split(key + ':')[1].split()[0]) for key in ('RssAnon', 'RssShmem'))

peak = private_kb()
done = threading.Event()

def sample():
    global peak
    while not done.wait(0.005):
        peak = max(peak, private_kb())

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
from juniper_data_core.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
done.set()
sampler.join()
peak = max(peak, private_kb())
try:
    hwm = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]
except OSError:
    hwm = '?'
print(f'private_peak_kb={peak} vmhwm_kb={hwm}', file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.slow
def test_cli_arrow_stream_of_50m_rows_keeps_rss_under_300mb(tmp_path: Path) -> None:
    backend = "numba" if "numba" in jd.available_backends() else "numpy"
    args = ["generate", "spiral", "-p", "n_points_per_spiral=25000000", "-p", "seed=1"]
    args += ["--backend", backend, "--format", "arrow", "-o", os.devnull]
    command = [sys.executable, "-c", _RSS_WRAPPER, *args]
    # An empty Numba cache: the worst case, with LLVM compiling the loop inside the measured process.
    env = _env(NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    result = subprocess.run(command, capture_output=True, cwd=tmp_path, env=env, timeout=600, check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert "50,000,000 rows" in stderr
    # The stream is 1 GB: were it buffered, not streamed, the private peak would pass 1 GB.
    peak_mb = int(stderr.rsplit("private_peak_kb=", 1)[1].split()[0]) / 1024
    assert peak_mb < 300, stderr
