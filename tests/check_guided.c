/* Backprop to the network input and Guided Backpropagation: the input
 * gradient against central finite differences on tiny cfgs (ReLU and leaky,
 * convolution, maxpool, route, shortcut, batch norm); the guided rule on hand
 * values; no negative gradient through a rectifier; and the guided input
 * gradient against a plain-loop re-implementation of a ReLU net and a leaky
 * net written here, independently of gc_backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_backward.h"
#include "gc_explain.h"
#include "gc_fixture.h"
#include "gc_hooks.h"
#include "gc_image.h"
#include "gc_testutil.h"
#include "gc_tests.h"

static double score_of(const network *net, int S, const float *r)
{
    double s = 0;
    for (int i = 0; i < net->layers[S].outputs; ++i) s += (double)r[i] * net->layers[S].output[i];
    return s;
}

/* The state the kinks depend on: the sign of every rectifier output and
 * every maxpool arg-max. */
static size_t kink_state(const network *net, unsigned char *sign, int *idx)
{
    size_t ns = 0, ni = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->type == MAXPOOL)
            for (int j = 0; j < l->outputs; ++j) {
                if (idx) idx[ni] = l->indexes[j];
                ++ni;
            }
        else if (gc_backward_is_rectifier(l->activation) &&
                 (l->type == CONVOLUTIONAL || l->type == CONNECTED || l->type == SHORTCUT))
            for (int j = 0; j < l->outputs; ++j) {
                if (sign) sign[ns] = l->output[j] > 0;
                ++ns;
            }
    }
    return ns + ni;
}

static int same_state(const network *net, const unsigned char *sign, const int *idx, unsigned char *s2, int *i2)
{
    size_t n = kink_state(net, s2, i2), ns = 0, ni = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->type == MAXPOOL) ni += (size_t)l->outputs;
        else if (gc_backward_is_rectifier(l->activation) &&
                 (l->type == CONVOLUTIONAL || l->type == CONNECTED || l->type == SHORTCUT))
            ns += (size_t)l->outputs;
    }
    (void)n;
    return !memcmp(sign, s2, ns) && !memcmp(idx, i2, ni * sizeof *idx);
}

/* Central differences of r . out_S w.r.t. the network input x; skip[j] = 1
 * where a perturbation flips a rectifier or moves a maxpool arg-max (the
 * difference then straddles a kink). */
static void fd_input(network *net, float *x, int S, const float *r, float eps, double *g, unsigned char *skip)
{
    size_t nk = kink_state(net, NULL, NULL) + 1;
    unsigned char *sign = calloc(nk, 1), *s2 = calloc(nk, 1);
    int *idx = calloc(nk, sizeof *idx), *i2 = calloc(nk, sizeof *i2);
    ck_assert(sign && s2 && idx && i2);
    network_predict(net, x);
    kink_state(net, sign, idx);
    for (int j = 0; j < net->inputs; ++j) {
        float keep = x[j];
        x[j] = keep + eps;
        network_predict(net, x);
        double fp = score_of(net, S, r);
        int ok = same_state(net, sign, idx, s2, i2);
        x[j] = keep - eps;
        network_predict(net, x);
        double fm = score_of(net, S, r);
        ok = ok && same_state(net, sign, idx, s2, i2);
        x[j] = keep;
        g[j] = (fp - fm) / (2.0 * (double)eps);
        if (!ok) skip[j] = 1;
    }
    network_predict(net, x);
    free(sign), free(s2), free(idx), free(i2);
}

static const char *const fd_cfgs[] = {
    "tests/cfg/bw_conv_act.cfg",  /* leaky, linear */
    "tests/cfg/clf_gap_fc.cfg",   /* relu + batch norm, leaky stride 2, avgpool, connected, softmax */
    "tests/cfg/bw_maxpool.cfg",   /* maxpool */
    "tests/cfg/bw_route.cfg",     /* route, leaky, tanh */
    "tests/cfg/bw_shortcut.cfg",  /* shortcut */
    "tests/cfg/bw_conv_bn.cfg",   /* convolution with batch norm */
    "tests/cfg/bw_batchnorm.cfg", /* standalone batch norm */
    "tests/cfg/gb_relu.cfg",      /* relu, maxpool, avgpool */
};

/* gc_hooks_backprop_input against central finite differences of Darknet's own
 * forward pass, for a random seed over the last layer; elements next to a
 * kink (the difference changes between two step sizes) are left out. */
START_TEST(input_gradient_matches_finite_differences)
{
    const char *cfg = fd_cfgs[_i];
    network *net = gct_load(cfg);
    gct_randomize(net, 77 + (uint64_t)_i, 1);
    size_t n = (size_t)net->inputs;
    int S = net->n - 1;
    if (net->layers[S].type == SOFTMAX) --S; /* the logits */
    size_t ns = (size_t)net->layers[S].outputs;
    float *x = malloc(n * sizeof *x), *r = malloc(ns * sizeof *r), *g = malloc(n * sizeof *g);
    double *fd = malloc(n * sizeof *fd), *fd2 = malloc(n * sizeof *fd2);
    unsigned char *skip = calloc(n, 1);
    ck_assert(x && r && g && fd && fd2 && skip);
    gct_rng rng;
    gct_rng_seed(&rng, 99 + (uint64_t)_i);
    gct_rng_fill(&rng, x, n, -1, 1);
    gct_rng_fill(&rng, r, ns, -1, 1);

    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);
    for (int i = 0; i < 2; ++i) /* twice: the buffer is overwritten, not accumulated */
        ck_assert_msg(gc_hooks_backprop_input(&c, S, r, x, 0, g, &e) == 0, "%s: %s", cfg, e.msg);
    fd_input(net, x, S, r, 1e-2f, fd, skip);
    fd_input(net, x, S, r, 2.5e-3f, fd2, skip);
    size_t kinks = 0;
    for (size_t j = 0; j < n; ++j) kinks += skip[j];
    for (size_t j = 0; j < n; ++j)
        if (skip[j]) g[j] = 0, fd[j] = 0;
    double rel = gct_rel_l2(g, fd, n), cosv = gct_cosine(g, fd, n);
    fprintf(stderr, "input fd %-30s n=%zu kinks=%zu rel=%.2e cos=%.8f\n", cfg, n, kinks, rel, cosv);
    ck_assert_msg(kinks * 4 < n, "%s: %zu of %zu differences cross a kink", cfg, kinks, n);
    ck_assert_msg(gct_norm_d(fd, n) > 1e-6, "%s: zero gradient proves nothing", cfg);
    ck_assert_msg(rel < 5e-3 && cosv > .9999, "%s: input gradient rel %.3e cos %.6f", cfg, rel, cosv);
    /* the comparison is sharp: 5% off fails it */
    for (size_t j = 0; j < n; ++j) g[j] *= 1.05f;
    ck_assert(gct_rel_l2(g, fd, n) > 5e-3 * 4);
    gc_hooks_free(&c);
    free_network(net);
    free(x), free(r), free(g), free(fd), free(fd2), free(skip);
}
END_TEST

