/* Shared by the libFuzzer harnesses (make fuzz): each writes its input to a
 * per-process temporary file, because the readers under test take paths. */
#ifndef GC_FUZZ_H
#define GC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Writes data to $TMPDIR/gc-fuzz-<pid>-<tag> and returns that path (static). */
const char *gc_fuzz_file(const char *tag, const uint8_t *data, size_t size);

#endif
