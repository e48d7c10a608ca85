// Host stub (syntax check only): tflite::MicroMutableOpResolver.
#pragma once
#include "micro_interpreter.h"
namespace tflite {
// kernels/*.h: the registrations the Add* defaults use (the SDK builds CMSIS-NN ones).
TfLiteRegistration Register_ADD();
TfLiteRegistration Register_CONV_2D();
TfLiteRegistration Register_DEPTHWISE_CONV_2D();
TfLiteRegistration Register_FULLY_CONNECTED();
TfLiteRegistration Register_SOFTMAX();
template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {
 public:
  TfLiteStatus AddCustom(const char* name, TfLiteRegistration* registration);
  TfLiteStatus AddFullyConnected(const TfLiteRegistration& registration = Register_FULLY_CONNECTED());
  TfLiteStatus AddConv2D(const TfLiteRegistration& registration = Register_CONV_2D());
  TfLiteStatus AddDepthwiseConv2D(const TfLiteRegistration& registration = Register_DEPTHWISE_CONV_2D());
  TfLiteStatus AddAveragePool2D();
  TfLiteStatus AddMaxPool2D();
  TfLiteStatus AddMean();
  TfLiteStatus AddReshape();
  TfLiteStatus AddSoftmax(const TfLiteRegistration& registration = Register_SOFTMAX());
  TfLiteStatus AddLogistic();
  TfLiteStatus AddAdd(const TfLiteRegistration& registration = Register_ADD());
  TfLiteStatus AddMul();
  TfLiteStatus AddConcatenation();
  TfLiteStatus AddQuantize();
  TfLiteStatus AddDequantize();
  TfLiteStatus AddPad();
};
}  // namespace tflite
