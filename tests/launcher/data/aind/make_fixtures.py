"""Regenerate the AIND metadata fixtures with aind-data-schema's own models (not by hand).

Run it in an environment holding aind-data-schema 2.x for ``acquisition.json`` (the test extra), and
in one holding 1.4.x for ``session.json``; each run writes the file of the generation installed::

    python tests/launcher/data/aind/make_fixtures.py
    uv run --no-project --with "aind-data-schema==1.4.*" python tests/launcher/data/aind/make_fixtures.py

One behaviour session of subject M1 running the fake curriculum's task (``FakeTask``), followed by a
passive epoch: the launch must annotate the task's epoch, not the last one.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).parent
START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
TASK_END, END = START + timedelta(minutes=40), START + timedelta(minutes=50)


def acquisition() -> str:
    from aind_data_schema.core.acquisition import Acquisition, DataStream, PerformanceMetrics, StimulusEpoch
    from aind_data_schema_models.modalities import Modality
    from aind_data_schema_models.stimulus_modality import StimulusModality

    epochs = [
        StimulusEpoch(
            stimulus_start_time=START, stimulus_end_time=TASK_END, stimulus_name="FakeTask",
            stimulus_modalities=[StimulusModality.VISUAL],
            performance_metrics=PerformanceMetrics(trials_total=10, trials_finished=10, trials_rewarded=5),
        ),
        StimulusEpoch(
            stimulus_start_time=TASK_END, stimulus_end_time=END, stimulus_name="Receptive field mapping",
            stimulus_modalities=[StimulusModality.VISUAL], notes="passive",
        ),
    ]  # fmt: skip
    model = Acquisition(
        subject_id="M1", acquisition_start_time=START, acquisition_end_time=END, acquisition_type="Behavior training",
        instrument_id="rig-7", experimenters=["A. Trainer"],
        data_streams=[DataStream(stream_start_time=START, stream_end_time=END, modalities=[Modality.BEHAVIOR],
                                 active_devices=[], configurations=[])],
        stimulus_epochs=epochs,
    )  # fmt: skip
    return model.model_dump_json(indent=3)


def session() -> str:
    from aind_data_schema.core.session import Session, StimulusEpoch, Stream
    from aind_data_schema_models.modalities import Modality

    epochs = [
        StimulusEpoch(
            stimulus_start_time=START, stimulus_end_time=TASK_END, stimulus_name="FakeTask",
            stimulus_modalities=["Visual"], trials_total=10, trials_finished=10, trials_rewarded=5,
        ),
        StimulusEpoch(
            stimulus_start_time=TASK_END, stimulus_end_time=END, stimulus_name="Receptive field mapping",
            stimulus_modalities=["Visual"], notes="passive",
        ),
    ]  # fmt: skip
    model = Session(
        experimenter_full_name=["A. Trainer"], session_start_time=START, session_end_time=END,
        session_type="Behavior training", rig_id="rig-7", subject_id="M1", mouse_platform_name="wheel",
        active_mouse_platform=False,
        data_streams=[Stream(stream_start_time=START, stream_end_time=END, stream_modalities=[Modality.BEHAVIOR])],
        stimulus_epochs=epochs,
    )  # fmt: skip
    return model.model_dump_json(indent=3)


def main() -> None:
    major = version("aind-data-schema").split(".", 1)[0]
    name, build = {"2": ("acquisition.json", acquisition), "1": ("session.json", session)}[major]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        (HERE / name).write_text(build() + "\n", encoding="utf-8")
    print(f"wrote {HERE / name} with aind-data-schema {version('aind-data-schema')}")


if __name__ == "__main__":
    main()
