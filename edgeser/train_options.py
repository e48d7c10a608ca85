"""The recipe's training options from the SER literature, applied to one emotion training run.

The pipeline's train stages and the RAVDESS benchmarks call these same functions, so a
recipe trains the same way in both. Every option is off by default (``recipe.training``):

=========================  ====================================================================
``label_distributions``    targets are the corpus' per-rater label distributions (EM2LDL)
``eam``                    extra training clips by energy-adaptive mixup (Wang et al.)
``debias``                 extra voice-transformed copies of the clips a short GCE probe finds
                           easy, i.e. bias-aligned (CO-VADA, Tsai et al.)
``teacher``                soft targets of a larger model (knowledge distillation)
``*.loss``                 KL / focal / cosine / center / supervised-contrastive terms
``vad``                    a valence/arousal/dominance head on the acoustic embedding (EmoSphere-SER)
``ensemble_heads``         several fusion heads combined by predictive entropy (MATER)
``random_crops``           extra clip-length windows at random positions of each utterance
=========================  ====================================================================

Shapes: N clips, T frames, C channels, K classes, E embedding size.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from edgeser.recipe import Recipe


def one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer labels [N] -> float32 one-hot targets [N, K]."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(y, np.int64)]


def fit_parts(recipe: Recipe, train: Sequence[int], val: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The clip indices the acoustic model and the fusion head fit on and stop on: (train, val)
    as given, or with ``training.train_on_validation`` (train ∪ val in order, an empty val)."""
    tr, va = np.asarray(train, np.int64), np.asarray(val, np.int64)
    if recipe.training.train_on_validation:
        return np.concatenate([tr, va]), va[:0]
    return tr, va


def training_targets(recipe: Recipe, y: np.ndarray, num_classes: int, distributions: np.ndarray | None,
                     source: str = "corpus") -> np.ndarray:
    """Targets [N, K]: the rater distributions when the recipe asks for them, else one-hot.

    Raises ValueError naming ``source`` when the recipe asks for distributions the corpus lacks.
    """
    if not recipe.training.label_distributions:
        return one_hot(y, num_classes)
    if distributions is None:
        raise ValueError(f"{source}: training.label_distributions is set, but the {recipe.data.corpus} corpus gives "
                         "no per-rater label distributions (CREMA-D, IEMOCAP and MSP-IMPROV do)")
    return np.asarray(distributions, np.float32)


