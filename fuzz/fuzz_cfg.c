/* The cfg validator, then Darknet itself: whatever gc_cfgcheck_text()
 * accepts, parse_network_cfg() must parse and one forward pass must run,
 * in-process, without a crash or an exit. A crash here is a hole in the
 * validator (or in the trial parse behind it). */
#include <stdlib.h>
#include <string.h>

#include "darknet.h"
#include "gc_cfgcheck.h"
#include "gc_fuzz.h"
#include "gc_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

/* free_network(), and what it leaves: without the rest the harness grew by
 * the workspace per input and reached -rss_limit_mb within a minute */
static void free_all(network *net)
{
    free(net->workspace);
    free(net->seen);
    free(net->t);
    free(net->cost);
    free_network(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_err e;
    gc_cfg_info info;
    /* small networks only: the harness should spend its time on shapes. 64 MiB
     * still holds a convolution of 1e11 FLOP (minutes under the sanitizers;
     * CI's fuzz run once timed out on one), so the work is capped too. */
    if (gc_cfgcheck_text("fuzz.cfg", (const char *)data, size, (size_t)64 << 20, &info, &e)) return 0;
    if (info.flops > 2e8) return 0;
    const char *path = gc_fuzz_file("cfg", data, size);
    network *net = parse_network_cfg((char *)path);
    /* what gc_model_load() refuses before it sets batch 1 */
    if (gc_model_batch1_check(net, "fuzz.cfg", &e)) {
        free_all(net);
        return 0;
    }
    set_batch_network(net, 1);
    float *x = calloc((size_t)net->inputs, sizeof *x);
    if (!x) abort();
    for (int i = 0; i < net->inputs; ++i) x[i] = (float)(i % 7) / 7.0f;
    network_predict(net, x);
    free(x);
    free_all(net);
    return 0;
}
