/* gc_forward: the plugin's own inference forward for the layers where
 * Darknet's CPU forward is slow (single-threaded im2col, batch norm, bias,
 * activation, maxpool, shortcut, upsample and route loops, and [yolo]'s
 * logistic).
 *
 * Batch norm at inference is the affine map
 *   y = scale * (x - mean) / (sqrt(var) + .000001f) + bias
 * (Darknet's normalize_cpu), so it folds, once at install, into one scale and
 * one bias per output channel: s = scale / (sqrt(var) + .000001f), b' = bias
 * - mean * s (computed in double, as Darknet does), applied as y = act(s *
 * (W x) + b') in the pass that adds the bias and applies the activation. The
 * scale is not multiplied into a copy of the weights: that copy would cost
 * as much memory as the weights (darknet19's peak RSS went to 1.33x stock's)
 * and the multiply is free in a pass that runs anyway. Darknet's own weights,
 * scales and rolling statistics are only read, so gc_backward still reads
 * exact values.
 *
 * Every kernel writes exactly what the backward reads afterwards: l.output
 * (post-activation) and, for [maxpool], l.indexes. [yolo]'s l.delta is not
 * zeroed (gc_hooks_backprop zeroes the deltas it uses). l.x (batch norm's copy of
 * the pre-normalised output, read only when training) is not filled.
 *
 * Threads: a gc_pool over the cores (workers sleep between loops); GEMMs are
 * split between its threads, each calling a single-threaded cblas_sgemm, so
 * OpenBLAS's own worker threads stay asleep (not spinning in sched_yield)
 * while the forward is installed. pool may be NULL in the kernels (serial).
 * Nothing is allocated per call: the im2col buffer is Darknet's net.workspace. */
#ifndef GC_FORWARD_H
#define GC_FORWARD_H

#include "darknet.h"
#include "gc_common.h"
#include "gc_pool.h"

typedef void (*gc_forward_fn)(struct layer, struct network);

typedef struct gc_fwd {
    network *net;
    int n;
    gc_forward_fn *saved;  /* original forward slots, while installed */
    float **scales;        /* per conv layer: folded batch-norm scale s (1 without), or NULL */
    float **biases;        /* per conv layer: folded bias b', or NULL */
    float **wino;          /* per layer: Winograd weights U [16][n][c] if it runs Winograd, else NULL */
    float *wino_m;         /* Winograd products M [16][n][tiles], for the largest such layer */
    gc_pool pool;          /* the kernels' threads (sleeping between loops) */
    int pool_ready;
    int installed;
} gc_fwd;

/* 1 if gc_forward_layer() computes layer l itself (else Darknet's slot stays). */
int gc_forward_handles(const layer *l);

/* 1 if layer l qualifies for Winograd F(2x2, 3x3) (see the .c). It runs
 * that way (gc_fwd.wino[i] set) unless the environment sets GC_NO_WINOGRAD
 * (other than to 0) when the gc_fwd is made, or its transformed weights do
 * not fit the budget (gc_forward_init: as many floats as the network's
 * convolution weights, layers with the most tiles first). It qualifies as a
 * 3x3 stride-1 pad-1 convolution, no groups, with at least
 * GC_WINO_MIN_INPUTS input channels and GC_WINO_MIN_CHANNELS filters, their
 * product at least GC_WINO_MIN_PRODUCT, and GC_WINO_MIN_POSITIONS output
 * positions. Measured layer by layer against im2col (`gc_bench -child
 * layers`, README, Performance) with OpenBLAS's SkylakeX kernels: every
 * qualifying layer of yolov3-tiny, darknet19, Tiny Darknet and the demo
 * detector 0.56x-0.98x, 8x8 maps included; Tiny Darknet's 16 -> 128 at
 * 56x56 took 1.21x-1.23x (the transforms outweigh 16 thin products: hence 32
 * input channels). */
#define GC_WINO_MIN_INPUTS 32
#define GC_WINO_MIN_CHANNELS 16
#define GC_WINO_MIN_PRODUCT 2048
#define GC_WINO_MIN_POSITIONS 64
int gc_forward_winograd(const layer *l);

/* Allocates the per-channel scale and bias of every handled convolution (net
 * must have batch 1). Error (out of memory) leaves f empty. */
int gc_forward_init(gc_fwd *f, network *net, gc_err *e);
/* Removes the slots if installed, frees the copies. */
void gc_forward_free(gc_fwd *f);

/* Folds batch norm into the scales and biases (from the parameters as they are now),
 * installs gc_forward_layer() into the forward slot of each handled layer and
 * sets OpenBLAS to one thread; removal restores both exactly. At most
 * GC_FWD_MAX_ACTIVE networks at once (asserted). */
#define GC_FWD_MAX_ACTIVE 8
void gc_forward_install(gc_fwd *f);
/* Folds again from the weights as they are now: after anything changes the
 * network's parameters while the slots are installed. */
void gc_forward_refold(gc_fwd *f);
void gc_forward_remove(gc_fwd *f);

/* The slot function. Same contract as Darknet's forward slots (net.index is
 * the layer, net.input the previous layer's output). */
void gc_forward_layer(layer l, network net);

/* The thread pool of the network whose layer array this is, while its
 * forward is installed (the backward's sparse products use it); else NULL. */
