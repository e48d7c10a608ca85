"""Every generated file the firmware build needs, written into ``RUN/firmware/``.

``export_firmware(run)`` writes (atomically) what ``firmware/CMakeLists.txt``,
``make -C firmware check-generated`` and ``app/main.cc`` include or link, with the
macro and symbol names of ``firmware/generated_example/``:

``frontend_config.h``        the MicroFrontend settings (``edgeser.frontend.export``);
``model_io.h``               shapes and int8 quantisation of the three device models,
                             the keyword-window schedule and the decision hop;
``labels.h``                 ``EDGESER_NUM_EMOTIONS`` / ``EDGESER_EMOTION_LABELS`` in
                             ``labels.json`` order (= the fusion head's logits);
``memory_plan.h``            one arena slice per interpreter from ``memory.json``'s
                             measured ``arena_bytes`` plus headroom for the CMSIS-NN
                             kernels' scratch buffers (16-byte multiples), their sum,
                             and the placement: SDRAM (``.sdram_bss``), the only arena
                             section the SDK's Cortex-M7 linker script has;
``edgeser_<name>_model.{h,cc}`` (+ ``_io.h``)  the model arrays
                             (``edgeser.quantize.c_export.export_c_array``), name in
                             keyword, acoustic, fusion;
``edgeser_<name>.tflite``    the same bytes as files, for ``make firmware EDGESER_MODELS=lfs``.

Model source: ``edgetpu/<name>_int8_edgetpu.tflite`` when the compile stage wrote it
(and it is not older than ``<name>_int8.tflite``), else ``<name>_int8.tflite``; the
fusion head is never compiled (coralmicro caches at most two Edge TPU models).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from edgeser import atomic
from edgeser.c_strings import c_string

__all__ = [
    "DEVICE_MODELS",
    "OCRAM_ARENA_LIMIT_BYTES",
    "model_sources",
    "render_model_io_h",
    "render_labels_h",
    "render_memory_plan_h",
    "export_firmware",
]

DEVICE_MODELS = ("keyword", "acoustic", "fusion")
# firmware/core/include/edgeser/app_config.h: EDGESER_OCRAM_ARENA_LIMIT_BYTES
# (coralmicro: OCRAM tensor arena "max of 1.25 MB").
OCRAM_ARENA_LIMIT_BYTES = 1280 * 1024
# The arena is measured on the host with TFLite-Micro's reference kernels; the board
# runs CMSIS-NN kernels, whose convolutions ask for scratch buffers (im2col rows) the
# reference kernels do not. Each slice gets this fraction plus this many bytes more.
ARENA_HEADROOM = 0.10
ARENA_SCRATCH_BYTES = 8 * 1024
_ALIGN = 16
FOLDER = "firmware"


# ------------------------------------------------------------------ sources
def model_sources(run, prefer_edgetpu: bool = True) -> dict[str, Path]:
    """The .tflite each device model is exported from (see the module docstring)."""
    sources = {}
    for name in DEVICE_MODELS:
        int8 = run.path / f"{name}_int8.tflite"
        compiled = run.path / "edgetpu" / f"{name}_int8_edgetpu.tflite"
        use_compiled = (
            prefer_edgetpu
            and name != "fusion"
            and compiled.is_file()
            and (not int8.is_file() or compiled.stat().st_mtime >= int8.stat().st_mtime)
        )
        sources[name] = compiled if use_compiled else int8
    return sources


# ------------------------------------------------------------------ model_io.h
def _c_float(x: float) -> str:
    """The float32 value as a C float literal that round-trips (``0.0235f``)."""
    text = repr(float(np.float32(x)))
    if "e" not in text and "." not in text:
        text += ".0"
    return text + "f"


def _c_int(v: int) -> str:
    v = int(v)
    return f"({v})" if v < 0 else str(v)


def _frames_channels(shape: Sequence[int], what: str) -> tuple[int, int]:
    """[T, C] of a model input given as [1,T,C], [1,T,C,1], [1,T,1,C] or [1,1,T,C]."""
    dims = [int(d) for d in shape]
    if len(dims) >= 3 and dims[0] == 1:
        dims = dims[1:]
    rest = [d for d in dims if d != 1]
    if len(rest) == 2:
        return rest[0], rest[1]
    if len(dims) >= 2:
        return dims[0], dims[-1]
    raise ValueError(f"{what} input shape {list(shape)} is not [T, C] (with size-1 axes)")


def render_model_io_h(run, decision_hop: int | None = None, sources: Mapping[str, Path] | None = None) -> str:
    """model_io.h (firmware/generated_example/model_io.h's macros) from the run's int8 models.

    ``decision_hop`` in frames, default the keyword hop (a decision per keyword window);
    it must be a multiple of the keyword hop. ``sources`` maps keyword/acoustic/fusion to
    .tflite paths; default ``RUN/<name>_int8.tflite``.
    """
    from edgeser.models.registry import plan_of
    from edgeser.quantize.c_export import io_quantization

    plan = plan_of(run.recipe)
    hop = int(plan.keyword_hop_frames)
    decision_hop = hop if decision_hop is None else int(decision_hop)
    if decision_hop <= 0 or decision_hop % hop:
        raise ValueError(f"decision hop {decision_hop} frames is not a positive multiple of the keyword hop ({hop})")
    sources = dict(sources or {n: run.path / f"{n}_int8.tflite" for n in DEVICE_MODELS})
    io = {n: io_quantization(Path(sources[n]).read_bytes()) for n in DEVICE_MODELS}
    for n, (ins, outs) in io.items():
        bad = [t.name for t in (*ins, *outs) if t.dtype != "int8"]
        if bad:
            raise ValueError(f"{sources[n]}: tensors {bad} are not int8; the firmware needs full-int8 I/O")
    (kw_in,), (kw_out,) = io["keyword"]
    (ac_in,), (ac_out,) = io["acoustic"]
    fus_in, (fus_out,) = io["fusion"]
    if len(fus_in) not in (1, 2):
        raise ValueError(f"fusion model has {len(fus_in)} inputs; the firmware takes 1 or 2")
    fus_ac, fus_kw = (fus_in[0], fus_in[1]) if len(fus_in) == 2 else (fus_in[0], fus_in[0])
    size = lambda t: int(np.prod(t.shape))  # noqa: E731
    acoustic_size = size(fus_ac) if len(fus_in) == 2 else size(ac_out)
    keyword_size = size(fus_kw) if len(fus_in) == 2 else size(kw_out)
    kw_frames, kw_channels = _frames_channels(kw_in.shape, "keyword")
    ac_frames, ac_channels = _frames_channels(ac_in.shape, "acoustic")
    if (kw_frames, ac_frames) != (plan.keyword_frames, plan.clip_frames):
        raise ValueError(
            f"model input frames (keyword {kw_frames}, acoustic {ac_frames}) differ from the recipe's window plan "
            f"(keyword {plan.keyword_frames}, clip {plan.clip_frames}): stale models?"
        )
    lines = [
        ("FEATURE_SCALE", _c_float(1.0)),
        ("FEATURE_ZERO_POINT", 0),
        ("", None),
        ("KEYWORD_INPUT_FRAMES", kw_frames),
        ("KEYWORD_INPUT_CHANNELS", kw_channels),
        ("KEYWORD_INPUT_SCALE", _c_float(kw_in.scale)),
        ("KEYWORD_INPUT_ZERO_POINT", _c_int(kw_in.zero_point)),
        ("KEYWORD_OUTPUT_SIZE", size(kw_out)),
        ("KEYWORD_OUTPUT_SCALE", _c_float(kw_out.scale)),
        ("KEYWORD_OUTPUT_ZERO_POINT", _c_int(kw_out.zero_point)),
        ("KEYWORD_HOP_FRAMES", hop),
        ("KEYWORD_NUM_WINDOWS", plan.num_keyword_windows),
        ("", None),
        ("ACOUSTIC_INPUT_FRAMES", ac_frames),
        ("ACOUSTIC_INPUT_CHANNELS", ac_channels),
        ("ACOUSTIC_INPUT_SCALE", _c_float(ac_in.scale)),
        ("ACOUSTIC_INPUT_ZERO_POINT", _c_int(ac_in.zero_point)),
        ("ACOUSTIC_OUTPUT_SIZE", size(ac_out)),
        ("ACOUSTIC_OUTPUT_SCALE", _c_float(ac_out.scale)),
        ("ACOUSTIC_OUTPUT_ZERO_POINT", _c_int(ac_out.zero_point)),
        ("", None),
        ("FUSION_NUM_INPUTS", len(fus_in)),
        ("FUSION_ACOUSTIC_SIZE", acoustic_size),
        ("FUSION_ACOUSTIC_SCALE", _c_float(fus_ac.scale)),
        ("FUSION_ACOUSTIC_ZERO_POINT", _c_int(fus_ac.zero_point)),
        ("FUSION_KEYWORD_SIZE", keyword_size),
        ("FUSION_KEYWORD_SCALE", _c_float(fus_kw.scale)),
        ("FUSION_KEYWORD_ZERO_POINT", _c_int(fus_kw.zero_point)),
        ("FUSION_OUTPUT_SIZE", size(fus_out)),
        ("FUSION_OUTPUT_SCALE", _c_float(fus_out.scale)),
        ("FUSION_OUTPUT_ZERO_POINT", _c_int(fus_out.zero_point)),
        ("", None),
        ("DECISION_HOP_FRAMES", decision_hop),
        ("", None),
        *_speaker_prior_lines(Path(sources["fusion"]), acoustic_size + keyword_size),
    ]
    body = "\n".join("" if v is None else f"#define EDGESER_{k} {v}" for k, v in lines)
    names = ", ".join(f"{n}: {Path(p).name}" for n, p in sources.items())
    return (
        "// Generated by edgeser.quantize.firmware_export; do not edit.\n"
        "// Tensor shapes and int8 quantisation of the device models, read from the\n"
        f"// quantised .tflite files ({names}).\n"
        "// Features: int8 code q stands for (q - FEATURE_ZERO_POINT) * FEATURE_SCALE.\n"
        "// Keyword windows: KEYWORD_INPUT_FRAMES frames every KEYWORD_HOP_FRAMES frames;\n"
        "// the last KEYWORD_NUM_WINDOWS tile the acoustic window and are mean-pooled.\n"
        "// Fusion: NUM_INPUTS 2 -> input 0 acoustic, input 1 pooled keyword embedding;\n"
        "// 1 -> one input [acoustic | keyword]. A decision every DECISION_HOP_FRAMES frames.\n"
        "// SPEAKER_NORM 1: the fusion inputs are standardised per speaker with running statistics\n"
        "// that start from SPEAKER_PRIOR_* (real units, [acoustic | keyword]; edgeser/speaker_norm.h).\n"
        "#ifndef EDGESER_GENERATED_MODEL_IO_H_\n#define EDGESER_GENERATED_MODEL_IO_H_\n\n"
        f"{body}\n\n#endif  // EDGESER_GENERATED_MODEL_IO_H_\n"
    )


def _speaker_prior_lines(fusion: Path, dims: int) -> list[tuple[str, Any]]:
    """model_io.h's speaker-normalisation macros from the fusion model's metadata
    (``models.speaker_norm.METADATA_KEY``): doubles written to round-trip exactly."""
    from edgeser.models.speaker_norm import EPSILON, METADATA_KEY, SpeakerPrior
    from edgeser.quantize.convert import read_metadata_bytes

    text = read_metadata_bytes(fusion.read_bytes()).get(METADATA_KEY)
    if not text:
        return [("SPEAKER_NORM", 0)]
    prior = SpeakerPrior.from_json(text, f"{fusion}: metadata {METADATA_KEY}")
    if prior.mean.size != dims:
        raise ValueError(f"{fusion}: the speaker prior has {prior.mean.size} dimensions, the fusion inputs {dims}")
    array = lambda v: "{" + ", ".join(repr(float(x)) for x in v) + "}"  # noqa: E731
    return [("SPEAKER_NORM", 1), ("SPEAKER_PRIOR_WEIGHT", repr(prior.weight)), ("SPEAKER_PRIOR_EPSILON", repr(EPSILON)),
            ("SPEAKER_PRIOR_MEAN", array(prior.mean)), ("SPEAKER_PRIOR_VAR", array(prior.var))]


# ------------------------------------------------------------------ labels.h
def render_labels_h(labels: Sequence[str]) -> str:
    """labels.h: the emotion classes in the fusion head's output order."""
    labels = [str(label) for label in labels]
    if len(labels) < 2:
        raise ValueError(f"need at least two emotion labels, got {labels}")
    return (
        "// Generated by edgeser.quantize.firmware_export; do not edit.\n"
        "// The emotion classes in the order of the fusion head's output (labels.json):\n"
        "// index i of the logits is EDGESER_EMOTION_LABELS[i].\n"
        "#ifndef EDGESER_GENERATED_LABELS_H_\n#define EDGESER_GENERATED_LABELS_H_\n\n"
        f"#define EDGESER_NUM_EMOTIONS {len(labels)}\n"
        f"#define EDGESER_EMOTION_LABELS {{{', '.join(c_string(label) for label in labels)}}}\n\n"
        "#endif  // EDGESER_GENERATED_LABELS_H_\n"
    )


# ------------------------------------------------------------------ memory_plan.h
def arena_plan(memory: Mapping, headroom: float = ARENA_HEADROOM, scratch: int = ARENA_SCRATCH_BYTES) -> dict[str, int]:
    """Per-model arena slices (bytes, 16-byte multiples) from memory.json's content:
    measured ``arena_bytes`` x (1 + ``headroom``) + ``scratch``."""
    models = memory.get("models", {})
    missing = [n for n in DEVICE_MODELS if n not in models or "arena_bytes" not in models[n]]
    if missing:
        raise ValueError(f"memory.json has no arena_bytes for {missing}; run the memory stage")
    plan = {}
    for name in DEVICE_MODELS:
        raw = int(np.ceil(int(models[name]["arena_bytes"]) * (1.0 + float(headroom)))) + int(scratch)
        plan[name] = max(_ALIGN, -(-raw // _ALIGN) * _ALIGN)
    return plan


def render_memory_plan_h(
    memory: Mapping, headroom: float = ARENA_HEADROOM, scratch: int = ARENA_SCRATCH_BYTES, ocram: bool = False
) -> str:
    """memory_plan.h: one slice per interpreter, their sum, and the arena's placement.

    The arena goes to SDRAM: the SDK's Cortex-M7 linker script has no ``.ocram_bss``
    (only its CM4 script has). ``ocram=True`` is for a linker script of your own that
    adds one (the app then also needs ``EDGESER_LINKER_HAS_OCRAM_BSS=1``); it is refused
    when the arena exceeds ``OCRAM_ARENA_LIMIT_BYTES``.
    """
    plan = arena_plan(memory, headroom, scratch)
    total = sum(plan.values())
    if ocram and total > OCRAM_ARENA_LIMIT_BYTES:
        raise ValueError(f"the arena ({total} B) exceeds the {OCRAM_ARENA_LIMIT_BYTES}-byte OCRAM limit")
    where = (
        "OCRAM (.ocram_bss: needs a linker script that has that section)"
        if ocram
        else "SDRAM (.sdram_bss: the SDK's M7 linker script has no .ocram_bss)"
    )
    return (
        "// Generated by edgeser.quantize.firmware_export; do not edit.\n"
        "// One static tensor arena cut into one 16-byte-aligned slice per interpreter:\n"
        "// memory.json's measured TFLite-Micro arena per model (on the 64-bit host, an upper\n"
        f"// bound for the 32-bit Cortex-M7) + {headroom:.0%} + {scratch} B for CMSIS-NN scratch buffers.\n"
        f"// {total} bytes -> {where}.\n"
        "// Where each buffer lives on the Cortex-M7:\n"
        f"//   arena slices (keyword, acoustic, fusion)  {'OCRAM .ocram_bss' if ocram else 'SDRAM .sdram_bss'}\n"
        "//   models, EDGESER_MODELS=lfs (default)     LittleFS files read into the SDRAM heap\n"
        "//   models, EDGESER_MODELS=linked            ITCM .rodata (fits only tiny models)\n"
        "#ifndef EDGESER_GENERATED_MEMORY_PLAN_H_\n#define EDGESER_GENERATED_MEMORY_PLAN_H_\n\n"
        f"#define EDGESER_ARENA_KEYWORD_BYTES {plan['keyword']}\n"
        f"#define EDGESER_ARENA_ACOUSTIC_BYTES {plan['acoustic']}\n"
        f"#define EDGESER_ARENA_FUSION_BYTES {plan['fusion']}\n"
        "#define EDGESER_ARENA_BYTES "
        "(EDGESER_ARENA_KEYWORD_BYTES + EDGESER_ARENA_ACOUSTIC_BYTES + EDGESER_ARENA_FUSION_BYTES)"
        f"  /* {total} */\n"
        f"#define EDGESER_ARENA_IN_OCRAM {1 if ocram else 0}\n\n"
        "#endif  // EDGESER_GENERATED_MEMORY_PLAN_H_\n"
    )


# ------------------------------------------------------------------ everything
def export_firmware(
    run,
    decision_hop: int | None = None,
    arena_headroom: float = ARENA_HEADROOM,
    prefer_edgetpu: bool = True,
) -> list[Path]:
    """Write every generated firmware file into ``RUN/firmware/``; returns their paths.

    Each file is written atomically and recorded in the run manifest (stage "export").
    Needs the quantize stage's ``<name>_int8.tflite``, ``labels.json`` and the memory
    stage's ``memory.json``.
    """
    from edgeser.frontend.export import write_c_header
    from edgeser.quantize.c_export import export_c_array, io_quantization

    out = run.path / FOLDER
    memory_file = run.path / "memory.json"
    if not memory_file.is_file():
        raise FileNotFoundError(f"{memory_file} is missing: run the memory stage before the export")
    labels_file = run.path / "labels.json"
    emotions = list(json.loads(labels_file.read_text())["emotions"])
    sources = model_sources(run, prefer_edgetpu)

    # Render everything first, so a bad input leaves the folder as it was.
    model_io = render_model_io_h(run, decision_hop, sources)
    n_out = int(np.prod(io_quantization(Path(sources["fusion"]).read_bytes())[1][0].shape))
    if n_out != len(emotions):
        raise ValueError(f"fusion head has {n_out} outputs but labels.json lists {len(emotions)} emotions")
    texts = {
        "model_io.h": model_io,
        "labels.h": render_labels_h(emotions),
        "memory_plan.h": render_memory_plan_h(json.loads(memory_file.read_text()), arena_headroom),
    }

    written = [write_c_header(run.recipe.frontend, out / "frontend_config.h")]
    written += [atomic.write_text(out / name, text) for name, text in texts.items()]
    for name in DEVICE_MODELS:
        data = Path(sources[name]).read_bytes()
        # model_<name>.cc would shadow edgeser_<name>_model.cc in the build (checked first).
        for stale in (out / f"model_{name}.cc", out / f"model_{name}.h"):
            stale.unlink(missing_ok=True)
        written += list(export_c_array(data, f"edgeser_{name}_model", out).values())
        written.append(atomic.write_bytes(out / f"edgeser_{name}.tflite", data))
    for path in written:
        run.record(Path(path).relative_to(run.path), "export")
    return [Path(p) for p in written]
