"""The pipeline: corpus -> features -> keyword, acoustic, fusion models -> int8 -> checks.

Each stage is a function of the run folder (:mod:`edgeser.stages` runs them and
resumes after the last finished one). What each stage writes, in ``runs/<name>/``:

==================  ==========================================================
corpus              ``corpus/`` (the generated demo corpus, when the recipe asks for it)
features            ``features.npz``: x [N, T, C] int8, y [N], split, keyword windows;
                    ``labels.json``; ``cache/`` (feature cache)
train_keyword       ``keyword.weights.npz``, ``curves_keyword.png``
train_acoustic      ``acoustic.weights.npz``, ``curves_acoustic.png``
train_fusion        ``fusion.weights.npz``, ``keyword_only.weights.npz``, ``curves_fusion.png``,
                    ``embeddings.npz``, ``train_metrics.json`` (float test-split scores)
quantize            ``keyword_int8.tflite``, ``acoustic_int8.tflite``, ``fusion_int8.tflite``
                    (what ships), ``audio_only_int8.tflite`` (the unimodal reference),
                    ``quantize_report.json`` (float vs int8)
check               ``check.json`` (predicted Edge TPU mapping, op by op)
compile             ``edgetpu/`` and ``compile.json`` when Coral's edgetpu_compiler is installed
memory              ``memory.json`` (flash + measured TFLite-Micro arenas vs the budget)
latency             ``latency.json`` (predicted board latency of a decision vs the budget)
evaluate            ``evaluate.json``, ``confusion_*.png`` (int8 models on TFLite-Micro)
bench               ``bench.json`` (host and emulated-MCU latency, predicted board latency)
export              ``firmware/`` (C arrays, frontend/model headers for the app)
==================  ==========================================================

The device runs three models: the keyword embedding model on K windows, the
acoustic embedding model on the clip, and the fusion head on the acoustic embedding
and the mean keyword embedding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeser.datasets import feature_matrix, keyword_windows, silence_windows
from edgeser.models.registry import DEVICE_MODELS, keyword_embeddings, model_configs, plan_of
from edgeser.models.registry import load as run_model
from edgeser.rundir import RunDir
from edgeser.stages import Stage

UNKNOWN, SILENCE = "_unknown_", "_silence_"


class PipelineError(RuntimeError):
    """A stage cannot run on what it was given; the message names the input and the problem."""


# -- helpers -------------------------------------------------------------------
def _corpus_root(run: RunDir, root: str) -> Path:
    return Path(root) if root else run.path / "corpus"


def _read(name: str, root: Path):
    from rich.console import Console

    from edgeser.corpora import read_corpus

    result = read_corpus(name, root)
    if result.problems:
        console = Console(stderr=True)
        console.print(f"[yellow]{name}: {len(result.problems)} file(s) skipped:[/yellow]")
        for path, reason in result.problems[:20]:
            console.print(f"  {path}: {reason}")
    if not result.utterances:
        raise PipelineError(f"{root}: the {name} corpus has no usable clips")
    return result


def _save_weights(run: RunDir, model, name: str, stage: str) -> None:
    """All weights in ``get_weights()`` order (the builders are deterministic) as an .npz."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    run.write_bytes(f"{name}.weights.npz", buffer.getvalue(), stage)


def _split(data: Any, part: str) -> np.ndarray:
    return data[f"split_{part}"]


def _train(run: RunDir, model, name: str, stage: str, train, val, num_classes: int, settings, twin_config=None) -> dict:
    """Train (``training.framework`` when the model has a PyTorch twin, ``twin_config``; else TensorFlow) and keep."""
    from edgeser.models.training import train_classifier

    framework = run.recipe.training.framework if twin_config is not None else "tensorflow"
    history = train_classifier(model, train, val, num_classes, settings, run.recipe.seed, description=name,
                               framework=framework, twin_config=twin_config)
    return _keep(run, model, history, name, stage)