/* The rule on hand values: pytorch-grad-cam's GuidedBackpropReLU
 * grad_out * (x > 0) * (grad_out > 0) for relu; the same gate (with the
 * positive slope) for the other rectifiers; plain derivatives otherwise. */
START_TEST(guided_rule_by_hand)
{
    const float y[4] = {2.0f, 2.0f, -0.3f, -0.3f}; /* leaky outputs of x = 2, 2, -3, -3 */
    const float yr[4] = {2.0f, 2.0f, 0.0f, 0.0f};  /* relu outputs of the same */
    float d[4] = {0.5f, -0.5f, 0.5f, -0.5f};
    gc_backward_guided_activation(d, yr, 4, RELU);
    ck_assert(d[0] == 0.5f && d[1] == 0 && d[2] == 0 && d[3] == 0);
    float dl[4] = {0.5f, -0.5f, 0.5f, -0.5f};
    gc_backward_guided_activation(dl, y, 4, LEAKY);
    ck_assert(dl[0] == 0.5f && dl[1] == 0 && dl[2] == 0 && dl[3] == 0);
    float dm[2] = {0.5f, -0.5f}, ym[2] = {1.1f, 1.1f}; /* ramp: slope 1.1 on the positive side */
    gc_backward_guided_activation(dm, ym, 2, RAMP);
    ck_assert(fabsf(dm[0] - 0.55f) < 1e-7f && dm[1] == 0);
    float dt[2] = {0.5f, -0.5f}, yt[2] = {0.5f, -0.5f}; /* tanh: derivative 0.75, signs kept */
    gc_backward_guided_activation(dt, yt, 2, TANH);
    ck_assert(fabsf(dt[0] - 0.375f) < 1e-7f && fabsf(dt[1] + 0.375f) < 1e-7f);
    ck_assert(gc_backward_is_rectifier(RELU) && gc_backward_is_rectifier(LEAKY) &&
              gc_backward_is_rectifier(ELU) && gc_backward_is_rectifier(SELU));
    ck_assert(!gc_backward_is_rectifier(LINEAR) && !gc_backward_is_rectifier(LOGISTIC) &&
              !gc_backward_is_rectifier(TANH));
}
END_TEST

/* After a guided pass, the gradient each rectifier passed on (its layer's
 * delta, gated in place) is never negative and is zero wherever the unit's
 * output was not positive; the plain pass on the same net has negative
 * gradients there, so the check can fail. */
START_TEST(guided_passes_no_negative_gradient)
{
    static const char *const cfgs[] = {"tests/cfg/gb_relu.cfg", "tests/cfg/gb_leaky.cfg", "tests/cfg/clf_gap_fc.cfg",
                                       "tests/cfg/bw_shortcut.cfg"};
    const char *cfg = cfgs[_i];
    network *net = gct_load(cfg);
    gct_randomize(net, 5 + (uint64_t)_i, 1);
    size_t n = (size_t)net->inputs;
    int S = net->n - 1;
    if (net->layers[S].type == SOFTMAX) --S;
    size_t ns = (size_t)net->layers[S].outputs;
    float *x = malloc(n * sizeof *x), *r = calloc(ns, sizeof *r), *g = malloc(n * sizeof *g);
    ck_assert(x && r && g);
    gct_rng rng;
    gct_rng_seed(&rng, 3);
    gct_rng_fill(&rng, x, n, 0, 1);
    gct_rng_fill(&rng, r, ns, -1, 1);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);
    int negatives_plain = 0, positives = 0, rectifiers = 0;
    for (int pass = 0; pass < 2; ++pass) {
        ck_assert_int_eq(gc_hooks_backprop_input(&c, S, r, x, pass, g, &e), 0);
        for (int i = 0; i < S; ++i) { /* the score layer's own delta is the seed */
            const layer *l = &net->layers[i];
            if (!gc_backward_is_rectifier(l->activation) ||
                (l->type != CONVOLUTIONAL && l->type != CONNECTED && l->type != SHORTCUT))
                continue;
            rectifiers += pass;
            for (int j = 0; j < l->outputs; ++j) {
                if (pass == 0) {
                    negatives_plain += l->delta[j] < 0;
                    continue;
                }
                ck_assert_msg(l->delta[j] >= 0, "%s layer %d [%d]: %g passed", cfg, i, j, l->delta[j]);
                ck_assert_msg(l->output[j] > 0 || l->delta[j] == 0, "%s layer %d [%d]: passed at a negative input",
                              cfg, i, j);
                positives += l->delta[j] > 0;
            }
        }
    }
    ck_assert_msg(rectifiers > 0 && positives > 0, "%s: nothing checked", cfg);
    ck_assert_msg(negatives_plain > 0, "%s: the plain pass has no negative gradient either", cfg);
    gc_hooks_free(&c);
    free_network(net);
    free(x), free(r), free(g);
}
END_TEST

/* ---- an independent re-implementation ---------------------------------------
 * Plain loops over the layers of gb_relu.cfg / gb_leaky.cfg (convolution with
 * optional batch norm, 2x2 maxpool, global average pool, connected), forward
 * and guided backward, reading only the weights from Darknet's layers. */

typedef struct ref_t {
    int c, h, w;
    float *v;
} ref_t;

static ref_t ref_new(int c, int h, int w)
{
    ref_t t = {c, h, w, calloc((size_t)c * h * w, sizeof(float))};
    ck_assert_ptr_nonnull(t.v);
    return t;
}

#define AT(t, k, y, x) ((t).v[((size_t)(k) * (t).h + (y)) * (t).w + (x)])

/* pre-activation z of a convolution (batch norm folded as Darknet evaluates it) */
static ref_t ref_conv_z(const layer *l, ref_t in)
{
    int p = l->pad, s = l->stride, K = l->size;
    ref_t z = ref_new(l->n, l->out_h, l->out_w);
    for (int f = 0; f < l->n; ++f)
        for (int y = 0; y < z.h; ++y)
            for (int x = 0; x < z.w; ++x) {
                double acc = 0;
                for (int c = 0; c < in.c; ++c)
                    for (int ky = 0; ky < K; ++ky)
                        for (int kx = 0; kx < K; ++kx) {
                            int iy = y * s + ky - p, ix = x * s + kx - p;
                            if (iy < 0 || ix < 0 || iy >= in.h || ix >= in.w) continue;
                            acc += (double)l->weights[((f * in.c + c) * K + ky) * K + kx] * AT(in, c, iy, ix);
                        }
                float v = (float)acc;
                if (l->batch_normalize)
                    v = (v - l->rolling_mean[f]) / (sqrtf(l->rolling_variance[f]) + .000001f) * l->scales[f];
                AT(z, f, y, x) = v + l->biases[f];
            }
    return z;
}

