/* gc_testutil: helpers shared by the Check suites. Load a tiny cfg, give it
 * seeded random parameters and input, re-run part of the forward pass, drive
 * gc_backward_layer() by hand (as backward_network does), and compute central
 * finite-difference gradients to compare against. Every random draw comes from
 * an explicit seed, so every test is deterministic. */
#ifndef GC_TESTUTIL_H
#define GC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "darknet.h"

/* The project's generator (gc_rng) behind a seedable handle. */
typedef struct gct_rng {
    uint64_t s;
} gct_rng;

void gct_rng_seed(gct_rng *r, uint64_t seed);
/* Uniform in [lo, hi). */
float gct_rng_uniform(gct_rng *r, float lo, float hi);
void gct_rng_fill(gct_rng *r, float *x, size_t n, float lo, float hi);

/* parse_network_cfg(path) (relative to the repo root, where tests run) with
 * batch 1. Fails the current test (instead of Darknet exiting with status 0)
 * when the file is missing. */
network *gct_load(const char *path);

/* Seeded parameters for every [convolutional], [connected], [batchnorm] and
 * [local] layer: weights ~ U(-1,1)*sqrt(3/fan_in) * weight_gain, biases and
 * BN scales/means in sensible ranges, rolling variances in [0.5, 2). */
void gct_randomize(network *net, uint64_t seed, float weight_gain);

/* net->input ~ U(lo, hi). */
void gct_fill_input(network *net, uint64_t seed, float lo, float hi);

/* One inference pass from net->input, as network_predict() does (train 0, no
 * truth, so no loss layer writes its delta). */
void gct_forward(network *net);

/* Re-runs layers first..n-1 as forward_network does (net.index = i, net.input
 * = previous layer's output), without touching the deltas. */
void gct_forward_from(network *net, int first);

/* Reference backward driver: zeroes every layer's delta, copies seed
 * (layers[S].outputs values) into layers[S].delta, and calls
 * gc_backward_layer for S, S-1, ..., T+1 with net.index / net.input /
 * net.delta set as backward_network does (net.delta = NULL for layer 0).
 * Afterwards layers[T].delta holds d(seed . out_S) / d(out_T). */
void gct_backward_ref(network *net, int S, const float *seed, int T);

/* Central finite differences of f = sum_i r_i * out_S[i] w.r.t.
 * layers[T].output: g[j] = (f(A + eps e_j) - f(A - eps e_j)) / (2 eps), f in
 * double. Restores the output and re-runs the forward from T+1 afterwards. */
void gct_fd_grad(network *net, int S, const float *r, int T, float eps, double *g);

/* Kinks (ReLU-like activations, arg-max switches in maxpool) make a central
 * difference wrong when the perturbation crosses them. g1 and g2 are finite
 * differences at two step sizes: where they disagree by more than
 * atol + rtol*|g1|, a kink lies within the step; skip[j] is set to 1 there.
 * Returns how many elements were marked. */
size_t gct_fd_kinks(const double *g1, const double *g2, size_t n, double atol, double rtol,
                    unsigned char *skip);

/* ||g - ref|| / ||ref|| (1 when g == 0; huge when ref == 0 but g is not). */
double gct_rel_l2(const float *g, const double *ref, size_t n);
/* g . ref / (||g|| ||ref||), 0 if either is zero. */
double gct_cosine(const float *g, const double *ref, size_t n);
double gct_norm_d(const double *x, size_t n);

/* Heap allocations made so far by code linked statically into the test binary
 * (ours, Darknet's library, the tests): the Makefile links it with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc and these wrappers count. */
extern volatile size_t gct_allocs; /* volatile: GCC assumes malloc() leaves globals alone */
void *__wrap_malloc(size_t n);
/* Fault injection: gct_fault_init() reads the plugin's code ranges from the
 * binary's symbols (returns how many functions, 0 if nm is missing);
 * gct_fault_arm(n) makes the nth allocation called from the plugin's code
 * fail (n = 0: count only); gct_fault_disarm() stops and returns how many
 * plugin allocations it saw, *fired whether the nth failed. */
int gct_fault_init(void);
void gct_fault_arm(size_t nth);
size_t gct_fault_disarm(int *fired);
/* Leak check: from gct_fault_arm to gct_fault_disarm the wrappers (free too)
 * keep the blocks the plugin's own code allocated that are not freed yet;
 * returns how many are left, and names up to 5 of their allocation sites
 * (function+offset) in where. Darknet's allocations are not counted (its
 * parser leaks by design). */
size_t gct_fault_leaks(char *where, size_t cap);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

#endif
