// EXAMPLE of the generated model_io.h: tensor shapes and int8 quantisation of
// the three models, read from the quantised .tflite files by the exporter.
// Scales are float literals, zero points and sizes integers.
//
// Features: an int8 feature q (frontend_config.h mapping) stands for the real
// value (q - EDGESER_FEATURE_ZERO_POINT) * EDGESER_FEATURE_SCALE -- the units the
// models were trained on. When a model's input scale/zero point differ from
// these, the firmware requantises through a 256-entry table; when equal, it
// copies.
//
// Model inputs are [T, C] row-major int8 (any of [1,T,C], [1,T,C,1],
// [1,T,1,C], [1,1,T,C]: the bytes are the same); the firmware checks the
// tensor's byte size against T * C at start-up.
//
// Keyword windows: the keyword model sees KEYWORD_INPUT_FRAMES frames every
// KEYWORD_HOP_FRAMES frames; KEYWORD_NUM_WINDOWS of its embeddings, which tile
// the acoustic window, are mean-pooled. Required:
//   (ACOUSTIC_INPUT_FRAMES - KEYWORD_INPUT_FRAMES) % KEYWORD_HOP_FRAMES == 0
//   KEYWORD_NUM_WINDOWS == (ACOUSTIC_INPUT_FRAMES - KEYWORD_INPUT_FRAMES) / KEYWORD_HOP_FRAMES + 1
//   DECISION_HOP_FRAMES % KEYWORD_HOP_FRAMES == 0
// (3 s clips, 1 s keyword windows, 0.5 s hop at 20 ms stride below.)
//
// Fusion head: EDGESER_FUSION_NUM_INPUTS == 2 -> input 0 is the acoustic
// embedding, input 1 the pooled keyword embedding; == 1 -> one input holding
// [acoustic | keyword] concatenated (then both parts share one scale/zero point).
// Its output is EDGESER_NUM_EMOTIONS logits (labels.h order).
#ifndef EDGESER_GENERATED_MODEL_IO_H_
#define EDGESER_GENERATED_MODEL_IO_H_

#define EDGESER_FEATURE_SCALE 1.0f
#define EDGESER_FEATURE_ZERO_POINT 0

#define EDGESER_KEYWORD_INPUT_FRAMES 49
#define EDGESER_KEYWORD_INPUT_CHANNELS 40
#define EDGESER_KEYWORD_INPUT_SCALE 1.0f
#define EDGESER_KEYWORD_INPUT_ZERO_POINT 0
#define EDGESER_KEYWORD_OUTPUT_SIZE 64
#define EDGESER_KEYWORD_OUTPUT_SCALE 0.0235f
#define EDGESER_KEYWORD_OUTPUT_ZERO_POINT (-128)
#define EDGESER_KEYWORD_HOP_FRAMES 25
#define EDGESER_KEYWORD_NUM_WINDOWS 5

#define EDGESER_ACOUSTIC_INPUT_FRAMES 149
#define EDGESER_ACOUSTIC_INPUT_CHANNELS 40
#define EDGESER_ACOUSTIC_INPUT_SCALE 0.5f
#define EDGESER_ACOUSTIC_INPUT_ZERO_POINT (-1)
#define EDGESER_ACOUSTIC_OUTPUT_SIZE 64
#define EDGESER_ACOUSTIC_OUTPUT_SCALE 0.0417f
#define EDGESER_ACOUSTIC_OUTPUT_ZERO_POINT 3

#define EDGESER_FUSION_NUM_INPUTS 2
#define EDGESER_FUSION_ACOUSTIC_SIZE 64
#define EDGESER_FUSION_ACOUSTIC_SCALE 0.0417f
#define EDGESER_FUSION_ACOUSTIC_ZERO_POINT 3
#define EDGESER_FUSION_KEYWORD_SIZE 64
#define EDGESER_FUSION_KEYWORD_SCALE 0.0190f
#define EDGESER_FUSION_KEYWORD_ZERO_POINT (-120)
#define EDGESER_FUSION_OUTPUT_SIZE 4
#define EDGESER_FUSION_OUTPUT_SCALE 0.1152f
#define EDGESER_FUSION_OUTPUT_ZERO_POINT 12

// A decision every DECISION_HOP_FRAMES frames once the acoustic window is full.
#define EDGESER_DECISION_HOP_FRAMES 25

#endif  // EDGESER_GENERATED_MODEL_IO_H_
