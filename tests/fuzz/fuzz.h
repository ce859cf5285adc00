/* fuzz.h — shared by the libFuzzer targets in tests/fuzz/. */
#ifndef TNS_FUZZ_H
#define TNS_FUZZ_H
#include <stddef.h>
#include <stdint.h>

/* While on, fopen fails for every path (no_files.c). */
void fuzz_deny_files(int on);
/* A file descriptor path (/proc/self/fd/N) holding data[0..n): a memfd,
 * reused between inputs, so the readers under test get a real path. */
const char *fuzz_memfile(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

#endif