gc_pool *gc_forward_pool(const layer *layers);

/* ---- several images in one pass (list mode's -batch N) ----
 *
 * A batched forward runs up to cap images through the network layer by
 * layer into its own activation buffers (cap images' worth of every layer's
 * output and of each max pool's indexes), then gc_forward_batch_view(k)
 * points the network's layers at image k's activations, so that the
 * backward passes, the detections and the maps read them as if image k's
 * own forward had just run. gc_forward_batch_restore() puts the network's
 * own buffers back.
 *
 * What is batched: convolutions computed by Winograd (the tiles of every
 * image in one set of 16 GEMMs) and, with at most GC_FWD_BATCH_COLUMNS
 * output positions per image, by im2col (every image's columns side by
 * side in one GEMM, then copied to each image's planes). Every other layer
 * runs image by image with the same kernels as a single forward, into the
 * image's own buffer. Layers whose forward the plugin does not compute run
 * Darknet's own slot per image: only [avgpool], [softmax], [dropout] and
 * [cost], whose inference forward writes nothing but its output
 * (gc_forward_batch_supported names the first other one). */
#define GC_FWD_BATCH_COLUMNS 1024
typedef struct gc_fwd_batch {
    gc_fwd *f;
    network *net;
    int cap, nimg;        /* images at most; images of the last pass */
    int nbuf;
    float **buf;          /* the distinct output buffers of the network's layers, cap images each */
    size_t *stride;       /* per buffer: floats per image */
    int *buf_of;          /* per layer: its output's buffer (layers aliasing one output share it), or -1 */
    int **idx;            /* per layer: a max pool's indexes, cap x outputs, else NULL */
    float **own_out;      /* per layer: the network's own output and indexes, restored by _restore */
    int **own_idx;
    float *own_net_out;   /* net->output */
    int net_out_layer;    /* the layer whose output net->output is, or -1 */
    float *work, *wino_m, *cols; /* a batched layer's columns (or Winograd V), Winograd M, GEMM output */
    const float **in;     /* per image: a layer's input (scratch) */
    float **out;          /* per image: its output (scratch) */
    int viewing;          /* the image whose activations the layers point at, or -1 */
} gc_fwd_batch;

/* 1 if every layer of net has a batched forward; else 0 and why (naming the
 * first layer without one) into why[n]. */
int gc_forward_batch_supported(const network *net, char *why, size_t n);
/* Bytes of activations a batch of cap images holds (outputs and indexes). */
size_t gc_forward_batch_bytes(const network *net, int cap);
/* Allocates b for up to cap images through f's network (f installed before
 * the first run). Error (unsupported layer, out of memory) leaves b empty. */
int gc_forward_batch_init(gc_fwd_batch *b, gc_fwd *f, int cap, gc_err *e);
/* Restores the network's buffers if viewing, frees b. */
void gc_forward_batch_free(gc_fwd_batch *b);
/* The inference forward of nimg <= cap images (in[k]: image k's network
 * input, net->inputs floats), each layer's outputs in b's buffers. */
void gc_forward_batch_run(gc_fwd_batch *b, const float *const *in, int nimg);
/* Points every layer's output (and a max pool's indexes) and net->output at
 * image k's activations of the last run. */
void gc_forward_batch_view(gc_fwd_batch *b, int k);
/* The network's own buffers back (a no-op when not viewing). */
void gc_forward_batch_restore(gc_fwd_batch *b);

/* ---- kernels on raw arrays (exposed for the tests) ---- */

/* out[c][i] = act(scale[c] out[c][i] + bias[c]) for c < channels, i < spatial
 * (scale NULL: 1; bias NULL: 0). */
void gc_forward_bias_act(float *out, const float *scale, const float *bias, int channels, int spatial, ACTIVATION a,
                     gc_pool *pool);

/* Darknet's im2col_cpu: col[(c*k + ky)*k + kx][oy*ow + ox] =
 * im[c][oy*stride - pad + ky][ox*stride - pad + kx] (0 outside). */
void gc_forward_im2col(float *col, const float *im, int c, int h, int w, int k, int stride, int pad, gc_pool *pool);

/* Depthwise convolution (one filter per channel), no bias:
 * out[c][oy][ox] = sum_{ky,kx} wt[c][ky][kx] * in[c][oy*s-pad+ky][ox*s-pad+kx]. */
void gc_forward_depthwise(float *out, const float *in, const float *wt, int c, int h, int w, int k, int stride,
                      int pad, int out_h, int out_w, gc_pool *pool);

/* Darknet's maxpool: out and the flat input index of each maximum (first one
 * wins on ties; -1 where the window is all padding). */
void gc_forward_maxpool(float *out, int *indexes, const float *in, int c, int h, int w, int size, int stride, int pad,
                    int out_h, int out_w, gc_pool *pool);

/* Stops OpenBLAS's idle worker threads now, so that they do not spin while
 * the plugin works (see the .c); harmless where the BLAS has none. */
void gc_forward_blas_park(void);
/* gc_forward_blas_park() if a forward has used OpenBLAS's threads since the
 * last park: called after each forward, so they do not spin through the
 * backward and the outputs. */
void gc_forward_blas_settle(void);

#endif
