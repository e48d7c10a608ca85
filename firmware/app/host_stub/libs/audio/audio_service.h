// Host stub (syntax check only): coralmicro libs/audio/audio_service.h + audio_driver.h.
#pragma once
#include "stub_common.h"
namespace coralmicro {
enum class AudioSampleRate : int32_t { k16000_Hz = 16000, k48000_Hz = 48000 };
struct AudioDriverConfig {
  AudioDriverConfig(AudioSampleRate rate, size_t dma_buffers, size_t dma_buffer_ms)
      : sample_rate{rate}, num_dma_buffers{dma_buffers}, dma_buffer_size_ms{dma_buffer_ms} {}
  AudioSampleRate sample_rate;
  size_t num_dma_buffers;
  size_t dma_buffer_size_ms;
};
template <size_t NumDmaBuffers, size_t CombinedDmaBufferSize>
struct AudioDriverBuffers {
  alignas(16) int32_t dma_buffer[CombinedDmaBufferSize];
};
class AudioDriver {
 public:
  template <size_t N, size_t M>
  explicit AudioDriver(AudioDriverBuffers<N, M>& buffers);
};
class AudioService {
 public:
  using Callback = bool (*)(void* ctx, const int32_t* samples, size_t num_samples);
  AudioService(AudioDriver* driver, const AudioDriverConfig& config, int task_priority, int drop_first_samples_ms);
  AudioService(const AudioService&) = delete;
  AudioService& operator=(const AudioService&) = delete;
  ~AudioService();
  int AddCallback(void* ctx, Callback fn);
};
}  // namespace coralmicro
