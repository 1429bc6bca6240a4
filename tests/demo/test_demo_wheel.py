"""The README's commands from a built wheel in a fresh environment: nothing may come from this checkout.

The wheel carries the example curricula and the template; what the demo and ``new`` create depends on the
installed wheel. One wheel and one environment are shared by the tests of this module.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from curriculum_contract.demo import _repos
from curriculum_contract.demo._cli import demo
from curriculum_contract.scaffold import TEMPLATE_CACHE_ENV
from curriculum_contract.scaffold._process import uv_executable

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = "Scripts" if os.name == "nt" else "bin"


@dataclass(frozen=True)
class Installed:
    """A wheel of this checkout, installed with its demo extra into a fresh virtual environment."""

    wheel: Path
    venv: Path
    env: dict[str, str]

    def script(self, name: str) -> str:
        return str(self.venv / SCRIPTS / (f"{name}.exe" if os.name == "nt" else name))


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert completed.returncode == 0, f"{argv} exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    return completed


def activated(venv: Path, cache: Path) -> dict[str, str]:
    """The environment after activating ``venv`` on a machine without this project: its scripts first, no
    other virtual environment on PATH, a template cache of its own."""
    outer = {str(Path(sys.executable).parent)}
    if os.environ.get("VIRTUAL_ENV"):
        outer.add(str(Path(os.environ["VIRTUAL_ENV"], SCRIPTS)))
    path = [str(venv / SCRIPTS), *(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in outer)]
    env = {key: value for key, value in os.environ.items() if key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env.update({"PATH": os.pathsep.join(path), "VIRTUAL_ENV": str(venv), "NO_COLOR": "1"})
    return {**env, TEMPLATE_CACHE_ENV: str(cache)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    uv, dist, venv = uv_executable(), root / "dist", root / "venv"
    run([sys.executable, "-m", "pip", "wheel", "--quiet", str(ROOT), "-w", str(dist), "--no-deps"], cwd=root)
    (wheel,) = dist.glob("curriculum_contract-*.whl")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f'python -m pip install "dist/{wheel.name}[author]"' in readme, "README names another wheel"
    run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=root)
    python = venv / SCRIPTS / ("python.exe" if os.name == "nt" else "python")
    run([uv, "pip", "install", "--quiet", "--python", str(python), f"{wheel}[demo]"], cwd=root)
    return Installed(wheel, venv, activated(venv, root / "template-cache"))


@pytest.mark.e2e
def test_the_demo_runs_from_the_wheel(installed: Installed, tmp_path: Path) -> None:
    code = "from curriculum_contract.demo._repos import examples_root; print(examples_root())"
    where = Path(run([installed.script("python"), "-c", code], cwd=tmp_path, env=installed.env).stdout.strip())
    assert where.is_relative_to(installed.venv) and not where.is_relative_to(ROOT), where

    completed = run([installed.script("curriculum-contract"), "demo", "--sessions", "2", "--subjects", "1"],
                    cwd=tmp_path, env=installed.env)  # fmt: skip
    lines = completed.stdout.splitlines()
    assert lines[0].split()[:4] == ["subject", "#", "stage", "next"], completed.stdout
    rows = [line.split() for line in lines if line.startswith("sim-01 ")]
    assert [(row[1], row[-1]) for row in rows] == [("1", "ok"), ("2", "ok")], completed.stdout
    assert any(line.startswith("sim-01: final stage ") for line in lines), completed.stdout
    out = tmp_path / "curriculum-demo"
    assert (out / "progress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curriculum = (out / "repositories" / "ibl_2afc" / "pyproject.toml").read_text(encoding="utf-8")
    assert f'curriculum-contract = {{ path = "{installed.wheel.as_posix()}", editable = false }}' in curriculum


@pytest.mark.e2e
def test_making_a_curriculum_from_the_wheel(installed: Installed, tmp_path: Path) -> None:
    """README, "Making a curriculum": ``new``, then ``uv sync && uv run pytest``, ``run`` and ``describe``."""
    env = installed.env
    run([installed.script("curriculum-contract"), "new", "my-curriculum", "--defaults"], cwd=tmp_path, env=env)
    project = tmp_path / "my-curriculum"
    assert installed.wheel.as_posix() in (project / "pyproject.toml").read_text(encoding="utf-8")
    uv = installed.script("uv")  # the author extra brings uv
    run([uv, "sync", "--quiet"], cwd=project, env=env)
    tests = run([uv, "run", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env)
    assert " passed" in tests.stdout and "failed" not in tests.stdout, tests.stdout
    manifest = json.loads((project / "tests" / "data" / "replay.json").read_text(encoding="utf-8"))
    sample = f"tests/data/{manifest['sessions'][0]['session']}"
    document = run([uv, "run", "curriculum", "run", "--path", sample], cwd=project, env=env).stdout
    assert json.loads(document)["curriculum_name"] == "my-2afc-curriculum"
    described = run([uv, "run", "curriculum", "describe"], cwd=project, env=env).stdout
    assert described.startswith("curriculum ") and "\nstage all_contrasts " in described, described


def test_without_the_example_curricula_the_demo_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install that lacks them (a wheel built without the force-include) fails cleanly, not with a traceback."""
    monkeypatch.setattr(_repos, "__file__", str(tmp_path / "site-packages" / "curriculum_contract" / "demo" / "x.py"))
    result = CliRunner().invoke(demo, ["--out", str(tmp_path / "out"), "--sdk-requirement", str(ROOT)])
    assert result.exit_code == 18, result.output  # DemoError (docs/exit-codes.md)
    last = result.stderr.splitlines()[-1]
    assert last.startswith("curriculum-contract: error: the example curricula are not installed with"), last
    assert "_examples" in last and "Traceback" not in result.stderr
