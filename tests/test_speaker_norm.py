"""Per-speaker standardisation of embeddings (edgeser benchmark accuracy --speaker-norm)."""

from __future__ import annotations

import numpy as np
import pytest

from edgeser.evaluation.speaker_norm import EPSILON, speaker_standardise


def test_each_speaker_is_standardised_on_its_own_rows():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(30, 4)).astype(np.float32)
    speakers = ["a"] * 10 + ["b"] * 12 + ["c"] * 8
    # a voice's own offset and scale per dimension must drop out
    shifted = e.copy()
    shifted[10:22] = shifted[10:22] * np.array([3.0, 0.5, 1.0, 2.0], np.float32) + np.array([5, -2, 0, 1], np.float32)
    z, z_shifted = speaker_standardise(e, speakers), speaker_standardise(shifted, speakers)
    np.testing.assert_allclose(z_shifted, z, atol=5e-3)  # equal but for EPSILON against the scaled std
    for rows in (slice(0, 10), slice(10, 22), slice(22, 30)):
        np.testing.assert_allclose(z[rows].mean(axis=0), 0.0, atol=1e-5)
        std = e[rows].std(axis=0)
        np.testing.assert_allclose(z[rows].std(axis=0), std / (std + EPSILON), rtol=1e-5)
    one = speaker_standardise(np.ones((3, 2), np.float32), ["s"] * 3)  # constant: finite zeros
    assert np.all(one == 0.0)
    with pytest.raises(ValueError, match="2 speakers for 3"):
        speaker_standardise(np.zeros((3, 2)), ["a", "b"])
