"""Progress of ``edgeser tune``: one line per finished trial and an overall bar.

A module of its own because Ray pickles callbacks with the experiment state: a
module-level class is pickled by reference, and the bar (which holds the terminal)
is left out of the pickled state.
"""

from __future__ import annotations

from ray import tune


class TrialLines(tune.Callback):
    """Updates ``bar`` (a tqdm) and writes a line when a trial ends."""

    def __init__(self, bar=None):
        self.bar = bar

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.bar = None

    def _line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.write(text)

    def on_trial_complete(self, iteration, trials, trial, **info):
        m = trial.last_result or {}
        f1 = m.get("macro_f1_measured")
        status = "feasible" if m.get("feasible") else f"infeasible ({m.get('reason')})"
        self._line(f"trial {trial.trial_id}: int8 macro-F1 {'-' if f1 is None else f'{f1:.3f}'} after "
                   f"{m.get('fold', 0)} fold(s), {m.get('latency_ms')} ms, {m.get('memory_bytes')} B, {status}")

    def on_trial_error(self, iteration, trials, trial, **info):
        self._line(f"trial {trial.trial_id}: failed (its log: {trial.local_path})")
