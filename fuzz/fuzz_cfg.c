/* The cfg validator, then Darknet itself: whatever gc_cfgcheck_text()
 * accepts, parse_network_cfg() must parse and one forward pass must run,
 * in-process, without a crash or an exit. A crash here is a hole in the
 * validator (or in the trial parse behind it). */
#include <stdlib.h>
#include <string.h>

#include "darknet.h"
#include "gc_cfgcheck.h"
#include "gc_fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_err e;
    /* small networks only: the harness should spend its time on shapes */
    if (gc_cfgcheck_text("fuzz.cfg", (const char *)data, size, (size_t)64 << 20, NULL, &e)) return 0;
    const char *path = gc_fuzz_file("cfg", data, size);
    network *net = parse_network_cfg((char *)path);
    set_batch_network(net, 1);
    float *x = calloc((size_t)net->inputs, sizeof *x);
    if (!x) abort();
    for (int i = 0; i < net->inputs; ++i) x[i] = (float)(i % 7) / 7.0f;
    network_predict(net, x);
    free(x);
    free_network(net);
    return 0;
}
