// Host stub (syntax check only): TFLite-Micro microfrontend frontend_util.h.
#pragma once
#include "frontend.h"
extern "C" {
struct WindowConfig { size_t size_ms; size_t step_size_ms; };
struct FilterbankConfig { int num_channels; float upper_band_limit; float lower_band_limit; int output_scale_shift; };
struct NoiseReductionConfig { int smoothing_bits; float even_smoothing; float odd_smoothing; float min_signal_remaining; };
struct PcanGainControlConfig { int enable_pcan; float strength; float offset; int gain_bits; };
struct LogScaleConfig { int enable_log; int scale_shift; };
struct FrontendConfig {
  struct WindowConfig window;
  struct FilterbankConfig filterbank;
  struct NoiseReductionConfig noise_reduction;
  struct PcanGainControlConfig pcan_gain_control;
  struct LogScaleConfig log_scale;
};
struct FrontendState { int opaque; };
void FrontendFillConfigWithDefaults(struct FrontendConfig* config);
int FrontendPopulateState(const struct FrontendConfig* config, struct FrontendState* state, int sample_rate);
}
