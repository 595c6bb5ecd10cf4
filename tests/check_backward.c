/* Tests for gc_backward: every layer's VJP against central finite differences
 * of Darknet's own CPU forward pass, the += contract, the detector heads, and
 * the errors for unsupported layers. Worst errors are printed to stderr
 * ("backward fd ...", in build/check_gradcam.log or on the terminal with
 * GC_TEST_VERBOSE=1); GCT_DEBUG=1 also lists the elements left out as kinks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activations.h"
#include "gc_backward.h"
#include "gc_forward.h"
#include "gc_hooks.h"
#include "gc_testutil.h"
#include "gc_tests.h"

#define CFG(name) "tests/cfg/bw_" name ".cfg"

/* Default comparison: relative L2 error and cosine similarity. */
#define FD_EPS 2e-3f
#define FD_TOL 5e-3
#define FD_COS .9999
#define FD_MAX_KINKS .25

/* When >= 0, fd_check_net seeds only this output position of layer S (all its
 * channels), as a box's score does: the sparse convolution path. */
static int fd_seed_position = -1;

typedef struct fd_result {
    double rel, cos;
} fd_result;

static float *xmalloc_f(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Compares gc_backward's gradient of f = r . out_S w.r.t. out_T with finite
 * differences, on a network whose parameters and input are already set.
 * Elements whose finite difference changes between step eps and eps/4 sit
 * next to a kink (ReLU-like activation, maxpool arg-max switch): they are left
 * out, and at most FD_MAX_KINKS of them may be. Also checks that the
 * comparator rejects wrong gradients (zeros, and the right values shifted by
 * one position), so a test cannot pass vacuously. */
static fd_result fd_check_net(network *net, const char *what, int S, int T, float eps, double tol,
                              double cos_min)
{
    size_t ns = (size_t)net->layers[S].outputs, nt = (size_t)net->layers[T].outputs;
    float *r = xmalloc_f(ns), *g = xmalloc_f(nt), *bad = xmalloc_f(nt);
    double *gfd = calloc(nt, sizeof(double)), *gfd2 = calloc(nt, sizeof(double));
    unsigned char *skip = calloc(nt, 1);
    ck_assert(gfd && gfd2 && skip);
    gct_rng rng;
    gct_rng_seed(&rng, 0x5eed0000u + (uint64_t)S * 31 + (uint64_t)T);
    gct_rng_fill(&rng, r, ns, -1, 1);
    if (fd_seed_position >= 0) {
        size_t spatial = (size_t)net->layers[S].out_w * net->layers[S].out_h;
        for (size_t j = 0; j < ns; ++j)
            if (j % spatial != (size_t)fd_seed_position % spatial) r[j] = 0;
    }

    for (int i = T + 1; i <= S; ++i) {
        gc_err e = {0};
        ck_assert_msg(gc_backward_supported(net, i, &e) == 1, "%s: %s", what, e.msg);
    }
    gct_forward(net);
    gct_fd_grad(net, S, r, T, eps, gfd);
    gct_fd_grad(net, S, r, T, eps / 4, gfd2);
    gct_backward_ref(net, S, r, T);
    ck_assert_ptr_nonnull(net->layers[T].delta);
    memcpy(g, net->layers[T].delta, nt * sizeof(float));

    size_t kinks = gct_fd_kinks(gfd, gfd2, nt, 1e-3, 1e-3, skip);
    if (getenv("GCT_DEBUG"))
        for (size_t j = 0; j < nt; ++j)
            if (skip[j]) fprintf(stderr, "DBG %s j=%zu fd=%g fd4=%g g=%g\n", what, j, gfd[j], gfd2[j], g[j]);
    for (size_t j = 0; j < nt; ++j)
        if (skip[j]) g[j] = 0, gfd[j] = 0;
    fd_result res = {gct_rel_l2(g, gfd, nt), gct_cosine(g, gfd, nt)};
    fprintf(stderr, "backward fd %-34s S=%d T=%d n=%zu kinks=%zu rel=%.2e cos=%.8f |g|=%.3e\n",
            what, S, T, nt, kinks, res.rel, res.cos, gct_norm_d(gfd, nt));
    fflush(stderr); /* a failing check leaves the child without flushing */

    ck_assert_msg(kinks <= nt * FD_MAX_KINKS, "%s: %zu of %zu finite differences cross a kink",
                  what, kinks, nt);
    ck_assert_msg(gct_norm_d(gfd, nt) > 1e-6, "%s: finite-difference gradient is zero", what);
    for (size_t j = 0; j < nt; ++j) bad[j] = 0;
    ck_assert_msg(gct_rel_l2(bad, gfd, nt) > tol, "%s: comparator accepts zeros", what);
    for (size_t j = 0; j < nt; ++j) bad[j] = g[(j + 1) % nt];
    ck_assert_msg(nt < 2 || gct_rel_l2(bad, gfd, nt) > tol, "%s: comparator accepts a shift",
                  what);
    ck_assert_msg(res.rel < tol && res.cos > cos_min,
                  "%s S=%d T=%d: relative L2 error %.3e (tol %.1e), cosine %.6f (min %.6f)", what,
                  S, T, res.rel, tol, res.cos, cos_min);
    free(r);
    free(g);
    free(bad);
    free(gfd);
    free(gfd2);
    free(skip);
    return res;
}

static network *load_random(const char *cfg, uint64_t seed, float gain)
{
    network *net = gct_load(cfg);
    gct_randomize(net, seed, gain);
    gct_fill_input(net, seed ^ 0xabcdefu, -1, 1);
    return net;
}

/* Loads cfg with random parameters and checks each (S, T) pair. */
static void fd_check(const char *cfg, const int (*pairs)[2], int npairs, double tol,
                     double cos_min)
{
    network *net = load_random(cfg, 1234, 1);
    for (int p = 0; p < npairs; ++p)
        fd_check_net(net, cfg, pairs[p][0], pairs[p][1], FD_EPS, tol, cos_min);
    free_network(net);
}

#define FD_PAIRS(cfg, tol, cosmin, ...)                                                     \
    do {                                                                                   \
        static const int pairs_[][2] = {__VA_ARGS__};                                      \
        fd_check(cfg, pairs_, (int)(sizeof pairs_ / sizeof pairs_[0]), tol, cosmin);       \
    } while (0)

/* ---- activations ---------------------------------------------------------- */

static const ACTIVATION all_acts[14] = {LOGISTIC, RELU, RELIE, LINEAR, RAMP,  TANH,    PLSE,
                                        LEAKY,    ELU,  LOGGY, STAIR,  HARDTAN, LHTAN, SELU};

/* gc_backward_activation_derivative(y) against a central difference of Darknet's own
 * activate() at points away from every kink (integers, 0, +-1, +-4). */
START_TEST(activation_derivative_matches_forward)
{
    ACTIVATION a = all_acts[_i];
    int checked = 0;
    for (double x = -5.93; x < 6; x += .173) {
        double frac = x - floor(x);
        if (frac < .01 || frac > .99) continue;
        double h = 1e-3;
        double num = ((double)activate((float)(x + h), a) - activate((float)(x - h), a)) / (2 * h);
        float y = activate((float)x, a);
        float d = gc_backward_activation_derivative(y, a);
        ck_assert_msg(fabs(d - num) < 2e-3 * (1 + fabs(num)),
                      "%s: x=%g y=%g derivative %g, numeric %g", get_activation_string(a), x, y,
                      d, num);
        ++checked;
    }
    ck_assert_int_gt(checked, 50);
    /* And gc_backward_activation scales in place by exactly that. */
    float y[3] = {-.5f, .25f, .75f}, dy[3] = {2, -3, 4};
    gc_backward_activation(dy, y, 3, a);
    ck_assert_float_eq_tol(dy[1], -3 * gc_backward_activation_derivative(.25f, a), 1e-7);
}
END_TEST

/* A conv layer with each of the 14 activations (set on the parsed layer,
 * exactly what activation=<name> in the cfg does). */
START_TEST(conv_activation_fd)
{
    ACTIVATION a = all_acts[_i];
    network *net = gct_load(CFG("conv_act"));
    net->layers[1].activation = a;
    /* stair has slope 0 on half of each period of 2: spread the inputs over
     * several periods so both slopes occur. */
    gct_randomize(net, 77 + (uint64_t)_i, a == STAIR ? 3.f : 1.f);
    gct_fill_input(net, 99, -1, 1);
    char what[64];
    snprintf(what, sizeof what, "conv_act/%s", get_activation_string(a));
    fd_check_net(net, what, 1, 0, FD_EPS, FD_TOL, FD_COS);
    free_network(net);
}
END_TEST

/* ---- convolutions ---------------------------------------------------------- */

START_TEST(conv_batchnorm_fd)
{
    FD_PAIRS(CFG("conv_bn"), FD_TOL, FD_COS, {1, 0});
}
END_TEST

START_TEST(conv_stride2_fd)
{
    FD_PAIRS(CFG("conv_stride"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {2, 0});
}
END_TEST

/* pad=0 (valid 3x3), and size=5 with explicit padding=1. */
START_TEST(conv_padding_fd)
{
    FD_PAIRS(CFG("conv_pad"), FD_TOL, FD_COS, {1, 0}, {2, 1});
}
END_TEST

/* Depthwise (groups = c = filters = 4, with BN) and groups=2 with stride 2. */
START_TEST(conv_groups_fd)
{
    FD_PAIRS(CFG("conv_groups"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {2, 0});
}
END_TEST

/* A depthwise 1x1 with stride 2 (layer 1), read as Darknet reads any 1x1,
 * not subsampled: its backward through BN and leaky (its forward against
 * Darknet's is in check_forward, which caught the subsample) */
START_TEST(conv_depthwise_1x1_stride2_fd)
{
    FD_PAIRS(CFG("conv_dw_1x1_stride"), FD_TOL, FD_COS, {2, 1}, {2, 0}, {1, 0});
}
END_TEST

/* 1x1 convolutions read the input directly (no im2col), even the strided one
 * (layer 2), which Darknet evaluates as a gemm over the first out_h*out_w
 * values of each channel: the finite differences confirm we mirror it. */
START_TEST(conv_1x1_fd)
{
    FD_PAIRS(CFG("conv_1x1"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {3, 2}, {3, 0});
}
END_TEST

/* The hooks installed on net (gc_hooks_free them) and the forward's thread
 * pool they made. */
static gc_pool *install_pool(network *net, gc_ctx *c)
{
    gc_err e = {0};
    ck_assert_msg(gc_hooks_init(c, net, &e) == 0, "%s", e.msg);
    gc_hooks_install(c);
    gc_pool *pool = gc_forward_pool(net->layers);
    ck_assert_ptr_nonnull(pool);
    return pool;
}

/* Seeded at one position, as a box's score is: each convolution below
 * computes only the columns that carry gradient (8x8 and 16x16 layers, 3x3
 * with stride 1 and 2, grouped, 1x1, batch norm; few columns by one pass over
 * the weights, more by a gemm); the cfgs above, seeded the same way, mix the
 * sparse and dense paths. Position 27 is inside, 0 a corner (padding). */
/* The sparse products split over the forward's threads (gc_forward_pool,
 * while the hooks are installed) give what one thread gives: each thread
 * owns whole input channels, so its rows of W^T dY and the planes of dx they
 * add into are its own. The serial path is the one the finite differences
 * above check. Layers 3 and 2 take the one-pass product, layer 1 the gemm. */
START_TEST(sparse_backward_split_over_threads)
{
    network *net = load_random(CFG("conv_sparse_wide"), 99, 1);
    int S = 4, T = 0;
    size_t ns = (size_t)net->layers[S].outputs, nt = (size_t)net->layers[T].outputs;
    size_t spatial = (size_t)net->layers[S].out_w * net->layers[S].out_h;
    float *r = xmalloc_f(ns), *serial = xmalloc_f(nt);
    for (size_t f = 0; f < ns / spatial; ++f) r[f * spatial + 13 * 24 + 11] = (float)(f % 5) - 2.f;
    gct_forward(net);
    ck_assert_ptr_null(gc_forward_pool(net->layers));
    gct_backward_ref(net, S, r, T);
    memcpy(serial, net->layers[T].delta, nt * sizeof(float));
    gc_ctx c;
    gc_pool *pool = install_pool(net, &c);
    gct_backward_ref(net, S, r, T);
    const float *split = net->layers[T].delta;
    size_t nonzero = 0;
    for (size_t j = 0; j < nt; ++j) {
        nonzero += serial[j] != 0;
        ck_assert_msg(fabsf(split[j] - serial[j]) <= 1e-5f * (1 + fabsf(serial[j])), "position %zu: %g with %d threads, %g with one",
                      j, split[j], pool->threads, serial[j]);
    }
    /* 7x7 positions of 64 channels carry gradient, the rest none */
    ck_assert_uint_eq(nonzero, 49 * 64);
    gc_hooks_free(&c);
    free(r);
    free(serial);
    free_network(net);
}
END_TEST

/* The sparse products give the same bits whether a loop runs on the threads
 * or inline: which it does is the pool's choice, by the work and the round
 * trip it measured when the process started. The demo detector (its own
 * weights, a random input), seeded at every cell of each head's score
 * convolution and taken down to the input as the guided methods take it:
 * with the channels cut per thread on the threads and whole inline,
 * OpenBLAS's products differed in the last bit for 80 of the 320 seeds
 * (Guided Grad-CAM's .npy of one image differed between two list runs). */
START_TEST(sparse_backward_bits_do_not_depend_on_the_pool_threshold)
{
    network *net = gct_load("cfg/fmnist-det.cfg");
    load_weights(net, "cfg/fmnist-det.weights");
    gct_fill_input(net, 5, 0, 1);
    gct_forward(net);
    gc_ctx c;
    gc_pool *pool = install_pool(net, &c);
    size_t nin = (size_t)net->inputs, min_work = pool->min_work, differ = 0, seeds = 0;
    float *dx[2] = {xmalloc_f(nin), xmalloc_f(nin)};
    const int heads[] = {11, 18};
    for (int h = 0; h < 2; ++h) {
        int S = heads[h];
        const layer *l = &net->layers[S];
        size_t ns = (size_t)l->outputs, spatial = (size_t)l->out_w * l->out_h;
        float *r = xmalloc_f(ns);
        for (size_t cell = 0; cell < spatial; ++cell) {
            memset(r, 0, ns * sizeof *r);
            r[5 * spatial + cell] = 1; /* class 0 of anchor 0 */
            for (int t = 0; t < 2; ++t) {
                pool->min_work = t ? (size_t)-1 : 1;
                gct_backward_ref(net, S, r, 0);
                /* and layer 0's into the input, as the guided methods take it */
                network at = *net;
                at.index = 0;
                at.delta = dx[t];
                memset(dx[t], 0, nin * sizeof(float));
                gc_backward_layer(net->layers[0], at);
            }
            ++seeds;
            differ += memcmp(dx[0], dx[1], nin * sizeof(float)) != 0;
        }
        free(r);
    }
    pool->min_work = min_work;
    ck_assert_msg(differ == 0, "%zu of %zu seeds: the input gradient's bits differ on the threads and inline", differ, seeds);
    free(dx[0]);
    free(dx[1]);
    gc_hooks_free(&c);
    free_network(net);
}
END_TEST

START_TEST(conv_sparse_seed_fd)
{
    fd_seed_position = _i ? 0 : 27;
    FD_PAIRS(CFG("conv_sparse"), FD_TOL, FD_COS, {4, 3}, {3, 2}, {2, 1}, {4, 2}, {4, 1}, {4, 0});
    FD_PAIRS(CFG("conv_stride"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {2, 0});
    FD_PAIRS(CFG("conv_groups"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {2, 0});
    FD_PAIRS(CFG("conv_1x1"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {3, 2}, {3, 0});
    fd_seed_position = -1;
}
END_TEST

/* The first layer has no input delta: nothing is propagated, nothing crashes,
 * for a 3x3 and a 1x1 first layer. */
START_TEST(layer0_gets_null_delta)
{
    const char *cfgs[2] = {CFG("conv_1x1"), CFG("conv_groups")};
    for (int c = 0; c < 2; ++c) {
        network *net = load_random(cfgs[c], 5, 1);
        gct_forward(net);
        float *seed = xmalloc_f((size_t)net->layers[1].outputs);
        for (int i = 0; i < net->layers[1].outputs; ++i) seed[i] = 1;
        gct_backward_ref(net, 1, seed, -1);
        free(seed);
        free_network(net);
    }
}
END_TEST

/* ---- other layers ----------------------------------------------------------- */

START_TEST(connected_fd)
{
    FD_PAIRS(CFG("connected"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {2, 0});
}
END_TEST

/* Near-ties can move an arg-max under a perturbation: cosine is the primary
 * criterion below a maxpool, the L2 tolerance is looser. */
START_TEST(maxpool_fd)
{
    FD_PAIRS(CFG("maxpool"), 5e-2, .999, {1, 0}, {2, 0});
    FD_PAIRS(CFG("maxpool_odd"), 5e-2, .999, {1, 0});
}
END_TEST

/* SPP block: stride-1 maxpools of size 5 and 3 and a route concatenating them
 * with their input; layer 0 feeds three consumers, whose gradients add. */
START_TEST(maxpool_spp_fd)
{
    FD_PAIRS(CFG("maxpool_spp"), 5e-2, .999, {5, 0}, {4, 0}, {5, 3});
}
END_TEST

START_TEST(avgpool_fd)
{
    FD_PAIRS(CFG("avgpool"), FD_TOL, FD_COS, {1, 0}, {2, 0});
}
END_TEST

/* route layers=-1,-3: [layer 2 | layer 0]; layer 0 also feeds layer 1. */
START_TEST(route_fd)
{
    FD_PAIRS(CFG("route"), FD_TOL, FD_COS, {4, 0}, {3, 0}, {4, 1}, {3, 2});
}
END_TEST

/* Concatenation order, worked by hand: the route's dy = 1, 2, 3, ... goes
 * first to layer 2 (2 channels of 8x8 = 128 values), then to layer 0. */
START_TEST(route_splits_in_order)
{
    network *net = load_random(CFG("route"), 3, 1);
    gct_forward(net);
    layer *r = &net->layers[3];
    ck_assert_int_eq(r->outputs, 128 + 192);
    float *seed = xmalloc_f((size_t)r->outputs);
    for (int i = 0; i < r->outputs; ++i) seed[i] = (float)(i + 1);
    /* Only the route runs (T = 2): its dy lands untouched in its sources. */
    gct_backward_ref(net, 3, seed, 2);
    for (int i = 0; i < 128; ++i) ck_assert_float_eq(net->layers[2].delta[i], (float)(i + 1));
    for (int i = 0; i < 192; ++i) ck_assert_float_eq(net->layers[0].delta[i], (float)(129 + i));
    for (int i = 0; i < net->layers[1].outputs; ++i) ck_assert_float_eq(net->layers[1].delta[i], 0);
    free(seed);
    free_network(net);
}
END_TEST

START_TEST(shortcut_fd)
{
    FD_PAIRS(CFG("shortcut"), FD_TOL, FD_COS, {3, 0}, {2, 0}, {2, 1});
}
END_TEST

/* alpha=0.5, beta=2, logistic activation on the sum. */
START_TEST(shortcut_alpha_beta_fd)
{
    FD_PAIRS(CFG("shortcut_ab"), FD_TOL, FD_COS, {3, 0}, {2, 0}, {2, 1});
}
END_TEST

/* Different shapes: `from` bigger (8x8x4 into 4x4x6, strided reads, only 4 of
 * 6 channels overlap) and `from` smaller (4x4x4 into 8x8x3, sampled writes). */
START_TEST(shortcut_sizes_fd)
{
    FD_PAIRS(CFG("shortcut_down"), FD_TOL, FD_COS, {3, 0}, {2, 0}, {2, 1});
    FD_PAIRS(CFG("shortcut_up"), FD_TOL, FD_COS, {3, 0}, {3, 2}, {3, 1});
}
END_TEST

/* stride 2 with scale 0.5; reverse (stride=-2, scale 1.5) on 8x8, and on 9x9
 * where Darknet reads the input with rows of 8 (out_w*stride) values. */
START_TEST(upsample_fd)
{
    FD_PAIRS(CFG("upsample"), FD_TOL, FD_COS, {2, 0}, {1, 0});
    FD_PAIRS(CFG("upsample_rev"), FD_TOL, FD_COS, {2, 0}, {1, 0});
    FD_PAIRS(CFG("upsample_rev_odd"), FD_TOL, FD_COS, {2, 0}, {1, 0});
}
END_TEST

/* The YOLOv2 reorg (stride 2), its reverse, flatten=1 in both directions,
 * and extra=2 (go.cfg: the input copied, two constant outputs appended). */
START_TEST(reorg_fd)
{
    FD_PAIRS(CFG("reorg"), FD_TOL, FD_COS, {2, 0}, {1, 0});
    FD_PAIRS(CFG("reorg_rev"), FD_TOL, FD_COS, {2, 0}, {1, 0});
    FD_PAIRS(CFG("reorg_flatten"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {3, 0});
    FD_PAIRS(CFG("reorg_extra"), FD_TOL, FD_COS, {1, 0}, {2, 0});
}
END_TEST

/* groups=4 with temperature 0.7, and a plain softmax after a linear layer. */
START_TEST(softmax_fd)
{
    FD_PAIRS(CFG("softmax_groups"), FD_TOL, FD_COS, {1, 0});
    FD_PAIRS(CFG("softmax"), FD_TOL, FD_COS, {3, 2}, {3, 0});
}
END_TEST

/* [dropout] is the identity at inference and aliases layer 0's buffers; the
 * route reads both the conv after it and the dropout itself. */
START_TEST(dropout_fd)
{
    network *net = load_random(CFG("dropout"), 11, 1);
    ck_assert_ptr_eq(net->layers[1].delta, net->layers[0].delta);
    ck_assert_ptr_eq(net->layers[1].output, net->layers[0].output);
    fd_check_net(net, "dropout", 4, 0, FD_EPS, FD_TOL, FD_COS);
    fd_check_net(net, "dropout", 4, 1, FD_EPS, FD_TOL, FD_COS);
    fd_check_net(net, "dropout", 2, 1, FD_EPS, FD_TOL, FD_COS);
    free_network(net);
}
END_TEST

START_TEST(batchnorm_fd)
{
    FD_PAIRS(CFG("batchnorm"), FD_TOL, FD_COS, {2, 0}, {1, 0});
}
END_TEST

/* make_crop_layer allocates no delta: gc_backward_supported says so; with a
 * delta supplied, the centred crop (scale 2, trans -1; then noadjust) checks. */
START_TEST(crop_fd)
{
    network *net = load_random(CFG("crop"), 21, 1);
    gc_err e = {0};
    ck_assert_int_eq(gc_backward_supported(net, 1, &e), 0);
    ck_assert_msg(strstr(e.msg, "layer 1 (crop)") && strstr(e.msg, "delta"), "%s", e.msg);
    net->layers[1].delta = xmalloc_f((size_t)net->layers[1].outputs);
    net->layers[3].delta = xmalloc_f((size_t)net->layers[3].outputs);
    fd_check_net(net, "crop", 1, 0, FD_EPS, FD_TOL, FD_COS);
    fd_check_net(net, "crop", 3, 2, FD_EPS, FD_TOL, FD_COS);
    fd_check_net(net, "crop", 4, 0, FD_EPS, FD_TOL, FD_COS);
    free_network(net);
}
END_TEST

START_TEST(local_fd)
{
    FD_PAIRS(CFG("local"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {2, 0});
}
END_TEST

/* A lone [local] layer: Darknet sizes its workspace in floats but allocates
 * bytes, so its forward would overrun; we refuse it (without running it). */
START_TEST(local_small_workspace_is_refused)
{
    network *net = gct_load(CFG("local_small_ws"));
    gc_err e = {0};
    ck_assert_int_eq(gc_backward_supported(net, 0, &e), 0);
    ck_assert_msg(strstr(e.msg, "layer 0 (local)") && strstr(e.msg, "workspace"), "%s", e.msg);
    free_network(net);
}
END_TEST

/* [activation] tanh, [logistic], [l2norm]. */
START_TEST(activation_logistic_l2norm_fd)
{
    FD_PAIRS(CFG("misc"), FD_TOL, FD_COS, {1, 0}, {2, 1}, {3, 2}, {4, 0});
}
END_TEST

/* Detector heads pass the seed through unchanged (it is the gradient w.r.t.
 * their input logits), adding to what is there. */
START_TEST(detector_heads_are_identity)
{
    const char *cfgs[2] = {CFG("yolo"), CFG("region")};
    LAYER_TYPE types[2] = {YOLO, REGION};
    for (int c = 0; c < 2; ++c) {
        network *net = load_random(cfgs[c], 8, 1);
        layer *h = &net->layers[1];
        ck_assert_int_eq(h->type, types[c]);
        gct_forward(net);
        gc_err e = {0};
        ck_assert_msg(gc_backward_supported(net, 1, &e), "%s", e.msg);
        gct_rng rng;
        gct_rng_seed(&rng, 4);
        gct_rng_fill(&rng, h->delta, (size_t)h->outputs, -1, 1);
        gct_rng_fill(&rng, net->layers[0].delta, (size_t)h->inputs, -1, 1);
        float *before = xmalloc_f((size_t)h->inputs);
        memcpy(before, net->layers[0].delta, (size_t)h->inputs * sizeof(float));
        network n = *net;
        n.index = 1;
        n.input = net->layers[0].output;
        n.delta = net->layers[0].delta;
        gc_backward_layer(*h, n);
        for (int i = 0; i < h->inputs; ++i)
            ck_assert_float_eq(net->layers[0].delta[i], before[i] + h->delta[i]);
        free(before);
        free_network(net);
    }
}
END_TEST

/* The += contract for every supported type: running layer i's VJP on input
 * deltas pre-filled with p must give p + (its result on zeroed deltas). Stock
 * Darknet overwrites for 1x1 conv, [activation], [reorg], reversed
 * [upsample] and [batchnorm]; this is what would catch it. */
START_TEST(backward_adds_never_overwrites)
{
    static const struct {
        const char *cfg;
        int layer;
    } cases[] = {
        {CFG("conv_act"), 1},      {CFG("conv_1x1"), 1},     {CFG("conv_1x1"), 2},
        {CFG("conv_groups"), 2},   {CFG("connected"), 1},    {CFG("maxpool"), 1},
        {CFG("avgpool"), 1},       {CFG("route"), 3},        {CFG("shortcut"), 2},
        {CFG("shortcut_up"), 3},   {CFG("upsample"), 1},     {CFG("upsample_rev"), 1},
        {CFG("reorg"), 1},         {CFG("reorg_rev"), 1},    {CFG("reorg_flatten"), 1},
        {CFG("reorg_flatten"), 2}, {CFG("reorg_extra"), 1},    {CFG("softmax_groups"), 1},
        {CFG("batchnorm"), 1},     {CFG("local"), 1},        {CFG("misc"), 1},
        {CFG("misc"), 2},          {CFG("misc"), 3},         {CFG("yolo"), 1},
        {CFG("region"), 1},        {CFG("crop"), 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        network *net = load_random(cases[c].cfg, 31, 1);
        int li = cases[c].layer;
        for (int k = 0; k < net->n; ++k)
            if (!net->layers[k].delta)
                net->layers[k].delta = xmalloc_f((size_t)net->layers[k].outputs);
        gct_forward(net);
        layer *l = &net->layers[li];
        size_t total = 0;
        for (int k = 0; k < li; ++k) total += (size_t)net->layers[k].outputs;
        float *dy = xmalloc_f((size_t)l->outputs), *res0 = xmalloc_f(total);
        float *pre = xmalloc_f(total);
        gct_rng rng;
        gct_rng_seed(&rng, 17 + c);
        gct_rng_fill(&rng, dy, (size_t)l->outputs, -1, 1);
        gct_rng_fill(&rng, pre, total, -1, 1);
        for (int pass = 0; pass < 2; ++pass) {
            size_t off = 0;
            for (int k = 0; k < li; ++k) {
                size_t n = (size_t)net->layers[k].outputs;
                if (pass == 0) memset(net->layers[k].delta, 0, n * sizeof(float));
                else memcpy(net->layers[k].delta, pre + off, n * sizeof(float));
                off += n;
            }
            memcpy(l->delta, dy, (size_t)l->outputs * sizeof(float));
            network n = *net;
            n.index = li;
            n.input = net->layers[li - 1].output;
            n.delta = net->layers[li - 1].delta;
            gc_backward_layer(*l, n);
            off = 0;
            for (int k = 0; k < li; ++k) {
                const float *d = net->layers[k].delta;
                for (int i = 0; i < net->layers[k].outputs; ++i, ++off) {
                    if (pass == 0) res0[off] = d[i];
                    else
                        ck_assert_msg(fabsf(d[i] - (pre[off] + res0[off])) <=
                                          1e-5f * (1 + fabsf(res0[off])),
                                      "%s layer %d overwrote layer %d's delta[%d]: %g != %g + %g",
                                      cases[c].cfg, li, k, i, d[i], pre[off], res0[off]);
                }
            }
        }
        free(dy);
        free(res0);
        free(pre);
        free_network(net);
    }
}
END_TEST

/* ---- errors ----------------------------------------------------------------- */

static void expect_unsupported(const char *cfg, int index, const char *want1, const char *want2)
{
    network *net = gct_load(cfg);
    gc_err e = {0};
    ck_assert_int_eq(gc_backward_supported(net, index, &e), 0);
    ck_assert_msg(strstr(e.msg, want1) != NULL, "%s: message '%s' lacks '%s'", cfg, e.msg, want1);
    ck_assert_msg(!want2 || strstr(e.msg, want2) != NULL, "%s: message '%s' lacks '%s'", cfg,
                  e.msg, want2);
    free_network(net);
}

START_TEST(unsupported_types_are_named)
{
    expect_unsupported(CFG("rnn"), 0,
                       "layer 0 (rnn) is not supported by gradcam's backward pass", NULL);
    expect_unsupported(CFG("cost"), 1,
                       "layer 1 (cost) is not supported by gradcam's backward pass", NULL);
    expect_unsupported(CFG("xnor"), 0, "layer 0 (convolutional)", "xnor");
    expect_unsupported(CFG("reorg_bad"), 1, "layer 1 (reorg)", "not divisible by stride 2");
    expect_unsupported(CFG("bogus"), 1, "layer 1", "not recognize");
    /* Supported neighbours say yes, with no message needed. */
    network *net = gct_load(CFG("cost"));
    ck_assert_int_eq(gc_backward_supported(net, 0, NULL), 1);
    free_network(net);
}
END_TEST

START_TEST(bad_index_batch_and_tree_are_refused)
{
    network *net = gct_load(CFG("softmax_groups"));
    gc_err e = {0};
    ck_assert_int_eq(gc_backward_supported(net, -1, &e), 0);
    ck_assert_msg(strstr(e.msg, "layer -1 does not exist"), "%s", e.msg);
    ck_assert_int_eq(gc_backward_supported(net, net->n, &e), 0);
    ck_assert_int_eq(gc_backward_supported(net, 1, &e), 1);
    tree dummy = {0};
    net->layers[1].softmax_tree = &dummy;
    ck_assert_int_eq(gc_backward_supported(net, 1, &e), 0);
    ck_assert_msg(strstr(e.msg, "layer 1 (softmax)") && strstr(e.msg, "tree"), "%s", e.msg);
    net->layers[1].softmax_tree = NULL;
    set_batch_network(net, 2);
    ck_assert_int_eq(gc_backward_supported(net, 0, &e), 0);
    ck_assert_msg(strstr(e.msg, "batch is 2"), "%s", e.msg);
    free_network(net);
}
END_TEST

START_TEST(type_names_are_cfg_sections)
{
    ck_assert_str_eq(gc_darknet_type_name(CONVOLUTIONAL), "convolutional");
    ck_assert_str_eq(gc_darknet_type_name(MAXPOOL), "maxpool");
    ck_assert_str_eq(gc_darknet_type_name(ACTIVE), "activation");
    ck_assert_str_eq(gc_darknet_type_name(LOGXENT), "logistic");
    ck_assert_str_eq(gc_darknet_type_name(YOLO), "yolo");
    ck_assert_str_eq(gc_darknet_type_name(UPSAMPLE), "upsample");
    ck_assert_str_eq(gc_darknet_type_name((LAYER_TYPE)999), "unknown");
}
END_TEST

Suite *suite_backward(void)
{
    Suite *s = suite_create("backward");
    TCase *tc = tcase_create("vjp");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, activation_derivative_matches_forward, 0, 14);
    tcase_add_loop_test(tc, conv_activation_fd, 0, 14);
    tcase_add_test(tc, conv_batchnorm_fd);
    tcase_add_test(tc, conv_stride2_fd);
    tcase_add_test(tc, conv_depthwise_1x1_stride2_fd);
    tcase_add_test(tc, conv_padding_fd);
    tcase_add_test(tc, conv_groups_fd);
    tcase_add_test(tc, conv_1x1_fd);
    tcase_add_loop_test(tc, conv_sparse_seed_fd, 0, 2);
    tcase_add_test(tc, sparse_backward_split_over_threads);
    tcase_add_test(tc, sparse_backward_bits_do_not_depend_on_the_pool_threshold);
    tcase_add_test(tc, layer0_gets_null_delta);
    tcase_add_test(tc, connected_fd);
    tcase_add_test(tc, maxpool_fd);
    tcase_add_test(tc, maxpool_spp_fd);
    tcase_add_test(tc, avgpool_fd);
    tcase_add_test(tc, route_fd);
    tcase_add_test(tc, route_splits_in_order);
    tcase_add_test(tc, shortcut_fd);
    tcase_add_test(tc, shortcut_alpha_beta_fd);
    tcase_add_test(tc, shortcut_sizes_fd);
    tcase_add_test(tc, upsample_fd);
    tcase_add_test(tc, reorg_fd);
    tcase_add_test(tc, softmax_fd);
    tcase_add_test(tc, dropout_fd);
    tcase_add_test(tc, batchnorm_fd);
    tcase_add_test(tc, crop_fd);
    tcase_add_test(tc, local_fd);
    tcase_add_test(tc, local_small_workspace_is_refused);
    tcase_add_test(tc, activation_logistic_l2norm_fd);
    tcase_add_test(tc, detector_heads_are_identity);
    tcase_add_test(tc, backward_adds_never_overwrites);
    tcase_add_test(tc, unsupported_types_are_named);
    tcase_add_test(tc, bad_index_batch_and_tree_are_refused);
    tcase_add_test(tc, type_names_are_cfg_sections);
    suite_add_tcase(s, tc);
    return s;
}
