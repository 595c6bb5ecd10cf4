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

/* free_layer(), and the Adam and loss buffers it leaves */
static void free_layer_all(layer l)
{
    free(l.bias_m), free(l.bias_v), free(l.scale_m), free(l.scale_v), free(l.loss);
    free_layer(l);
}

static void free_sub(layer *sub)
{
    if (!sub) return;
    free_layer_all(*sub);
    free(sub);
}

/* free_network(), and what it leaves (the workspace, a recurrent layer's
 * sub-layers): without the rest the harness grew by them per input and
 * reached -rss_limit_mb within a minute or two */
static void free_all(network *net)
{
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->type == RNN || l->type == CRNN) {
            /* their output and delta are the output sub-layer's */
            l->output = l->delta = NULL;
            free_sub(l->input_layer), free_sub(l->self_layer), free_sub(l->output_layer);
        } else if (l->type == GRU) {
            free_sub(l->uz), free_sub(l->wz), free_sub(l->ur), free_sub(l->wr), free_sub(l->uh), free_sub(l->wh);
        } else if (l->type == LSTM) {
            free_sub(l->uf), free_sub(l->ui), free_sub(l->ug), free_sub(l->uo);
            free_sub(l->wf), free_sub(l->wi), free_sub(l->wg), free_sub(l->wo);
        }
    }
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        free(l->bias_m), free(l->bias_v), free(l->scale_m), free(l->scale_v), free(l->loss);
    }
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
     * CI's fuzz run once hit the 20 s timeout), so the work is capped too. */
    if (gc_cfgcheck_text("fuzz.cfg", (const char *)data, size, (size_t)64 << 20, &info, &e)) return 0;
    if (info.flops > 2e8) return 0;
    const char *path = gc_fuzz_file("cfg", data, size);
    /* parsed for one image, as gc_model_load() does (patch 0006): the
     * validator sized its checks for that batch, not the cfg's */
    parse_batch = 1;
    network *net = parse_network_cfg((char *)path);
    parse_batch = 0;
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
