"""ensure_environment with real uv: a tiny curriculum project locked, synced, and left alone when unchanged.

Every test that runs uv is e2e; finding uv is not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from curriculum_contract.launcher_adapter._bootstrap import STAMP_FILE, ensure_environment, find_uv
from curriculum_contract.launcher_adapter._errors import BootstrapFailed
from curriculum_contract.launcher_adapter._locate import locate_curriculum

NOT_UV = "/nonexistent/uv"  # a uv that cannot run: any call to it fails the call


def tiny_project(directory: Path, name: str = "tiny-curriculum", *, script: bool = True) -> Path:
    """A real project: hatchling-built, no dependencies, a `curriculum` script printing a fixed line."""
    package = name.replace("-", "_")
    (directory / "src" / package).mkdir(parents=True)
    (directory / "src" / package / "__init__.py").write_text("def main():\n    print('tiny curriculum ran')\n")
    scripts = f'[project.scripts]\ncurriculum = "{package}:main"\n' if script else ""
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = []\n'
        f'{scripts}[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
    return directory


def uv_lock(directory: Path) -> None:
    subprocess.run([find_uv(), "lock", "-q"], cwd=directory, check=True, env=_without_virtualenv())


def _without_virtualenv() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}


def run_curriculum(executable: Path) -> str:
    return subprocess.run([str(executable)], capture_output=True, text=True, check=True).stdout


def installed_version(venv: Path, dist: str) -> str:
    (info,) = venv.glob(f"lib/python*/site-packages/{dist}-*.dist-info") or venv.glob(
        f"Lib/site-packages/{dist}-*.dist-info"
    )
    return info.name.removeprefix(f"{dist}-").removesuffix(".dist-info")


@pytest.mark.e2e
def test_sync_once_then_skip_until_the_lock_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("UV_PROJECT_ENVIRONMENT", str(tmp_path / "elsewhere"))  # must be ignored
    project = tiny_project(tmp_path / "tiny")
    uv_lock(project)
    location = locate_curriculum(project)

    lines: list[str] = []
    executable = ensure_environment(location, progress=lines.append)
    assert executable == project.resolve() / ".venv" / "bin" / "curriculum"
    assert run_curriculum(executable) == "tiny curriculum ran\n"
    assert any("tiny-curriculum" in line for line in lines), lines  # uv's progress reached the caller
    assert (project / ".venv" / STAMP_FILE).is_file()
    assert not (tmp_path / "elsewhere").exists()

    # Unchanged: uv is not even looked for (a uv that cannot run would fail the call).
    assert ensure_environment(location, uv=NOT_UV) == executable
    os.utime(location.lock_file)  # a new mtime, same content: still nothing to do
    assert ensure_environment(location, uv=NOT_UV) == executable

    # A new version locked: the stamp no longer matches, so uv must run...
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    uv_lock(project)
    with pytest.raises(BootstrapFailed, match="uv executable /nonexistent/uv not found"):
        ensure_environment(location, uv=NOT_UV)
    # ...and the real one installs it.
    assert ensure_environment(location, offline=True) == executable
    assert installed_version(project / ".venv", "tiny_curriculum") == "0.2.0"
    assert ensure_environment(location, uv=NOT_UV) == executable

    # A broken environment (its interpreter gone) is re-synced too, not handed out.
    (project / ".venv" / "bin" / "python").unlink()
    with pytest.raises(BootstrapFailed, match="uv executable /nonexistent/uv not found"):
        ensure_environment(location, uv=NOT_UV)
    assert ensure_environment(location, offline=True) == executable
    assert run_curriculum(executable) == "tiny curriculum ran\n"


@pytest.mark.e2e
def test_offline_with_an_empty_cache_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    project = tiny_project(tmp_path / "tiny")
    uv_lock(project)
    location = locate_curriculum(project)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(BootstrapFailed) as caught:
        ensure_environment(location, offline=True)
    error = caught.value
    assert error.child_exit_code not in (0, None)
    assert "--offline" in error.command and "--frozen" in error.command
    message = str(error)
    assert message.startswith(f"`uv sync --frozen --color never --offline` failed in {project.resolve()} (exit")
    assert "not found in the cache" in message
    assert "offline: only the uv cache was used" in message
    assert "hatchling" in error.stderr_tail
    assert not (project / ".venv" / STAMP_FILE).exists()


@pytest.mark.e2e
def test_project_without_a_curriculum_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    project = tiny_project(tmp_path / "noscript", "noscript-curriculum", script=False)
    uv_lock(project)
    with pytest.raises(BootstrapFailed, match="defines no `curriculum` script"):
        ensure_environment(locate_curriculum(project))


@pytest.mark.e2e
def test_workspace_member_syncs_its_package_into_the_root_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    root = tmp_path / "task"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "task"\nversion = "1.0.0"\nrequires-python = ">=3.11"\n'
        '[tool.uv.workspace]\nmembers = ["curricula/*"]\n'
    )
    tiny_project(root / "curricula" / "a", "alpha-curriculum")
    tiny_project(root / "curricula" / "b", "beta-curriculum")
    uv_lock(root)
    location = locate_curriculum(root / "curricula" / "a")
    executable = ensure_environment(location)
    assert executable == root.resolve() / ".venv" / "bin" / "curriculum"
    assert run_curriculum(executable) == "tiny curriculum ran\n"
    assert installed_version(root / ".venv", "alpha_curriculum") == "0.1.0"
    assert not list((root / ".venv").glob("lib/python*/site-packages/beta_curriculum-*"))  # --package alpha only
    assert not (root / "curricula" / "a" / ".venv").exists()


def test_find_uv_prefers_the_argument_then_path(tmp_path: Path) -> None:
    assert Path(find_uv()).name.startswith("uv")
    assert find_uv(sys.executable) == sys.executable
    with pytest.raises(BootstrapFailed, match="not found"):
        find_uv(str(tmp_path / "uv"))


@pytest.mark.e2e
def test_broken_lockfile_reports_uv_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    project = tiny_project(tmp_path / "tiny")
    (project / "uv.lock").write_text("version = 1\n")  # not what `uv lock` writes
    with pytest.raises(BootstrapFailed, match=r"TOML parse error .* — missing field `requires-python`") as caught:
        ensure_environment(locate_curriculum(project))
    assert caught.value.child_exit_code == 2


@pytest.mark.e2e
def test_build_failure_reports_the_backend_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    project = tiny_project(tmp_path / "tiny")
    uv_lock(project)
    (project / "src" / "tiny_curriculum").rename(project / "src" / "renamed")  # hatchling finds no package
    with pytest.raises(BootstrapFailed) as caught:
        ensure_environment(locate_curriculum(project))
    message = str(caught.value)
    assert "build_editable` failed" in message and "ValueError: Unable to determine which files to ship" in message
    assert "hint: Build failures usually indicate" in caught.value.stderr_tail


@pytest.mark.e2e
def test_an_empty_temp_directory_variable_leaves_no_file_in_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uv takes an empty TMPDIR as the current directory and leaves its lock file there: in a submodule, a
    change that refuses the next launch. An empty one means unset, as to Python's tempfile."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    project = tiny_project(tmp_path / "tiny")
    uv_lock(project)
    before = sorted(path.name for path in project.iterdir())
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(name, "")
    ensure_environment(locate_curriculum(project))
    assert sorted(path.name for path in project.iterdir()) == sorted([*before, ".venv"])