def _keep(run: RunDir, model, history, name: str, stage: str) -> dict:
    """Save a trained model's weights and its curves PNG; the history as a dict."""
    from edgeser.models.training import plot_history

    _save_weights(run, model, name, stage)
    plot_history(history, f"{run.recipe.name}: {name}", run.path / f"curves_{name}.png")
    run.record(f"curves_{name}.png", stage)
    return history.to_dict()


def emotion_utterances(run: RunDir, data) -> list:
    """The emotion clips in features.npz order (the corpus re-read; needs its audio)."""
    d = run.recipe.data
    utts = _read(d.corpus, _corpus_root(run, d.root)).utterances
    index = data["corpus_index"]
    if len(index) and index.max() >= len(utts):
        raise PipelineError(f"{_corpus_root(run, d.root)}: the corpus changed since the features stage; rerun it")
    return [utts[i] for i in index]


def _targets(run: RunDir, data, num_classes: int) -> np.ndarray:
    from edgeser.train_options import training_targets

    distributions = data["distributions"] if "distributions" in data.files else None
    try:
        return training_targets(run.recipe, data["y"], num_classes, distributions, str(_corpus_root(run, run.recipe.data.root)))
    except ValueError as exc:
        raise PipelineError(str(exc)) from None


def _seed(run: RunDir) -> None:
    from edgeser.models.training import seed_everything

    seed_everything(run.recipe.seed)


# -- stages ----------------------------------------------------------------------
def stage_corpus(run: RunDir) -> dict:
    """Generate the demo corpus into the run when the recipe names no corpus folder."""
    d = run.recipe.data
    needs_demo = (d.corpus == "demo" and not d.root) or (d.keyword_corpus == "demo_keywords" and not d.keyword_root)
    if not needs_demo:
        return {"generated": False}
    from edgeser.corpora.demo import generate_demo

    result = generate_demo(run.path / "corpus", seed=run.recipe.seed)
    for name in ("utterances.csv", "keywords.csv", "demo.json"):
        run.record(Path("corpus") / name, "corpus")
    return {"generated": True, "utterances": result.utterances, "keywords": result.keywords, "bytes": result.bytes}


