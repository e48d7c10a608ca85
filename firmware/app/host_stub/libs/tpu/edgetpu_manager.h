// Host stub (syntax check only): coralmicro libs/tpu/edgetpu_manager.h.
#pragma once
#include <memory>
namespace coralmicro {
class EdgeTpuContext;
enum class PerformanceMode { kLow, kMedium, kHigh, kMax };  // libs/tpu/edgetpu_driver.h
class EdgeTpuManager {
 public:
  static EdgeTpuManager* GetSingleton();
  std::shared_ptr<EdgeTpuContext> OpenDevice(PerformanceMode mode = PerformanceMode::kHigh);
};
}  // namespace coralmicro
