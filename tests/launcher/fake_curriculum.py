"""A stand-in ``curriculum`` program for the adapter's tests, built from the contract's models.

It speaks both dialects (``run --path`` / ``run --data-directory --input-trainer-state``, ``init``)
and can misbehave on request: ``write_program(dir, behaviour)`` writes an executable script that
starts this module with a fixed behaviour (the adapter runs programs with a clean environment, so
the behaviour is baked into the script rather than passed through a variable).

Behaviours: ok, legacy, fail, hang, junk, wrong_shape, edit, delete, outside, signal, asset,
two_documents, replay_fail (``replay`` fails its second line), strict (``replay`` advances at twice
``ADVANCE_AT``), no_replay (a contract 1.0 program: ``replay`` is an unknown command), flood (100 MB on
stdout), invalid_json (a Python repr), replace (trials.csv renamed
over by a new file, as pandas-style "atomic saves" do), wipe (the whole session directory removed),
delete_video / edit_video (the session's ``video.avi`` removed / overwritten in place), daemon (a
double-forked ``setsid`` daemon that edits trials.csv after the program exits), slow (sleeps
``SLOW_S`` before answering), linger (edits trials.csv, starts a child and a daemon, then sleeps: the
launcher is killed meanwhile). The pids of what a program leaves go to :func:`pid_file` (outside the
session and its parent, which the guard watches).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal

from aind_behavior_curriculum import Metrics, Stage, Task, TaskParameters, Trainer, create_curriculum

HERE = Path(__file__).parent
VERSION = "0.3.0"
#: A session advances from stage_a to stage_b when its trials.csv has at least this many rows.
ADVANCE_AT = 5
#: How long the "slow" behaviour sleeps before answering: long enough for a second launch to collide.
SLOW_S = 3.0
#: How long the daemon of "daemon" waits before it writes into the session.
DAEMON_DELAY_S = 5.0


def pid_file(data: Path) -> Path:
    """Where a program writes the pids it leaves behind: beside the data root, never in it."""
    return data.parent.parent / f"{data.name}.pids"


def _daemonize(data: Path, delay_s: float) -> None:
    """Double fork + setsid: a daemon that escapes the process group, then appends to trials.csv."""
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    with open(pid_file(data), "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")
    time.sleep(delay_s)
    with open(data / "trials.csv", "a", encoding="utf-8") as handle:
        handle.write("666,1\n")
    os._exit(0)


class FakeParameters(TaskParameters):
    reward_ul: float = 3.0


class FakeTask(Task):
    name: Literal["FakeTask"] = "FakeTask"
    task_parameters: FakeParameters


class FakeMetrics(Metrics):
    n_trials: int


def enough_trials(metrics: FakeMetrics) -> bool:
    return metrics.n_trials >= ADVANCE_AT


FakeCurriculum = create_curriculum("FakeCurriculum", VERSION, (FakeTask,))
CURRICULUM = FakeCurriculum()
STAGE_A = Stage(name="stage_a", task=FakeTask(task_parameters=FakeParameters()))
STAGE_B = Stage(name="stage_b", task=FakeTask(task_parameters=FakeParameters(reward_ul=2.0)))
CURRICULUM.add_stage_transition(STAGE_A, STAGE_B, enough_trials)
TRAINER = Trainer(CURRICULUM)


def enrollment(stage: str | None = None) -> dict:
    """The JSON trainer state ``init`` prints."""
    if stage is None:
        state = TRAINER.create_enrollment()
    else:
        chosen = next(s for s in CURRICULUM.see_stages() if s.name == stage)
        state = TRAINER.create_trainer_state(stage=chosen, is_on_curriculum=True, active_policies=[])
    return json.loads(state.model_dump_json())


def write_program(directory: Path, behaviour: str = "ok") -> Path:
    """An executable ``curriculum`` script in ``directory`` running this module with ``behaviour``."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "curriculum"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from fake_curriculum import main\n"
        f"sys.exit(main(sys.argv[1:], {behaviour!r}))\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def _n_trials(data: Path) -> int:
    trials = data / "trials.csv"
    return max(0, len(trials.read_text(encoding="utf-8").splitlines()) - 1) if trials.is_file() else 0


