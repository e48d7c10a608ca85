"""Recipes: one YAML file holds every setting of an experiment.

A recipe loads into the frozen :class:`Recipe`; an unknown key, a wrong type or
an impossible value is refused with the key's dotted path and the reason
(:class:`edgeser.settings.SettingsError`). The recipe's hash (sha256 of its
canonical JSON form) is recorded with every output of a run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from edgeser.corpora.mixup import EamSettings
from edgeser.frontend.config import FrontendConfig
from edgeser.models.acoustic import AcousticConfig
from edgeser.models.debias import DebiasSettings
from edgeser.models.fusion import FusionConfig
from edgeser.models.kws import KwsConfig
from edgeser.models.training import LOSS_WEIGHTS, TrainSettings
from edgeser.models.vad import VadSettings
from edgeser.settings import SettingsError, added, check, from_mapping, to_mapping
from edgeser.strict_yaml import read_yaml_file


@dataclass(frozen=True)
class DataSettings:
    """Which corpus a run trains on, and how utterances become fixed-size inputs."""

    corpus: str = "demo"  # a reader name from edgeser.corpora, or "demo" (generated)
    root: str = ""  # corpus folder; "" means the run's own generated demo corpus
    clip_seconds: float = 3.0  # utterances are cropped/padded to this length
    keyword_window_seconds: float = 1.0  # keyword-branch window length
    keyword_hop_seconds: float = 0.5  # keyword windows' hop over an utterance
    keyword_corpus: str = "demo_keywords"  # corpus the keyword branch is trained on
    keyword_root: str = ""  # "" means the run's own generated demo corpus
    val_fraction: float = 0.15  # share of speakers held out for validation (early stopping)
    test_fraction: float = 0.15  # share of speakers held out for the test split

    def __post_init__(self) -> None:
        from edgeser.corpora.registry import ALIASES, corpus_names

        for name in ("corpus", "keyword_corpus"):
            value = getattr(self, name)
            known = ALIASES.get(value.lower(), value.lower()) in corpus_names()
            check(known, name, f"unknown corpus {value!r} (known: {', '.join(corpus_names())})")
        check(0 < self.clip_seconds <= 60, "clip_seconds", f"must be in (0, 60] s, got {self.clip_seconds}")
        check(
            self.keyword_window_seconds > 0,
            "keyword_window_seconds",
            f"must be positive, got {self.keyword_window_seconds}",
        )
        check(
            self.keyword_window_seconds <= self.clip_seconds,
            "keyword_window_seconds",
            f"{self.keyword_window_seconds} s is longer than clip_seconds ({self.clip_seconds} s)",
        )
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            check(0 < value < 0.5, name, f"must be in (0, 0.5), got {value}")
        check(
            0 < self.keyword_hop_seconds <= self.keyword_window_seconds,
            "keyword_hop_seconds",
            f"must be in (0, keyword_window_seconds], got {self.keyword_hop_seconds}",
        )


@dataclass(frozen=True)
class BudgetSettings:
    """What the deployed system may cost on the Coral Dev Board Micro."""

    memory_bytes: int = 1_800_000  # the paper's budget: models + arenas + frontend
    memory_goal_bytes: int = 1_000_000  # our goal
    latency_ms: float = 22.0  # the paper's end-to-end figure (21-23 ms)

    def __post_init__(self) -> None:
        check(self.memory_bytes > 0, "memory_bytes", f"must be positive, got {self.memory_bytes}")
        check(
            0 < self.memory_goal_bytes <= self.memory_bytes,
            "memory_goal_bytes",
            f"must be positive and at most memory_bytes ({self.memory_bytes}), got {self.memory_goal_bytes}",
        )
        check(0 < self.latency_ms <= 60_000, "latency_ms", f"must be in (0, 60000] ms, got {self.latency_ms}")


@dataclass(frozen=True)
class TrainingSettings:
    """Optimisation of the three models, trained in this order."""

    keyword: TrainSettings = field(default_factory=lambda: TrainSettings(epochs=30, patience=8))
    acoustic: TrainSettings = field(default_factory=TrainSettings)
    fusion: TrainSettings = field(default_factory=lambda: TrainSettings(epochs=60, patience=15))
    # Options from the SER literature (all off by default; edgeser/train_options.py applies them).
    label_distributions: bool = False  # train on per-rater label distributions (EM2LDL; CREMA-D, IEMOCAP, MSP-IMPROV)
    teacher: str = ""  # knowledge distillation: a .keras/.h5/.onnx acoustic model or an edgeser run folder
    eam: EamSettings = field(default_factory=EamSettings)  # energy-adaptive mixup of training clips
    debias: DebiasSettings = field(default_factory=DebiasSettings)  # CO-VADA voice augmentation of bias-aligned clips
    vad: VadSettings = field(default_factory=VadSettings)  # EmoSphere-SER valence/arousal/dominance head
    ensemble_heads: int = 1  # MATER: fusion heads combined by predictive entropy (1 = a single head)
    # Extra acoustic training examples per clip: windows of data.clip_seconds at random
    # positions of the whole utterance (the features stage keeps the centre one). 0 = off.
    random_crops: int = 0
    # Shorter random crops: each of those windows keeps a stretch of the utterance of a length
    # drawn uniformly in [random_crop_min_seconds, data.clip_seconds], at a random offset in
    # silence, as short clips of other corpora are padded at test time. 0 = full windows.
    random_crop_min_seconds: float = added(0.0)
    # "torch": the keyword, acoustic and fusion models train as their PyTorch twins
    # (models/torch_twins.py) under the same loop and settings, then go on as Keras models.
    framework: str = added("tensorflow")
    # The validation speakers train the acoustic model and the fusion head (and its ensemble
    # heads) too: with nobody left to stop on, each runs all its epochs and keeps the last.
    # (The keyword model trains on its own corpus and keeps its validation split.)
    train_on_validation: bool = added(False)
    # The acoustic classifier trains on its embedding centred per speaker, as the fusion head
    # reads it (standardised per speaker): each acoustic batch is made of groups of this many
    # examples of one speaker, centred over the group; a typical speaker's mean is then folded
    # into the logits layer (models/speaker_training.py). 0 = off; else >= 2, dividing the batch size.
    acoustic_speaker_group: int = added(0)

    def __post_init__(self) -> None:
        check(1 <= self.ensemble_heads <= 16, "ensemble_heads", f"must be in 1..16, got {self.ensemble_heads}")
        check(self.framework in ("tensorflow", "torch"), "framework",
              f"must be 'tensorflow' or 'torch', got {self.framework!r}")
        if self.framework == "torch":
            for role in ("keyword", "acoustic", "fusion"):
                terms = [n for n in LOSS_WEIGHTS if n != "ce" and getattr(getattr(self, role).loss, n) > 0]
                check(not terms, "framework", f"torch trains the cross-entropy loss only; "
                      f"training.{role}.loss.{terms[0] if terms else ''} is TensorFlow-only")
        check(0 <= self.random_crops <= 16, "random_crops", f"must be in [0, 16], got {self.random_crops}")
        check(self.random_crop_min_seconds >= 0, "random_crop_min_seconds",
              f"must be >= 0 seconds, got {self.random_crop_min_seconds}")
        check(not self.random_crop_min_seconds or self.random_crops > 0, "random_crop_min_seconds",
              "shortens the random crops, but training.random_crops is 0")
        check(not (self.train_on_validation and self.vad.enabled), "train_on_validation",
              "the VAD head stops early on its validation CCC: it needs the validation speakers held out")
        group = self.acoustic_speaker_group
        if group:
            check(group >= 2 and self.acoustic.batch_size % group == 0, "acoustic_speaker_group",
                  f"must be >= 2 and divide training.acoustic.batch_size ({self.acoustic.batch_size}), got {group}")
            check(self.framework == "tensorflow", "acoustic_speaker_group", "trains with TensorFlow only")
            check(not (self.eam.enabled or self.debias.enabled), "acoustic_speaker_group",
                  "needs one speaker per training example: EAM and CO-VADA clips mix or change voices")
            check(not self.acoustic.loss.needs_embedding, "acoustic_speaker_group",
                  "training.acoustic.loss.center and supcon act on the raw embedding: set them to 0")
        if self.teacher:
            check(self.acoustic.loss.distill > 0, "teacher",
                  "a teacher is set but training.acoustic.loss.distill is 0: give the distillation a weight")
        if self.acoustic.loss.distill > 0:
            check(bool(self.teacher), "acoustic.loss.distill", "needs training.teacher (the teacher model)")


@dataclass(frozen=True)
class QuantizeSettings:
    """Int8 conversion of the device models."""

    qat: bool = False  # quantisation-aware fine-tuning before conversion (tensorflow-model-optimization)
    qat_epochs: int = 5
    qat_learning_rate: float = 2e-4  # ~1/10 of training: QAT fine-tunes a trained model

    def __post_init__(self) -> None:
        check(1 <= self.qat_epochs <= 1000, "qat_epochs", f"must be in 1..1000, got {self.qat_epochs}")
        check(self.qat_learning_rate > 0, "qat_learning_rate", f"must be positive, got {self.qat_learning_rate}")


# Model config fields the pipeline fills in (``models.registry.model_configs``): a recipe may
# not set them, since any value would be replaced. Key -> what it is derived from.
DERIVED = {
    "acoustic": {"num_frames": "data.clip_seconds and the frontend's stride",
                 "num_channels": "frontend.num_channels", "num_classes": "the corpus' emotion labels"},
    "keyword": {"num_frames": "data.keyword_window_seconds and the frontend's stride",
                "num_channels": "frontend.num_channels", "num_keywords": "the keyword corpus' words"},
    "fusion": {"acoustic_dim": "acoustic.embedding_dim times acoustic.members", "keyword_dim": "keyword.embedding_dim",
               "members": "acoustic.members",
               "num_classes": "the corpus' emotion labels"},
}


@dataclass(frozen=True)
class Recipe:
    """Every setting of one experiment; see configs/*.yaml."""

    name: str
    seed: int = 0
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    data: DataSettings = field(default_factory=DataSettings)
    # Model sizes. Input sizes (frames, channels) and class counts are derived from the
    # frontend, the data and the corpus' labels (DERIVED): a recipe that sets one is refused.
    acoustic: AcousticConfig = field(default_factory=AcousticConfig)
    keyword: KwsConfig = field(default_factory=KwsConfig)
    fusion: FusionConfig = field(default_factory=FusionConfig)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    quantize: QuantizeSettings = field(default_factory=QuantizeSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)

    def __post_init__(self) -> None:
        check(bool(self.name) and "/" not in self.name, "name", f"must be a non-empty folder name, got {self.name!r}")
        check(0 <= self.seed <= 2**32 - 1, "seed", f"must be in 0..2**32-1 (numpy's seed range), got {self.seed}")
        if self.fusion.input_norm == "speaker":  # the head is calibrated on inputs standardised per speaker
            check(not self.quantize.qat, "fusion.input_norm", "'speaker' is calibrated after training; set quantize.qat: false")
        if self.acoustic.members > 1:  # QAT fine-tunes one model; the members are trained apart
            check(not self.quantize.qat, "acoustic.members", "an ensemble is quantised after training; set quantize.qat: false")
        check(self.training.random_crop_min_seconds <= self.data.clip_seconds, "training.random_crop_min_seconds",
              f"{self.training.random_crop_min_seconds} s is longer than data.clip_seconds ({self.data.clip_seconds} s)")

    def to_dict(self) -> dict[str, Any]:
        """The recipe as a recipe file holds it (the DERIVED model fields left out)."""
        data = to_mapping(self)
        for section, keys in DERIVED.items():
            for key in keys:
                data[section].pop(key, None)
        return data

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def sha256(self) -> str:
        """Hash of the canonical JSON form of every field (settings.added fields only when set):
        equal settings, equal hash."""
        canonical = json.dumps(to_mapping(self, for_hash=True), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def recipe_from_dict(data: Mapping[str, Any], source: str = "recipe", drop_derived: bool = False) -> Recipe:
    """Build a :class:`Recipe`; the ``frontend`` section may start with ``preset: NAME``.

    A DERIVED model field is refused, or with ``drop_derived`` left out (a run folder's copy
    written by an older edgeser holds them, with values that never had an effect).
    """
    if not isinstance(data, Mapping):
        raise SettingsError("", f"{source}: the recipe must be a mapping, got {type(data).__name__}")
    data = dict(data)
    for section, keys in DERIVED.items():
        given = data.get(section)
        if drop_derived and isinstance(given, Mapping):
            data[section] = {k: v for k, v in given.items() if k not in keys}
            continue
        for key in keys if isinstance(given, Mapping) else ():
            if key in given:
                raise SettingsError(f"{section}.{key}", f"is derived from {keys[key]} when the models are built; "
                                    "remove it from the recipe")
    if isinstance(data.get("frontend"), Mapping):
        data["frontend"] = FrontendConfig.from_dict(data["frontend"], path="frontend")
    return from_mapping(Recipe, data)


def load_recipe(path: str | Path, drop_derived: bool = False) -> Recipe:
    """Read and validate a recipe file. Raises SettingsError naming the file and key
    (``drop_derived``: see :func:`recipe_from_dict`)."""
    path = Path(path)
    data = read_yaml_file(path, "recipe file")
    if data is None:
        raise SettingsError("", f"{path}: the recipe is empty (it needs at least `name:`; see configs/demo.yaml)")
    try:
        return recipe_from_dict(data, str(path), drop_derived)
    except SettingsError as exc:
        raise SettingsError(exc.path, f"{exc.reason} (in {path})") from None
