#include "gc_fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *gc_fuzz_file(const char *tag, const uint8_t *data, size_t size)
{
    static char path[8][512];
    static int k;
    k = (k + 1) % 8;
    const char *tmp = getenv("TMPDIR");
    snprintf(path[k], sizeof path[k], "%s/gc-fuzz-%d-%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), tag);
    FILE *f = fopen(path[k], "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return path[k];
}
