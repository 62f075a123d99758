"""The container files: Dockerfiles, .dockerignore and compose.yaml, checked without Docker.

A slow test builds the project's wheel, installs it with the ``service`` extra in a clean venv
(as the Dockerfile's final stage does) and starts the service with the Dockerfile's command.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = ["Dockerfile", "Dockerfile.gpu"]
PORT = 8100


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case) and its arguments as written."""

    keyword: str
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Split a Dockerfile into instructions: comments dropped, ``\\`` continuations joined."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment line inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, args = full.partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def _instructions(name: str) -> list[Instruction]:
    return parse_dockerfile((ROOT / name).read_text())


def _final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last_from = max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    return instructions[last_from:]


def _exec_form(args: str) -> list[str]:
    """The argument list of an exec-form (``["a", "b"]``) or shell-form instruction."""
    args = args.strip()
    if args.startswith("["):
        parsed = json.loads(args)
        assert isinstance(parsed, list)
        return [str(a) for a in parsed]
    return shlex.split(args)


# ---- the parser itself ------------------------------------------------------------------------


def test_parser_joins_continuations_and_drops_comments() -> None:
    text = '# c\nFROM a:1 AS b\nRUN x \\\n  # inner comment\n  && y\n\nCMD ["z"]\n'
    assert parse_dockerfile(text) == [
        Instruction("FROM", "a:1 AS b"),
        Instruction("RUN", "x && y"),
        Instruction("CMD", '["z"]'),
    ]


# ---- Dockerfiles -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DOCKERFILES)
def test_runs_as_a_non_root_user(name: str) -> None:
    users = [ins.args for ins in _final_stage(_instructions(name)) if ins.keyword == "USER"]
    assert users, f"{name}: the final stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_exposes_the_service_port(name: str) -> None:
    exposed = [ins.args.split() for ins in _final_stage(_instructions(name)) if ins.keyword == "EXPOSE"]
    assert any(str(PORT) in ports or f"{PORT}/tcp" in ports for ports in exposed)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_healthcheck_probes_liveness(name: str) -> None:
    checks = [ins.args for ins in _final_stage(_instructions(name)) if ins.keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/v1/health/live" in checks[0]
    assert "curl" not in checks[0] and "wget" not in checks[0]  # not in the slim images


@pytest.mark.parametrize("name", DOCKERFILES)
def test_healthcheck_command_is_valid_python(name: str) -> None:
    check = next(ins.args for ins in _instructions(name) if ins.keyword == "HEALTHCHECK")
    command = _exec_form(check.split("CMD", 1)[1])
    assert command[:2] == ["python", "-c"]
    compile(command[2], "<healthcheck>", "exec")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_serves_with_the_console_script(name: str) -> None:
    final = _final_stage(_instructions(name))
    cmd = [ins.args for ins in final if ins.keyword in ("CMD", "ENTRYPOINT")]
    assert cmd and _exec_form(cmd[-1]) in (
        ["juniper-data", "serve"],
        ["python", "-m", "juniper_data_service"],
    )


@pytest.mark.parametrize("name", DOCKERFILES)
def test_environment_binds_all_interfaces_and_stores_on_the_volume(name: str) -> None:
    final = _final_stage(_instructions(name))
    env = " ".join(ins.args for ins in final if ins.keyword == "ENV")
    assert "JUNIPER_DATA_HOST=0.0.0.0" in env
    assert "JUNIPER_DATA_STORAGE_PATH=/data" in env
    assert any(ins.keyword == "VOLUME" and "/data" in ins.args for ins in final)


def test_gpu_image_settings() -> None:
    final = _final_stage(_instructions("Dockerfile.gpu"))
    env = " ".join(ins.args for ins in final if ins.keyword == "ENV")
    for setting in (
        "XLA_PYTHON_CLIENT_PREALLOCATE=false",
        "NVIDIA_VISIBLE_DEVICES=all",
        "NVIDIA_DRIVER_CAPABILITIES=compute,utility",
        "JUNIPER_DATA_BACKEND=auto",
    ):
        assert setting in env
    assert "[service,gpu]" in " ".join(ins.args for ins in final if ins.keyword == "RUN")
    assert final[0].args.startswith("nvidia/cuda:12.")


def test_cpu_image_installs_service_and_cpu_extras() -> None:
    final = _final_stage(_instructions("Dockerfile"))
    assert "[service,cpu]" in " ".join(ins.args for ins in final if ins.keyword == "RUN")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_base_images_are_pinned(name: str) -> None:
    stages: set[str] = set()
    for ins in _instructions(name):
        if ins.keyword != "FROM":
            continue
        words = [w for w in ins.args.split() if not w.startswith("--")]
        image = words[0]
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])
        if image in stages:
            continue
        assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image, f"{image} has no tag"
        assert not image.endswith(":latest"), f"{image} is not pinned"


