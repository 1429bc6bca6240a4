"""Writes the template's sample sessions (template/tests/data): run it after changing the template's curriculum.

    python tests/template/make_template_samples.py

The template is rendered with sentinel answers and the rendered repository's own command, the one an author
runs (``tests/sample_sessions.py``: the simulator's learner trained in closed loop, see that file), regenerates
its ``tests/data``. That folder then replaces ``template/tests/data``: the trials tables and ``replay.json`` as
they are, each session's inputs as ``.jinja`` files with the sentinels replaced by the answers' variables. So
the committed samples are exactly what the command writes in a generated repository, which
``test_template_samples.py`` checks ("nothing to rewrite").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "template" / "tests" / "data"
#: Sentinel answers, and the template variable each stands for (longest first: they nest).
SENTINELS = {
    "sentinel_curriculum_zq": "{{ package_name }}",
    "sentinel-curriculum-zq": "{{ curriculum_name }}",
    "SentinelTaskZq": "{{ task_name }}",
}
ANSWERS = {
    "curriculum_name": "sentinel-curriculum-zq",
    "package_name": "sentinel_curriculum_zq",
    "task_name": "SentinelTaskZq",
}


class SampleTemplatingError(RuntimeError):
    """A generated sample cannot be turned into a template file."""


def render(destination: Path) -> None:
    """The template with the sentinel answers, rendered from a plain copy (no git, no cache)."""
    import copier

    plain = destination.parent / "template-copy"
    shutil.copytree(ROOT / "template", plain / "template", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "copier.yml", plain / "copier.yml")
    data = {**ANSWERS, "sdk_requirement": str(ROOT)}
    copier.run_copy(str(plain), destination, data=data, defaults=True, quiet=True, unsafe=False)


def to_jinja(text: str, where: Path) -> str:
    """``text`` with the sentinel answers replaced by the template variables they stand for."""
    for marker in ("{{", "{%", "{#"):
        if marker in text:
            raise SampleTemplatingError(f"{where}: generated JSON contains {marker!r}; escape it before templating")
    for sentinel, variable in SENTINELS.items():
        text = text.replace(sentinel, variable)
    if "entinel" in text:
        raise SampleTemplatingError(f"{where}: a sentinel answer was left in the generated JSON")
    return text


def regenerate(project: Path) -> str:
    """Run the rendered repository's sample command (in this environment); its report."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project / "src"), str(project / "tests")])}
    completed = subprocess.run(
        [sys.executable, "tests/sample_sessions.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"tests/sample_sessions.py exited {completed.returncode}:\n{completed.stderr}")
    return completed.stdout


def copy_back(generated: Path) -> None:
    """Replace ``template/tests/data`` with the generated samples (inputs templated)."""
    shutil.rmtree(DATA, ignore_errors=True)
    for path in sorted(generated.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(generated)
        text = path.read_text(encoding="utf-8")
        if "entinel" in text or relative.parent.name == "curriculum":
            text, relative = to_jinja(text, relative), relative.with_name(relative.name + ".jinja")
        target = DATA / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="template-samples-") as scratch:
        project = Path(scratch) / "project"
        render(project)
        print(regenerate(project), end="")
        copy_back(project / "tests" / "data")


if __name__ == "__main__":
    main()