def suggest(data: Path, state_file: Path, legacy: bool) -> dict:
    """The document ``run`` prints for ``data`` from the state in ``state_file`` (AIND-shaped if ``legacy``)."""
    from curriculum_contract.sdk import CONTRACT_VERSION, Decision, Suggestion

    state = TRAINER.trainer_state_model.model_validate_json(state_file.read_text(encoding="utf-8"))
    metrics = FakeMetrics(n_trials=_n_trials(data))
    after = TRAINER.evaluate(state, metrics)
    document = {
        "trainer_state": json.loads(after.model_dump_json()),
        "metrics": metrics.model_dump(mode="json"),
        "version": VERSION,
        "dsl_version": "0.0.42",
    }
    if legacy:
        return document
    history_file = data / "curriculum" / "history.json"
    history = json.loads(history_file.read_text()) if history_file.is_file() else None
    before, now = state.stage.name, after.stage.name
    decision = Decision(
        stage_before=before,
        stage_after=now,
        stage_changed=before != now,
        history="missing" if history is None else ("first_session" if history["first_session"] else "present"),
        previous_sessions=0 if history is None else len(history["sessions"]),
        transitions=[],
        policy_transitions=[],
        policies=[],
        summary=f"{before} -> {now}: n_trials={metrics.n_trials} (advance at {ADVANCE_AT})",
    )
    document.update(
        contract_version=CONTRACT_VERSION,
        curriculum_name=CURRICULUM.name,
        data_directory=str(data),
        decision=decision.model_dump(mode="json"),
    )
    suggestion = Suggestion.model_validate_json(json.dumps(document))  # a valid contract document
    return json.loads(suggestion.model_dump_json())


def replay(lines: list[str], behaviour: str) -> int:
    """``curriculum replay`` (contract section 8) from recorded metrics: a chain per subject, in order."""
    from curriculum_contract.sdk import CONTRACT_VERSION, Decision, Suggestion

    state = None
    for number, line in enumerate((line for line in lines if line.strip()), start=1):
        request = json.loads(line)
        if request.get("trainer_state") is not None:
            state = TRAINER.trainer_state_model.model_validate_json(json.dumps(request["trainer_state"]))
        elif state is None:
            state = TRAINER.create_enrollment()
        if behaviour == "replay_fail" and number == 2:
            error = {"exit_code": 3, "reason": "metrics do not fit FakeMetrics"}
            print(json.dumps({"contract_version": CONTRACT_VERSION, "line": number, "session": request["session"],
                              "subject_id": request["subject_id"], "suggestion": None, "error": error}))  # fmt: skip
            return 3
        metrics = FakeMetrics.model_validate(request["metrics"])
        after = TRAINER.evaluate(state, metrics)
        if behaviour == "strict" and metrics.n_trials < 2 * ADVANCE_AT:
            after = state
        before, now = state.stage.name, after.stage.name
        decision = Decision(
            stage_before=before, stage_after=now, stage_changed=before != now, history="present",
            previous_sessions=0, transitions=[], policy_transitions=[], policies=[], summary=f"{before} -> {now}",
        )  # fmt: skip
        suggestion = Suggestion(
            contract_version=CONTRACT_VERSION, curriculum_name=CURRICULUM.name, version=VERSION, dsl_version="0.0.42",
            data_directory=f"recorded:{request['session']}", trainer_state=after, metrics=metrics, decision=decision,
        )  # fmt: skip
        print(json.dumps({"contract_version": CONTRACT_VERSION, "line": number, "session": request["session"],
                          "subject_id": request["subject_id"], "suggestion": json.loads(suggestion.model_dump_json()),
                          "error": None}))  # fmt: skip
        state = after
    return 0


