// Compiles config_check.h against the headers in EDGESER_GENERATED_DIR (the
// shipped examples by default): the static_asserts run at build time, and the
// tests below check what the app derives from them.
#include "edgeser/config_check.h"

#include <cstring>

#include "mini_test.h"

using namespace edgeser::config;

TEST(generated_headers_consistent) {
  CHECK(kSchedule.Aligned());
  CHECK_EQ(kNumEmotions, static_cast<int>(sizeof(kLabels) / sizeof(kLabels[0])));
  CHECK(kArenaBytes == kArenaKeyword + kArenaAcoustic + kArenaFusion);
  CHECK(std::strcmp(kArenaPlacement, "ocram") == 0 || std::strcmp(kArenaPlacement, "sdram") == 0);
  for (int i = 0; i < kNumEmotions; ++i) CHECK(LedCode(i) >= 0 && LedCode(i) <= 3);
}
