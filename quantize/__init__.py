"""edgeser.quantize: from a trained Keras model to what ships on the Edge TPU board.

Modules (each one job; import what you need, nothing heavy is imported here):

- ``convert``        full-int8 post-training quantisation; FrontendConfig + labels in .tflite metadata
- ``compare``        float Keras vs int8 .tflite on the same data (WA, UA, macro-F1, agreement)
- ``edgetpu_check``  static prediction of what Coral's edgetpu_compiler maps, op by op, and the split
- ``compiler``       driver and log parser for Coral's edgetpu_compiler (co-compilation)
- ``memory``         flash + measured TFLite-Micro arena + frontend working memory vs the budget
- ``c_export``       the .tflite as an aligned C array with CRC-32, and an I/O quantisation header
- ``cli``            ``edgeser check`` / ``edgeser memory`` / ``edgeser compile``
"""
