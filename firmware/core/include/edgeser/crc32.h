// edgeser firmware core: CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320,
// init/xorout 0xFFFFFFFF) -- identical to Python's zlib.crc32, which the model
// exporter uses for edgeser_<name>_model_crc32. Checked once at start-up.
#ifndef EDGESER_CORE_CRC32_H_
#define EDGESER_CORE_CRC32_H_

#include <cstddef>
#include <cstdint>

namespace edgeser {

uint32_t Crc32(const uint8_t* data, size_t n, uint32_t crc = 0);

}  // namespace edgeser

#endif  // EDGESER_CORE_CRC32_H_
