/* gc_forward: the plugin's own forward equals Darknet's, layer by layer.
 *
 * For each network, Darknet's own forward (no hooks) runs first and every
 * layer's output (and maxpool's arg-max indexes) is kept. Then, with the
 * hooks installed, each layer the plugin handles is run ALONE through its new
 * slot on Darknet's own input to that layer, and compared:
 * - convolutions against Darknet and against an independent direct
 *   convolution in double (no im2col, batch norm applied as Darknet's formula,
 *   not folded). Tolerance: the forward error bound of a K-term dot product,
 *   |err| <= K eps sum|w||x| (Higham, Accuracy and Stability, 3.5), on both
 *   sides, plus the folding: s = scale/(sqrt(var)+1e-6) and b' = bias -
 *   mean*s rounded to float, and s*(Wx) + b' instead of (Wx - mean)*s + bias,
 *   a few more roundings:
 *     tol = (K + 8) eps (|s| sum|w||x| + |s mean| + |bias|) + 2 eps |y|
 *   (the activations used are 1-Lipschitz or less). Winograd F(2x2, 3x3)
 *   layers (gc_forward_winograd) are held to the same bound: the transforms
 *   add a few roundings per tile with coefficients of magnitude <= 1, far
 *   inside the (K + 8) eps slack; the worst error measured on these nets was
 *   1.1% of the bound (im2col layers: 10%);
 * - maxpool, shortcut, upsample, route and yolo: the same float operations
 *   as Darknet, so within 2 eps |y|, and maxpool's indexes exactly.
 * Then the whole forward runs through the new slots and every layer's output
 * must stay within 1e-4 |y| + 1e-5 max|layer| of Darknet's (the bench_equiv
 * tolerance: the per-layer differences above, carried through the net).
 * Darknet's weights, scales and statistics must be bit-identical afterwards,
 * and the slots and OpenBLAS's thread count restored. */
#define _GNU_SOURCE /* sched_setaffinity, sched_getcpu */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <sys/wait.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "activations.h"
#include "gc_blas.h"
#include "gc_darknet.h"
#include "gc_fixture.h"
#include "gc_forward.h"
#include "gc_hooks.h"
#include "gc_model.h"
#include "gc_pool.h"
#include "gc_rng.h"
#include "gc_tests.h"

#define EPS ((double)FLT_EPSILON)

/* How many layers of each kind were checked alone (over a whole test). */
typedef struct coverage {
    int conv, conv_bn, grouped, depthwise, strided, winograd, maxpool, shortcut, upsample, route, yolo;
} coverage;

static double act_ref(double v, ACTIVATION a)
{
    switch (a) {
    case LINEAR: return v;
    case LEAKY: return v > 0 ? v : .1 * v;
    case RELU: return v > 0 ? v : 0;
    case LOGISTIC: return 1. / (1. + exp(-v));
    default: return activate((float)v, a);
    }
}

/* Direct convolution in double from Darknet's own (unfolded) parameters;
 * mag[j] gets the magnitude the rounding error scales with. */
static void conv_reference(const layer *l, const float *x, double *y, double *mag)
{
    int g = l->groups, cg = l->c / g, m = l->n / g;
    for (int o = 0; o < l->n; ++o) {
        int grp = o / m;
        double s = 1, mean = 0;
        if (l->batch_normalize) {
            s = (double)l->scales[o] / (sqrt((double)l->rolling_variance[o]) + .000001f);
            mean = l->rolling_mean[o];
        }
        for (int oy = 0; oy < l->out_h; ++oy)
            for (int ox = 0; ox < l->out_w; ++ox) {
                double sum = 0, abssum = 0;
                for (int ci = 0; ci < cg; ++ci)
                    for (int ky = 0; ky < l->size; ++ky)
                        for (int kx = 0; kx < l->size; ++kx) {
                            int iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
                            if (iy < 0 || iy >= l->h || ix < 0 || ix >= l->w) continue;
                            double wv = l->weights[((size_t)o * cg + ci) * l->size * l->size + ky * l->size + kx];
                            double xv = x[((size_t)(grp * cg + ci) * l->h + iy) * l->w + ix];
                            sum += wv * xv;
                            abssum += fabs(wv * xv);
                        }
                double v = (sum - mean) * s + l->biases[o];
                size_t j = ((size_t)o * l->out_h + oy) * l->out_w + ox;
                y[j] = act_ref(v, l->activation);
                mag[j] = fabs(s) * abssum + fabs(s * mean) + fabs((double)l->biases[o]);
            }
    }
}

typedef struct snapshot {
    float **p;
    size_t *n;
    int count;
} snapshot;

/* Copies of every parameter array the backward reads. */
static void snapshot_take(const network *net, snapshot *s)
{
    s->count = net->n * 5;
    s->p = calloc((size_t)s->count, sizeof *s->p);
    s->n = calloc((size_t)s->count, sizeof *s->n);
    ck_assert(s->p && s->n);
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL) continue;
        const float *src[5] = {l->weights, l->biases, l->scales, l->rolling_mean, l->rolling_variance};
        size_t len[5] = {(size_t)l->nweights, (size_t)l->n, (size_t)l->n, (size_t)l->n, (size_t)l->n};
        for (int k = 0; k < 5; ++k) {
            if (!src[k] || (k >= 2 && !l->batch_normalize)) continue;
            s->p[i * 5 + k] = malloc(len[k] * sizeof(float));
            ck_assert_ptr_nonnull(s->p[i * 5 + k]);
            memcpy(s->p[i * 5 + k], src[k], len[k] * sizeof(float));
            s->n[i * 5 + k] = len[k];
        }
    }
}

static void snapshot_check_free(const network *net, snapshot *s, const char *name)
{
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        const float *now[5] = {l->weights, l->biases, l->scales, l->rolling_mean, l->rolling_variance};
        for (int k = 0; k < 5; ++k) {
            if (!s->p[i * 5 + k]) continue;
            ck_assert_msg(!memcmp(s->p[i * 5 + k], now[k], s->n[i * 5 + k] * sizeof(float)),
                          "%s layer %d: Darknet's parameter array %d changed", name, i, k);
            free(s->p[i * 5 + k]);
        }
    }
    free(s->p);
    free(s->n);
}

