#ifndef TODO_LIBFUZZER_H
#define TODO_LIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's driver, for programs that have a main of their own (compiler-rt's
   FuzzerInterface.h): -sanitize=fuzzer links it; nothing else is linked here. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
