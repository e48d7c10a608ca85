// EXAMPLE of the generated labels.h: the emotion classes in the order of the
// fusion head's output (index i of the logits is EDGESER_EMOTION_LABELS[i]).
// Labels are plain ASCII; the firmware JSON-escapes them anyway.
// Optional: EDGESER_EMOTION_LED_CODES {c0, c1, ...} (one 0..3 code per class,
// bit 0 = green user LED, bit 1 = orange status LED); default: index % 4.
#ifndef EDGESER_GENERATED_LABELS_H_
#define EDGESER_GENERATED_LABELS_H_

#define EDGESER_NUM_EMOTIONS 4
#define EDGESER_EMOTION_LABELS {"neutral", "happy", "sad", "angry"}

#endif  // EDGESER_GENERATED_LABELS_H_
