#ifndef CLIBFUZZER_H
#define CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry for a program with a main of its own (llvm.org/docs/LibFuzzer.html,
// "Using libFuzzer as a library"); the runtime that -sanitize=fuzzer links defines it.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
