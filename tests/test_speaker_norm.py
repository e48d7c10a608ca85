"""Per-speaker standardisation of the fusion input: the float reference, the board's integer
version (BoardSpeakerNorm, the firmware's SpeakerNorm) and the recipe option fusion.input_norm: speaker."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeser.models.speaker_norm import EPSILON, speaker_standardise


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
    from edgeser.models.speaker_norm import running_standardise

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


def test_board_algorithm_is_the_float_running_standardisation_in_integers():
    """BoardSpeakerNorm on integer codes, dequantised, is running_standardise on their real values
    to within one output step (plus the clamp), clip by clip."""
    from edgeser.models.speaker_norm import BoardSpeakerNorm, SpeakerPrior, running_standardise

    rng = np.random.default_rng(2)
    ea, ek, k = 5, 3, 4
    s_ac, s_kw, s_out = 0.05, 0.02, 0.03
    unit = np.concatenate([np.full(ea, s_ac), np.full(ek, s_kw / k)])
    codes = np.concatenate([rng.integers(-60, 90, (30, ea)), rng.integers(-200, 300, (30, ek))], axis=1)
    real = codes * unit
    prior = SpeakerPrior(real.mean(axis=0) + 0.3, real.var(axis=0) * 2.0, 4.0)
    board = BoardSpeakerNorm(prior, unit, np.full(ea + ek, s_out), np.full(ea + ek, 3))
    q = np.stack([board.apply(c) for c in codes])  # one speaker, in row order
    assert board.n == 30
    z = np.empty_like(real)
    w, total, squares = prior.weight, prior.weight * prior.mean, prior.weight * (prior.var + prior.mean ** 2)
    for i, e in enumerate(real):
        mean = total / (w + i)
        var = squares / (w + i) - mean ** 2
        z[i] = (e - mean) / (np.sqrt(var) + 1e-3)
        total, squares = total + e, squares + e ** 2
    want = np.clip(np.round(z / s_out) + 3, -128, 127)
    assert np.max(np.abs(q.astype(np.int64) - want)) <= 1
    assert np.mean(q == want) > 0.95
    # the float path visits a speaker's clips in speaker_order: same statistics, same values
    ref = running_standardise(real, ["a"] * 30, prior.mean, prior.var, prior.weight, seed=0)
    order = np.random.default_rng(0).permutation(30)
    board.reset()
    q2 = np.zeros_like(q)
    for i in order:
        q2[i] = board.apply(codes[i])
    want2 = np.clip(np.round(ref / s_out) + 3, -128, 127)
    assert np.max(np.abs(q2.astype(np.int64) - want2)) <= 1 and np.mean(q2 == want2) > 0.95


def test_prior_round_trips_and_refuses_bad_json():
    from edgeser.models.speaker_norm import SpeakerPrior

    prior = SpeakerPrior.fit(np.random.default_rng(0).normal(size=(12, 3)), 10.0)
    back = SpeakerPrior.from_json(prior.to_json())
    assert np.array_equal(back.mean, prior.mean) and np.array_equal(back.var, prior.var) and back.weight == 10.0
    with pytest.raises(ValueError, match="meta: not a speaker prior"):
        SpeakerPrior.from_json("{}", "meta")
    with pytest.raises(ValueError, match="equal-length"):
        SpeakerPrior.from_json('{"mean": [1, 2], "var": [1], "weight": 1}')
    z = prior.standardise(np.ones((2, 3)), None)  # no speakers: the prior alone
    np.testing.assert_allclose(z, np.tile((1.0 - prior.mean) / (np.sqrt(prior.var) + EPSILON), (2, 1)), rtol=1e-6)


def test_recipe_refuses_speaker_norm_with_qat():
    from edgeser.recipe import recipe_from_dict
    from edgeser.settings import SettingsError

    ok = recipe_from_dict({"name": "r", "fusion": {"input_norm": "speaker", "speaker_prior_weight": 5}})
    assert ok.fusion.speaker_prior_weight == 5.0
    with pytest.raises(SettingsError, match="qat"):
        recipe_from_dict({"name": "r", "fusion": {"input_norm": "speaker"}, "quantize": {"qat": True}})


def test_pipeline_ships_a_speaker_normalised_head(tmp_path):
    """`edgeser demo` on the tiny recipe with fusion.input_norm: speaker: the prior is saved, rides
    in the int8 fusion model's metadata into model_io.h, and the int8 chain's scores use each
    test speaker's running statistics (which change the fusion inputs)."""
    from conftest import tiny_variant_run

    from edgeser.evaluation.int8 import BoardChain
    from edgeser.evaluation.predictor import Predictor
    from edgeser.models.speaker_norm import METADATA_KEY, SpeakerPrior
    from edgeser.metrics import score
    from edgeser.quantize.convert import read_metadata
    from edgeser.rundir import RunDir

    out = tiny_variant_run(tmp_path, "tiny_speaker", {"fusion": {"input_norm": "speaker"}, "training": {"ensemble_heads": 2}})
    run = RunDir.open(out)
    prior = SpeakerPrior.from_json((out / "speaker_prior.json").read_text())
    assert prior.mean.shape == (32,) and prior.weight == 10.0  # acoustic 16 + keyword 16
    meta = SpeakerPrior.from_json(read_metadata((out / "fusion_int8.tflite").read_bytes())[METADATA_KEY])
    assert np.array_equal(meta.mean, prior.mean) and np.array_equal(meta.var, prior.var)
    options = json.loads((out / "train_metrics.json").read_text())["options"]  # the ensemble on standardised inputs
    assert 0.0 <= options["fusion_ensemble"]["macro_f1"] <= 1.0
    memory = json.loads((out / "memory.json").read_text())  # 72 B per fusion input: statistics + prior
    assert memory["speaker_norm_bytes"] == 72 * 32
    assert memory["total_bytes"] == memory["flash_total"] + memory["arena_total"] + memory["frontend_bytes"] + 72 * 32
    io = (out / "firmware" / "model_io.h").read_text()
    assert "#define EDGESER_SPEAKER_NORM 1\n" in io and f"{prior.mean[0]!r}" in io

    data = np.load(out / "features.npz")
    te = data["split_test"]
    x, w, speakers = data["x"][te], data["kw_windows"][te], data["speakers"][te]
    assert len(speakers) >= 4  # one test speaker in the tiny demo: its clips run as one session
    logits = Predictor.from_run(run, "tflm")(x, w, speakers=speakers)["fusion"]
    evaluated = json.loads((out / "evaluate.json").read_text())["scores"]["fusion"]
    assert evaluated["macro_f1"] == score(data["y"][te], logits.argmax(-1), len(run.labels()["emotions"])).macro_f1
    chain = BoardChain.from_files(*(out / f"{n}_int8.tflite" for n in ("keyword", "acoustic", "fusion")))
    cold = chain.logits(x, w)  # every clip a new speaker: the prior alone
    assert not np.array_equal(cold, logits)
    # `edgeser evaluate` on the whole demo corpus runs each speaker as one session and says so
    from edgeser.evaluation.evaluate import evaluate_run

    result = evaluate_run(out, "demo", out / "corpus", "tflm")
    assert result["fusion_input"].startswith("speaker-normalised") and len(result["speakers"]) >= 4
    # a broken or missing prior is named, not a traceback (the float head needs it)
    from edgeser.evaluation.evaluate import EvaluateError, open_run

    (out / "speaker_prior.json").write_text('{"mean": [1, 2')
    with pytest.raises(EvaluateError, match="speaker_prior.json: not a speaker prior"):
        open_run(out, "keras")
    (out / "speaker_prior.json").unlink()
    with pytest.raises(EvaluateError, match="speaker_prior.json: missing"):
        open_run(out, "keras")
