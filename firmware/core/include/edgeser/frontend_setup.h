// The MicroFrontend C library's settings, and the one function that copies them
// into its FrontendConfig. app/main.cc (the board) and core/tools/sdk_frontend_stdin.cc
// (the host parity tool built from the SDK's own microfrontend sources) both call it,
// so the parity test runs the board's configuration code, not a copy.
#ifndef EDGESER_CORE_FRONTEND_SETUP_H_
#define EDGESER_CORE_FRONTEND_SETUP_H_

namespace edgeser {

// Field for field what edgeser.frontend.microfrontend.op_attributes() derives
// (the exporter writes them as EDGESER_FRONTEND_C_*).
struct FrontendCSettings {
  int window_size_ms, window_step_ms, num_channels;
  float upper_band_limit, lower_band_limit;
  int smoothing_bits;
  float even_smoothing, odd_smoothing, min_signal_remaining;
  int enable_pcan;
  float pcan_strength, pcan_offset;
  int gain_bits, enable_log, scale_shift;
};

// Config is the C library's struct FrontendConfig (a template parameter so that
// this header needs no SDK include). Call FrontendFillConfigWithDefaults first.
template <typename Config>
void FillFrontendConfig(const FrontendCSettings& c, Config* fc) {
  fc->window.size_ms = c.window_size_ms;
  fc->window.step_size_ms = c.window_step_ms;
  fc->filterbank.num_channels = c.num_channels;
  fc->filterbank.lower_band_limit = c.lower_band_limit;
  fc->filterbank.upper_band_limit = c.upper_band_limit;
  fc->noise_reduction.smoothing_bits = c.smoothing_bits;
  fc->noise_reduction.even_smoothing = c.even_smoothing;
  fc->noise_reduction.odd_smoothing = c.odd_smoothing;
  fc->noise_reduction.min_signal_remaining = c.min_signal_remaining;
  fc->pcan_gain_control.enable_pcan = c.enable_pcan;
  fc->pcan_gain_control.strength = c.pcan_strength;
  fc->pcan_gain_control.offset = c.pcan_offset;
  fc->pcan_gain_control.gain_bits = c.gain_bits;
  fc->log_scale.enable_log = c.enable_log;
  fc->log_scale.scale_shift = c.scale_shift;
}

}  // namespace edgeser

#endif  // EDGESER_CORE_FRONTEND_SETUP_H_