static float act(float z, ACTIVATION a) { return z > 0 ? z : (a == LEAKY ? .1f * z : 0.0f); }

/* the guided gate of a rectifier on its pre-activation z */
static float gate(float z, float d) { return (z > 0 && d > 0) ? d : 0.0f; }

/* dx of a convolution from the gated dz */
static void ref_conv_back(const layer *l, ref_t dz, ref_t dx)
{
    int p = l->pad, s = l->stride, K = l->size;
    for (int f = 0; f < l->n; ++f) {
        float bn = l->batch_normalize ? l->scales[f] / (sqrtf(l->rolling_variance[f]) + .000001f) : 1.0f;
        for (int y = 0; y < dz.h; ++y)
            for (int x = 0; x < dz.w; ++x)
                for (int c = 0; c < dx.c; ++c)
                    for (int ky = 0; ky < K; ++ky)
                        for (int kx = 0; kx < K; ++kx) {
                            int iy = y * s + ky - p, ix = x * s + kx - p;
                            if (iy < 0 || ix < 0 || iy >= dx.h || ix >= dx.w) continue;
                            AT(dx, c, iy, ix) += l->weights[((f * dx.c + c) * K + ky) * K + kx] * bn * AT(dz, f, y, x);
                        }
    }
}

/* Guided input gradient of logit `cls` of gb_relu.cfg or gb_leaky.cfg. */
static void ref_guided(const network *net, const float *input, int cls, float *gin)
{
    int n = 0;
    ref_t a[8], z[8];
    ref_t x = {net->c, net->h, net->w, (float *)input};
    ref_t cur = x;
    int pool_at = -1;
    /* forward */
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->type == CONVOLUTIONAL) {
            z[n] = ref_conv_z(l, cur);
            a[n] = ref_new(z[n].c, z[n].h, z[n].w);
            for (size_t j = 0; j < (size_t)a[n].c * a[n].h * a[n].w; ++j) a[n].v[j] = act(z[n].v[j], l->activation);
            cur = a[n++];
        } else if (l->type == MAXPOOL) {
            ref_t o = ref_new(cur.c, cur.h / 2, cur.w / 2);
            for (int k = 0; k < o.c; ++k)
                for (int y = 0; y < o.h; ++y)
                    for (int xx = 0; xx < o.w; ++xx) {
                        float m = -INFINITY;
                        for (int dy = 0; dy < 2; ++dy)
                            for (int dx = 0; dx < 2; ++dx)
                                if (AT(cur, k, 2 * y + dy, 2 * xx + dx) > m) m = AT(cur, k, 2 * y + dy, 2 * xx + dx);
                        AT(o, k, y, xx) = m;
                    }
            z[n] = cur; /* the pool's input, for its backward */
            a[n] = o;
            pool_at = n;
            cur = a[n++];
        }
    }
    /* avgpool + connected: d logit / d cur = W[cls, k] / (h*w) */
    const layer *fc = &net->layers[net->n - 2];
    ck_assert_int_eq(fc->type, CONNECTED);
    ref_t d = ref_new(cur.c, cur.h, cur.w);
    for (int k = 0; k < cur.c; ++k)
        for (int p = 0; p < cur.h * cur.w; ++p) d.v[(size_t)k * cur.h * cur.w + p] = fc->weights[cls * fc->inputs + k] / (float)(cur.h * cur.w);
    /* backward through the stages, convolutions gated */
    int li = net->n - 3; /* the avgpool */
    for (int st = n - 1; st >= 0; --st) {
        while (li >= 0 && net->layers[li].type != CONVOLUTIONAL && net->layers[li].type != MAXPOOL) --li;
        const layer *l = &net->layers[li--];
        ref_t in_shape = st ? a[st - 1] : x;
        ref_t dx = ref_new(in_shape.c, in_shape.h, in_shape.w);
        if (st == pool_at) {
            for (int k = 0; k < d.c; ++k)
                for (int y = 0; y < d.h; ++y)
                    for (int xx = 0; xx < d.w; ++xx) {
                        int by = 0, bx = 0;
                        float m = -INFINITY;
                        for (int dy = 0; dy < 2; ++dy)
                            for (int ddx = 0; ddx < 2; ++ddx)
                                if (AT(z[st], k, 2 * y + dy, 2 * xx + ddx) > m)
                                    m = AT(z[st], k, 2 * y + dy, 2 * xx + ddx), by = dy, bx = ddx;
                        AT(dx, k, 2 * y + by, 2 * xx + bx) += AT(d, k, y, xx);
                    }
        } else {
            for (size_t j = 0; j < (size_t)d.c * d.h * d.w; ++j) d.v[j] = gate(z[st].v[j], d.v[j]);
            ref_conv_back(l, d, dx);
        }
        free(d.v);
        d = dx;
    }
    memcpy(gin, d.v, (size_t)net->inputs * sizeof *gin);
    free(d.v);
    for (int i = 0; i < n; ++i) {
        if (i != pool_at) free(z[i].v);
        free(a[i].v);
    }
}

START_TEST(guided_matches_a_plain_reimplementation)
{
    static const char *const cfgs[] = {"tests/cfg/gb_relu.cfg", "tests/cfg/gb_leaky.cfg"};
    network *net = gct_load(cfgs[_i]);
    gct_randomize(net, 11 + (uint64_t)_i, 1.5f);
    size_t n = (size_t)net->inputs;
    int S = net->n - 2;
    float *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *ref = malloc(n * sizeof *ref);
    float *plain = malloc(n * sizeof *plain), seed[3];
    ck_assert(x && g && ref && plain);
    gct_rng rng;
    gct_rng_seed(&rng, 21);
    gct_rng_fill(&rng, x, n, 0, 1);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);
    for (int cls = 0; cls < 3; ++cls) {
        memset(seed, 0, sizeof seed);
        seed[cls] = 1;
        ck_assert_int_eq(gc_hooks_backprop_input(&c, S, seed, x, 1, g, &e), 0);
        ck_assert_int_eq(gc_hooks_backprop_input(&c, S, seed, x, 0, plain, &e), 0);
        ref_guided(net, x, cls, ref);
        double d = 0, nr = 0, dp = 0;
        for (size_t j = 0; j < n; ++j) {
            d += ((double)g[j] - ref[j]) * ((double)g[j] - ref[j]);
            dp += ((double)plain[j] - ref[j]) * ((double)plain[j] - ref[j]);
            nr += (double)ref[j] * ref[j];
        }
        fprintf(stderr, "guided %s class %d: rel %.2e (plain gradient: %.2e)\n", cfgs[_i], cls, sqrt(d / nr),
                sqrt(dp / nr));
        ck_assert_msg(nr > 1e-12, "%s: zero reference gradient", cfgs[_i]);
        ck_assert_msg(sqrt(d / nr) < 1e-4, "%s class %d: guided gradient differs (rel %g)", cfgs[_i], cls,
                      sqrt(d / nr));
        /* and the guided rule changes something here: the plain gradient differs */
        ck_assert_msg(sqrt(dp / nr) > 1e-2, "%s class %d: plain and guided agree", cfgs[_i], cls);
    }
    gc_hooks_free(&c);
    free_network(net);
    free(x), free(g), free(ref), free(plain);
}
END_TEST