static void check_network(network *net, const char *name, unsigned seed, coverage *cov)
{
    layer *L = net->layers;
    float *x = malloc((size_t)net->inputs * sizeof *x);
    ck_assert_ptr_nonnull(x);
    uint64_t st = seed;
    for (int i = 0; i < net->inputs; ++i) x[i] = gcf_uniform(&st, 0.0f, 1.0f);

    /* Darknet's own forward: the reference. */
    network_predict(net, x);
    float **ref = calloc((size_t)net->n, sizeof *ref);
    int **ref_idx = calloc((size_t)net->n, sizeof *ref_idx);
    gc_forward_fn *slots = calloc((size_t)net->n, sizeof *slots);
    ck_assert(ref && ref_idx && slots);
    for (int i = 0; i < net->n; ++i) {
        slots[i] = L[i].forward;
        if (!L[i].output) continue;
        ref[i] = malloc((size_t)L[i].outputs * sizeof(float));
        ck_assert_ptr_nonnull(ref[i]);
        memcpy(ref[i], L[i].output, (size_t)L[i].outputs * sizeof(float));
        if (L[i].type == MAXPOOL) {
            ref_idx[i] = malloc((size_t)L[i].outputs * sizeof(int));
            ck_assert_ptr_nonnull(ref_idx[i]);
            memcpy(ref_idx[i], L[i].indexes, (size_t)L[i].outputs * sizeof(int));
        }
    }
    snapshot snap;
    snapshot_take(net, &snap);
    int blas_threads = openblas_get_num_threads();

    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);

    /* Each handled layer alone, on Darknet's own input to it. */
    int alone = 0;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &L[i];
        if (!gc_forward_handles(l)) {
            ck_assert_msg(l->forward == slots[i], "%s layer %d: a slot the plugin does not handle changed", name, i);
            continue;
        }
        ck_assert_msg(l->forward == gc_forward_layer, "%s layer %d: slot not installed", name, i);
        network sub = *net;
        sub.index = i;
        sub.input = i ? L[i - 1].output : x;
        sub.train = 0;
        memset(l->output, 0x7f, (size_t)l->outputs * sizeof(float)); /* stale values must not survive */
        l->forward(*l, sub);
        ++alone;
        size_t n = (size_t)l->outputs;
        if (l->type == CONVOLUTIONAL) {
            double *y = malloc(n * sizeof *y), *mag = malloc(n * sizeof *mag);
            ck_assert(y && mag);
            conv_reference(l, sub.input, y, mag);
            double k = (double)l->size * l->size * (l->c / l->groups);
            int darknet_1x1_quirk = l->size == 1 && (l->stride != 1 || l->pad != 0);
            /* worst element first, one assertion per layer (Check reports
             * every assertion to its parent process) */
            size_t bad_d = n, bad_r = n;
            double tol_d = 0, tol_r = 0;
            for (size_t j = 0; j < n; ++j) {
                double tol = (k + 8) * EPS * mag[j] + 2 * EPS * fabs(y[j]) + 1e-30;
                if (bad_d == n && !(fabs((double)l->output[j] - ref[i][j]) <= 2 * tol)) bad_d = j, tol_d = 2 * tol;
                if (bad_r == n && !darknet_1x1_quirk && !(fabs((double)l->output[j] - y[j]) <= tol))
                    bad_r = j, tol_r = tol;
            }
            ck_assert_msg(bad_d == n,
                          "%s layer %d (conv %dx%d/%d groups %d bn %d): output %zu is %.9g, Darknet's %.9g (tol %.3g)",
                          name, i, l->size, l->size, l->stride, l->groups, l->batch_normalize, bad_d,
                          l->output[bad_d < n ? bad_d : 0], ref[i][bad_d < n ? bad_d : 0], tol_d);
            ck_assert_msg(bad_r == n, "%s layer %d: output %zu is %.9g, the direct convolution's %.9g (tol %.3g)", name,
                          i, bad_r, l->output[bad_r < n ? bad_r : 0], y[bad_r < n ? bad_r : 0], tol_r);
            free(y);
            free(mag);
            ++cov->conv;
            cov->conv_bn += l->batch_normalize;
            cov->grouped += l->groups > 1 && l->groups < l->c;
            cov->depthwise += l->groups > 1 && l->groups == l->c && l->groups == l->n;
            cov->strided += l->stride > 1;
            cov->winograd += c.fwd.wino && c.fwd.wino[i];
        } else {
            size_t bad = n;
            for (size_t j = 0; j < n && bad == n; ++j)
                if (!(fabs((double)l->output[j] - ref[i][j]) <= 2 * EPS * fabs(ref[i][j]))) bad = j;
            ck_assert_msg(bad == n, "%s layer %d (%s): output %zu is %.9g, Darknet's %.9g", name, i,
                          l->type == MAXPOOL    ? "maxpool"
                          : l->type == SHORTCUT ? "shortcut"
                          : l->type == UPSAMPLE ? "upsample"
                          : l->type == YOLO     ? "yolo"
                                                : "route",
                          bad, l->output[bad < n ? bad : 0], ref[i][bad < n ? bad : 0]);
            if (l->type == MAXPOOL) {
                ck_assert_msg(!memcmp(l->indexes, ref_idx[i], n * sizeof(int)), "%s layer %d: maxpool indexes differ",
                              name, i);
                ++cov->maxpool;
            }
            cov->shortcut += l->type == SHORTCUT;
            cov->upsample += l->type == UPSAMPLE;
            cov->route += l->type == ROUTE;
            cov->yolo += l->type == YOLO;
        }
        memcpy(l->output, ref[i], n * sizeof(float)); /* the next layer reads Darknet's values */
    }
    ck_assert_msg(alone > 0, "%s: no layer was run through the plugin's forward", name);
    ck_assert_int_eq(openblas_get_num_threads(), 1);

    /* The whole forward through the new slots. Recurrent layers keep state
     * between calls (a second forward differs by design): such nets are
     * compared whole by bench_equiv, against stock Darknet's first forward. */
    int recurrent = 0;
    for (int i = 0; i < net->n; ++i)
        recurrent |= L[i].type == RNN || L[i].type == GRU || L[i].type == LSTM || L[i].type == CRNN;
    for (int i = 0; i < net->n; ++i)
        if (L[i].output) memset(L[i].output, 0, (size_t)L[i].outputs * sizeof(float));
    gc_hooks_forward(&c, x);
    for (int i = 0; i < net->n && !recurrent; ++i) {
        if (!ref[i]) continue;
        double scale = 0;
        for (int j = 0; j < L[i].outputs; ++j) scale = fmax(scale, fabs(ref[i][j]));
        int bad = -1;
        for (int j = 0; j < L[i].outputs && bad < 0; ++j) {
            double d = fabs((double)L[i].output[j] - ref[i][j]);
            if (!(isfinite(L[i].output[j]) && d <= 1e-4 * fabs(ref[i][j]) + 1e-5 * scale + 1e-6)) bad = j;
        }
        ck_assert_msg(bad < 0, "%s, whole forward, layer %d: output %d is %.9g, Darknet's %.9g (layer max %g)", name, i,
                      bad, L[i].output[bad < 0 ? 0 : bad], ref[i][bad < 0 ? 0 : bad], scale);
    }

    gc_hooks_free(&c);
    for (int i = 0; i < net->n; ++i)
        ck_assert_msg(L[i].forward == slots[i], "%s layer %d: forward slot not restored", name, i);
    ck_assert_int_eq(openblas_get_num_threads(), blas_threads);
    snapshot_check_free(net, &snap, name);
    for (int i = 0; i < net->n; ++i) {
        free(ref[i]);
        free(ref_idx[i]);
    }
    free(ref);
    free(ref_idx);
    free(slots);
    free(x);
}

static const char *const TINY_CFGS[] = {
    "tests/cfg/bw_conv_1x1.cfg",    "tests/cfg/bw_conv_act.cfg",         "tests/cfg/bw_conv_bn.cfg",
    "tests/cfg/bw_conv_groups.cfg", "tests/cfg/bw_conv_pad.cfg",         "tests/cfg/bw_conv_stride.cfg",
    "tests/cfg/bw_maxpool.cfg",     "tests/cfg/bw_maxpool_odd.cfg",      "tests/cfg/bw_maxpool_spp.cfg",
    "tests/cfg/bw_route.cfg",       "tests/cfg/bw_shortcut.cfg",         "tests/cfg/bw_shortcut_ab.cfg",
    "tests/cfg/bw_shortcut_down.cfg", "tests/cfg/bw_shortcut_up.cfg",    "tests/cfg/bw_upsample.cfg",
    "tests/cfg/bw_upsample_rev.cfg", "tests/cfg/bw_upsample_rev_odd.cfg", "tests/cfg/bw_yolo.cfg",
    "tests/cfg/clf_bn.cfg",         "tests/cfg/clf_resnet.cfg",          "tests/cfg/det_yolo2.cfg",
    "tests/cfg/two_branch.cfg",     "tests/cfg/fw_winograd.cfg",   "tests/cfg/bw_conv_dw_1x1_stride.cfg",
};

