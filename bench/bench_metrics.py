"""Time ``summarize_session`` (every metric + the psychometric fit) on a 1,000,000-trial session.

The baseline, measured in the same run on the same table, is the least any metric code must do:
one pandas ``groupby("signed_contrast")["choice"].agg(["mean", "count"])``. Target: the whole
summary under 1 s. Run: ``python bench/bench_metrics.py [--trials N] [--repeats R]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _timing import median_seconds

from curriculum_contract.sdk._metrics import (
    choice_bias,
    fraction_correct,
    fraction_correct_easy,
    median_reaction_time,
    session_duration,
    summarize_session,
)
from curriculum_contract.sdk._psychometric import fit_psychometric, psychometric
from curriculum_contract.sdk._trials import coerce_trials

CONTRASTS = np.array([-1.0, -0.25, -0.125, -0.0625, 0.0, 0.0625, 0.125, 0.25, 1.0])


def make_session(n: int, seed: int = 20240601) -> pd.DataFrame:
    """A seeded session drawn from the model (bias 10 %, threshold 20 %, lapses 0.05/0.1, 2 % no-go)."""
    rng = np.random.default_rng(seed)
    contrast = rng.choice(CONTRASTS, n)
    choice = np.where(rng.random(n) < psychometric(contrast * 100.0, 10.0, 20.0, 0.05, 0.1), 1, -1)
    choice[rng.random(n) < 0.02] = 0
    reaction_time = rng.lognormal(-0.5, 0.6, n)
    reaction_time[choice == 0] = np.nan
    duration = 1.0 + rng.exponential(2.0, n)
    end_time = np.cumsum(duration + 0.5)
    return pd.DataFrame(
        {
            "signed_contrast": contrast,
            "choice": choice,
            "reaction_time": reaction_time,
            "start_time": end_time - duration,
            "end_time": end_time,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    raw = make_session(args.trials)
    trials = coerce_trials(raw)
    r = args.repeats

    def baseline() -> object:
        return trials.groupby("signed_contrast")["choice"].agg(["mean", "count"])

    baseline()  # warm both paths once so neither pays first-call costs
    summary = summarize_session(trials)
    base = median_seconds(baseline, r)
    total = median_seconds(lambda: summarize_session(trials), r)
    parts = {
        "coerce_trials (validation, done once by load_trials)": lambda: coerce_trials(raw),
        "fraction_correct": lambda: fraction_correct(trials),
        "fraction_correct_easy": lambda: fraction_correct_easy(trials),
        "choice_bias": lambda: choice_bias(trials),
        "median_reaction_time": lambda: median_reaction_time(trials),
        "session_duration": lambda: session_duration(trials),
        "fit_psychometric": lambda: fit_psychometric(trials),
    }

    print(f"trials: {len(trials):,}   repeats: {r} (median times)")
    print(f"baseline  groupby(signed_contrast).choice.agg([mean, count]) : {base * 1e3:8.1f} ms")
    print(f"measured  summarize_session (all metrics + fit)              : {total * 1e3:8.1f} ms")
    print(f"ratio     summarize_session / baseline                       : {total / base:8.2f} x")
    print(f"target    summarize_session under 1 s                        : {'met' if total < 1.0 else 'NOT met'}")
    print("parts:")
    for name, function in parts.items():
        print(f"  {name:<55}: {median_seconds(function, r) * 1e3:8.1f} ms")
    fit = summary.psychometric
    print(
        f"fit: bias {fit.bias:.2f} (true 10), threshold {fit.threshold:.2f} (true 20), "
        f"lapses {fit.lapse_low:.4f}/{fit.lapse_high:.4f} (true 0.05/0.1), converged {fit.converged}"
    )


if __name__ == "__main__":
    main()
