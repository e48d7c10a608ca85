"""training.random_crops and random_crop_min_seconds: windows cut from the whole utterance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeser.settings import SettingsError

REPO = Path(__file__).resolve().parents[1]


def _recipe(**training):
    from edgeser.recipe import load_recipe
    from edgeser.search_space import apply_params

    return apply_params(load_recipe(REPO / "configs" / "demo.yaml"), {f"training.{k}": v for k, v in training.items()})


def _stretch(row: np.ndarray, pad: int) -> tuple[int, int]:
    """First and one-past-last frame that is not all silence."""
    speech = np.flatnonzero(~np.all(row == pad, axis=1))
    return int(speech[0]), int(speech[-1]) + 1


def test_shorter_random_crops_are_stretches_of_the_utterance_in_silence():
    from edgeser.datasets import silence_code
    from edgeser.frontend.features import compute_features
    from edgeser.train_options import random_crops

    recipe = _recipe(random_crops=2, random_crop_min_seconds=0.5)
    sr, stride = recipe.frontend.sample_rate, recipe.frontend.stride_ms
    audio = (np.random.default_rng(0).normal(0, 8000, 3 * sr)).clip(-32768, 32767).astype(np.int16)
    f = compute_features(audio, recipe.frontend)
    frames, pad = 100, silence_code(recipe.frontend)
    assert len(f) > frames and not np.any(np.all(f == pad, axis=1))  # every frame of the noise is "speech"
    rows = random_crops([audio], recipe, frames, 40, np.random.default_rng(1))
    assert rows.shape == (40, frames, f.shape[1]) and rows.dtype == np.int8
    lengths = []
    for row in rows:
        lo, hi = _stretch(row, pad)
        stretch = row[lo:hi]
        starts = [s for s in range(len(f) - len(stretch) + 1) if np.array_equal(f[s : s + len(stretch)], stretch)]
        assert starts, "each window holds one contiguous stretch of the utterance's features"
        lengths.append(hi - lo)
    shortest = round(0.5 * 1000 / stride)
    assert min(lengths) >= shortest and max(lengths) <= frames
    assert np.std(lengths) > 10 and min(lengths) < frames // 2  # lengths drawn over the range, not all full

    full = random_crops([audio], _recipe(random_crops=2), frames, 10, np.random.default_rng(1))
    assert all(_stretch(row, pad) == (0, frames) for row in full)  # off: full windows, as before
    # a clip shorter than the shortest crop is kept whole
    short = audio[: sr // 4]
    n = len(compute_features(short, recipe.frontend))
    assert all(_stretch(row, pad)[1] - _stretch(row, pad)[0] == n
               for row in random_crops([short], recipe, frames, 5, np.random.default_rng(2)))


def test_random_crop_min_seconds_is_checked():
    with pytest.raises(SettingsError, match="training.random_crops is 0"):
        _recipe(random_crops=0, random_crop_min_seconds=1.0)
    with pytest.raises(SettingsError, match="longer than data.clip_seconds"):
        _recipe(random_crops=2, random_crop_min_seconds=60.0)
    with pytest.raises(SettingsError, match=">= 0"):
        _recipe(random_crops=2, random_crop_min_seconds=-1.0)
    # off by default, and then out of the recipe hash (run folders made before stay valid)
    assert _recipe(random_crops=2).sha256() != _recipe(random_crops=2, random_crop_min_seconds=1.0).sha256()
    from edgeser.settings import to_mapping

    assert "random_crop_min_seconds" not in to_mapping(_recipe(random_crops=2), for_hash=True)["training"]
