// The linked model arrays (model_<name>.cc or edgeser_<name>_model.cc, as
// edgeser.quantize.c_export writes them): bytes, length in bytes, CRC-32 of the
// bytes. Declared here rather than through the generated headers so either file
// naming works; global-namespace variables have the same symbol with C or C++
// linkage. Used by app/main.cc (when models are linked, not read from LFS) and by
// core/tests/test_models.cc.
#ifndef EDGESER_MODEL_ARRAYS_H_
#define EDGESER_MODEL_ARRAYS_H_

#define EDGESER_DECLARE_MODEL_ARRAY(name)          \
  extern const unsigned char edgeser_##name##_model[]; \
  extern const unsigned int edgeser_##name##_model_len;  \
  extern const unsigned int edgeser_##name##_model_crc32;

EDGESER_DECLARE_MODEL_ARRAY(keyword)
EDGESER_DECLARE_MODEL_ARRAY(acoustic)
EDGESER_DECLARE_MODEL_ARRAY(fusion)

#undef EDGESER_DECLARE_MODEL_ARRAY

#endif  // EDGESER_MODEL_ARRAYS_H_