def main(argv: list[str], behaviour: str = "ok") -> int:
    parser = argparse.ArgumentParser(prog="curriculum")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--path", "--data-directory", dest="path", type=Path, required=True)
    run.add_argument("--input-trainer-state", type=Path)
    run.add_argument("--curriculum")
    run.add_argument("--opt", action="append", default=[])
    replayed = commands.add_parser("replay")
    replayed.add_argument("--input", type=Path, required=True)
    replayed.add_argument("--curriculum")
    init = commands.add_parser("init")
    init.add_argument("--stage")
    init.add_argument("--curriculum")
    args = parser.parse_args(argv)

    if args.command == "replay" and behaviour == "no_replay":
        parser.error("argument command: invalid choice: 'replay' (choose from 'run', 'init')")
    if args.command == "replay":
        return replay(args.input.read_text(encoding="utf-8").splitlines(), behaviour)
    if args.command == "init":
        if behaviour == "junk":
            print("hello, not json")
            return 0
        print(json.dumps(enrollment(args.stage)))
        return 0

    data: Path = args.path
    state_file = args.input_trainer_state or data / "curriculum" / "trainer_state.json"
    print(f"fake curriculum: {behaviour} on {data}", file=sys.stderr)
    if behaviour == "fail":
        print("Traceback (most recent call last):\nValueError: trials.csv has no 'outcome' column", file=sys.stderr)
        return 4
    if behaviour == "hang":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        time.sleep(600)
    if behaviour == "signal":
        os.kill(os.getpid(), signal.SIGKILL)
    if behaviour == "slow":
        time.sleep(SLOW_S)
    if behaviour == "daemon":
        _daemonize(data, DAEMON_DELAY_S)
    if behaviour == "linger":
        with open(data / "trials.csv", "a", encoding="utf-8") as handle:
            handle.write("999,1\n")
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        _daemonize(data, 600)
        with open(pid_file(data), "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n{child.pid}\n")
        time.sleep(600)
    if behaviour == "edit":
        with open(data / "trials.csv", "a", encoding="utf-8") as handle:
            handle.write("999,1\n")
    if behaviour == "delete":
        (data / "trials.csv").unlink()
    if behaviour == "outside":
        (data.parent / "escaped.txt").write_text("written outside the session", encoding="utf-8")
    if behaviour == "replace":
        (data / "trials.csv.tmp").write_text("trial,outcome\n0,1\n", encoding="utf-8")
        os.replace(data / "trials.csv.tmp", data / "trials.csv")
    if behaviour == "delete_video":
        (data / "video.avi").unlink()
    if behaviour == "edit_video":
        with open(data / "video.avi", "r+b") as handle:
            handle.write(b"overwritten in place")
    if behaviour == "flood":  # 100 MB, more than the adapter's capture cap
        chunk = b"x" * 2**20
        sys.stdout.buffer.write(b'{"trainer_state": "')
        for _ in range(100):
            sys.stdout.buffer.write(chunk)
        return 0
    document = suggest(data, state_file, legacy=behaviour == "legacy")
    if behaviour == "wipe":
        shutil.rmtree(data)
    if behaviour == "asset":
        (data / "curriculum" / "plot.txt").write_text("a declared asset", encoding="utf-8")
        document["assets"] = ["curriculum/plot.txt"]
    if behaviour == "junk":
        print("INFO computing metrics...")
    if behaviour == "wrong_shape":
        document = {"trainer_state": "not a state", "metrics": [], "contract_version": "1.0.0"}
    if "opt_echo" in behaviour:
        document.setdefault("warnings", []).append("opts=" + ",".join(args.opt))
    if behaviour == "invalid_json":
        print(document)  # the classic slip: the dict's repr, not JSON
        return 0
    print(json.dumps(document))
    if behaviour == "two_documents":
        print(json.dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