START_TEST(tiny_cfgs_match_darknet_layer_by_layer)
{
    coverage cov = {0};
    for (size_t i = 0; i < sizeof TINY_CFGS / sizeof TINY_CFGS[0]; ++i) {
        network *net = gcf_random_network(TINY_CFGS[i], 100 + (unsigned)i);
        ck_assert_ptr_nonnull(net);
        check_network(net, TINY_CFGS[i], 7 + (unsigned)i, &cov);
        free_network(net);
    }
    /* every kind of layer and convolution the module has a path for was run */
    ck_assert_int_gt(cov.conv, 10);
    ck_assert_int_gt(cov.conv_bn, 0);
    ck_assert_int_gt(cov.grouped, 0);
    ck_assert_int_gt(cov.depthwise, 0);
    ck_assert_int_gt(cov.strided, 0);
    ck_assert_int_eq(cov.winograd, 2); /* fw_winograd's first two */
    ck_assert_int_gt(cov.maxpool, 0);
    ck_assert_int_gt(cov.shortcut, 0);
    ck_assert_int_gt(cov.upsample, 0);
    ck_assert_int_gt(cov.route, 0);
}
END_TEST

static void check_model(const char *cfg, const char *weights, unsigned seed, coverage *cov)
{
    gc_err e = {0};
    network *net = gc_model_load(cfg, weights, &e);
    ck_assert_msg(net != NULL, "%s", e.msg);
    set_batch_network(net, 1);
    check_network(net, cfg, seed, cov);
    free_network(net);
}

START_TEST(demo_models_match_darknet)
{
    coverage cov = {0};
    check_model("cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights", 3, &cov);
    check_model("cfg/fmnist-det.cfg", "cfg/fmnist-det.weights", 4, &cov);
    ck_assert_int_gt(cov.conv_bn, 3);
}
END_TEST

START_TEST(yolov3_tiny_matches_darknet)
{
    coverage cov = {0};
    network *net = gcf_random_network(gcf_darknet_path("cfg/yolov3-tiny.cfg"), 5);
    ck_assert_ptr_nonnull(net);
    check_network(net, "yolov3-tiny", 9, &cov);
    free_network(net);
    ck_assert_int_eq(cov.maxpool, 6);
    ck_assert_int_eq(cov.upsample, 1);
    ck_assert_int_eq(cov.yolo, 2);
    /* 7 layers qualify; conv 12 (512 -> 1024) does not fit the budget of
     * transformed weights (gc_forward_init) once the six with more tiles
     * have theirs */
    ck_assert_int_eq(cov.winograd, 6);
}
END_TEST

/* gcf_shared_model's result is a static buffer: copy before the next call. */
static int shared_model(const char *rel, char *buf, size_t cap)
{
    const char *p = gcf_shared_model(rel);
    if (!p) return 0;
    snprintf(buf, cap, "%s", p);
    return 1;
}

START_TEST(real_models_match_darknet)
{
    char cfg[4096], weights[4096];
    coverage cov = {0};
    if (shared_model("yolo-fastest/yolo-fastest-1.1.cfg", cfg, sizeof cfg) &&
        shared_model("yolo-fastest/yolo-fastest-1.1.weights", weights, sizeof weights)) {
        check_model(cfg, weights, 6, &cov);
        ck_assert_int_gt(cov.depthwise, 10); /* the real depthwise convolutions ran */
    }
    if (shared_model("tiny-darknet/tiny.cfg", cfg, sizeof cfg) &&
        shared_model("tiny-darknet/tiny.weights", weights, sizeof weights))
        check_model(cfg, weights, 8, &cov);
}
END_TEST

/* The forward's output, every layer, with the hooks' pool made after
 * gc_pool_share(share): a copy per layer (free with free_outputs). */
static float **forward_with_share(network *net, const float *x, int share, int *threads)
{
    gc_pool_share(share);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_pool_share(1);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);
    *threads = c.fwd.pool_ready ? c.fwd.pool.threads : 1;
    float **out = calloc((size_t)net->n, sizeof *out);
    ck_assert_ptr_nonnull(out);
    for (int i = 0; i < net->n; ++i) {
        if (!net->layers[i].output) continue;
        out[i] = malloc((size_t)net->layers[i].outputs * sizeof(float));
        ck_assert_ptr_nonnull(out[i]);
        memcpy(out[i], net->layers[i].output, (size_t)net->layers[i].outputs * sizeof(float));
    }
    gc_hooks_free(&c);
    return out;
}

static void free_outputs(float **o, int n)
{
    for (int i = 0; i < n; ++i) free(o[i]);
    free(o);
}

/* A -jobs worker (its pool a share of the cores) computes the same bits as
 * one process: the products are cut by the cores, not the threads, and
 * OpenBLAS runs as many threads in both (on a Zen CPU, cuts by thread count
 * made -jobs 2's maps differ from -jobs 1's in the last bit). On one core
 * both have one thread and the check holds trivially. */
START_TEST(a_share_of_the_cores_computes_the_same_bits)
{
    char cfg[4096], weights[4096];
    const char *models[][2] = {{"cfg/fmnist-det.cfg", "cfg/fmnist-det.weights"},
                               {"cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights"},
                               {"tiny-darknet/tiny.cfg", "tiny-darknet/tiny.weights"}};
    int cores = gc_pool_cores(), ran = 0;
    for (size_t m = 0; m < sizeof models / sizeof *models; ++m) {
        if (m < 2) {
            snprintf(cfg, sizeof cfg, "%s", models[m][0]);
            snprintf(weights, sizeof weights, "%s", models[m][1]);
        } else if (!shared_model(models[m][0], cfg, sizeof cfg) || !shared_model(models[m][1], weights, sizeof weights)) {
            continue; /* the product over GC_BLAS_SHARED_MACS: Tiny Darknet's, when ../shared has it */
        }
        gc_err e = {0};
        network *net = gc_model_load(cfg, weights, &e);
        ck_assert_msg(net != NULL, "%s", e.msg);
        set_batch_network(net, 1);
        float *x = malloc((size_t)net->inputs * sizeof *x);
        ck_assert_ptr_nonnull(x);
        uint64_t st = 31 + m;
        for (int i = 0; i < net->inputs; ++i) x[i] = gcf_uniform(&st, 0.0f, 1.0f);
        int t_all, t_share;
        float **all = forward_with_share(net, x, 1, &t_all);
        float **part = forward_with_share(net, x, cores, &t_share);
        ck_assert_int_eq(t_share, 1);
        ck_assert_int_eq(t_all, cores > 64 ? 64 : cores);
        for (int i = 0; i < net->n; ++i)
            if (all[i])
                ck_assert_msg(!memcmp(all[i], part[i], (size_t)net->layers[i].outputs * sizeof(float)),
                              "%s layer %d: one thread of %d computes other bits", cfg, i, cores);
        free_outputs(all, net->n);
        free_outputs(part, net->n);
        free(x);
        free_network(net);
        ++ran;
    }
    ck_assert_int_ge(ran, 2);
}
END_TEST

