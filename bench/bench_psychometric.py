"""Time ``fit_psychometric`` (aggregation + fit + identification) against the previous fitter, same run.

The baseline is the fitter before issue 12's third speed-up: its five modules at a pinned commit
(bench/_baseline_psychometric.py loads them from git next to the current ones), on the same tables; the
two must agree within the documented reproducibility. Sessions, seeded: well-posed ones (11 signed
levels, thresholds 10-40 %, lapses 0-0.2) and ill-posed ones (only the +-50/100 % levels, a perfect
subject, a guessing subject, a bias beyond the tested range), each at 600 and at 100,000 trials.
Targets: a well-posed 600-trial fit under 3 ms, and ``fit_counts`` at least 2x faster than the
baseline (issue 12) on ``--sessions`` typical counts (11 signed levels, 300-600 trials, trained and
half-trained parameters), the two timed interleaved on each.
Timing never fails the run; a wrong answer does (exit 1): a well-posed session with an undefined
parameter, an ill-posed one reported fully identified, or the two fitters disagreeing beyond the
documented reproducibility (``REPRODUCIBLE_TO`` / ``REPRODUCIBLE_ABS``).
Run: ``python bench/bench_psychometric.py [--repeats R]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from curriculum_contract.sdk._psychometric import (
    REPRODUCIBLE_ABS,
    REPRODUCIBLE_TO,
    fit_counts,
    fit_psychometric,
    psychometric,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _baseline_psychometric as baseline
from _timing import median_seconds

LEVELS = np.array([-1.0, -0.5, -0.25, -0.125, -0.0625, 0.0, 0.0625, 0.125, 0.25, 0.5, 1.0])
EASY = np.array([-1.0, -0.5, 0.5, 1.0])
#: (bias %, threshold %, lapse_low, lapse_high) of the well-posed sessions.
WELL_POSED = [(5.0, 20.0, 0.1, 0.05), (-8.0, 12.0, 0.02, 0.0), (0.0, 30.0, 0.15, 0.1), (12.0, 40.0, 0.2, 0.15)]


def session(n: int, params: tuple[float, float, float, float], seed: int, levels: np.ndarray = LEVELS) -> pd.DataFrame:
    """Choices drawn from the model at ``levels`` (uniformly), 2 % no-go trials, seeded."""
    rng = np.random.default_rng(seed)
    contrast = rng.choice(levels, n)
    choice = np.where(rng.random(n) < psychometric(contrast * 100.0, *params), 1, -1)
    choice[rng.random(n) < 0.02] = 0
    return pd.DataFrame({"signed_contrast": contrast, "choice": choice})


def ill_posed(n: int, seed: int) -> dict[str, pd.DataFrame]:
    """Sessions whose data cannot determine all four parameters."""
    perfect = session(n, (0.0, 20.0, 0.0, 0.0), seed)
    nonzero = perfect["signed_contrast"] != 0.0
    perfect.loc[nonzero, "choice"] = np.sign(perfect.loc[nonzero, "signed_contrast"]).astype(int)
    return {
        "only +-50/100 %": session(n, (0.0, 20.0, 0.05, 0.05), seed, EASY),
        "perfect subject": perfect,
        "guessing subject": session(n, (0.0, 1e5, 0.0, 0.0), seed),
        "bias beyond range": session(n, (150.0, 20.0, 0.05, 0.05), seed),
    }


def describe(fit: object) -> str:
    values = (getattr(fit, name) for name in ("bias", "threshold", "lapse_low", "lapse_high"))
    return " ".join("nan" if math.isnan(v) else f"{v:.4g}" for v in values)


PREVIOUS = baseline.load()
#: The speed-up of ``fit_counts`` over the baseline aimed at (issue 12: 500 simulated sessions per CPU second).
TARGET_RATIO = 2.0
#: (bias %, threshold %, lapse_low, lapse_high) of the typical sessions: trained and half-trained learners.
TYPICAL = [(3.0, 12.0, 0.02, 0.03), (-6.0, 18.0, 0.05, 0.08), (10.0, 30.0, 0.12, 0.1), (-12.0, 40.0, 0.2, 0.15)]


def previous_fit(trials: pd.DataFrame) -> object:
    return PREVIOUS.fit_psychometric(trials)


def typical_counts(count: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``count`` seeded sessions' counts per level: 11 levels, 300-600 trials, the ``TYPICAL`` parameters."""
    rng = np.random.default_rng(12)
    sessions = []
    for i in range(count):
        n = rng.multinomial(int(rng.integers(300, 601)), np.full(LEVELS.size, 1.0 / LEVELS.size)).astype(float)
        k = rng.binomial(n.astype(int), psychometric(LEVELS * 100.0, *TYPICAL[i % len(TYPICAL)])).astype(float)
        sessions.append((LEVELS * 100.0, n, k))
    return sessions