/* ---- through the session: outputs, Guided Grad-CAM, CAM, Score-CAM ---------- */

/* A random w x h PNG in dir; returns its path (static buffer). */
static const char *random_png(const char *dir, int w, int h, unsigned seed)
{
    static char path[4096];
    unsigned char *rgb = malloc((size_t)w * h * 3);
    ck_assert_ptr_nonnull(rgb);
    uint64_t st = seed;
    for (size_t i = 0; i < (size_t)w * h * 3; ++i) rgb[i] = (unsigned char)(gcf_uniform(&st, 0, 255.99f));
    snprintf(path, sizeof path, "%s/img_%dx%d.png", dir, w, h);
    gc_err e = {0};
    ck_assert_msg(gc_image_write_png(path, w, h, rgb, &e) == 0, "%s", e.msg);
    free(rgb);
    return path;
}

/* A float32 .npy's shape (as written in its header) and data. */
static float *read_npy_any(const char *path, char *shape, size_t cap, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char pre[10];
    ck_assert_uint_eq(fread(pre, 1, 10, f), 10);
    size_t hl = pre[8] | (size_t)pre[9] << 8;
    char *hdr = calloc(hl + 1, 1);
    ck_assert_uint_eq(fread(hdr, 1, hl, f), hl);
    const char *sh = strstr(hdr, "'shape': (");
    ck_assert_ptr_nonnull(sh);
    snprintf(shape, cap, "%.*s", (int)(strchr(sh, ')') - sh - 10), sh + 10);
    long at = ftell(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)(ftell(f) - at) / 4;
    fseek(f, at, SEEK_SET);
    float *d = malloc(*n * sizeof *d);
    ck_assert_uint_eq(fread(d, 4, *n, f), *n);
    fclose(f);
    free(hdr);
    return d;
}

/* The network's own input gradient, when the image has the network's size:
 * the .npy is (H, W, 3), RGB, and equals gc_hooks_backprop_input's guided
 * gradient; a 20x10 image gives a (10, 20, 3) array. */
START_TEST(guidedbackprop_npy_is_the_input_gradient)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/gb_relu.cfg");
    gct_randomize(net, 41, 1.5f);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 10, 10, 7), &e) == 0, "%s", e.msg);
    for (int i = 0; i < net->inputs; ++i) /* no letterbox: the image's own floats (planar, from its bytes) */
        ck_assert_float_eq(s.input.data[i], gc_byte_value[s.orig_rgb[(i % 100) * 3 + i / 100]]);
    gc_explain_opts o = {.method = GC_METHOD_GUIDEDBACKPROP, .alpha = .5f};
    gc_subject t = {1, NULL};
    gc_map m;
    ck_assert_msg(gc_explain_prepare(&s, &t, &o, &e) == 0, "%s", e.msg);
    ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
    ck_assert_ptr_nonnull(m.image);
    ck_assert_int_eq(m.image_c, 3);
    char path[4096], shape[64];
    snprintf(path, sizeof path, "%s/gb.npy", dir);
    ck_assert_msg(gc_explain_write_npy(&s, path, &m, &e) == 0, "%s", e.msg);
    float *want = malloc((size_t)net->inputs * sizeof *want), seed[3] = {0, 1, 0};
    ck_assert_int_eq(gc_hooks_backprop_input(&s.ctx, net->n - 2, seed, s.input.data, 1, want, &e), 0);
    size_t n;
    float *got = read_npy_any(path, shape, sizeof shape, &n);
    ck_assert_str_eq(shape, "10, 10, 3");
    ck_assert_uint_eq(n, (size_t)net->inputs);
    double norm = 0;
    for (int c = 0; c < 3; ++c)
        for (int p = 0; p < 100; ++p) {
            ck_assert_msg(fabsf(got[p * 3 + c] - want[c * 100 + p]) <= 1e-6f * (1 + fabsf(want[c * 100 + p])),
                          "channel %d pixel %d: %g vs %g", c, p, got[p * 3 + c], want[c * 100 + p]);
            norm += fabs(want[c * 100 + p]);
        }
    ck_assert(norm > 0);
    /* the saliency map is max_c |g| at the network's size */
    ck_assert_int_eq(m.w, 10);
    for (int p = 0; p < 100; ++p) {
        float mx = fmaxf(fabsf(want[p]), fmaxf(fabsf(want[100 + p]), fabsf(want[200 + p])));
        ck_assert_float_eq_tol(m.data[p], mx, 1e-7f);
    }
    free(got);
    /* another image size: (H, W, 3) at the original's size */
    ck_assert_msg(gc_explain_next(&s, random_png(dir, 20, 10, 8), &e) == 0, "%s", e.msg);
    ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
    ck_assert_msg(gc_explain_write_npy(&s, path, &m, &e) == 0, "%s", e.msg);
    got = read_npy_any(path, shape, sizeof shape, &n);
    ck_assert_str_eq(shape, "10, 20, 3");
    free(got);
    gc_explain_close(&s);
    free(want);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* A session kept across images (list mode), through gc_explain_begin: an
 * image that fails to load leaves it hooked for the next one, a network the
 * hooks refuse leaves it closed, gc_explain_keep's files survive a later
 * rollback, and every map equals a fresh session's on the same image (a
 * second copy of the network, same seed: one network takes one session). */
