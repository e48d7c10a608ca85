// Host stub (syntax check only): coralmicro libs/tpu/edgetpu_manager.h.
#pragma once
#include <memory>
namespace coralmicro {
class EdgeTpuContext;
class EdgeTpuManager {
 public:
  static EdgeTpuManager* GetSingleton();
  std::shared_ptr<EdgeTpuContext> OpenDevice();
};
}  // namespace coralmicro