def stage_features(run: RunDir) -> dict:
    """Read the corpora, split by speaker, compute fixed-size int8 features."""
    from edgeser.corpora.labels import label_distributions
    from edgeser.corpora.splits import speaker_split

    recipe, d = run.recipe, run.recipe.data
    plan = plan_of(recipe)
    cache = run.path / "cache"
    emotion = _read(d.corpus, _corpus_root(run, d.root))
    utts = emotion.utterances
    x, used, problems = feature_matrix(utts, recipe.frontend, plan.clip_frames, cache, description="emotion features")
    utts = [utts[i] for i in used]
    emotions = sorted({u.label for u in utts})
    y = np.array([emotions.index(u.label) for u in utts], np.int64)
    distributions = label_distributions(utts, emotions)
    split = speaker_split(utts, d.val_fraction, d.test_fraction, seed=recipe.seed)

    kw = _read(d.keyword_corpus, _corpus_root(run, d.keyword_root))
    kw_utts = kw.utterances
    kw_x, kw_used, kw_problems = feature_matrix(
        kw_utts, recipe.frontend, plan.keyword_frames, cache, description="keyword features"
    )
    kw_utts = [kw_utts[i] for i in kw_used]
    words = sorted({u.label for u in kw_utts} - {UNKNOWN, SILENCE})
    keyword_labels = words + [UNKNOWN, SILENCE]
    kw_y = np.array([keyword_labels.index(u.label) if u.label in keyword_labels else 0 for u in kw_utts], np.int64)
    kw_split = speaker_split(kw_utts, d.val_fraction, d.test_fraction, seed=recipe.seed)
    # Silence examples where the keyword corpus has none, spread over the three parts.
    silence = SILENCE in {u.label for u in kw_utts}
    kw_parts = {p: np.array(getattr(kw_split, p), np.int64) for p in ("train", "val", "test")}
    if not silence:
        count = max(8, len(kw_y) // max(1, len(words)))
        extra = silence_windows(recipe.frontend, recipe.data.keyword_window_seconds, count, plan.keyword_frames, recipe.seed)
        start = len(kw_x)
        kw_x = np.concatenate([kw_x, extra])
        kw_y = np.concatenate([kw_y, np.full(len(extra), keyword_labels.index(SILENCE))])
        order = np.arange(start, start + len(extra))
        thirds = np.array_split(order, [int(len(order) * 0.7), int(len(order) * 0.85)])
        for part, idx in zip(("train", "val", "test"), thirds):
            kw_parts[part] = np.concatenate([kw_parts[part], idx])

    arrays = {
        "x": x,
        "y": y,
        "split_train": np.array(split.train, np.int64),
        "split_val": np.array(split.val, np.int64),
        "split_test": np.array(split.test, np.int64),
        "speakers": np.array([u.speaker for u in utts]),
        "genders": np.array([u.gender or "" for u in utts]),
        "corpus_index": np.array(used, np.int64),  # position of each clip in read_corpus' order
        **({"distributions": distributions} if distributions is not None else {}),
        "kw_windows": keyword_windows(x, plan),
        "kw_x": kw_x,
        "kw_y": kw_y,
        **{f"kw_split_{p}": v for p, v in kw_parts.items()},
    }
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    run.write_bytes("features.npz", buffer.getvalue(), "features")
    run.write_json("labels.json", {"emotions": emotions, "keywords": keyword_labels}, "features")
    skipped = problems + kw_problems + list(emotion.problems) + list(kw.problems)
    if skipped:
        run.write_json("skipped_files.json", [{"path": p, "reason": r} for p, r in skipped], "features")
    return {
        "clips": len(y),
        "speakers": len(set(arrays["speakers"])),
        "train/val/test": [len(split.train), len(split.val), len(split.test)],
        "keyword_clips": int(len(kw_y)),
        "skipped": len(skipped),
        "frames": plan.clip_frames,
        "keyword_windows": plan.num_keyword_windows,
    }


def _features(run: RunDir):
    return np.load(run.path / "features.npz")


def stage_train_keyword(run: RunDir) -> dict:
    data, labels = _features(run), run.labels()
    _seed(run)
    model = run_model(run, "keyword", trained=False)
    part = lambda p: (data["kw_x"][data[f"kw_split_{p}"]].astype(np.float32), data["kw_y"][data[f"kw_split_{p}"]])  # noqa: E731
    history = _train(run, model, "keyword", "train_keyword", part("train"), part("val"), len(labels["keywords"]),
                     run.recipe.training.keyword, twin_config=model_configs(run.recipe, labels)[1])
    return {"best_val_ua": history["best_val_ua"], "epochs": len(history["loss"])}


def stage_train_acoustic(run: RunDir) -> dict:
    """Train the acoustic model, with the recipe's literature options (edgeser/train_options.py)."""
    from edgeser.models.teacher import EGEMAPS, TeacherError
    from edgeser.train_options import fit_parts, needs_audio, train_acoustic

    data, labels = _features(run), run.labels()
    recipe, classes = run.recipe, len(labels["emotions"])
    cfg = model_configs(recipe, labels)[0]
    tr, va = fit_parts(recipe, _split(data, "train"), _split(data, "val"))
    targets = _targets(run, data, classes)
    egemaps = recipe.training.teacher == EGEMAPS
    utts = [emotion_utterances(run, data)[i] for i in tr] if needs_audio(recipe) or egemaps else None
    try:
        teacher = None
        if egemaps:
            from edgeser.evaluation.egemaps import teacher_logits

            teacher = teacher_logits(utts, data["y"][tr], classes, recipe.seed, run.path / "cache" / "egemaps")
        speakers = (data["speakers"][tr], data["speakers"][va]) if recipe.training.acoustic_speaker_group else None
        model, history, info = train_acoustic(recipe, cfg, (data["x"][tr], targets[tr]), (data["x"][va], data["y"][va]),
                                              utts, recipe.seed, teacher=teacher, speakers=speakers)
    except TeacherError as exc:
        raise PipelineError(str(exc)) from None
    if teacher is not None:
        info["teacher_clips"] = len(teacher)
    history = _keep(run, model, history, "acoustic", "train_acoustic")
    return {"best_val_ua": history["best_val_ua"], "epochs": len(history["loss"]), **info}


def _float_embeddings(run: RunDir, data) -> tuple[np.ndarray, np.ndarray]:
    """Float acoustic embeddings [N, Ea] and mean keyword embeddings [N, Ek] of every clip."""
    from edgeser.models.acoustic import embedding_model
    from edgeser.models.training import logits_of

    acoustic = logits_of(embedding_model(run_model(run, "acoustic")), data["x"].astype(np.float32))
    return acoustic, keyword_embeddings(run, data["kw_windows"])


def speaker_prior(run: RunDir):
    """``models.registry.speaker_prior``, its error as a stage error."""
    from edgeser.models.registry import speaker_prior as prior_of

    try:
        return prior_of(run)
    except ValueError as exc:
        raise PipelineError(str(exc)) from None


def stage_train_fusion(run: RunDir) -> dict:
    """Train the fusion head (and the keyword-only reference head) on frozen embeddings;
    the VAD head and the fusion ensemble when the recipe asks for them."""
    from edgeser.metrics import score
    from edgeser.models.ensemble import softmax
    from edgeser.evaluation.fairness import test_metrics
    from edgeser.train_options import fit_parts, fusion_extras, fusion_inputs, train_fusion

    data, labels = _features(run), run.labels()
    acoustic, keyword = _float_embeddings(run, data)
    run.save_npy("embeddings_acoustic.npy", acoustic, "train_fusion")
    run.save_npy("embeddings_keyword.npy", keyword, "train_fusion")
    y, classes = data["y"], len(labels["emotions"])
    targets = _targets(run, data, classes)
    tr, va = fit_parts(run.recipe, _split(data, "train"), _split(data, "val"))
    te = _split(data, "test")
    speakers = data["speakers"]
    fusion, history, prior = train_fusion(run.recipe, model_configs(run.recipe, labels)[2],
                                          (acoustic[tr], keyword[tr], targets[tr]), (acoustic[va], keyword[va], y[va]),
                                          run.recipe.seed, speakers=(speakers[tr], speakers[va]))
    if prior is not None:
        from edgeser.models.registry import SPEAKER_PRIOR_FILE

        run.write_bytes(SPEAKER_PRIOR_FILE, prior.to_json().encode(), "train_fusion")
    history = _keep(run, fusion, history, "fusion", "train_fusion")
    _seed(run)
    kw_only = run_model(run, "keyword_only", trained=False)
    _train(run, kw_only, "keyword_only", "train_fusion", (keyword[tr], y[tr]), (keyword[va], y[va]), classes, run.recipe.training.fusion)

    audio = run_model(run, "acoustic")
    predictions = {
        "acoustic": audio.predict(data["x"][te].astype(np.float32), verbose=0),
        "keyword": kw_only.predict(keyword[te], verbose=0),
        "fusion": fusion.predict(fusion_inputs(acoustic[te], keyword[te], prior, speakers[te], run.recipe.seed), verbose=0),
    }
    scores = {name: score(y[te], p.argmax(-1), classes).to_dict() for name, p in predictions.items()}
    recipe = run.recipe
    wants_utts = recipe.training.vad.enabled
    utts = emotion_utterances(run, data) if wants_utts else None
    extras, models = fusion_extras(recipe, model_configs(recipe, labels)[2], acoustic, keyword, targets,
                                   {"train": tr, "val": va, "test": te}, fusion, utts, recipe.seed,
                                   prior=prior, speakers=speakers)
    for name, model in models.items():
        _save_weights(run, model, name, "train_fusion")
    distributions = data["distributions"][te] if "distributions" in data.files else None
    genders = [str(g) for g in data["genders"][te]] if "genders" in data.files else None
    probs = softmax(predictions["fusion"])
    extras["fusion"] = test_metrics(y[te], probs, classes, genders, distributions)
    extras["acoustic"] = test_metrics(y[te], softmax(predictions["acoustic"]), classes, genders, distributions)
    run.write_json("train_metrics.json", {"split": "test", "backend": "keras float", "scores": scores,
                                          "labels": labels["emotions"], "options": extras}, "train_fusion")
    summary = {name: round(s["macro_f1"], 4) for name, s in scores.items()} | {"fusion_best_val_ua": history["best_val_ua"]}
    if "fusion_ensemble" in extras:
        summary["fusion_ensemble"] = round(extras["fusion_ensemble"]["macro_f1"], 4)
    if "vad_ccc" in extras:
        summary["vad_mean_ccc"] = round(extras["vad_ccc"]["mean"], 4)
    return summary


def stage_quantize(run: RunDir) -> dict:
    """Full-int8 PTQ of the device models, calibrated on training features; float vs int8 report."""
    from edgeser.models.acoustic import embedding_model
    from edgeser.models.kws import build_kws_embedding_model
    from edgeser.evaluation.int8 import compare_float_int8
    from edgeser.quantize.convert import edgeser_metadata, quantize_keras_model, representative_examples
    from edgeser.train_options import fit_parts, fusion_inputs

    data, labels = _features(run), run.labels()
    seed, frontend_json = run.recipe.seed, run.recipe.frontend.to_json()
    tr, te = fit_parts(run.recipe, _split(data, "train"), _split(data, "val"))[0], _split(data, "test")
    acoustic_emb = np.load(run.path / "embeddings_acoustic.npy")
    keyword_emb = np.load(run.path / "embeddings_keyword.npy")
    windows = data["kw_windows"][tr]
    windows = windows.reshape(-1, *windows.shape[2:])
    qat = run.recipe.quantize.qat
    if qat:
        from edgeser.quantize.qat import qat_device_models, tfmot_available

        if not tfmot_available():
            raise PipelineError("recipe quantize.qat needs tensorflow-model-optimization (make setup installs it)")
        kw_model, ac_model, fusion_model, audio_model, acoustic_emb, keyword_emb = qat_device_models(run, data)
    else:
        audio_model = run_model(run, "acoustic")
        kw_model, ac_model = build_kws_embedding_model(run_model(run, "keyword")), embedding_model(audio_model)
        fusion_model = run_model(run, "fusion")
    prior, speakers = speaker_prior(run), data["speakers"]
    fusion_train = [acoustic_emb[tr], keyword_emb[tr]]
    if prior is not None:  # the head's inputs are standardised per speaker: calibrate on those
        from edgeser.models.speaker_norm import standardise_pair

        fusion_train = standardise_pair(*fusion_train, speakers[tr])
    models = {
        "keyword": (kw_model, [windows], labels["keywords"]),
        "acoustic": (ac_model, [data["x"][tr]], labels["emotions"]),
        "fusion": (fusion_model, fusion_train, labels["emotions"]),
        "audio_only": (audio_model, [data["x"][tr]], labels["emotions"]),
    }
    if run.recipe.training.vad.enabled:  # the EmoSphere head on the acoustic embedding (float weights; no QAT)
        models["vad"] = (run_model(run, "vad"), [acoustic_emb[tr]], ["valence", "arousal", "dominance"])
    sizes = {}
    for name, (model, arrays, names) in models.items():
        # Feature-input models get input quantisation scale 1, zero point 0: the board
        # feeds the frontend's int8 codes unchanged.
        pin = None if name in ("fusion", "vad") else (-128.0, 127.0)
        metadata = edgeser_metadata(frontend_json, names, model=name, recipe=run.recipe.name)
        if name == "fusion" and prior is not None:  # the board's running statistics start from it
            from edgeser.models.speaker_norm import METADATA_KEY

            metadata[METADATA_KEY] = prior.to_json()
        tflite = quantize_keras_model(model, representative_examples(arrays, seed), metadata, pin_input_range=pin)
        run.write_bytes(f"{name}_int8.tflite", tflite, "quantize")
        sizes[name] = len(tflite)

    # Float vs int8 on the test split, classifier by classifier, with the int8 models on
    # TFLite-Micro (the board's kernels; LiteRT's optimised kernels round differently).
    y = data["y"][te]
    inputs = {"audio_only": data["x"][te],
              "fusion": fusion_inputs(acoustic_emb[te], keyword_emb[te], prior, speakers[te], seed)}
    report = {
        name: compare_float_int8(
            models[name][0], (run.path / f"{name}_int8.tflite").read_bytes(), x, y, len(labels["emotions"]), "tflm"
        ).to_dict()
        for name, x in inputs.items()
    }
    run.write_json("quantize_report.json", {"split": "test", "backend": "tflm", "qat": qat, "models": report, "bytes": sizes}, "quantize")
    delta = {n: round(r["int8_macro_f1"] - r["float_macro_f1"], 4) for n, r in report.items()}
    return {"qat": qat, "bytes": sizes, "macro_f1_int8_minus_float": delta}


def stage_check(run: RunDir) -> dict:
    from edgeser.quantize.edgetpu_check import check_model

    reports = {}
    extra = ("vad",) if run.recipe.training.vad.enabled else ()
    for name in DEVICE_MODELS + extra:
        report = check_model(run.path / f"{name}_int8.tflite", frontend=run.recipe.frontend)
        reports[name] = report.to_dict()
    run.write_json("check.json", reports, "check")
    return {name: f"{r['mapped_count']}/{r['mapped_count'] + r['cpu_count']} mapped" for name, r in reports.items()}


def stage_compile(run: RunDir) -> dict:
    """Coral's edgetpu_compiler on the keyword and acoustic models, when it is installed
    (``quantize.compiler.compile_run``); otherwise how to get it, and the stage passes."""
    from edgeser.quantize.compiler import compile_run, find_compiler, missing_compiler_message

    if find_compiler() is None:
        from rich.console import Console

        Console(stderr=True).print(f"[yellow]{missing_compiler_message()}[/yellow]")
        return {"compiled": False}
    result = compile_run(run)
    return {"compiled": True, "success": bool(result.log.success)}


def stage_memory(run: RunDir) -> dict:
    from edgeser.quantize.memory import recipe_memory_report

    report = recipe_memory_report(run.recipe, {name: run.path / f"{name}_int8.tflite" for name in DEVICE_MODELS})
    data = report.to_dict()
    run.write_json("memory.json", data, "memory")
    return {"total_bytes": data.get("total_bytes"), "over_budget": data.get("over_budget"), "over_goal": data.get("over_goal")}


def stage_latency(run: RunDir) -> dict:
    """Predicted Dev Board Micro latency of the device models against ``budget.latency_ms``.

    The figure checked is one streaming decision (a frontend frame, a keyword window, the
    acoustic model and the fusion head: what the board computes between hearing the end of a
    clip and deciding), the one ``edgeser tune`` checks too; a whole clip computed from
    scratch is reported beside it. Analytic (``benchmarks.predict``), not a measurement.
    """
    from edgeser.benchmarks.predict import predict_pipeline

    plan, budget = plan_of(run.recipe), run.recipe.budget.latency_ms
    paths = [run.path / f"{name}_int8.tflite" for name in DEVICE_MODELS]
    predicted = predict_pipeline(*paths, plan.num_keyword_windows, plan.clip_frames)
    decision = float(predicted["streaming_decision_ms"])
    doc = {"predicted": predicted, "checked": "streaming_decision_ms", "latency_ms": round(decision, 3),
           "budget_ms": budget, "over_budget": decision > budget}
    run.write_json("latency.json", doc, "latency", sources=tuple(p.name for p in paths))
    return {"streaming_decision_ms": round(decision, 3), "clip_ms": round(float(predicted["clip_ms"]), 3),
            "over_budget": decision > budget}


def stage_evaluate(run: RunDir) -> dict:
    """The int8 models through the TFLite-Micro interpreter on the test split."""
    from edgeser.evaluation.plots import plot_confusion
    from edgeser.evaluation.predictor import Predictor
    from edgeser.metrics import score

    data, labels = _features(run), run.labels()
    te = _split(data, "test")
    logits = Predictor.from_run(run, "tflm")(data["x"][te], data["kw_windows"][te], speakers=data["speakers"][te])
    scores = {}
    for name, values in logits.items():
        s = score(data["y"][te], values.argmax(-1), len(labels["emotions"]))
        scores[name] = s.to_dict()
        plot_confusion(np.array(s.confusion), labels["emotions"], f"{name} (int8, TFLite-Micro)", run.path / f"confusion_{name}.png")
        run.record(f"confusion_{name}.png", "evaluate")
    run.write_json("evaluate.json", {"split": "test", "backend": "tflm int8", "scores": scores, "labels": labels["emotions"]}, "evaluate")
    return {name: round(s["macro_f1"], 4) for name, s in scores.items()}


def stage_bench(run: RunDir) -> dict:
    """Latency of the device models and the fused pipeline on LiteRT, TFLite-Micro (and an Edge TPU)."""
    from edgeser.benchmarks.run_bench import write_bench

    doc = write_bench(run, runs=20, warmup=3)
    summary = {}
    for backend, sub in doc["backends"].items():
        summary[f"{backend}_pipeline_median_ms"] = round(sub["pipeline"]["stages"]["total"]["median_ms"], 3)
    predicted = doc["backends"]["tflm"]["pipeline"].get("predicted", {})
    if "clip_ms" in predicted:
        summary["predicted_board_clip_ms"] = round(predicted["clip_ms"], 3)
    return summary


def stage_export(run: RunDir) -> dict:
    """Every generated file the firmware build needs (headers, model arrays), into ``firmware/``."""
    from edgeser.quantize.firmware_export import export_firmware

    paths = export_firmware(run)
    return {"folder": str(run.path / "firmware"), "files": len(paths)}


TRAIN_STAGES = [
    Stage("corpus", stage_corpus, "generate the demo corpus (eSpeak NG)"),
    Stage("features", stage_features, "MicroFrontend features, speaker-independent split"),
    Stage("train_keyword", stage_train_keyword, "train the DSResNet-SE keyword model"),
    Stage("train_acoustic", stage_train_acoustic, "train the Edge-TPU transformer"),
    Stage("train_fusion", stage_train_fusion, "train the late-fusion head on frozen embeddings"),
]
QUANTIZE_STAGES = [
    Stage("quantize", stage_quantize, "full-int8 quantisation (PTQ, or QAT when recipe quantize.qat)"),
    Stage("check", stage_check, "Edge TPU compatibility check"),
    Stage("compile", stage_compile, "edgetpu_compiler (when installed)"),
    Stage("memory", stage_memory, "flash and TFLite-Micro arena against the budget"),
    Stage("latency", stage_latency, "predicted board latency against the budget"),
    Stage("export", stage_export, "firmware C arrays and headers"),
]
DEMO_STAGES = TRAIN_STAGES + QUANTIZE_STAGES + [
    Stage("evaluate", stage_evaluate, "int8 models on the emulated microcontroller"),
    Stage("bench", stage_bench, "latency: host LiteRT and emulated TFLite-Micro"),
]
