// edgeser firmware core: when to run the keyword model and when to decide.
//
// f = frames pushed into the feature window so far (1-based frame clock).
//   keyword model  : f >= kw_frames and (f - kw_frames) % kw_hop == 0
//                    (runs on the latest kw_frames frames; its embedding enters
//                    the pool)
//   decision       : f >= acoustic_frames and (f - acoustic_frames) % decision_hop == 0
//                    (acoustic model on the latest acoustic_frames frames,
//                    pooled keyword embeddings, fusion head)
// With (acoustic_frames - kw_frames) % kw_hop == 0 and decision_hop % kw_hop == 0
// (checked by Aligned()), the kw_windows pooled at a decision are exactly the
// keyword windows that tile the acoustic window, ending at its last frame -- the
// same windows the Python pipeline cuts from a clip.
#ifndef EDGESER_CORE_SCHEDULE_H_
#define EDGESER_CORE_SCHEDULE_H_

#include <cstdint>

namespace edgeser {

struct Schedule {
  uint32_t kw_frames;
  uint32_t kw_hop;
  uint32_t kw_windows;
  uint32_t acoustic_frames;
  uint32_t decision_hop;

  constexpr bool Aligned() const {
    return kw_hop > 0 && decision_hop > 0 && kw_frames <= acoustic_frames &&
           (acoustic_frames - kw_frames) % kw_hop == 0 && decision_hop % kw_hop == 0 &&
           kw_windows == (acoustic_frames - kw_frames) / kw_hop + 1;
  }
  bool KeywordDue(uint64_t f) const { return f >= kw_frames && (f - kw_frames) % kw_hop == 0; }
  bool DecisionDue(uint64_t f) const {
    return f >= acoustic_frames && (f - acoustic_frames) % decision_hop == 0;
  }
};

}  // namespace edgeser

#endif  // EDGESER_CORE_SCHEDULE_H_
