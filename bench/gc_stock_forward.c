/* gc_stock_forward: one inference forward pass with whatever libdarknet.a it
 * is linked against (the Makefile links it with STOCK Darknet, built from the
 * unpatched source) and a dump of every layer's output, for the equality test
 * in tests/check_bench_equiv.c.
 *
 *   gc_stock_forward CFG WEIGHTS INPUT OUT
 *
 * INPUT: net->inputs raw float32 values (native byte order). OUT: "GCFD",
 * int32 layer count, then per layer int32 type, int32 outputs and that many
 * float32 values (layers[i].output after network_predict). Only Darknet's own
 * API is used, so the program builds against either library. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "darknet.h"

static int fail(const char *msg, const char *arg)
{
    fprintf(stderr, "gc_stock_forward: %s %s\n", msg, arg);
    return 1;
}

static int readable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: gc_stock_forward CFG WEIGHTS INPUT OUT\n");
        return 2;
    }
    const char *cfg = argv[1], *weights = argv[2], *input = argv[3], *out = argv[4];
    /* Darknet exits with status 0 on a missing file: check first. */
    if (!readable(cfg)) return fail("cannot read cfg", cfg);
    if (!readable(weights)) return fail("cannot read weights", weights);
    network *net = parse_network_cfg((char *)cfg);
    /* make_deconvolutional_layer leaves groups at 0 and
     * load_convolutional_weights divides by it (SIGFPE): one group is what
     * the deconvolution computes. */
    for (int i = 0; i < net->n; ++i)
        if (net->layers[i].type == DECONVOLUTIONAL && net->layers[i].groups == 0) net->layers[i].groups = 1;
    load_weights(net, (char *)weights);
    set_batch_network(net, 1);

    size_t n = (size_t)net->inputs;
    float *x = malloc(n * sizeof *x);
    if (!x) return fail("out of memory for input", input);
    FILE *f = fopen(input, "rb");
    if (!f) return fail("cannot open input", input);
    size_t got = fread(x, sizeof *x, n, f);
    fclose(f);
    if (got != n) return fail("input has fewer floats than the network's inputs:", input);

    network_predict(net, x);

    f = fopen(out, "wb");
    if (!f) return fail("cannot write", out);
    int32_t hdr[2];
    int ok = fwrite("GCFD", 1, 4, f) == 4;
    hdr[0] = net->n;
    ok = ok && fwrite(hdr, sizeof hdr[0], 1, f) == 1;
    for (int i = 0; i < net->n && ok; ++i) {
        const layer *l = &net->layers[i];
        hdr[0] = (int32_t)l->type;
        hdr[1] = l->output ? l->outputs : 0;
        ok = fwrite(hdr, sizeof hdr[0], 2, f) == 2;
        if (ok && hdr[1]) ok = fwrite(l->output, sizeof(float), (size_t)hdr[1], f) == (size_t)hdr[1];
    }
    if (fclose(f) != 0) ok = 0;
    if (!ok) return fail("write error on", out);
    free(x);
    free_network(net);
    return 0;
}
