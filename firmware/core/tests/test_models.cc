// Links the generated model arrays (model_<name>.cc from EDGESER_GENERATED_DIR)
// exactly as app/main.cc declares them, and checks length, alignment and CRC-32
// -- the checks the board does at start-up.
#include <cstdint>
#include <cstring>

#include "edgeser/crc32.h"
#include "edgeser/model_arrays.h"
#include "mini_test.h"

namespace {
void CheckModel(const unsigned char* data, unsigned int len, unsigned int crc) {
  CHECK(len > 0);
  CHECK(reinterpret_cast<uintptr_t>(data) % 16 == 0);
  CHECK_EQ(edgeser::Crc32(data, len), crc);
}
}  // namespace

TEST(generated_model_arrays_link_and_match_crc) {
  CheckModel(edgeser_keyword_model, edgeser_keyword_model_len, edgeser_keyword_model_crc32);
  CheckModel(edgeser_acoustic_model, edgeser_acoustic_model_len, edgeser_acoustic_model_crc32);
  CheckModel(edgeser_fusion_model, edgeser_fusion_model_len, edgeser_fusion_model_crc32);
}
