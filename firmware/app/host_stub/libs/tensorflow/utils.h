// Host stub (syntax check only): coralmicro libs/tensorflow/utils.h arena macros.
// The SDK's section strings end in "%nobits @" (ARM assembler comment); the host
// assembler rejects that, so non-ARM builds get a plain section name.
#pragma once
#include "stub_common.h"
#if defined(__arm__)
#define STATIC_TENSOR_ARENA_IN_SDRAM(name, size) \
  static uint8_t name[size] __attribute__((aligned(16))) __attribute__((section(".sdram_bss,\"aw\",%nobits @")))
#define STATIC_TENSOR_ARENA_IN_OCRAM(name, size) \
  static uint8_t name[size] __attribute__((aligned(16))) __attribute__((section(".ocram_bss,\"aw\",%nobits @")))
#else
#define STATIC_TENSOR_ARENA_IN_SDRAM(name, size) \
  static uint8_t name[size] __attribute__((aligned(16))) __attribute__((section(".sdram_bss")))
#define STATIC_TENSOR_ARENA_IN_OCRAM(name, size) \
  static uint8_t name[size] __attribute__((aligned(16))) __attribute__((section(".ocram_bss")))
#endif
