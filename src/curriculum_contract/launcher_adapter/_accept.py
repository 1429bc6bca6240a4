"""Accept a finished run: validate stdout, check the session, then commit the outputs and the record together.

One commit order, so that the session's outputs and the store agree — both or neither:

1. the journal keeps the bytes of the files about to be replaced (``acquisition.json``, ``session.json``,
   an earlier ``curriculum/suggestion.json``) and says ``committing``;
2. ``curriculum/suggestion.json`` is written, then the metadata annotation (``_metadata``; each atomically);
3. the store records the ``ok`` row (one transaction) — the commit point;
4. the journal says ``committed``.

A failure at 2 or 3 (a full disk, a store that cannot be written, Ctrl-C) rolls the outputs back
from the journal before the error goes on: a failed store write is a ``StoreError`` that leaves
nothing half-written. A launcher killed between 1 and 4 leaves the journal: the next launch of the
session (or ``curriculum-contract recover``) finds the row of step 3 or not, and keeps or rolls back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ._attempt import Attempt, LaunchResult, Timings
from ._errors import ContractViolation, ProcessFailed
from ._feed import METADATA_FILES, SUGGESTION_FILE, write_suggestion
from ._guard import SessionSnapshot
from ._journal import Journal
from ._metadata import annotate_session_metadata, code_url, metadata_entry, task_of
from ._preserve import Preserved
from ._process import ProcessResult
from ._store import HistoryStore, stage_name
from ._tools import curriculum_of


def accept(
    attempt: Attempt,
    store: HistoryStore,
    snapshot: SessionSnapshot,
    preserved: Preserved,
    result: ProcessResult,
    journal: Journal,
    before_commit: Callable[[], object] = lambda: None,
) -> LaunchResult:
    """Validate the finished run, write its outputs into the session, record it (see the module doc).

    ``before_commit`` runs once the session is checked and before anything is written: a store read there
    (SQLite's ``-shm`` file next to the session) can no longer look like the run's doing.
    """
    from ._validate import parse_output

    if result.exit_code != 0:
        snapshot.check(preserved=preserved)  # a data violation outranks the failure
        raise ProcessFailed.from_result(result, dialect=attempt.dialect)
    try:
        output = parse_output(result.stdout, truncated=result.stdout_truncated)
    except ContractViolation:
        snapshot.check(preserved=preserved)
        raise
    document = output.raw
    assets = tuple(getattr(output.document, "assets", ()) or ())
    snapshot.check(declared_assets=assets, preserved=preserved)
    before_commit()

    trainer_state = document["trainer_state"]
    metrics = dict(document.get("metrics") or {})
    curriculum_name = document.get("curriculum_name") or curriculum_of(trainer_state) or attempt.curriculum_name
    version = document.get("version") or (attempt.provenance.version if attempt.provenance else None)
    stage_after = stage_name(trainer_state)
    warnings = attempt.warnings
    warnings.extend(f"curriculum: {text}" for text in getattr(output.document, "warnings", ()) or ())
    warnings.extend(f"validation: {text}" for text in output.warnings)
    if output.legacy:
        warnings.append("legacy output (AIND shape): no decision report")

    journal.begin_commit([SUGGESTION_FILE, *METADATA_FILES])
    try:
        suggestion_file, more = write_suggestion(attempt.session_dir, document)
        warnings.extend(more)
        entry = metadata_entry(
            curriculum_name=curriculum_name,
            curriculum_version=version,
            curriculum_commit=attempt.provenance.commit if attempt.provenance else None,
            stage_before=stage_name(attempt.input_state),
            stage_after=stage_after,
            metrics=metrics,
            legacy=output.legacy,
            warnings=warnings,
            curriculum_url=code_url(attempt.provenance),
            task_name=(task_of(attempt.input_state) or {}).get("name"),
            suggested_task=task_of(trainer_state),
        )
        metadata_file, more = annotate_session_metadata(attempt.session_dir, entry)
        warnings.extend(more)
        record_id = store.record_session(
            attempt.record(
                "ok",
                curriculum_name=curriculum_name,
                curriculum_version=version,
                stage_after=stage_after,
                metrics=metrics,
                suggestion=document,
                trainer_state=trainer_state,
                legacy=output.legacy,
            )
        )
    except BaseException as error:
        _roll_back(journal, error)
        raise
    journal.update(step="committed")
    warnings.extend(getattr(store, "take_notes", list)())  # offline rigs: decided offline, queued, a conflict
    total = time.perf_counter() - attempt.t0
    assert attempt.provenance is not None
    return LaunchResult(
        subject_id=attempt.subject,
        session_dir=attempt.session_dir,
        suggestion=output.document,
        document=document,
        legacy=output.legacy,
        curriculum_name=curriculum_name,
        stage_before=stage_name(attempt.input_state),
        stage_after=stage_after,
        metrics=metrics,
        warnings=tuple(warnings),
        provenance=attempt.provenance,
        timings=Timings(attempt.bootstrap_s or 0.0, attempt.run_s or 0.0, total),
        record_id=record_id,
        suggestion_file=suggestion_file,
        metadata_file=metadata_file,
        store_status=getattr(store, "last_status", "recorded"),  # offline rigs
        input_trainer_state=attempt.input_state,
    )


def _roll_back(journal: Journal, error: BaseException) -> None:
    """Undo the outputs of a failed commit; one that cannot be undone keeps the journal for ``recover``."""
    try:
        undone = journal.rollback()
    except OSError as exc:
        journal.update(step="rollback-failed")
        error.add_note(f"the session's outputs could not be rolled back ({exc}): run `curriculum-contract recover`")
        return
    journal.update(step="rolled-back")
    if undone and hasattr(error, "add_note"):
        error.add_note(f"rolled back: {'; '.join(undone)}")
