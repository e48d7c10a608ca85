// Host stub (syntax check only): TFLite-Micro microfrontend frontend.h.
#pragma once
#include "stub_common.h"
extern "C" {
struct FrontendState;
struct FrontendOutput {
  const uint16_t* values;
  size_t size;
};
struct FrontendOutput FrontendProcessSamples(struct FrontendState* state, const int16_t* samples,
                                             size_t num_samples, size_t* num_samples_read);
}
