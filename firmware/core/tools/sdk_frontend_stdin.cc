// sdk_frontend: the SDK's own MicroFrontend C library (the pinned tflite-micro
// sources and kissfft with FIXED_POINT=16, exactly the files the board compiles,
// see `make -C firmware sdk-frontend`), built for the host and configured by the
// board's code (edgeser/frontend_setup.h), behind stdin/stdout.
//
//   sdk_frontend SAMPLE_RATE WINDOW_MS STEP_MS CHANNELS UPPER_HZ LOWER_HZ SMOOTHING_BITS
//                EVEN_SMOOTHING ODD_SMOOTHING MIN_SIGNAL_REMAINING ENABLE_PCAN PCAN_STRENGTH
//                PCAN_OFFSET GAIN_BITS ENABLE_LOG SCALE_SHIFT  < int16le PCM  > uint16le frames
//
// The arguments are edgeser.frontend.microfrontend.op_attributes() in order (the
// EDGESER_FRONTEND_C_* macros). Samples are fed in the app's stride-sized chunks;
// every frame is written as CHANNELS little-endian uint16 values. Exit 2 on bad
// arguments, 1 when the C library refuses the configuration.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "edgeser/frontend_setup.h"
#include "tensorflow/lite/experimental/microfrontend/lib/frontend.h"
#include "tensorflow/lite/experimental/microfrontend/lib/frontend_util.h"

int main(int argc, char** argv) {
  if (argc != 17) {
    std::fprintf(stderr, "usage: %s SAMPLE_RATE WINDOW_MS STEP_MS CHANNELS UPPER_HZ LOWER_HZ SMOOTHING_BITS "
                 "EVEN ODD MIN_SIGNAL ENABLE_PCAN STRENGTH OFFSET GAIN_BITS ENABLE_LOG SCALE_SHIFT < pcm > frames\n",
                 argv[0]);
    return 2;
  }
  const int sample_rate = std::atoi(argv[1]);
  const edgeser::FrontendCSettings c = {
      std::atoi(argv[2]),  std::atoi(argv[3]),
      std::atoi(argv[4]),  static_cast<float>(std::atof(argv[5])),
      static_cast<float>(std::atof(argv[6])),  std::atoi(argv[7]),
      static_cast<float>(std::atof(argv[8])),  static_cast<float>(std::atof(argv[9])),
      static_cast<float>(std::atof(argv[10])), std::atoi(argv[11]),
      static_cast<float>(std::atof(argv[12])), static_cast<float>(std::atof(argv[13])),
      std::atoi(argv[14]), std::atoi(argv[15]),
      std::atoi(argv[16])};
  FrontendConfig fc;
  FrontendFillConfigWithDefaults(&fc);
  edgeser::FillFrontendConfig(c, &fc);
  FrontendState state;
  if (!FrontendPopulateState(&fc, &state, sample_rate)) {
    std::fprintf(stderr, "FrontendPopulateState refused the configuration\n");
    return 1;
  }
  std::vector<int16_t> pcm;
  int16_t buf[4096];
  size_t got;
  while ((got = std::fread(buf, sizeof(int16_t), 4096, stdin)) > 0) pcm.insert(pcm.end(), buf, buf + got);

  // As app/main.cc: one stride of samples at a time, each possibly yielding a frame.
  const size_t stride = static_cast<size_t>(c.window_step_ms) * static_cast<size_t>(sample_rate) / 1000;
  for (size_t pos = 0; pos < pcm.size(); pos += stride) {
    const int16_t* p = pcm.data() + pos;
    size_t left = (pcm.size() - pos < stride) ? pcm.size() - pos : stride;
    while (left > 0) {
      size_t read = 0;
      const FrontendOutput out = FrontendProcessSamples(&state, p, left, &read);
      p += read;
      left -= read;
      if (out.values != nullptr && out.size == static_cast<size_t>(c.num_channels))
        std::fwrite(out.values, sizeof(uint16_t), out.size, stdout);
      if (read == 0) break;
    }
  }
  FrontendFreeStateContents(&state);
  return 0;
}