/* A batched forward (-batch N) of three images gives each image what its
 * own forward gives, layer by layer, maxpool's indexes included, within
 * float rounding: a wider product may run other OpenBLAS kernels on some
 * columns (a tail of 49 columns, not 16 of 64), with other roundings (seen:
 * 1 ulp on a 7x7 convolution), carried through the layers above. Counts
 * the layers ran batched by GEMM and by Winograd, the layers compared and
 * those not bit-identical. */
static void check_batch(network *net, const char *name, unsigned seed, int *gemm, int *wino, int *layers,
                        int *inexact)
{
    enum { NIMG = 3 };
    gc_ctx c;
    gc_err e = {0};
    ck_assert_msg(gc_hooks_init(&c, net, &e) == 0, "%s: %s", name, e.msg);
    gc_hooks_install(&c);
    float *x[NIMG];
    float **ref[NIMG];
    int **ref_idx[NIMG];
    uint64_t st = seed;
    for (int k = 0; k < NIMG; ++k) {
        x[k] = malloc((size_t)net->inputs * sizeof(float));
        ck_assert_ptr_nonnull(x[k]);
        for (int i = 0; i < net->inputs; ++i) x[k][i] = gcf_uniform(&st, 0.0f, 1.0f);
        gc_hooks_forward(&c, x[k]);
        ref[k] = calloc((size_t)net->n, sizeof(float *));
        ref_idx[k] = calloc((size_t)net->n, sizeof(int *));
        ck_assert(ref[k] && ref_idx[k]);
        for (int i = 0; i < net->n; ++i) {
            const layer *l = &net->layers[i];
            ref[k][i] = malloc((size_t)l->outputs * sizeof(float));
            ck_assert_ptr_nonnull(ref[k][i]);
            memcpy(ref[k][i], l->output, (size_t)l->outputs * sizeof(float));
            if (l->type == MAXPOOL) {
                ref_idx[k][i] = malloc((size_t)l->outputs * sizeof(int));
                memcpy(ref_idx[k][i], l->indexes, (size_t)l->outputs * sizeof(int));
            }
        }
    }
    float **own = malloc((size_t)net->n * sizeof *own);
    ck_assert_ptr_nonnull(own);
    for (int i = 0; i < net->n; ++i) own[i] = net->layers[i].output;
    float *own_net_out = net->output;
    gc_fwd_batch b;
    ck_assert_msg(gc_forward_batch_init(&b, &c.fwd, NIMG + 1, &e) == 0, "%s: %s", name, e.msg);
    for (int i = 0; i < net->n; ++i) {
        if (c.fwd.wino && c.fwd.wino[i]) ++*wino;
        else if (net->layers[i].type == CONVOLUTIONAL && net->layers[i].groups == 1 &&
                 net->layers[i].out_w * net->layers[i].out_h <= GC_FWD_BATCH_COLUMNS)
            ++*gemm;
    }
    /* the images in another order than their reference forwards ran */
    const float *in[NIMG] = {x[2], x[0], x[1]};
    const int which[NIMG] = {2, 0, 1};
    gc_forward_batch_run(&b, in, NIMG);
    for (int k = 0; k < NIMG; ++k) {
        gc_forward_batch_view(&b, k);
        int r = which[k];
        for (int i = 0; i < net->n; ++i) {
            const layer *l = &net->layers[i];
            double scale = 0;
            for (int j = 0; j < l->outputs; ++j) scale = fmax(scale, fabs(ref[r][i][j]));
            int bad = -1, exact = 1;
            for (int j = 0; j < l->outputs; ++j) {
                double d = fabs((double)l->output[j] - ref[r][i][j]);
                if (d > 0) exact = 0;
                if (!(isfinite(l->output[j]) && d <= 1e-4 * fabs(ref[r][i][j]) + 1e-5 * scale + 1e-6)) bad = j;
            }
            ck_assert_msg(bad < 0, "%s: batch image %d, layer %d (%s): output %d is %.9g, its own forward's %.9g", name,
                          k, i, gc_darknet_type_name(l->type), bad, l->output[bad < 0 ? 0 : bad],
                          ref[r][i][bad < 0 ? 0 : bad]);
            *inexact += !exact;
            *layers += 1;
            /* an arg-max may move only between inputs that are equal within the rounding */
            for (int j = 0; ref_idx[r][i] && j < l->outputs; ++j) {
                int a = l->indexes[j], o = ref_idx[r][i][j];
                if (a == o) continue;
                const float *xin = net->layers[i - 1].output;
                ck_assert_msg(a >= 0 && o >= 0 && fabs((double)xin[a] - xin[o]) <= 1e-4 * fabs((double)xin[o]) + 1e-6,
                              "%s: batch image %d, layer %d: maxpool index %d is %d, its own forward's %d", name, k,
                              i, j, a, o);
            }
        }
        ck_assert_ptr_eq(net->output, net->layers[net->n - 1].type == COST ? net->layers[net->n - 2].output
                                                                            : net->layers[net->n - 1].output);
    }
    gc_forward_batch_restore(&b);
    for (int i = 0; i < net->n; ++i) ck_assert_ptr_eq(net->layers[i].output, own[i]);
    ck_assert_ptr_eq(net->output, own_net_out);
    /* after the restore the network's own forward is untouched by the batch */
    gc_forward_batch_free(&b);
    gc_hooks_free(&c);
    for (int k = 0; k < NIMG; ++k) {
        for (int i = 0; i < net->n; ++i) {
            free(ref[k][i]);
            free(ref_idx[k][i]);
        }
        free(ref[k]);
        free(ref_idx[k]);
        free(x[k]);
    }
    free(own);
}

START_TEST(a_batch_computes_each_images_own_forward)
{
    int gemm = 0, wino = 0, ran = 0, layers = 0, inexact = 0;
    for (size_t i = 0; i < sizeof TINY_CFGS / sizeof TINY_CFGS[0]; ++i) {
        network *net = gcf_random_network(TINY_CFGS[i], 300 + (unsigned)i);
        ck_assert_ptr_nonnull(net);
        if (gc_forward_batch_supported(net, NULL, 0)) {
            check_batch(net, TINY_CFGS[i], 40 + (unsigned)i, &gemm, &wino, &layers, &inexact);
            ++ran;
        }
        free_network(net);
    }
    char cfg[4096], weights[4096];
    const char *models[][2] = {{"cfg/fmnist-det.cfg", "cfg/fmnist-det.weights"},
                               {"cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights"},
                               {"yolo-fastest/yolo-fastest-1.1.cfg", "yolo-fastest/yolo-fastest-1.1.weights"},
                               {"tiny-darknet/tiny.cfg", "tiny-darknet/tiny.weights"}};
    for (size_t m = 0; m < sizeof models / sizeof *models; ++m) {
        if (m < 2) {
            snprintf(cfg, sizeof cfg, "%s", models[m][0]);
            snprintf(weights, sizeof weights, "%s", models[m][1]);
        } else if (!shared_model(models[m][0], cfg, sizeof cfg) || !shared_model(models[m][1], weights, sizeof weights)) {
            continue;
        }
        gc_err e = {0};
        network *net = gc_model_load(cfg, weights, &e);
        ck_assert_msg(net != NULL, "%s", e.msg);
        set_batch_network(net, 1);
        ck_assert_msg(gc_forward_batch_supported(net, NULL, 0), "%s: no batched forward", cfg);
        check_batch(net, cfg, 50 + (unsigned)m, &gemm, &wino, &layers, &inexact);
        free_network(net);
        ++ran;
    }
    ck_assert_int_ge(ran, 18);
    ck_assert_int_gt(gemm, 5); /* both batched paths ran */
    ck_assert_int_gt(wino, 1);
    fprintf(stderr, "batched forward: %d networks, %d layer outputs compared, %d not bit-identical\n", ran, layers,
            inexact);
}
END_TEST

