#include "gc_hooks.h"

#include <stdlib.h>
#include <string.h>

#include "gc_backward.h"

int gc_hooks_init(gc_ctx *c, network *net, gc_err *e)
{
    memset(c, 0, sizeof *c);
    if (!net || net->n <= 0) return gc_fail(e, "network has no layers");
    if (net->batch != 1)
        return gc_fail(e, "network batch is %d; gradcam needs batch 1 (set_batch_network)", net->batch);
    c->net = net;
    c->n = net->n;
    c->saved_train = net->train;
    c->path_target = c->path_score = -1;
    c->saved = calloc((size_t)c->n, sizeof *c->saved);
    c->on_path = calloc((size_t)c->n, 1);
    c->reach = calloc((size_t)c->n, 1);
    if (!c->saved || !c->on_path || !c->reach) {
        gc_hooks_free(c);
        return gc_fail(e, "out of memory for %d layers", net->n);
    }
    if (gc_forward_init(&c->fwd, net, e)) {
        gc_hooks_free(c);
        return -1;
    }
    return 0;
}

void gc_hooks_free(gc_ctx *c)
{
    if (c->installed) gc_hooks_remove(c);
    if (c->net) c->net->train = c->saved_train;
    gc_forward_free(&c->fwd);
    free(c->saved);
    free(c->on_path);
    free(c->reach);
    memset(c, 0, sizeof *c);
}

void gc_hooks_install(gc_ctx *c)
{
    assert(c->net && !c->installed);
    for (int i = 0; i < c->n; ++i) {
        c->saved[i] = c->net->layers[i].backward;
        c->net->layers[i].backward = gc_backward_layer;
    }
    gc_forward_install(&c->fwd);
    c->installed = 1;
}

void gc_hooks_remove(gc_ctx *c)
{
    assert(c->installed);
    for (int i = 0; i < c->n; ++i) c->net->layers[i].backward = c->saved[i];
    gc_forward_remove(&c->fwd);
    c->installed = 0;
}

void gc_hooks_weights_changed(gc_ctx *c)
{
    if (c->installed) gc_forward_refold(&c->fwd);
}

float *gc_hooks_forward(gc_ctx *c, const float *input)
{
    /* network_predict()'s inference forward (train = 0, no truth, no delta,
     * *net left as it was), as `darknet classifier predict` and `darknet
     * detect` run it; the installed slots do the hot layers. Its loop
     * (forward_network) also zeroes every layer's delta first, for training:
     * 26 MB of stores on yolov3-tiny at 416. Skipped here: gc_hooks_backprop
     * zeroes the deltas it uses (the target's and the path's) itself. */
    network *net = c->net;
    gc_pool *pool = gc_forward_pool(net->layers);
    gc_pool_pass_begin(pool);
    network sub = *net;
    sub.input = (float *)input;
    sub.truth = 0;
    sub.train = 0;
    sub.delta = 0;
    for (int i = 0; i < net->n; ++i) {
        layer l = net->layers[i];
        sub.index = i;
        l.forward(l, sub);
        sub.input = l.output;
        if (l.truth) sub.truth = l.output;
    }
    gc_forward_blas_settle();
    gc_pool_pass_end(pool);
    return net->output;
}

int gc_hooks_path(gc_ctx *c, int target, int score, gc_err *e)
{
    network *net = c->net;
    if (target < GC_INPUT || target >= c->n) return gc_fail(e, "layer %d is out of range 0..%d", target, c->n - 1);
    if (score <= target || score >= c->n)
        return gc_fail(e, "score layer %d must come after layer %d", score, target);
    if (c->path_target == target && c->path_score == score) return 0;

    /* reach[i]: layer i's output depends on the target's output. Detector
     * boxes alternate between heads, so this runs per target: no allocation. */
    unsigned char *reach = c->reach;
    memset(reach, 0, (size_t)c->n);
    if (target >= 0) reach[target] = 1;
    else reach[0] = 1; /* layer 0 reads the network input */
    for (int i = target + 1; i <= score; ++i) {
        if (i == 0) continue;
        int k = gc_darknet_layer_inputs(net, i, NULL, 0), in[k > 0 ? k : 1]; /* a route has any number */
        gc_darknet_layer_inputs(net, i, in, k);
        for (int j = 0; j < k; ++j)
            if (in[j] >= 0 && in[j] < c->n && reach[in[j]]) reach[i] = 1;
    }
    if (!reach[score]) {
        return gc_fail(e, "layer %d does not depend on layer %d: no gradient can flow", score, target);
    }
    /* on_path[i]: reachable from the target and the score depends on it. */
    memset(c->on_path, 0, (size_t)c->n);
    c->on_path[score] = 1;
    for (int i = score; i > target; --i) {
        if (!c->on_path[i]) continue;
        int k = gc_darknet_layer_inputs(net, i, NULL, 0), in[k > 0 ? k : 1];
        gc_darknet_layer_inputs(net, i, in, k);
        for (int j = 0; j < k; ++j)
            if (in[j] > target && reach[in[j]]) c->on_path[in[j]] = 1;
    }
    for (int i = target + 1; i <= score; ++i) {
        if (!c->on_path[i]) continue;
        if (!gc_backward_supported(net, i, e)) {
            memset(c->on_path, 0, (size_t)c->n);
            return -1;
        }
        if (!net->layers[i].delta) {
            memset(c->on_path, 0, (size_t)c->n);
            return gc_fail(e, "layer %d (%s) has no gradient buffer", i,
                           gc_darknet_type_name(net->layers[i].type));
        }
    }
    if (target == GC_INPUT && net->layers[0].type == DROPOUT)
        return gc_fail(e, "layer 0 is a dropout layer: it has no input buffer of its own");
    if (target >= 0 && !net->layers[target].delta)
        return gc_fail(e, "layer %d (%s) has no gradient buffer", target,
                       gc_darknet_type_name(net->layers[target].type));
    c->path_target = target;
    c->path_score = score;
    return 0;
}