START_TEST(kept_session_equals_fresh_sessions)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/gb_relu.cfg"), *net2 = gct_load("tests/cfg/gb_relu.cfg");
    gct_randomize(net, 47, 1.5f);
    gct_randomize(net2, 47, 1.5f);
    gc_session k, f;
    memset(&k, 0, sizeof k);
    gc_err e = {0};
    char missing[4096], npy[4096];
    snprintf(missing, sizeof missing, "%s/missing.png", dir);
    ck_assert_int_eq(gc_explain_begin(&k, net, missing, &e), -1);
    ck_assert_msg(strstr(e.msg, "missing.png"), "%s", e.msg);
    ck_assert_ptr_eq(k.net, net);
    ck_assert_int_eq(k.ctx.installed, 1);
    gc_explain_opts o = {.method = GC_METHOD_GRADCAM, .alpha = .5f};
    int nonzero = 0;
    for (int i = 0; i < 3; ++i) {
        const char *img = random_png(dir, 10 + 5 * i, 10 + 3 * i, 20 + (unsigned)i);
        gc_subject t = {i % 3, NULL};
        gc_map m, m2;
        ck_assert_msg(gc_explain_begin(&k, net, img, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(k.orig.w, 10 + 5 * i);
        ck_assert_msg(gc_explain_prepare(&k, &t, &o, &e) == 0, "%s", e.msg);
        ck_assert_msg(gc_explain_target(&k, &t, &o, &m, &e) == 0, "%s", e.msg);
        snprintf(npy, sizeof npy, "%s/kept_%d.npy", dir, i);
        ck_assert_msg(gc_explain_write_npy(&k, npy, &m, &e) == 0, "%s", e.msg);
        float *got = malloc((size_t)m.w * m.h * sizeof *got);
        memcpy(got, m.data, (size_t)m.w * m.h * sizeof *got);
        gc_explain_keep(&k);
        ck_assert_int_eq(k.nwritten, 0);
        gc_explain_rollback(&k);
        ck_assert_int_eq(access(npy, F_OK), 0);

        ck_assert_msg(gc_explain_open(&f, net2, img, &e) == 0, "%s", e.msg);
        ck_assert_msg(gc_explain_target(&f, &t, &o, &m2, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(m2.w, m.w);
        ck_assert_int_eq(m2.h, m.h);
        for (int p = 0; p < m.w * m.h; ++p) {
            ck_assert_msg(got[p] == m2.data[p], "image %d cell %d: %g kept, %g fresh", i, p, got[p], m2.data[p]);
            nonzero += got[p] > 0;
        }
        gc_explain_close(&f);
        free(got);
    }
    ck_assert_int_gt(nonzero, 0);
    gc_explain_close(&k);
    ck_assert_ptr_null(k.net);
    /* a network the hooks refuse (batch 2): closed again, for the next try */
    net->batch = 2;
    ck_assert_int_eq(gc_explain_begin(&k, net, random_png(dir, 10, 10, 30), &e), -1);
    ck_assert_msg(strstr(e.msg, "batch"), "%s", e.msg);
    ck_assert_ptr_null(k.net);
    net->batch = 1;
    free_network(net);
    free_network(net2);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* bilinear, cell centres aligned, edges clamped (written here again) */
static float bilinear_at(const float *m, int w, int h, double x, double y)
{
    x = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
    y = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
    int x0 = (int)x, y0 = (int)y, x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    return (float)((1 - fy) * ((1 - fx) * m[y0 * w + x0] + fx * m[y0 * w + x1]) +
                   fy * ((1 - fx) * m[y1 * w + x0] + fx * m[y1 * w + x1]));
}

/* min-max normalised, then upsampled (Guided Grad-CAM's cam) */
static void upsample_norm(const float *m, int w, int h, float *out, int ow, int oh)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < w * h; ++i) lo = fminf(lo, m[i]), hi = fmaxf(hi, m[i]);
    for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
            float v = bilinear_at(m, w, h, (x + .5) * w / ow - .5, (y + .5) * h / oh - .5);
            out[y * ow + x] = hi > lo ? (v - lo) / (hi - lo) : 0;
        }
}

/* upsampled, then min-max normalised (Score-CAM's masks) */
static void upsample_then_norm(const float *m, int w, int h, float *out, int ow, int oh)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int y = 0; y < oh; ++y)
        for (int x = 0; x < ow; ++x) {
            out[y * ow + x] = bilinear_at(m, w, h, (x + .5) * w / ow - .5, (y + .5) * h / oh - .5);
            lo = fminf(lo, out[y * ow + x]), hi = fmaxf(hi, out[y * ow + x]);
        }
    for (int i = 0; i < ow * oh; ++i) out[i] = hi > lo ? (out[i] - lo) / (hi - lo) : 0;
}

/* Guided Grad-CAM at layer 2 of gb_relu.cfg, for each class and its
 * counterfactual, against the plain-loop guided gradient times a Grad-CAM
 * computed here: the gradient at layer 2 (after global average pooling and
 * the connected layer) is W[c][k] / 25 everywhere, so a_k = W[c][k] / 25
 * (negated for the counterfactual, whose guided gradient is that of -y^c). */
START_TEST(guidedgradcam_matches_a_plain_reimplementation)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/gb_relu.cfg");
    gct_randomize(net, 43, 1.5f);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 10, 10, 9), &e) == 0, "%s", e.msg);
    const layer *L2 = &net->layers[2], *fc = &net->layers[4];
    float cam[25], up[100], ref[300];
    int checked = 0;
    for (int cf = 0; cf < 2; ++cf)
        for (int cls = 0; cls < 3; ++cls) {
            gc_explain_opts o = {.method = GC_METHOD_GUIDEDGRADCAM, .counterfactual = cf, .layers = {2}, .nlayers = 1};
            gc_subject t = {cls, NULL};
            gc_map m;
            ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
            for (int p = 0; p < 25; ++p) {
                double v = 0;
                for (int k = 0; k < 6; ++k) v += (cf ? -1 : 1) * fc->weights[cls * 6 + k] / 25.0 * L2->output[k * 25 + p];
                cam[p] = v > 0 ? (float)v : 0;
            }
            upsample_norm(cam, 5, 5, up, 10, 10);
            if (cf) {
                /* the guided gradient of -y^c: the same network with the class row negated */
                for (int k = 0; k < 6; ++k) fc->weights[cls * 6 + k] *= -1;
                ref_guided(net, s.input.data, cls, ref);
                for (int k = 0; k < 6; ++k) fc->weights[cls * 6 + k] *= -1;
            } else {
                ref_guided(net, s.input.data, cls, ref);
            }
            double d = 0, nr = 0;
            for (int c = 0; c < 3; ++c)
                for (int p = 0; p < 100; ++p) {
                    double want = (double)ref[c * 100 + p] * up[p];
                    d += (m.image[c * 100 + p] - want) * (m.image[c * 100 + p] - want);
                    nr += want * want;
                }
            fprintf(stderr, "guided grad-cam class %d%s: rel %.2e\n", cls, cf ? " counterfactual" : "", sqrt(d / (nr + 1e-30)));
            if (nr == 0) { /* an all-zero Grad-CAM: the result must be zero too */
                ck_assert(d == 0);
                continue;
            }
            ck_assert_msg(sqrt(d / nr) < 1e-4, "class %d cf %d: rel %g", cls, cf, sqrt(d / nr));
            ++checked;
        }
    ck_assert_int_ge(checked, 4);
    gc_explain_close(&s);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* CAM == Grad-CAM x Z on GAP nets (Grad-CAM paper, section 3.1): with
 * y^c = sum_k w^c_k (1/Z) sum_ij A^k_ij, dy^c/dA^k_ij = w^c_k / Z, so Grad-CAM's
 * a_k is CAM's w^c_k / Z. A [connected] after the pooling (clf_gap_fc) and a
 * 1x1 convolution before it (clf_bn). */
