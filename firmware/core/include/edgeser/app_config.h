// edgeser firmware: build-time settings that are not generated from a run.
// Override any of them with -D... (CMake: -DEDGESER_EXTRA_DEFINES="A=1;B=2",
// or the Makefile's EDGESER_DEFINES="A=1 B=2").
#ifndef EDGESER_CORE_APP_CONFIG_H_
#define EDGESER_CORE_APP_CONFIG_H_

// Temporal smoothing of the fusion posteriors: 0 = exponential moving average
// (default), 1 = mean of the last EDGESER_SMOOTHING_HISTORY decisions.
#ifndef EDGESER_SMOOTHING_MODE
#define EDGESER_SMOOTHING_MODE 0
#endif
// EMA weight of the newest decision (1.0 = no smoothing).
#ifndef EDGESER_SMOOTHING_ALPHA
#define EDGESER_SMOOTHING_ALPHA 0.4f
#endif
// Window of the mean smoother (decisions).
#ifndef EDGESER_SMOOTHING_HISTORY
#define EDGESER_SMOOTHING_HISTORY 4
#endif

// Benchmark mode: when > 0, the app makes this many decisions, prints the
// BENCH block and stops (decision JSON lines are still printed).
#ifndef EDGESER_BENCHMARK_DECISIONS
#define EDGESER_BENCHMARK_DECISIONS 0
#endif

// LEDs show the smoothed emotion only at or above this confidence.
#ifndef EDGESER_LED_MIN_CONFIDENCE
#define EDGESER_LED_MIN_CONFIDENCE 0.5f
#endif

// Audio ring buffer length (ms of 16-bit mono audio).
#ifndef EDGESER_AUDIO_RING_MS
#define EDGESER_AUDIO_RING_MS 1000
#endif

// Models: 0 = linked C arrays (model_*.cc), 1 = files /models/edgeser_<name>.tflite
// on the board's LittleFS (written by `make flash EDGESER_MODELS=lfs`).
#ifndef EDGESER_MODELS_FROM_LFS
#define EDGESER_MODELS_FROM_LFS 0
#endif

// Usable on-chip RAM for the tensor arena (coralmicro: "max of 1.25 MB").
// 1: the linker script has an .ocram_bss section (the SDK's M7 script has none; its
// CM4 script has). Only then may memory_plan.h put the arena in OCRAM.
#ifndef EDGESER_LINKER_HAS_OCRAM_BSS
#define EDGESER_LINKER_HAS_OCRAM_BSS 0
#endif

#ifndef EDGESER_OCRAM_ARENA_LIMIT_BYTES
#define EDGESER_OCRAM_ARENA_LIMIT_BYTES (1280u * 1024u)
#endif

#endif  // EDGESER_CORE_APP_CONFIG_H_