/* A layer without a batched forward is named. */
START_TEST(a_batch_names_a_layer_it_cannot_run)
{
    network *net = gcf_random_network("tests/cfg/bw_region.cfg", 3);
    ck_assert_ptr_nonnull(net);
    char why[256] = "";
    ck_assert_int_eq(gc_forward_batch_supported(net, why, sizeof why), 0);
    ck_assert_msg(strstr(why, "(region) has no batched forward"), "%s", why);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_fwd_batch b;
    ck_assert_int_eq(gc_forward_batch_init(&b, &c.fwd, 2, &e), -1);
    ck_assert_msg(strstr(e.msg, "region"), "%s", e.msg);
    /* what list mode does after a failed init (as when its buffers cannot
     * be had): the restore is a no-op, the network's buffers untouched (it
     * dereferenced the unset network: SIGSEGV) */
    float *out0 = net->layers[0].output;
    gc_forward_batch_restore(&b);
    ck_assert_ptr_eq(net->layers[0].output, out0);
    gc_hooks_free(&c);
    free_network(net);
}
END_TEST

/* The comparison is sensitive: a folded bias off by one part in 1e3 shows. */
START_TEST(the_check_catches_a_wrong_fold)
{
    network *net = gcf_random_network("tests/cfg/bw_conv_bn.cfg", 3);
    ck_assert_ptr_nonnull(net);
    float *x = malloc((size_t)net->inputs * sizeof *x);
    ck_assert_ptr_nonnull(x);
    uint64_t st = 1;
    for (int i = 0; i < net->inputs; ++i) x[i] = gcf_uniform(&st, 0.0f, 1.0f);
    int li = -1;
    for (int i = 0; i < net->n && li < 0; ++i)
        if (net->layers[i].type == CONVOLUTIONAL && net->layers[i].batch_normalize) li = i;
    ck_assert_int_ge(li, 0);
    network_predict(net, x);
    layer *l = &net->layers[li];
    float *ref = malloc((size_t)l->outputs * sizeof *ref);
    ck_assert_ptr_nonnull(ref);
    memcpy(ref, l->output, (size_t)l->outputs * sizeof *ref);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    c.fwd.biases[li][0] += 1e-3f * (fabsf(c.fwd.biases[li][0]) + 1);
    gc_hooks_forward(&c, x);
    double worst = 0;
    for (int j = 0; j < l->out_w * l->out_h; ++j) worst = fmax(worst, fabs((double)l->output[j] - ref[j]));
    ck_assert_msg(worst > 1e-4, "a perturbed bias went unnoticed (%g)", worst);
    gc_hooks_free(&c);
    free(ref);
    free(x);
    free_network(net);
}
END_TEST

/* ---- gc_pool ---- */

typedef struct mark_args {
    int *hits;
} mark_args;

static void mark(void *raw, size_t b, size_t e)
{
    mark_args *a = raw;
    for (size_t i = b; i < e; ++i) a->hits[i]++;
}

START_TEST(pool_covers_every_item_once)
{
    gc_pool p;
    gc_err e = {0};
    ck_assert_int_eq(gc_pool_init(&p, 3, &e), 0);
    ck_assert_int_eq(p.threads, 3);
    p.min_work = 1; /* every loop of 2 or more items on the threads */
    static int hits[100003];
    const size_t counts[] = {0, 1, 2, 3, 7, 1000, 100003};
    for (int rep = 0; rep < 50; ++rep)
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; ++k) {
            memset(hits, 0, sizeof hits);
            mark_args a = {hits};
            gc_pool_for(&p, counts[k], 1000, mark, &a);
            size_t wrong = 0;
            for (size_t i = 0; i < sizeof hits / sizeof hits[0]; ++i) wrong += hits[i] != (i < counts[k]);
            ck_assert_msg(wrong == 0, "count %zu: %zu items run a wrong number of times", counts[k], wrong);
        }
    gc_pool_free(&p);
    ck_assert_int_eq(gc_pool_init(&p, 1, &e), 0); /* one thread: inline, no workers */
    ck_assert_ptr_null(p.workers);
    memset(hits, 0, sizeof hits);
    mark_args a = {hits};
    gc_pool_for(&p, 10, 1 << 20, mark, &a);
    for (int i = 0; i < 10; ++i) ck_assert_int_eq(hits[i], 1);
    gc_pool_free(&p);
    /* threads < 1: one per core, or the cores shared among -jobs processes */
    long cores = gc_pool_cores();
    ck_assert_int_ge(cores, 1);
    ck_assert_int_le(cores, sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : cores);
    const int share[] = {1, 2, 3, 1000};
    for (size_t k = 0; k < sizeof share / sizeof *share; ++k) {
        gc_pool_share(share[k]);
        ck_assert_int_eq(gc_pool_init(&p, 0, &e), 0);
        long want = cores / share[k] < 1 ? 1 : cores / share[k] > 64 ? 64 : cores / share[k];
        ck_assert_msg(p.threads == want, "%d processes on %ld cores: %d threads", share[k], cores, p.threads);
        gc_pool_free(&p);
    }
    gc_pool_share(1);
    /* a process allowed one CPU (as a one-CPU Slurm task or taskset) makes one thread */
    fflush(stdout);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) _exit(3);
        gc_pool q;
        gc_err qe = {0};
        int ok = gc_pool_cores() == 1 && gc_pool_init(&q, 0, &qe) == 0 && q.threads == 1;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "one allowed CPU: status %d", status);
}
END_TEST

/* The threshold for splitting a loop: from GC_POOL_MIN_WORK when it is a
 * number, else from the timed round trip (round_trip_ns * 2 units/ns * 6,
 * within [32768, 2^26]). */
