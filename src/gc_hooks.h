/* gc_hooks: the slots and the driver. It installs gc_backward_layer() into every layer's
 * `backward` slot and gc_forward's kernels into the hot layers' `forward`
 * slots (restoring the originals on removal), runs one forward pass,
 * and drives the backward pass from an injected seed at the score layer down
 * to the chosen layer, visiting only layers on a path between the two. */
#ifndef GC_HOOKS_H
#define GC_HOOKS_H

#include "darknet.h"
#include "gc_common.h"
#include "gc_darknet.h"
#include "gc_forward.h"

typedef void (*gc_backward_fn)(struct layer, struct network);

typedef struct gc_ctx {
    network *net;
    int n;                     /* number of layers */
    gc_backward_fn *saved;     /* original backward slots, while installed */
    int installed;
    int saved_train;           /* net->train before gc_hooks_init */
    unsigned char *on_path;    /* 1 for layers in (target, score] on a path */
    unsigned char *reach;      /* gc_hooks_path's scratch, sized once: no allocation per target */
    int path_target, path_score;
    gc_fwd fwd;                /* the plugin's forward (folded batch norm, threads) */
} gc_ctx;

/* Prepares c for net (which must have batch 1: call set_batch_network first).
 * Checks that no layer needs a GPU. Does not install the hooks. */
int gc_hooks_init(gc_ctx *c, network *net, gc_err *e);
/* Removes the hooks if installed, restores net->train, frees c's buffers. */
void gc_hooks_free(gc_ctx *c);

void gc_hooks_install(gc_ctx *c);
void gc_hooks_remove(gc_ctx *c);
/* Tells the installed hooks that the network's parameters changed (e.g. a
 * randomisation test): the forward's folded copies are made again. */
void gc_hooks_weights_changed(gc_ctx *c);

/* One inference forward pass (net->train = 0), network_predict()'s without
 * its zeroing of every layer's delta: with the hooks installed, the hot
 * layers run gc_forward's kernels. Returns net->output. */
float *gc_hooks_forward(gc_ctx *c, const float *input);

/* Re-runs layers first..last of the forward pass at inference (as
 * forward_network does, each reading the previous layer's output), after a
 * caller changed layer first-1's output. The layers below first keep theirs. */
void gc_hooks_forward_range(gc_ctx *c, int first, int last);

/* Marks the layers on a path from `target` (exclusive) up to `score`
 * (inclusive), checking that every one of them is differentiable. Error if
 * score does not depend on target. target GC_INPUT (-1) is the network
 * input, which layer 0 reads. Cached: a repeated call is free. */
#define GC_INPUT (-1)
int gc_hooks_path(gc_ctx *c, int target, int score, gc_err *e);

/* Backward pass for one seed: zeroes the deltas of the target and the path
 * layers, sets layers[score].delta = seed (a full vector of l.outputs, or a
 * one-hot of value seed_value at seed_index when seed is NULL), runs the
 * installed slots from score down to target+1 (path layers only). Afterwards
 * layers[target].delta holds d(seed . output_score) / d(output_target).
 * The hooks must be installed and a forward run first. */
int gc_hooks_backprop(gc_ctx *c, int score, const float *seed, size_t seed_index, float seed_value,
                int target, gc_err *e);

/* One pass that explains several layers: a backward pass from score to
 * target (seed: a full vector) that calls fn(arg, stop, e) for each layer of
 * stops[] (descending, strictly between target and score, each on the path:
 * gc_hooks_on_path) just before that layer's slot runs. At that moment
 * layers[stop].delta holds exactly what gc_hooks_backprop to that stop would
 * leave there, bit for bit: the layers that write into it are its consumers
 * on the path, the same set in both passes (a consumer of a layer that
 * reaches the target reaches it too), run in the same order. fn returning
 * non-zero (with e set) ends the pass. A stop off the path is an error. */
typedef int (*gc_hooks_stop_fn)(void *arg, int layer, gc_err *e);
int gc_hooks_backprop_stops(gc_ctx *c, int score, const float *seed, int target, const int *stops, int nstops,
                            gc_hooks_stop_fn fn, void *arg, gc_err *e);

/* 1 if layer lies on the backward path from score to target (it depends on
 * the target and the score depends on it), 0 if not, -1 with e set when
 * there is no such path. */
int gc_hooks_on_path(gc_ctx *c, int score, int target, int layer, gc_err *e);

/* The same pass continued to the network input: dx[net->inputs] (the
 * caller's buffer, overwritten) receives d(seed . output_score) / d(input).
 * input is what the forward pass read (layers that need their input in
 * backward, e.g. [l2norm], read it at layer 0). guided: Guided
 * Backpropagation's rule at every rectifier on the path
 * (gc_backward_layer_guided). */
int gc_hooks_backprop_input(gc_ctx *c, int score, const float *seed, const float *input, int guided, float *dx,
                      gc_err *e);

#endif
