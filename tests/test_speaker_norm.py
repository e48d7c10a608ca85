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


def test_running_statistics_start_from_the_prior_and_converge_to_the_speaker():
    from edgeser.evaluation.speaker_norm import running_standardise

    rng = np.random.default_rng(1)
    e = rng.normal(4.0, 2.0, size=(400, 3))
    speakers = ["a"] * 400
    z = running_standardise(e, speakers, prior_mean=np.zeros(3), prior_var=np.ones(3), prior_weight=10.0, seed=0)
    order = np.random.default_rng(0).permutation(400)
    first = order[0]  # standardised by the prior alone
    np.testing.assert_allclose(z[first], e[first] / (1.0 + EPSILON), rtol=1e-5)
    last, earlier = order[-1], e[order[:-1]]  # the prior and the 399 clips before it
    mean = (10.0 * 0.0 + earlier.sum(axis=0)) / 409.0
    var = (10.0 * 1.0 + (earlier ** 2).sum(axis=0)) / 409.0 - mean ** 2
    np.testing.assert_allclose(z[last], (e[last] - mean) / (np.sqrt(var) + EPSILON), rtol=1e-5)
    # by then the statistics are close to the speaker's own
    np.testing.assert_allclose(z[order[-50:]], speaker_standardise(e, speakers)[order[-50:]], atol=0.2)
    with pytest.raises(ValueError, match="1 speakers for 400"):
        running_standardise(e, ["a"], np.zeros(3), np.ones(3))