START_TEST(cam_is_gradcam_times_z)
{
    static const char *const cfgs[] = {"tests/cfg/clf_gap_fc.cfg", "tests/cfg/clf_bn.cfg"};
    char *dir = gcf_tempdir();
    network *net = gct_load(cfgs[_i]);
    gct_randomize(net, 45, 1);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, net->w, net->h, 10), &e) == 0, "%s", e.msg);
    int nonzero = 0;
    for (int cls = 0; cls < s.cl.classes; ++cls) {
        gc_explain_opts oc = {.method = GC_METHOD_CAM};
        gc_subject t = {cls, NULL};
        gc_map m;
        ck_assert_msg(gc_explain_target(&s, &t, &oc, &m, &e) == 0, "%s: %s", cfgs[_i], e.msg);
        int n = m.w * m.h, layer = m.layer;
        float *cam = malloc((size_t)n * sizeof *cam);
        memcpy(cam, m.data, (size_t)n * sizeof *cam);
        gc_explain_opts og = {.method = GC_METHOD_GRADCAM, .layers = {layer}, .nlayers = 1};
        ck_assert_msg(gc_explain_target(&s, &t, &og, &m, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(m.w * m.h, n);
        for (int p = 0; p < n; ++p) {
            ck_assert_msg(fabsf(cam[p] - n * m.data[p]) <= 1e-5f * (1 + fabsf(cam[p])), "%s class %d cell %d: %g vs %g x %d",
                          cfgs[_i], cls, p, cam[p], m.data[p], n);
            nonzero += cam[p] > 0;
        }
        free(cam);
    }
    ck_assert_int_gt(nonzero, 0);
    gc_explain_close(&s);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* CAM's clear errors: no global average pooling, another layer, a detector. */
START_TEST(cam_refuses_other_nets)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/cam_nogap.cfg");
    gct_randomize(net, 46, 1);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 8, 8, 11), &e) == 0, "%s", e.msg);
    gc_explain_opts o = {.method = GC_METHOD_CAM};
    gc_subject t = {0, NULL};
    gc_map m;
    ck_assert_int_eq(gc_explain_prepare(&s, &t, &o, &e), -1);
    ck_assert_msg(strstr(e.msg, "global average pooling") != NULL, "%s", e.msg);
    ck_assert_int_eq(gc_explain_target(&s, &t, &o, &m, &e), -1);
    gc_explain_close(&s);
    free_network(net);

    net = gct_load("tests/cfg/clf_gap_fc.cfg");
    gct_randomize(net, 47, 1);
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 12, 12, 12), &e) == 0, "%s", e.msg);
    gc_explain_opts o0 = {.method = GC_METHOD_CAM, .layers = {0}, .nlayers = 1};
    ck_assert_int_eq(gc_explain_prepare(&s, &t, &o0, &e), -1);
    ck_assert_msg(strstr(e.msg, "explains layer 1") != NULL, "%s", e.msg);
    gc_explain_close(&s);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* Score-CAM against a direct loop: each channel of layer 2 of gb_relu.cfg
 * upsampled (bilinear), min-max normalised, multiplied into the input, one
 * forward pass each, the class logit read, softmax over the channels,
 * ReLU(sum_k w_k A^k). Then with a cap of 3 channels (the 3 largest mean
 * activations). The network's state is the image's own afterwards. */
START_TEST(scorecam_matches_a_direct_loop)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/gb_relu.cfg");
    gct_randomize(net, 48, 1.5f);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 10, 10, 13), &e) == 0, "%s", e.msg);
    float A[150], logits[3], up[100], x[300], sc[6];
    memcpy(A, net->layers[2].output, sizeof A);
    memcpy(logits, net->layers[4].output, sizeof logits);
    for (int cap = 0; cap < 2; ++cap)
        for (int cls = 0; cls < 3; ++cls) {
            double mean[6];
            for (int k = 0; k < 6; ++k) {
                mean[k] = 0;
                for (int p = 0; p < 25; ++p) mean[k] += A[k * 25 + p];
            }
            for (int k = 0; k < 6; ++k) {
                int rank = 0;
                for (int j = 0; j < 6; ++j) rank += mean[j] > mean[k] || (mean[j] == mean[k] && j < k);
                if (cap && rank >= 3) {
                    sc[k] = -INFINITY;
                    continue;
                }
                upsample_then_norm(A + k * 25, 5, 5, up, 10, 10);
                for (int c = 0; c < 3; ++c)
                    for (int p = 0; p < 100; ++p) x[c * 100 + p] = s.input.data[c * 100 + p] * up[p];
                network_predict(net, x);
                sc[k] = net->layers[4].output[cls];
            }
            double mx = -INFINITY, sum = 0, w[6];
            for (int k = 0; k < 6; ++k) mx = fmax(mx, sc[k]);
            for (int k = 0; k < 6; ++k) sum += exp(sc[k] - mx);
            for (int k = 0; k < 6; ++k) w[k] = exp(sc[k] - mx) / sum;
            network_predict(net, s.input.data);

            gc_explain_opts o = {.method = GC_METHOD_SCORECAM, .layers = {2}, .nlayers = 1, .scorecam_channels = cap ? 3 : 0};
            gc_subject t = {cls, NULL};
            gc_map m;
            ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
            double d = 0, nr = 0;
            for (int p = 0; p < 25; ++p) {
                double v = 0;
                for (int k = 0; k < 6; ++k) v += w[k] * A[k * 25 + p];
                v = v > 0 ? v : 0;
                d += (m.data[p] - v) * (m.data[p] - v);
                nr += v * v;
            }
            ck_assert_msg(nr > 0 && sqrt(d / nr) < 1e-5, "class %d cap %d: rel %g", cls, cap, sqrt(d / nr));
            for (int i = 0; i < 3; ++i) ck_assert_float_eq(net->layers[4].output[i], logits[i]);
            for (int i = 0; i < 150; ++i) ck_assert_float_eq(net->layers[2].output[i], A[i]);
        }
    gc_explain_close(&s);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* A box: Guided Backprop and Guided Grad-CAM of one [yolo] box's class
 * logit (and its counterfactual) against plain loops: the logit is channel
 * n*7 + 5 + cls of the 1x1 score convolution at the box's cell; backward
 * through it (linear), the relu convolution (gated) and the leaky one
 * (gated: a negative input blocks). Grad-CAM at layer 1: the gradient there
 * is W2[ch][k] at the cell and 0 elsewhere, so a_k = W2[ch][k] / 16. */
