// Instantiates the core's templates at the sizes the board app uses (from the
// generated headers on the include path), so `make -C firmware size` measures
// the code the app really links, not just the non-template functions.
#include "edgeser/config_check.h"
#include "edgeser/feature_window.h"
#include "edgeser/pooling.h"
#include "edgeser/postprocess.h"
#include "edgeser/ring_buffer.h"
#include "edgeser/speaker_norm.h"

using namespace edgeser;
using namespace edgeser::config;

RingBuffer<kAudioRingSamples> probe_ring;
FeatureWindow<kAcFrames, kNumChannels> probe_window;
EmbeddingPool<kKwWindows, kKwDim> probe_pool;
TemporalSmoother<kNumEmotions, EDGESER_SMOOTHING_HISTORY> probe_smoother(SmoothingMode::kEma, 0.5f);
SpeakerNorm<kAcDim, kKwDim> probe_speaker;  // fusion.input_norm: speaker

// Exercised entry points (extern "C" so nothing is inlined away).
extern "C" void probe_audio(const int32_t* pdm, size_t n, int16_t* out, size_t m) {
  probe_ring.WriteInt32High(pdm, n);
  probe_ring.Read(out, m);
  probe_ring.ReadLatest(out, m);
}
extern "C" void probe_features(const int8_t* row, int8_t* dst, const int8_t* lut) {
  probe_window.Push(row);
  probe_window.CopyLatest(dst, kKwFrames);
  probe_window.CopyLatestMapped(dst, kAcFrames, lut);
}
extern "C" void probe_pooling(const int8_t* emb, const Requantizer* r, int8_t* out) {
  probe_pool.Push(emb);
  probe_pool.Pool(*r, out);
}
extern "C" void probe_speaker_norm(const SpeakerPrior* prior, const int32_t* centred, int8_t* ac, int8_t* kw) {
  probe_speaker.Configure(*prior, 0.1, 0.01, 0.05, 0, 0.05, 0);
  probe_speaker.Apply(centred, ac, kw);
}
extern "C" size_t probe_smoothing(const float* p, float* out) { return probe_smoother.Update(p, out).index; }