/* The backward pass of gc_hooks_backprop and gc_hooks_backprop_input: target GC_INPUT
 * sends layer 0's gradient into dx (with `input` as layer 0's input). */
static int backprop(gc_ctx *c, int score, const float *seed, size_t seed_index, float seed_value, int target,
                    const float *input, int guided, float *dx, const int *stops, int nstops, gc_hooks_stop_fn fn,
                    void *arg, gc_err *e)
{
    network *net = c->net;
    assert(c->installed);
    if (gc_hooks_path(c, target, score, e)) return -1;

    layer *L = net->layers;
    if (target >= 0) memset(L[target].delta, 0, (size_t)L[target].outputs * sizeof(float));
    else memset(dx, 0, (size_t)net->inputs * sizeof(float));
    for (int i = target + 1; i <= score; ++i)
        if (c->on_path[i]) memset(L[i].delta, 0, (size_t)L[i].outputs * sizeof(float));

    if (seed) {
        memcpy(L[score].delta, seed, (size_t)L[score].outputs * sizeof(float));
    } else {
        if (seed_index >= (size_t)L[score].outputs)
            return gc_fail(e, "score index %zu is out of range for layer %d (%d outputs)", seed_index,
                           score, L[score].outputs);
        L[score].delta[seed_index] = seed_value;
    }

    /* Same hand-over as Darknet's backward_network(): each slot sees the
     * previous layer's output as net.input and its delta as net.delta. Off-path
     * predecessors get no gradient (net.delta = NULL), so no work is spent on
     * a branch that does not lead to the target. */
    int next_stop = 0;
    for (int i = score; i > target; --i) {
        if (!c->on_path[i]) continue;
        if (next_stop < nstops && stops[next_stop] == i) {
            /* every consumer of i on the path has run: L[i].delta is complete */
            if (fn(arg, i, e)) return -1;
            ++next_stop;
        }
        network sub = *net;
        sub.index = i;
        if (i == 0) {
            sub.input = (float *)input;
            sub.delta = dx;
        } else {
            sub.input = L[i - 1].output;
            sub.delta = (i - 1 == target || c->on_path[i - 1]) ? L[i - 1].delta : NULL;
        }
        if (guided) gc_backward_layer_guided(L[i], sub);
        else L[i].backward(L[i], sub);
    }
    return 0;
}

int gc_hooks_backprop(gc_ctx *c, int score, const float *seed, size_t seed_index, float seed_value,
                int target, gc_err *e)
{
    assert(target >= 0);
    return backprop(c, score, seed, seed_index, seed_value, target, NULL, 0, NULL, NULL, 0, NULL, NULL, e);
}

int gc_hooks_backprop_stops(gc_ctx *c, int score, const float *seed, int target, const int *stops, int nstops,
                            gc_hooks_stop_fn fn, void *arg, gc_err *e)
{
    assert(target >= 0 && seed && (nstops == 0 || (stops && fn)));
    if (gc_hooks_path(c, target, score, e)) return -1;
    for (int k = 0; k < nstops; ++k)
        if (stops[k] <= target || stops[k] >= score || !c->on_path[stops[k]] || (k && stops[k] >= stops[k - 1]))
            return gc_fail(e, "layer %d is not a stop of the backward pass from %d to %d", stops[k], score, target);
    return backprop(c, score, seed, 0, 0, target, NULL, 0, NULL, stops, nstops, fn, arg, e);
}

int gc_hooks_on_path(gc_ctx *c, int score, int target, int layer, gc_err *e)
{
    if (gc_hooks_path(c, target, score, e)) return -1;
    return layer > target && layer < score && c->on_path[layer];
}

int gc_hooks_backprop_input(gc_ctx *c, int score, const float *seed, const float *input, int guided, float *dx,
                      gc_err *e)
{
    assert(seed && input && dx);
    return backprop(c, score, seed, 0, 0, GC_INPUT, input, guided, dx, NULL, 0, NULL, NULL, e);
}

void gc_hooks_forward_range(gc_ctx *c, int first, int last)
{
    network *net = c->net;
    assert(first >= 1 && last < net->n);
    network sub = *net;
    sub.train = 0;
    sub.truth = 0;
    sub.delta = 0;
    for (int i = first; i <= last; ++i) {
        sub.index = i;
        sub.input = net->layers[i - 1].output;
        net->layers[i].forward(net->layers[i], sub);
    }
}
