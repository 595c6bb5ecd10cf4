/* Runs one fuzz harness over the files named on its command line, without
 * libFuzzer: `make test` builds every harness with this driver and the
 * project's own compiler and warnings, and replays each harness's seeds, so a
 * harness that no longer compiles against src/, or a seed that now crashes,
 * fails the tests instead of a later `make fuzz`. Every file is read before
 * LLVMFuzzerInitialize (the cli harness changes its working folder there).
 * Exit status: 0 when every input ran and returned 0, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>

#include "gc_fuzz.h"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *n = len;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s input...\n", argv[0]);
        return 2;
    }
    int n = argc - 1;
    unsigned char **data = calloc((size_t)n, sizeof *data);
    size_t *size = calloc((size_t)n, sizeof *size);
    if (!data || !size) return 1;
    for (int i = 0; i < n; ++i) {
        data[i] = slurp(argv[i + 1], &size[i]);
        if (!data[i]) {
            fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i + 1]);
            return 1;
        }
    }
    LLVMFuzzerInitialize(&argc, &argv);
    int failed = 0;
    for (int i = 0; i < n; ++i) {
        if (LLVMFuzzerTestOneInput(data[i], size[i]) != 0) {
            fprintf(stderr, "replay: input %d returned non-zero\n", i + 1);
            failed = 1;
        }
        free(data[i]);
    }
    free(data);
    free(size);
    return failed;
}