START_TEST(guided_on_a_box_matches_a_plain_reimplementation)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/gb_yolo.cfg");
    gct_randomize(net, 60, 1.5f);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 8, 8, 16), &e) == 0, "%s", e.msg);
    const layer *L0 = &net->layers[0], *L1 = &net->layers[1], *L2 = &net->layers[2];
    int checked = 0;
    for (int cf = 0; cf < 2; ++cf)
        for (int n = 0; n < 2; ++n)
            for (int cell = 0; cell < 16; cell += 5) {
                gc_det d = {.cls = 1, .head = 3, .anchor = n, .cell = cell, .prob = 1, .objectness = 1};
                gc_subject t = {1, &d};
                int ch = n * 7 + 5 + 1;
                float sign = cf ? -1.0f : 1.0f;
                /* reference: guided pass */
                ref_t x = {3, 8, 8, s.input.data};
                ref_t z0 = ref_conv_z(L0, x), a0 = ref_new(4, 8, 8);
                for (int i = 0; i < 256; ++i) a0.v[i] = act(z0.v[i], LEAKY);
                ref_t z1 = ref_conv_z(L1, a0);
                ref_t d2 = ref_new(14, 4, 4), d1 = ref_new(6, 4, 4), d0 = ref_new(4, 8, 8), dx = ref_new(3, 8, 8);
                d2.v[ch * 16 + cell] = sign;
                ref_conv_back(L2, d2, d1);
                for (int i = 0; i < 96; ++i) d1.v[i] = gate(z1.v[i], d1.v[i]);
                ref_conv_back(L1, d1, d0);
                for (int i = 0; i < 256; ++i) d0.v[i] = gate(z0.v[i], d0.v[i]);
                ref_conv_back(L0, d0, dx);
                /* Grad-CAM at layer 1, normalised and upsampled */
                float cam[16], up[64];
                for (int p = 0; p < 16; ++p) {
                    double v = 0;
                    for (int k = 0; k < 6; ++k) v += sign * L2->weights[ch * 6 + k] / 16.0 * L1->output[k * 16 + p];
                    cam[p] = v > 0 ? (float)v : 0;
                }
                upsample_norm(cam, 4, 4, up, 8, 8);
                for (int mth = 0; mth < 2; ++mth) {
                    gc_explain_opts o = {.method = mth ? GC_METHOD_GUIDEDGRADCAM : GC_METHOD_GUIDEDBACKPROP,
                                         .counterfactual = cf, .layers = {1}, .nlayers = 1, .target = GC_TARGET_LOGIT};
                    gc_map m;
                    ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
                    double dd = 0, nr = 0;
                    for (int c = 0; c < 3; ++c)
                        for (int p = 0; p < 64; ++p) {
                            double want = dx.v[c * 64 + p] * (mth ? up[p] : 1.0f);
                            dd += (m.image[c * 64 + p] - want) * (m.image[c * 64 + p] - want);
                            nr += want * want;
                        }
                    if (nr == 0) {
                        ck_assert(dd == 0);
                        continue;
                    }
                    ck_assert_msg(sqrt(dd / nr) < 1e-4, "method %d cf %d anchor %d cell %d: rel %g", mth, cf, n, cell,
                                  sqrt(dd / nr));
                    ++checked;
                }
                free(z0.v), free(a0.v), free(z1.v), free(d2.v), free(d1.v), free(d0.v), free(dx.v);
            }
    ck_assert_int_ge(checked, 12);
    gc_explain_close(&s);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* -target score with the forward-only methods: the score they weigh is the
 * box's objectness x class probability, read here off the yolo head's
 * output (gb_yolo: 2 anchors of 7 entries, 4x4 cells), so every score is in
 * [0, 1]. (They had used the seed applied to the head's input, the score's
 * linearisation without its constant: near 0 or negative.) */
START_TEST(forward_only_methods_weigh_the_box_score)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/gb_yolo.cfg");
    gct_randomize(net, 61, 1.5f);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 8, 8, 17), &e) == 0, "%s", e.msg);
    for (int n = 0; n < 2; ++n)
        for (int cell = 0; cell < 16; cell += 3) {
            const float *out = net->layers[3].output;
            double want = (double)out[(n * 7 + 4) * 16 + cell] * out[(n * 7 + 5 + 1) * 16 + cell];
            gc_det d = {.cls = 1, .head = 3, .anchor = n, .cell = cell, .prob = (float)want, .objectness = 1};
            gc_subject t = {1, &d};
            gc_explain_opts o = {.method = GC_METHOD_ABLATIONCAM, .layers = {1}, .nlayers = 1, .target = GC_TARGET_SCORE};
            gc_map m;
            ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
            ck_assert_msg(fabs(s.chan[6] - want) < 1e-6, "anchor %d cell %d: score %g, obj x p %g", n, cell, s.chan[6],
                          want);
            for (int k = 0; k < 6; ++k) ck_assert(s.chan[k] >= 0 && s.chan[k] <= 1);
            o.method = GC_METHOD_SCORECAM;
            ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
            for (int k = 0; k < 6; ++k) ck_assert_msg(s.chan[k] >= 0 && s.chan[k] <= 1, "%g", s.chan[k]);
        }
    gc_explain_close(&s);
    free_network(net);
    /* -target logit at a [detection] head with softmax=1 (det_v1: 2x2
     * cells, 3 classes, layer 3) explains the class's softmax output: the
     * score the forward-only methods weigh is that output, read off the
     * head (it had been the seed applied to the head's input, the output's
     * linearisation); here at layer 0's 8 channels */
    net = gct_load("tests/cfg/det_v1.cfg");
    gct_randomize(net, 62, 1.5f);
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 16, 16, 18), &e) == 0, "%s", e.msg);
    int checked = 0;
    for (int cell = 0; cell < 4; ++cell)
        for (int cls = 0; cls < 3; ++cls) {
            const float *out = net->layers[3].output;
            double want = out[cell * 3 + cls];
            gc_det d = {.cls = cls, .head = 3, .anchor = 0, .cell = cell, .prob = (float)want, .objectness = 1};
            gc_subject t = {cls, &d};
            gc_explain_opts o = {.method = GC_METHOD_ABLATIONCAM, .layers = {0}, .nlayers = 1, .target = GC_TARGET_LOGIT};
            gc_map m;
            ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
            ck_assert_msg(fabs(s.chan[8] - want) < 1e-6, "cell %d class %d: score %g, softmax output %g", cell, cls,
                          s.chan[8], want);
            ++checked;
        }
    ck_assert_int_eq(checked, 12);
    gc_explain_close(&s);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* Ablation-CAM against a direct computation: at layer 2 of gb_relu.cfg the
 * logit is sum_j W[c][j] mean(A^j) + b, so zeroing channel k gives
 * y_k = y - W[c][k] mean(A^k); w_k = (y - y_k) / |y|. The network's state is
 * the image's own afterwards. */