def fit_counts_ratio(
    sessions: list[tuple[np.ndarray, np.ndarray, np.ndarray]], errors: list[str]
) -> tuple[float, float, float]:
    """Median ms per ``fit_counts`` call, previous and current, and the median of per-session ratios (interleaved)."""
    old, new, ratios = [], [], []
    same = 0
    for levels, n, k in sessions:
        fit, previous = fit_counts(levels, n, k), PREVIOUS.fit_counts(levels, n, k)
        differs = disagreement(fit, previous)
        if differs:
            errors.append(f"fit_counts on typical counts {n.astype(int).tolist()}: {differs}")
        same += identical(fit, previous)
        for _ in range(3):
            before = median_seconds(lambda a=(levels, n, k): PREVIOUS.fit_counts(*a), 1)
            after = median_seconds(lambda a=(levels, n, k): fit_counts(*a), 1)
            old.append(before)
            new.append(after)
            ratios.append(before / after)
    print(f"fit_counts on typical sessions: {same} of {len(sessions)} bit for bit the previous fitter's")
    return statistics.median(old) * 1e3, statistics.median(new) * 1e3, statistics.median(ratios)


FIELDS = ("bias", "threshold", "lapse_low", "lapse_high", "n_trials", "converged", "reason", "negative_log_likelihood")


def identical(new: object, old: object) -> bool:
    """Every field the same, floats bit for bit (NaN equal to NaN), and the same reasons in the same order."""
    for name in FIELDS:
        a, b = getattr(new, name), getattr(old, name)
        if isinstance(a, float) and isinstance(b, float):
            if not (repr(a) == repr(b) or (math.isnan(a) and math.isnan(b))):
                return False
        elif a != b:
            return False
    return list(new.undefined.items()) == list(old.undefined.items())  # type: ignore[attr-defined]


def disagreement(new: object, old: object) -> str | None:
    """None when both fits leave the same parameters undefined and agree on the others (documented tolerance)."""
    if set(new.undefined) != set(old.undefined):  # type: ignore[attr-defined]
        return f"undefined {sorted(new.undefined)} vs previous {sorted(old.undefined)}"  # type: ignore[attr-defined]
    for name in ("bias", "threshold", "lapse_low", "lapse_high"):
        a, b = getattr(new, name), getattr(old, name)
        if not (math.isnan(a) and math.isnan(b)) and not abs(a - b) <= REPRODUCIBLE_TO * max(abs(a), abs(b)) + (
            REPRODUCIBLE_ABS
        ):
            return f"{name} {a!r} vs previous {b!r}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sessions", type=int, default=200, help="typical sessions for the fit_counts ratio")
    args = parser.parse_args()
    r = args.repeats
    errors: list[str] = []
    print(f"repeats: {r} per session (median times; per-fit medians over the sessions of a row)")
    print(f"{'trials':>8}  {'sessions':<26}{'previous ms':>12}{'new ms':>10}{'new/previous':>14}")
    typical = (math.nan, math.nan)
    for n in (600, 100_000):
        groups = {
            f"well-posed ({len(WELL_POSED)})": {f"{p}": session(n, p, seed) for seed, p in enumerate(WELL_POSED)},
            "ill-posed (4)": ill_posed(n, seed=7),
        }
        for label, sessions in groups.items():
            old, new = [], []
            for name, trials in sessions.items():
                fit, old_fit = fit_psychometric(trials), previous_fit(trials)  # also warms both
                new.append(median_seconds(lambda t=trials: fit_psychometric(t), r))
                old.append(median_seconds(lambda t=trials: previous_fit(t), r))
                if label.startswith("well") and fit.undefined:
                    errors.append(f"{n} trials, well-posed {name}: {fit.reason}")
                if label.startswith("ill") and not fit.undefined:
                    errors.append(f"{n} trials, ill-posed {name}: every parameter reported identified")
                differs = disagreement(fit, old_fit)
                if differs:
                    errors.append(f"{n} trials, {name}: the new fit differs from the previous one: {differs}")
            old_ms, new_ms = statistics.median(old) * 1e3, statistics.median(new) * 1e3
            if n == 600 and label.startswith("well"):
                typical = (old_ms, new_ms)
            print(f"{n:>8,}  {label:<26}{old_ms:>12.2f}{new_ms:>10.2f}{new_ms / old_ms:>14.3f}")
    print(
        f"fit of a 600-trial session (well-posed, median): {typical[1]:.2f} ms, previous {typical[0]:.2f} ms, "
        f"{typical[0] / typical[1]:.1f}x faster; target under 3 ms: {'met' if typical[1] < 3.0 else 'NOT met'}"
    )
    old_ms, new_ms, ratio = fit_counts_ratio(typical_counts(args.sessions), errors)
    met = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(
        f"fit_counts on {args.sessions} typical sessions (11 levels, 300-600 trials; interleaved): {new_ms:.3f} ms, "
        f"previous {old_ms:.3f} ms; median ratio {ratio:.2f}x (target {TARGET_RATIO:g}x: {met})"
    )
    print("ill-posed at 600 trials (bias threshold lapse_low lapse_high):")
    for name, trials in ill_posed(600, seed=7).items():
        fit, old_fit = fit_psychometric(trials), previous_fit(trials)
        print(f"  {name:<20} previous {describe(old_fit):<40} new {describe(fit)}")
        print(f"  {'':<20} why: {fit.reason}")
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
