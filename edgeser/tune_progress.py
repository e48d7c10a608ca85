"""Progress of ``edgeser tune``: one line per finished trial and an overall bar.

A module of its own because Ray pickles callbacks with the experiment state: a
module-level class is pickled by reference, and the bar (which holds the terminal)
is left out of the pickled state. A continued search gets its callbacks back from that
state, without a bar: they write to the bar :func:`attach` gave this process.
"""

from __future__ import annotations

import sys

from ray import tune

_attached = None  # the bar of the search running in this process (restored callbacks use it)


def attach(bar) -> None:
    """Make ``bar`` (a tqdm, or None) the one every :class:`TrialLines` without its own writes to."""
    global _attached
    _attached = bar


class TrialLines(tune.Callback):
    """Updates ``bar`` (a tqdm) and writes a line when a trial ends."""

    def __init__(self, bar=None):
        self.bar = bar

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.bar = None

    def _line(self, text: str) -> None:
        bar = self.bar if self.bar is not None else _attached
        if bar is not None:
            bar.update(1)
            bar.write(text, file=sys.stdout)
            sys.stdout.flush()  # a line per trial even when stdout is a file (a search left running)

    def on_trial_complete(self, iteration, trials, trial, **info):
        m = trial.last_result or {}
        f1 = m.get("macro_f1_measured")
        status = "feasible" if m.get("feasible") else f"infeasible ({m.get('reason')})"
        self._line(f"trial {trial.trial_id}: int8 macro-F1 {'-' if f1 is None else f'{f1:.3f}'} after "
                   f"{m.get('fold', 0)} fold(s), {m.get('latency_ms')} ms, {m.get('memory_bytes')} B, {status}")

    def on_trial_error(self, iteration, trials, trial, **info):
        self._line(f"trial {trial.trial_id}: failed (its log: {trial.local_path})")