START_TEST(ablationcam_matches_a_direct_computation)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/gb_relu.cfg");
    gct_randomize(net, 52, 1.5f);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 10, 10, 15), &e) == 0, "%s", e.msg);
    const layer *fc = &net->layers[4];
    float A[150], logits[3];
    memcpy(A, net->layers[2].output, sizeof A);
    memcpy(logits, net->layers[4].output, sizeof logits);
    for (int cls = 0; cls < 3; ++cls) {
        double mean[6], y = fc->biases[cls], w[6];
        for (int k = 0; k < 6; ++k) {
            mean[k] = 0;
            for (int p = 0; p < 25; ++p) mean[k] += A[k * 25 + p] / 25.0;
            y += fc->weights[cls * 6 + k] * mean[k];
        }
        for (int k = 0; k < 6; ++k) w[k] = (y - (y - fc->weights[cls * 6 + k] * mean[k])) / fabs(y);
        gc_explain_opts o = {.method = GC_METHOD_ABLATIONCAM, .layers = {2}, .nlayers = 1};
        gc_subject t = {cls, NULL};
        gc_map m;
        ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
        double d = 0, nr = 0;
        for (int p = 0; p < 25; ++p) {
            double v = 0;
            for (int k = 0; k < 6; ++k) v += w[k] * A[k * 25 + p];
            v = v > 0 ? v : 0;
            d += (m.data[p] - v) * (m.data[p] - v);
            nr += v * v;
        }
        ck_assert_msg(nr > 0 && sqrt(d / nr) < 1e-4, "class %d: rel %g", cls, sqrt(d / nr));
        for (int i = 0; i < 3; ++i) ck_assert_float_eq(net->layers[4].output[i], logits[i]);
        for (int i = 0; i < 150; ++i) ck_assert_float_eq(net->layers[2].output[i], A[i]);
    }
    gc_explain_close(&s);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* -smooth aug: the mean of 6 explanations of the same class on the input
 * times 0.9, 1, 1.1, unflipped and flipped, each flipped map mirrored back;
 * built here from single explanations on hand-made inputs. For Grad-CAM at
 * layer 0 (a full-resolution map) and Guided Backprop (an input-level
 * result). The network is left on the image's own forward pass. */
START_TEST(aug_smoothing_is_the_mean_of_six)
{
    char *dir = gcf_tempdir();
    network *net = gct_load("tests/cfg/gb_relu.cfg");
    gct_randomize(net, 50, 1.5f);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, random_png(dir, 10, 10, 14), &e) == 0, "%s", e.msg);
    float logits[3];
    memcpy(logits, net->layers[4].output, sizeof logits);
    const gc_method ms[2] = {GC_METHOD_GRADCAM, GC_METHOD_GUIDEDBACKPROP};
    for (int mi = 0; mi < 2; ++mi) {
        gc_explain_opts o = {.method = ms[mi], .layers = {0}, .nlayers = 1};
        gc_subject t = {2, NULL};
        gc_map m;
        float want[300] = {0}, x[300], orig[300];
        memcpy(orig, s.input.data, sizeof orig);
        const float f[3] = {.9f, 1, 1.1f};
        for (int flip = 0; flip < 2; ++flip)
            for (int k = 0; k < 3; ++k) {
                for (int c = 0; c < 3; ++c)
                    for (int y = 0; y < 10; ++y)
                        for (int xx = 0; xx < 10; ++xx)
                            x[c * 100 + y * 10 + xx] = orig[c * 100 + y * 10 + (flip ? 9 - xx : xx)] * f[k];
                memcpy(s.input.data, x, sizeof x); /* the session's input, for this one explanation */
                gc_hooks_forward(&s.ctx, x);
                ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
                const float *r = m.image ? m.image : m.data;
                int C = m.image ? 3 : 1;
                for (int c = 0; c < C; ++c)
                    for (int y = 0; y < 10; ++y)
                        for (int xx = 0; xx < 10; ++xx)
                            want[c * 100 + y * 10 + (flip ? 9 - xx : xx)] += r[c * 100 + y * 10 + xx] / 6;
            }
        memcpy(s.input.data, orig, sizeof orig);
        gc_hooks_forward(&s.ctx, orig);
        o.smooth = GC_SMOOTH_AUG;
        ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
        const float *r = m.image ? m.image : m.data;
        double d = 0, nr = 0;
        for (int i = 0; i < (m.image ? 300 : 100); ++i) d += (r[i] - want[i]) * (r[i] - want[i]), nr += want[i] * want[i];
        ck_assert_msg(nr > 0 && sqrt(d / nr) < 1e-5, "%s: rel %g", gc_cam_method_name(ms[mi]), sqrt(d / nr));
        /* and smoothing changed the map */
        gc_explain_opts o1 = o;
        o1.smooth = GC_SMOOTH_NONE;
        float aug[300];
        memcpy(aug, r, (m.image ? 300 : 100) * sizeof *aug); /* a map is 10 x 10, an image 3 x 10 x 10 */
        ck_assert_msg(gc_explain_target(&s, &t, &o1, &m, &e) == 0, "%s", e.msg);
        r = m.image ? m.image : m.data;
        double diff = 0;
        for (int i = 0; i < (m.image ? 300 : 100); ++i) diff += fabs(r[i] - aug[i]);
        ck_assert(diff > 1e-4);
        for (int i = 0; i < 3; ++i) ck_assert_float_eq(net->layers[4].output[i], logits[i]);
    }
    gc_explain_close(&s);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_guided(void)
{
    Suite *s = suite_create("guided");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, input_gradient_matches_finite_differences, 0,
                        (int)(sizeof fd_cfgs / sizeof fd_cfgs[0]));
    tcase_add_test(tc, guided_rule_by_hand);
    tcase_add_loop_test(tc, guided_passes_no_negative_gradient, 0, 4);
    tcase_add_loop_test(tc, guided_matches_a_plain_reimplementation, 0, 2);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("session");
    tcase_set_timeout(ts, 120);
    tcase_add_test(ts, guidedbackprop_npy_is_the_input_gradient);
    tcase_add_test(ts, guidedgradcam_matches_a_plain_reimplementation);
    tcase_add_loop_test(ts, cam_is_gradcam_times_z, 0, 2);
    tcase_add_test(ts, cam_refuses_other_nets);
    tcase_add_test(ts, scorecam_matches_a_direct_loop);
    tcase_add_test(ts, aug_smoothing_is_the_mean_of_six);
    tcase_add_test(ts, ablationcam_matches_a_direct_computation);
    tcase_add_test(ts, forward_only_methods_weigh_the_box_score);
    tcase_add_test(ts, guided_on_a_box_matches_a_plain_reimplementation);
    tcase_add_test(ts, kept_session_equals_fresh_sessions);
    suite_add_tcase(s, ts);
    return s;
}