START_TEST(pool_threshold_from_timing_or_environment)
{
    ck_assert_uint_eq(gc_pool_min_work_for(0), GC_POOL_MIN_WORK);
    ck_assert_uint_eq(gc_pool_min_work_for(-5), GC_POOL_MIN_WORK);
    ck_assert_uint_eq(gc_pool_min_work_for(NAN), GC_POOL_MIN_WORK);
    ck_assert_uint_eq(gc_pool_min_work_for(1000), GC_POOL_MIN_WORK); /* 12000 units: the floor */
    ck_assert_uint_eq(gc_pool_min_work_for(50000), 600000);          /* 50 us */
    ck_assert_uint_eq(gc_pool_min_work_for(1e12), GC_POOL_MAX_WORK);
    ck_assert_uint_eq(gc_pool_min_work_for(INFINITY), GC_POOL_MAX_WORK);
    const char *old = getenv("GC_POOL_MIN_WORK");
    char *saved = old ? strdup(old) : NULL;
    gc_pool p;
    gc_err e = {0};
    setenv("GC_POOL_MIN_WORK", "12345", 1);
    ck_assert_int_eq(gc_pool_init(&p, 2, &e), 0);
    ck_assert_uint_eq(p.min_work, 12345);
    ck_assert(p.round_trip_ns == 0); /* not timed */
    gc_pool_free(&p);
    const char *bad[] = {"", "abc", "12x", "-3"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; ++k) {
        setenv("GC_POOL_MIN_WORK", bad[k], 1);
        ck_assert_int_eq(gc_pool_init(&p, 2, &e), 0);
        ck_assert_msg(p.min_work == gc_pool_min_work_for(p.round_trip_ns), "'%s': %zu from %g ns", bad[k], p.min_work,
                      p.round_trip_ns);
        ck_assert(p.round_trip_ns >= 0 && p.round_trip_ns < 1e9);
        gc_pool_free(&p);
    }
    unsetenv("GC_POOL_MIN_WORK");
    /* timed: whole-pass tuning on against that threshold, unless GC_POOL_TUNE=0 */
    ck_assert_int_eq(gc_pool_init(&p, 2, &e), 0);
    ck_assert(p.tune.on && p.tune.ways[0] == p.min_work && p.tune.ways[1] == SIZE_MAX);
    gc_pool_free(&p);
    setenv("GC_POOL_TUNE", "0", 1);
    ck_assert_int_eq(gc_pool_init(&p, 2, &e), 0);
    ck_assert(!p.tune.on);
    ck_assert_uint_eq(p.min_work, gc_pool_min_work_for(p.round_trip_ns));
    gc_pool_free(&p);
    unsetenv("GC_POOL_TUNE");
    ck_assert_int_eq(gc_pool_init(&p, 1, &e), 0); /* one thread: nothing to time */
    ck_assert(p.round_trip_ns == 0);
    gc_pool_free(&p);
    if (saved) setenv("GC_POOL_MIN_WORK", saved, 1);
    free(saved);
}
END_TEST

/* The tuner's choice: everything inline (1) when its median pass is under
 * 0.9 times the threshold's, else the threshold (0); no samples, or too
 * many, choose nothing new. */
START_TEST(pool_tuner_choice_by_median)
{
    ck_assert(GC_POOL_INLINE_GAIN == 0.9);
    const double split[5] = {5, 1, 9, 3, 7}, inl[5] = {4, 100, 2, 6, 4}; /* medians 5 and 4 */
    ck_assert_int_eq(gc_pool_tune_choice(split, inl, 5), 1);
    ck_assert_int_eq(gc_pool_tune_choice(inl, split, 5), 0);
    ck_assert_int_eq(gc_pool_tune_choice(split, split, 5), 0);
    const double a[2] = {1, 3}, b[2] = {2, 2.5}; /* medians 2 and 2.25: 2 < 2.025 */
    ck_assert_int_eq(gc_pool_tune_choice(a, b, 2), 0);
    ck_assert_int_eq(gc_pool_tune_choice(b, a, 2), 1);
    const double s10[3] = {10, 11, 9}, i95[3] = {9.5, 1, 20}, i89[3] = {8.9, 0, 30}; /* 5% faster: not enough */
    ck_assert_int_eq(gc_pool_tune_choice(s10, i95, 3), 0);
    ck_assert_int_eq(gc_pool_tune_choice(s10, i89, 3), 1);
    ck_assert_int_eq(gc_pool_tune_choice(split, inl, 0), 0);
    ck_assert_int_eq(gc_pool_tune_choice(split, inl, GC_POOL_TUNE_PASSES + 1), 0);
}
END_TEST

static void sleep_ms(int ms)
{
    struct timespec t = {0, ms * 1000000L};
    while (nanosleep(&t, &t) && errno == EINTR) {
    }
}

/* n passes; a pass that runs with everything inline lasts slow_inline ms,
 * one with the threshold slow_split ms. Returns how many ran inline. */
static int passes(gc_pool *p, int n, int slow_split, int slow_inline)
{
    int inl = 0;
    for (int i = 0; i < n; ++i) {
        gc_pool_pass_begin(p);
        int all_inline = p->min_work == SIZE_MAX;
        inl += all_inline;
        sleep_ms(all_inline ? slow_inline : slow_split);
        gc_pool_pass_end(p);
    }
    return inl;
}

/* Whole-pass tuning: one pass not timed, then the threshold and everything
 * inline alternately, GC_POOL_TUNE_PASSES of each, then the faster way
 * (the other made 20 ms slower by a sleep: a margin a loaded machine's
 * scheduling delays do not close at the median) for GC_POOL_RETUNE passes; then both are timed again and the new
 * faster way kept. Turned off, the pool is back to its threshold; a NULL
 * pool (no hooks' pool) is a no-op. */
START_TEST(pool_tuner_keeps_the_faster_way)
{
    gc_pool p;
    gc_err e = {0};
    ck_assert_int_eq(gc_pool_init(&p, 2, &e), 0);
    ck_assert_int_eq(p.threads, 2);
    ck_assert(!p.tune.on); /* the tests' GC_POOL_MIN_WORK: a fixed threshold */
    size_t thr = p.min_work;
    gc_pool_tune(&p, 1);
    ck_assert(p.tune.on);
    /* the first pass, untimed, with the threshold */
    gc_pool_pass_begin(&p);
    ck_assert_uint_eq(p.min_work, thr);
    ck_assert_int_eq(p.tune.way, -1);
    gc_pool_pass_end(&p);
    /* the timed passes alternate, threshold first */
    for (int i = 0; i < 2 * GC_POOL_TUNE_PASSES; ++i) {
        gc_pool_pass_begin(&p);
        ck_assert_msg(p.min_work == (i % 2 ? SIZE_MAX : thr), "timed pass %d: min_work %zu", i, p.min_work);
        sleep_ms(p.min_work == SIZE_MAX ? 20 : 0); /* inline is the slow way */
        gc_pool_pass_end(&p);
    }
    ck_assert_int_eq(p.tune.chosen, 0);
    ck_assert_uint_eq(p.min_work, thr);
    /* kept until GC_POOL_RETUNE passes, then timed again: now splitting is slow */
    ck_assert_int_eq(passes(&p, GC_POOL_RETUNE - 1, 0, 0), 0);
    ck_assert_int_eq(passes(&p, 2 * GC_POOL_TUNE_PASSES, 20, 0), GC_POOL_TUNE_PASSES);
    ck_assert_int_eq(p.tune.chosen, 1);
    ck_assert_uint_eq(p.min_work, SIZE_MAX);
    ck_assert_int_eq(passes(&p, 20, 0, 0), 20);
    /* off: the threshold again, and no pass changes it */
    gc_pool_tune(&p, 0);
    ck_assert(!p.tune.on);
    ck_assert_uint_eq(p.min_work, thr);
    ck_assert_int_eq(passes(&p, 3, 0, 0), 0);
    gc_pool_pass_begin(NULL);
    gc_pool_pass_end(NULL);
    gc_pool_free(&p);
    /* one thread: nothing to tune */
    ck_assert_int_eq(gc_pool_init(&p, 1, &e), 0);
    gc_pool_tune(&p, 1);
    ck_assert(!p.tune.on);
    gc_pool_free(&p);
}
END_TEST