@pytest.mark.parametrize("name", DOCKERFILES)
def test_copied_sources_exist(name: str) -> None:
    copies = [ins for ins in _instructions(name) if ins.keyword in ("COPY", "ADD")]
    assert copies
    checked = 0
    for ins in copies:
        words = ins.args.split()
        if any(w.startswith("--from=") for w in words):
            continue  # from another stage, not the build context
        sources = [w for w in words if not w.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"{name}: COPY source {source} is not in the repository"
            checked += 1
    assert checked >= 3


def test_dockerignore_keeps_the_build_context_small() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"tests", "docs", "benchmarks", ".git", "data"} <= patterns
    assert any("__pycache__" in p for p in patterns)
    # Nothing the build copies is ignored.
    for name in DOCKERFILES:
        for ins in _instructions(name):
            if ins.keyword == "COPY" and "--from=" not in ins.args:
                for source in ins.args.split()[:-1]:
                    assert source.rstrip("/") not in patterns


# ---- compose.yaml -------------------------------------------------------------------------------


def test_compose_file_defines_the_service_volume_and_healthcheck() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML parses compose.yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["juniper-data"]
    assert service["build"]["dockerfile"] == "Dockerfile"
    assert any(str(p).endswith(":8100") for p in service["ports"])
    volume_names = {str(v).split(":")[0] for v in service["volumes"]}
    assert volume_names & set(compose["volumes"])
    health = service["healthcheck"]
    assert "/v1/health/live" in " ".join(health["test"])
    assert "profiles" not in service

    gpu = compose["services"]["juniper-data-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["build"]["dockerfile"] == "Dockerfile.gpu"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"
    assert "gpu" in devices[0]["capabilities"]


# ---- the image's command, run from a clean install of the wheel --------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> tuple[int, object]:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status, json.loads(response.read())


@pytest.mark.slow
def test_wheel_installs_and_serves(tmp_path: Path) -> None:
    # Build from a copy of what the Dockerfile's builder stage copies, so that the build leaves
    # nothing (build/, *.egg-info) in the working tree and a missing file fails here too.
    context = tmp_path / "context"
    for ins in _instructions("Dockerfile"):
        if ins.keyword == "COPY" and "--from=" not in ins.args:
            for source in ins.args.split()[:-1]:
                if (ROOT / source).is_dir():
                    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                    shutil.copytree(ROOT / source, context / source, ignore=ignore)
                else:
                    context.mkdir(exist_ok=True)
                    shutil.copy2(ROOT / source, context / source)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(wheels),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if build.returncode != 0 and "setuptools" in build.stderr and "No matching distribution" in build.stderr:
        pytest.skip(f"cannot build the wheel offline: {build.stderr.strip()[-300:]}")
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("juniper_data-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{wheel}[service]"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    port = _free_port()
    storage = tmp_path / "storage"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUNIPER_DATA_")}
    env.update(JUNIPER_DATA_STORAGE_PATH=str(storage), PYTHONDONTWRITEBYTECODE="1")
    # The Dockerfile's CMD, with the host and port it would get from its ENV.
    command = [str(env_dir / "bin" / "juniper-data"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        answer: tuple[int, object] | None = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = _get_json(f"http://127.0.0.1:{port}/v1/health/live")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        assert process.poll() is None, f"the service exited: {process.communicate()[0][-3000:]}"
        assert answer == (200, {"status": "alive"})
        assert (storage / "datasets.sqlite3").exists()
        # The installed package must not be the source tree.
        where = subprocess.run(
            [str(python), "-c", "import juniper_data_service, sys; print(juniper_data_service.__file__)"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=True,
        )
        assert str(env_dir) in where.stdout
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
