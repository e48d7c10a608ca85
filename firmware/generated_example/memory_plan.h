// EXAMPLE of the generated memory_plan.h (edgeser.quantize memory report).
// One static tensor arena, cut into one 16-byte-aligned slice per model
// (each TFLite-Micro interpreter needs its own). Sizes come from the memory
// report's measured arena use plus headroom.
//
//   EDGESER_ARENA_IN_OCRAM 0 -> SDRAM (.sdram_bss): the only arena section the SDK's
//     Cortex-M7 linker script has. 1 -> on-chip RAM (.ocram_bss, at most
//     EDGESER_OCRAM_ARENA_LIMIT_BYTES), only with a linker script of your own that
//     adds that section (build with EDGESER_LINKER_HAS_OCRAM_BSS=1).
//   EDGESER_ARENA_BYTES must equal the sum of the slices.
// The firmware static_asserts these rules, checks at start-up that the arena's
// address lies in the chosen memory, and halts with a message if a model's
// AllocateTensors() does not fit its slice.
#ifndef EDGESER_GENERATED_MEMORY_PLAN_H_
#define EDGESER_GENERATED_MEMORY_PLAN_H_

#define EDGESER_ARENA_KEYWORD_BYTES (96 * 1024)
#define EDGESER_ARENA_ACOUSTIC_BYTES (256 * 1024)
#define EDGESER_ARENA_FUSION_BYTES (16 * 1024)
#define EDGESER_ARENA_BYTES (EDGESER_ARENA_KEYWORD_BYTES + EDGESER_ARENA_ACOUSTIC_BYTES + EDGESER_ARENA_FUSION_BYTES)
#define EDGESER_ARENA_IN_OCRAM 0

#endif  // EDGESER_GENERATED_MEMORY_PLAN_H_