/* The kernels on hand-worked arrays. */
START_TEST(kernels_hand_worked)
{
    /* 1 channel 3x3, 2x2 maxpool stride 1 pad 1 (Darknet: offset -0): the
     * last row/column windows are clipped; ties keep the first index. */
    const float in[9] = {1, 5, 2, 5, 0, 3, 4, 4, 4};
    float out[9];
    int idx[9];
    gc_forward_maxpool(out, idx, in, 1, 3, 3, 2, 1, 1, 3, 3, NULL);
    const float want[9] = {5, 5, 3, 5, 4, 4, 4, 4, 4};
    const int want_i[9] = {1, 1, 5, 3, 7, 8, 6, 7, 8};
    for (int i = 0; i < 9; ++i) {
        ck_assert_float_eq(out[i], want[i]);
        ck_assert_int_eq(idx[i], want_i[i]);
    }
    /* im2col of a 1x2x2 image, 3x3 kernel, pad 1: row (ky,kx) is the image
     * shifted by (ky-1, kx-1) with zeros outside. */
    const float im[4] = {1, 2, 3, 4};
    float col[36];
    gc_forward_im2col(col, im, 1, 2, 2, 3, 1, 1, NULL);
    const float r0[4] = {0, 0, 0, 1}, r4[4] = {1, 2, 3, 4}, r8[4] = {4, 0, 0, 0};
    for (int i = 0; i < 4; ++i) {
        ck_assert_float_eq(col[i], r0[i]);
        ck_assert_float_eq(col[16 + i], r4[i]);
        ck_assert_float_eq(col[32 + i], r8[i]);
    }
    /* depthwise 3x3 of all ones = the 3x3 box sum */
    const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    float dw[4];
    gc_forward_depthwise(dw, im, ones, 1, 2, 2, 3, 1, 1, 2, 2, NULL);
    for (int i = 0; i < 4; ++i) ck_assert_float_eq(dw[i], 10);
    /* bias + leaky */
    float v[4] = {-1, 0, 1, 2};
    const float b[2] = {0.5f, -1.5f};
    gc_forward_bias_act(v, NULL, b, 2, 2, LEAKY, NULL);
    ck_assert_float_eq_tol(v[0], -0.05f, 1e-7);
    ck_assert_float_eq(v[1], 0.5f);
    ck_assert_float_eq_tol(v[2], -0.05f, 1e-7);
    ck_assert_float_eq(v[3], 0.5f);
    /* with a scale: act(s x + b) */
    float u[2] = {1, -2};
    const float sc[1] = {2}, b1[1] = {-1};
    gc_forward_bias_act(u, sc, b1, 1, 2, LEAKY, NULL);
    ck_assert_float_eq(u[0], 1.f);
    ck_assert_float_eq_tol(u[1], -0.5f, 1e-7);
}
END_TEST

/* Darknet's forward_maxpool_layer for one image, as written there. */
static void plain_maxpool(float *out, int *idx, const float *in, int c, int h, int w, int size, int stride, int pad,
                          int out_h, int out_w)
{
    int w_off = -pad / 2, h_off = -pad / 2;
    for (int k = 0; k < c; ++k)
        for (int i = 0; i < out_h; ++i)
            for (int j = 0; j < out_w; ++j) {
                int o = j + out_w * (i + out_h * k);
                float max = -FLT_MAX;
                int max_i = -1;
                for (int n = 0; n < size; ++n)
                    for (int m = 0; m < size; ++m) {
                        int y = h_off + i * stride + n, x = w_off + j * stride + m;
                        int index = x + w * (y + h * k);
                        int valid = y >= 0 && y < h && x >= 0 && x < w;
                        float val = valid ? in[index] : -FLT_MAX;
                        max_i = val > max ? index : max_i;
                        max = val > max ? val : max;
                    }
                out[o] = max;
                idx[o] = max_i;
            }
}

/* The 2x2 stride-2 fast path (and the general loop at its edges) against
 * Darknet's loop: odd and even sizes (a clipped last row / column), values
 * from three levels so that ties are common (the first in Darknet's order
 * wins), and -FLT_MAX itself, which no later value equal to it replaces. */
START_TEST(maxpool_matches_darknets_loop)
{
    uint64_t st = 11;
    const float levels[3] = {-1.f, 0.f, 2.f};
    for (int h = 1; h <= 7; ++h)
        for (int w = 1; w <= 7; ++w)
            for (int pad = 0; pad <= 2; ++pad) {
                int size = 2, stride = 2, c = 3;
                int out_h = (h + pad - size) / stride + 1, out_w = (w + pad - size) / stride + 1;
                if (out_h < 1 || out_w < 1) continue;
                float in[3 * 49], out[3 * 64], ref[3 * 64];
                int idx[3 * 64], ref_i[3 * 64];
                for (int i = 0; i < c * h * w; ++i) {
                    double u = gc_rng_unit(&st);
                    in[i] = u < 0.05 ? -FLT_MAX : levels[(int)(u * 3) % 3];
                }
                gc_forward_maxpool(out, idx, in, c, h, w, size, stride, pad, out_h, out_w, NULL);
                plain_maxpool(ref, ref_i, in, c, h, w, size, stride, pad, out_h, out_w);
                for (int i = 0; i < c * out_h * out_w; ++i) {
                    ck_assert_msg(out[i] == ref[i] && idx[i] == ref_i[i],
                                  "%dx%d pad %d, output %d: %g at %d, Darknet %g at %d", h, w, pad, i, out[i], idx[i],
                                  ref[i], ref_i[i]);
                }
            }
}
END_TEST

/* Parameters changed while the slots are installed (the randomisation test
 * does that): after gc_hooks_weights_changed the forward uses the new batch
 * norm as Darknet's own forward does; without it, the folded scale and bias
 * of the old one (so the call is needed). */
START_TEST(changed_weights_are_folded_again)
{
    /* clf_bn: batch norm folded again; fw_winograd: the Winograd weights
     * transformed again */
    network *net = gcf_random_network(_i ? "tests/cfg/fw_winograd.cfg" : "tests/cfg/clf_bn.cfg", 41);
    ck_assert_ptr_nonnull(net);
    size_t no = (size_t)net->outputs;
    float *x = malloc((size_t)net->inputs * sizeof *x), *before = malloc(no * sizeof *before),
          *stale = malloc(no * sizeof *stale), *fresh = malloc(no * sizeof *fresh);
    uint64_t st = 5;
    for (int i = 0; i < net->inputs; ++i) x[i] = gcf_uniform(&st, 0, 1);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    memcpy(before, gc_hooks_forward(&c, x), no * sizeof *before);
    gc_model_randomize_layers(net, 0, net->n - 1, 77);
    memcpy(stale, gc_hooks_forward(&c, x), no * sizeof *stale);
    gc_hooks_weights_changed(&c);
    memcpy(fresh, gc_hooks_forward(&c, x), no * sizeof *fresh);
    gc_hooks_remove(&c);
    const float *ref = network_predict(net, x); /* Darknet's own slots */
    int moved = 0, stale_off = 0;
    for (size_t i = 0; i < no; ++i) {
        ck_assert_msg(fabs(fresh[i] - ref[i]) <= 1e-4 * fabs(ref[i]) + 1e-6, "output %zu: %g vs Darknet's %g", i,
                      fresh[i], ref[i]);
        moved += fabs(before[i] - ref[i]) > 1e-4 * fabs(ref[i]) + 1e-6;
        stale_off += fabs(stale[i] - ref[i]) > 1e-4 * fabs(ref[i]) + 1e-6;
    }
    ck_assert_int_gt(moved, 0);
    ck_assert_int_gt(stale_off, 0);
    gc_hooks_free(&c);
    free(x);
    free(before);
    free(stale);
    free(fresh);
    free_network(net);
}
END_TEST