def random_crops(audios: Sequence[np.ndarray], recipe: Recipe, frames: int, count: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``count`` windows of ``frames`` at random positions of each clip's whole features:
    int8 [len(audios) * count, frames, C], clip by clip (a clip shorter than the window is
    placed at a random offset in silence). With ``training.random_crop_min_seconds`` each
    window keeps only a stretch of a length drawn in [that, the window] (frames), placed at a
    random offset in silence, as a shorter clip would be padded."""
    from edgeser.datasets import silence_code
    from edgeser.frontend.features import compute_features

    pad = silence_code(recipe.frontend)
    shortest = int(round(recipe.training.random_crop_min_seconds * 1000 / recipe.frontend.stride_ms))
    rows = []
    for audio in audios:
        f = compute_features(np.asarray(audio, np.int16), recipe.frontend)
        for _ in range(count):
            if shortest:  # a shorter stretch of the utterance, at a random position of it
                length = min(len(f), int(rng.integers(min(shortest, frames), frames + 1)))
                start = int(rng.integers(0, len(f) - length + 1))
                row = np.full((frames, f.shape[1]), pad, np.int8)
                offset = int(rng.integers(0, frames - length + 1))
                row[offset : offset + length] = f[start : start + length]
                rows.append(row)
            elif len(f) >= frames:
                start = int(rng.integers(0, len(f) - frames + 1))
                rows.append(f[start : start + frames])
            else:
                row = np.full((frames, f.shape[1]), pad, np.int8)
                start = int(rng.integers(0, frames - len(f) + 1))
                row[start : start + len(f)] = f
                rows.append(row)
    return np.stack(rows) if rows else np.zeros((0, frames, recipe.frontend.num_channels), np.int8)


def needs_audio(recipe: Recipe) -> bool:
    """Whether the training options re-read the training clips' audio (EAM, CO-VADA, random crops)."""
    t = recipe.training
    return t.eam.enabled or t.debias.enabled or t.random_crops > 0


def extra_examples(recipe: Recipe, acoustic_cfg, x: np.ndarray, targets: np.ndarray, utterances: Sequence,
                   seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Random crops, EAM and CO-VADA clips made from the training clips, as (x [M, T, C] int8,
    targets [M, K], info).

    ``x`` [N, T, C] int8 and ``targets`` [N, K] are the training split; ``utterances`` its N
    clips (their audio is re-read). M = 0 when the options are off.
    """
    from edgeser.datasets import clip_features, utterance_audio

    t = recipe.training
    frames, k = x.shape[1], targets.shape[1]
    info: dict[str, Any] = {}
    xs, ts = [np.zeros((0, *x.shape[1:]), np.int8)], [np.zeros((0, k), np.float32)]
    if not needs_audio(recipe):
        return xs[0], ts[0], info
    if len(utterances) != len(x):
        raise ValueError(f"{len(utterances)} utterances for {len(x)} training clips: training.random_crops, eam and "
                         "debias re-read the training clips' audio, so every training clip needs its utterance")
    sr = recipe.frontend.sample_rate
    audios = [utterance_audio(u, sr) for u in utterances]
    rng = np.random.default_rng(seed)
    if t.random_crops:
        # its own generator, so switching crops on leaves the EAM and CO-VADA draws unchanged
        xs.append(random_crops(audios, recipe, frames, t.random_crops, np.random.default_rng([seed, 1])))
        ts.append(np.repeat(np.asarray(targets, np.float32), t.random_crops, axis=0))
        info["random_crops"] = len(xs[-1])
    if t.eam.enabled:
        from edgeser.corpora.mixup import mix_batch

        clips, mixed = mix_batch(audios, targets, rng, t.eam, sr)
        xs.append(clip_features(clips, recipe.frontend, frames))
        ts.append(mixed.astype(np.float32))
        info["eam_clips"] = len(clips)
    if t.debias.enabled:
        from edgeser.models.acoustic import build_acoustic_model
        from edgeser.models.debias import bias_aligned, train_bias_probe, voice_augment

        labels = targets.argmax(axis=1)
        probe = train_bias_probe(lambda: build_acoustic_model(acoustic_cfg), x.astype(np.float32), labels, k,
                                 t.debias, seed)
        mask = bias_aligned(probe.confidence, t.debias.easy_fraction, labels=labels if t.debias.per_class else None)
        clips, new_targets, _ = voice_augment(audios, targets, mask, rng, t.debias, sr)
        xs.append(clip_features(clips, recipe.frontend, frames))
        ts.append(np.asarray(new_targets, np.float32))
        info["debias_bias_aligned"] = int(mask.sum())
        info["debias_clips"] = len(clips)
    return np.concatenate(xs), np.concatenate(ts), info


def per_example_teacher(recipe: Recipe, clip_logits: np.ndarray, clips: int, examples: int) -> np.ndarray:
    """Teacher logits [N, K] of the N training clips -> [M, K] of every training example (the
    clips, then ``training.random_crops`` crops of each clip in clip order, as
    :func:`extra_examples` makes them). EAM and CO-VADA make new clips no teacher scored."""
    from edgeser.models.teacher import TeacherError

    clip_logits = np.asarray(clip_logits, np.float32)
    if clip_logits.ndim != 2 or len(clip_logits) != clips:
        raise TeacherError(f"teacher logits have shape {clip_logits.shape}, not [{clips}, K] (one row per training clip)")
    t = recipe.training
    if t.eam.enabled or t.debias.enabled:
        raise TeacherError("teacher logits per clip cannot score the EAM or CO-VADA clips; "
                           "switch training.eam / training.debias off or use a model file as the teacher")
    out = np.concatenate([clip_logits, np.repeat(clip_logits, t.random_crops, axis=0)])
    if len(out) != examples:
        raise TeacherError(f"{len(out)} teacher rows for {examples} training examples")
    return out


def train_acoustic(recipe: Recipe, acoustic_cfg, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
                   utterances: Sequence | None, seed: int, description: str = "acoustic", progress: bool = True,
                   teacher: str | Path | np.ndarray | None = None,
                   speakers: tuple[Sequence[str], Sequence[str]] | None = None):
    """Build and train the acoustic model with every option of ``recipe.training``.

    ``train`` = (int8 features [N, T, C], targets [N, K]); ``val`` = (int8 features, labels [Nv]);
    ``utterances``: the N training clips (needed by EAM and CO-VADA only). ``teacher``: a
    model source for :func:`edgeser.models.teacher.teacher_logits`, a function of the
    final training features returning logits, or logits [N, K] of the N training clips
    (``training.teacher: egemaps``; a random crop takes its clip's); default
    ``recipe.training.teacher``. ``speakers`` (the N training and Nv validation clips'
    speakers) are needed by ``training.acoustic_speaker_group``. Returns (model, history, info).

    ``acoustic.members`` = M > 1: M models of the member config, member i trained as a single
    model with seed ``seed + i`` (its own initial weights, crops, mixup, masks and shuffles;
    member 0 is the single model of the same recipe), joined by ``models.acoustic.ensemble_of``.
    The history is member 0's; ``info["members"]`` holds every member's restored epoch and
    best validation UA.
    """
    from edgeser.models.acoustic import build_acoustic_model, ensemble_of
    from edgeser.models.training import seed_everything, train_classifier

    if acoustic_cfg.members > 1:
        trained = [train_acoustic(recipe, acoustic_cfg.member, train, val, utterances, seed + i,
                                  f"{description} {i + 1}/{acoustic_cfg.members}", progress, teacher, speakers)
                   for i in range(acoustic_cfg.members)]
        info = dict(trained[0][2], members=[{"seed": seed + i, "best_epoch": h.best_epoch + 1,
                                             "best_val_ua": h.to_dict()["best_val_ua"]}
                                            for i, (_, h, _) in enumerate(trained)])
        return ensemble_of([m for m, _, _ in trained]), trained[0][1], info
    x, targets = train
    extra_x, extra_t, info = extra_examples(recipe, acoustic_cfg, x, targets, utterances or [], seed)
    x_all = np.concatenate([x, extra_x]).astype(np.float32)
    t_all = np.concatenate([targets, extra_t]).astype(np.float32)
    teacher = recipe.training.teacher if teacher is None else teacher
    logits = None
    if recipe.training.acoustic.loss.distill > 0:
        from edgeser.models.teacher import teacher_logits

        if isinstance(teacher, np.ndarray):
            logits = per_example_teacher(recipe, teacher, len(x), len(x_all))
        else:
            logits = teacher(x_all) if callable(teacher) else teacher_logits(teacher, x_all, targets.shape[1])
    groups = None
    if recipe.training.acoustic_speaker_group:
        if speakers is None:
            raise ValueError("training.acoustic_speaker_group needs the training and validation clips' speakers")
        sp, val_sp = (np.asarray([str(s) for s in g]) for g in speakers)
        if len(sp) != len(x) or len(val_sp) != len(val[0]):
            raise ValueError(f"{len(sp)} + {len(val_sp)} speakers for {len(x)} training and {len(val[0])} "
                             "validation clips")
        groups = (np.concatenate([sp, np.repeat(sp, recipe.training.random_crops)]), val_sp)  # crops: in clip order
    seed_everything(seed)
    model = build_acoustic_model(acoustic_cfg)
    history = train_classifier(model, (x_all, t_all), (val[0].astype(np.float32), val[1]), targets.shape[1],
                               recipe.training.acoustic, seed, description=description, progress=progress,
                               teacher_logits=logits, framework=recipe.training.framework, twin_config=acoustic_cfg,
                               speakers=groups, speaker_group=recipe.training.acoustic_speaker_group)
    info["training_examples"] = len(x_all)
    return model, history, info


def train_fusion(recipe: Recipe, fusion_cfg, train: tuple[np.ndarray, np.ndarray, np.ndarray],
                 val: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int, description: str = "fusion",
                 progress: bool = True, speakers: tuple[Sequence[str], Sequence[str]] | None = None):
    """Build and train the fusion head on frozen embeddings; returns (model, history, prior).

    ``train`` = (acoustic embeddings [N, Ea], keyword embeddings [N, Ek], targets [N, K]);
    ``val`` = (acoustic [Nv, Ea], keyword [Nv, Ek], labels [Nv]). The pipeline's train_fusion
    stage and every benchmark fold train the head through this one function. With
    ``fusion.input_norm: standard`` the head trains on inputs standardised with the training
    set's mean and std, and the returned model has that map folded into its hidden layer
    (``models.fusion.fold_input_standardisation``): it takes raw embeddings like any other.
    With ``fusion.input_norm: speaker`` (``speakers`` = the train and val rows' speakers) it
    trains on inputs standardised per speaker, takes standardised inputs, and ``prior`` is the
    :class:`~edgeser.models.speaker_norm.SpeakerPrior` its test inputs need; otherwise None.

    ``fusion_cfg.members`` = M > 1 (an acoustic seed ensemble): head i trains alone on member
    i's slice of the acoustic embeddings and the keyword embeddings, with seed ``seed + i``;
    ``models.fusion.merge_member_heads`` joins them. The prior covers every input dimension
    (a dimension's statistics are the same in every head that reads it); the history is head 0's.
    """
    from edgeser.models.fusion import merge_member_heads

    prior = None
    if fusion_cfg.input_norm == "speaker":
        from edgeser.models.speaker_norm import SpeakerPrior

        if speakers is None:
            raise ValueError("fusion.input_norm: speaker needs the training and validation clips' speakers")
        prior = SpeakerPrior.fit(np.concatenate([train[0], train[1]], axis=1).astype(np.float32),
                                 fusion_cfg.speaker_prior_weight)
    if fusion_cfg.members == 1:
        return (*_train_fusion_head(recipe, fusion_cfg, train, val, seed, description, progress, speakers), prior)
    e = fusion_cfg.member.acoustic_dim
    part = lambda data, i: (np.asarray(data[0])[:, i * e:(i + 1) * e], *data[1:])  # noqa: E731
    heads = [_train_fusion_head(recipe, fusion_cfg.member, part(train, i), part(val, i), seed + i,
                                f"{description} {i + 1}/{fusion_cfg.members}", progress, speakers)
             for i in range(fusion_cfg.members)]
    return merge_member_heads([h for h, _ in heads], fusion_cfg), heads[0][1], prior


def _train_fusion_head(recipe: Recipe, fusion_cfg, train, val, seed: int, description: str, progress: bool,
                       speakers) -> tuple[Any, Any]:
    """One fusion head (``fusion_cfg.members`` = 1) on its inputs, standardised as
    ``fusion_cfg.input_norm`` says: :func:`train_fusion`'s training; returns (model, history)."""
    from edgeser.models.fusion import build_fusion_model, fold_input_standardisation
    from edgeser.models.training import seed_everything, train_classifier

    a, k = np.asarray(train[0], np.float32), np.asarray(train[1], np.float32)
    va, vk = np.asarray(val[0], np.float32), np.asarray(val[1], np.float32)
    standard = fusion_cfg.input_norm == "standard"
    if standard:
        ea = fusion_cfg.acoustic_dim
        mean = np.concatenate([a.mean(axis=0), k.mean(axis=0)])
        std = np.concatenate([a.std(axis=0), k.std(axis=0)]) + 1e-3  # a constant dimension stays finite
        norm = lambda x, y: ((x - mean[:ea]) / std[:ea], (y - mean[ea:]) / std[ea:])  # noqa: E731
        (a, k), (va, vk) = norm(a, k), norm(va, vk)
    elif fusion_cfg.input_norm == "speaker":
        from edgeser.models.speaker_norm import standardise_pair

        (a, k) = standardise_pair(a, k, speakers[0])
        if len(va):
            (va, vk) = standardise_pair(va, vk, speakers[1])
    seed_everything(seed)
    model = build_fusion_model(fusion_cfg)
    history = train_classifier(model, ([a, k], train[2]), ([va, vk], val[2]),
                               fusion_cfg.num_classes, recipe.training.fusion, seed, description=description,
                               progress=progress, framework=recipe.training.framework, twin_config=fusion_cfg)
    if standard:
        model = fold_input_standardisation(model, fusion_cfg, mean, std)
    return model, history


def fusion_inputs(acoustic: np.ndarray, keyword: np.ndarray, prior, speakers: Sequence[str] | None = None,
                  seed: int = 0) -> list[np.ndarray]:
    """The float fusion head's test inputs [acoustic [N, Ea], keyword [N, Ek]]: as given, or with a
    speaker ``prior`` standardised as the board does (``SpeakerPrior.standardise``: running
    statistics per speaker in a seeded order; without ``speakers`` each clip is a new speaker)."""
    if prior is None:
        return [np.asarray(acoustic, np.float32), np.asarray(keyword, np.float32)]
    ea = np.shape(acoustic)[1]
    z = prior.standardise(np.concatenate([acoustic, keyword], axis=1), speakers, seed)
    return [z[:, :ea], z[:, ea:]]


def larger_teacher_config(acoustic_cfg):
    """The acoustic config of a larger edgeser teacher: twice the width, two more blocks."""
    return dataclasses.replace(acoustic_cfg, d_model=2 * acoustic_cfg.d_model, ff_dim=2 * acoustic_cfg.ff_dim,
                               num_layers=acoustic_cfg.num_layers + 2)


def fusion_extras(recipe: Recipe, fusion_cfg, acoustic_emb: np.ndarray, keyword_emb: np.ndarray, targets: np.ndarray,
                  parts: dict[str, np.ndarray], fusion_model, utterances: Sequence | None, seed: int,
                  progress: bool = False, prior=None,
                  speakers: np.ndarray | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The VAD head and the fusion ensemble, when the recipe asks for them.

    ``acoustic_emb`` [N, Ea], ``keyword_emb`` [N, Ek] and ``targets`` [N, K] cover every
    clip; ``parts`` maps "train"/"val"/"test" to index arrays; ``fusion_model`` is the
    trained head 0. A speaker-normalised head 0 (``prior``, the clips' ``speakers`` [N]) makes
    the ensemble's heads train and score on the same standardised inputs (:func:`train_fusion`,
    :func:`fusion_inputs`). Returns (test-split metrics, trained models by name).
    """
    from edgeser.models.training import logits_of

    t = recipe.training
    metrics: dict[str, Any] = {}
    models: dict[str, Any] = {}
    tr, va, te = parts["train"], parts["val"], parts["test"]
    if t.vad.enabled:
        from edgeser.dimensional import ccc_scores
        from edgeser.models.training import seed_everything
        from edgeser.models.vad import build_vad_head, num_regions, predict_vad, train_vad_head, vad_targets

        if utterances is None:
            raise ValueError("training.vad needs the clips' utterances (their V/A/D or emotion labels)")
        vad = vad_targets(utterances)
        seed_everything(seed)
        head = build_vad_head(acoustic_emb.shape[1], t.vad.hidden_dim, num_regions(t.vad.radius_bins))
        train_vad_head(head, (acoustic_emb[tr], vad[tr]), (acoustic_emb[va], vad[va]), t.vad, seed)
        metrics["vad_ccc"] = ccc_scores(vad[te], predict_vad(head, acoustic_emb[te]))
        metrics["vad_targets"] = ("corpus V/A/D ratings" if any(u.valence is not None for u in utterances)
                                  else "category anchors (edgeser.models.vad.CATEGORY_VAD)")
        models["vad"] = head
    if t.ensemble_heads > 1:
        from edgeser.metrics import score
        from edgeser.models.ensemble import combine, train_heads
        from edgeser.models.fusion import build_fusion_model

        inputs = lambda idx: [acoustic_emb[idx], keyword_emb[idx]]  # noqa: E731
        test_inputs = inputs(te)
        if prior is not None:
            from edgeser.models.speaker_norm import standardise_pair

            if speakers is None:
                raise ValueError("a speaker-normalised fusion ensemble needs the clips' speakers")
            inputs = lambda idx: standardise_pair(acoustic_emb[idx], keyword_emb[idx], speakers[idx])  # noqa: E731
            test_inputs = fusion_inputs(acoustic_emb[te], keyword_emb[te], prior, speakers[te], seed)
        extra = train_heads(lambda: build_fusion_model(fusion_cfg), (inputs(tr), targets[tr]),
                            (inputs(va), targets[va].argmax(1)), targets.shape[1], t.fusion,
                            [seed + h for h in range(1, t.ensemble_heads)], progress=progress)
        heads = [fusion_model, *extra]
        probs = combine([logits_of(h, test_inputs) for h in heads])
        metrics["fusion_ensemble"] = score(targets[te].argmax(1), probs.argmax(1), targets.shape[1]).to_dict()
        models.update({f"fusion_head{h}": m for h, m in enumerate(extra, start=1)})
    return metrics, models