/* Threads of this process now (its entries in /proc/self/task). */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The thread count once it has come down to want, or what it is after 2 s:
 * a thread that pthread_join has reaped can still be listed in
 * /proc/self/task for a moment while the kernel finishes its exit (seen
 * once in a full run: 2 against 1 right after gc_hooks_free). A thread
 * that stays is still counted. */
static int thread_count_down_to(int want)
{
    int n = thread_count();
    for (int i = 0; i < 200 && n > want; ++i) {
        struct timespec t = {0, 10 * 1000 * 1000};
        nanosleep(&t, NULL);
        n = thread_count();
    }
    return n;
}

/* OpenBLAS's pthreads build exports it (gc_forward_blas_park calls it);
 * other builds (serial, OpenMP) have no such workers. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

START_TEST(openblas_workers_stay_stopped)
{
    if (!blas_thread_shutdown_) {
        fprintf(stderr, "openblas_workers_stay_stopped: skipped, this OpenBLAS has no pthread workers to stop\n");
        return;
    }
    /* OpenBLAS (0.3.21) restarts the worker threads that
     * gc_forward_blas_park stopped whenever openblas_set_num_threads is
     * called, and they poll in sched_yield: installing and removing the
     * forward set the count, and left a worker spinning through every run
     * (1.7 CPUs busy for a 40 ms demo scene). Installing, a forward and
     * removing must start no thread but the pool's. */
    network *net = gcf_random_network("tests/cfg/clf_bn.cfg", 41);
    ck_assert_ptr_nonnull(net);
    float *x = calloc((size_t)net->inputs, sizeof *x);
    ck_assert_ptr_nonnull(x);
    gc_forward_blas_park();
    int base = thread_count();
    /* the observation sees OpenBLAS's workers, where it has any to start
     * (more than one CPU, a threaded build) */
    int blas = openblas_get_num_threads();
    openblas_set_num_threads(blas);
    if (blas > 1) ck_assert_int_gt(thread_count(), base);
    gc_forward_blas_park();
    ck_assert_int_eq(thread_count_down_to(base), base);

    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    int pooled = thread_count(); /* base + the pool's workers */
    /* a stopped OpenBLAS worker can linger in /proc for a moment after it
     * was joined (seen once under load: 3 threads against 2); one that
     * keeps running fails after 2 s */
    gc_hooks_install(&c);
    ck_assert_int_eq(thread_count_down_to(pooled), pooled);
    gc_hooks_forward(&c, x);
    ck_assert_int_eq(thread_count_down_to(pooled), pooled);
    gc_hooks_remove(&c);
    ck_assert_int_eq(thread_count_down_to(pooled), pooled);
    ck_assert_int_eq(openblas_get_num_threads(), blas);
    gc_hooks_free(&c);
    ck_assert_int_eq(thread_count_down_to(base), base);
    free(x);
    free_network(net);
}
END_TEST

/* How many lines of s start with "Core: " (OpenBLAS's OPENBLAS_VERBOSE=2
 * report, one per load), and the names on the first and the last one. */
static int core_lines(const char *s, char *first, char *last, size_t cap)
{
    int n = 0;
    first[0] = last[0] = '\0';
    for (const char *p = s; (p = strstr(p, "Core: ")); p += 6)
        if (p == s || p[-1] == '\n') {
            size_t k = strcspn(p + 6, "\n");
            snprintf(last, cap, "%.*s", (int)(k < cap ? k : cap - 1), p + 6);
            if (!n++) snprintf(first, cap, "%s", last);
        }
    return n;
}

START_TEST(openblas_kernels_for_this_cpu)
{
    /* only a fallback to Prescott is overridden, never a core OpenBLAS knows */
    const char *known[] = {"Haswell", "SkylakeX", "Cooperlake", "Zen", "Sandybridge", "", NULL};
    for (int i = 0; i < (int)(sizeof known / sizeof known[0]); ++i)
        ck_assert_ptr_null(gc_blas_better_core(known[i]));
    const char *better = gc_blas_better_core("Prescott");
    ck_assert(better == gc_blas_better_core("PRESCOTT"));
    ck_assert(!better || !strcmp(better, "SkylakeX") || !strcmp(better, "Haswell"));

    /* the CLI: loaded once more with the better kernels when OpenBLAS fell
     * back to Prescott on a CPU that has them (a CPU it knows, such as Zen,
     * keeps its own: one load) */
    char out[4096], err[8192], first[64], last[64];
    unsetenv("OPENBLAS_CORETYPE");
    setenv("OPENBLAS_VERBOSE", "2", 1);
    ck_assert_int_eq(gcf_run_gradcam(out, sizeof out, err, sizeof err, "help", NULL), 0);
    ck_assert_msg(strstr(out, "Usage") || strstr(out, "usage"), "no usage text: %s", gcf_tail(out, 200));
    int n = core_lines(err, first, last, sizeof last);
    ck_assert_msg(n >= 1, "no Core: line from OPENBLAS_VERBOSE=2: %s", gcf_tail(err, 300));
    const char *want = gc_blas_better_core(first);
    if (want) {
        ck_assert_msg(n == 2 && !strcasecmp(last, want), "expected %s then %s, got %d loads, last %s: %s", first, want,
                      n, last, gcf_tail(err, 300));
    } else {
        ck_assert_msg(n == 1, "OpenBLAS chose %s: expected one load, got %d: %s", first, n, gcf_tail(err, 300));
    }
    /* a choice in the environment stands, even the fallback itself */
    setenv("OPENBLAS_CORETYPE", "Prescott", 1);
    ck_assert_int_eq(gcf_run_gradcam(out, sizeof out, err, sizeof err, "help", NULL), 0);
    n = core_lines(err, first, last, sizeof last);
    ck_assert_msg(n == 1 && !strcasecmp(last, "Prescott"), "OPENBLAS_CORETYPE=Prescott: %d loads, last %s", n, last);
}
END_TEST

Suite *suite_forward(void)
{
    Suite *s = suite_create("forward");
    TCase *t = tcase_create("forward");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, kernels_hand_worked);
    tcase_add_test(t, maxpool_matches_darknets_loop);
    tcase_add_test(t, pool_covers_every_item_once);
    tcase_add_test(t, pool_threshold_from_timing_or_environment);
    tcase_add_test(t, pool_tuner_choice_by_median);
    tcase_add_test(t, pool_tuner_keeps_the_faster_way);
    tcase_add_test(t, the_check_catches_a_wrong_fold);
    tcase_add_test(t, tiny_cfgs_match_darknet_layer_by_layer);
    tcase_add_test(t, demo_models_match_darknet);
    tcase_add_test(t, yolov3_tiny_matches_darknet);
    tcase_add_test(t, real_models_match_darknet);
    tcase_add_test(t, a_share_of_the_cores_computes_the_same_bits);
    tcase_add_test(t, a_batch_computes_each_images_own_forward);
    tcase_add_test(t, a_batch_names_a_layer_it_cannot_run);
    tcase_add_loop_test(t, changed_weights_are_folded_again, 0, 2);
    tcase_add_test(t, openblas_workers_stay_stopped);
    tcase_add_test(t, openblas_kernels_for_this_cpu);
    suite_add_tcase(s, t);
    return s;
}
