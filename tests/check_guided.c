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

#include "gc_backward.h"
#include "gc_hooks.h"
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
        else if (gc_activation_is_rectifier(l->activation) &&
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
        else if (gc_activation_is_rectifier(l->activation) &&
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

/* gc_backprop_input against central finite differences of Darknet's own
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
    gc_err e = {{0}};
    ck_assert_int_eq(gc_ctx_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_forward(&c, x);
    for (int i = 0; i < 2; ++i) /* twice: the buffer is overwritten, not accumulated */
        ck_assert_msg(gc_backprop_input(&c, S, r, x, 0, g, &e) == 0, "%s: %s", cfg, e.msg);
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
    gc_ctx_free(&c);
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
    gc_guided_activation_backward(d, yr, 4, RELU);
    ck_assert(d[0] == 0.5f && d[1] == 0 && d[2] == 0 && d[3] == 0);
    float dl[4] = {0.5f, -0.5f, 0.5f, -0.5f};
    gc_guided_activation_backward(dl, y, 4, LEAKY);
    ck_assert(dl[0] == 0.5f && dl[1] == 0 && dl[2] == 0 && dl[3] == 0);
    float dm[2] = {0.5f, -0.5f}, ym[2] = {1.1f, 1.1f}; /* ramp: slope 1.1 on the positive side */
    gc_guided_activation_backward(dm, ym, 2, RAMP);
    ck_assert(fabsf(dm[0] - 0.55f) < 1e-7f && dm[1] == 0);
    float dt[2] = {0.5f, -0.5f}, yt[2] = {0.5f, -0.5f}; /* tanh: derivative 0.75, signs kept */
    gc_guided_activation_backward(dt, yt, 2, TANH);
    ck_assert(fabsf(dt[0] - 0.375f) < 1e-7f && fabsf(dt[1] + 0.375f) < 1e-7f);
    ck_assert(gc_activation_is_rectifier(RELU) && gc_activation_is_rectifier(LEAKY) &&
              gc_activation_is_rectifier(ELU) && gc_activation_is_rectifier(SELU));
    ck_assert(!gc_activation_is_rectifier(LINEAR) && !gc_activation_is_rectifier(LOGISTIC) &&
              !gc_activation_is_rectifier(TANH));
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
    gc_err e = {{0}};
    ck_assert_int_eq(gc_ctx_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_forward(&c, x);
    int negatives_plain = 0, positives = 0, rectifiers = 0;
    for (int pass = 0; pass < 2; ++pass) {
        ck_assert_int_eq(gc_backprop_input(&c, S, r, x, pass, g, &e), 0);
        for (int i = 0; i < S; ++i) { /* the score layer's own delta is the seed */
            const layer *l = &net->layers[i];
            if (!gc_activation_is_rectifier(l->activation) ||
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
    gc_ctx_free(&c);
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
    gc_err e = {{0}};
    ck_assert_int_eq(gc_ctx_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_forward(&c, x);
    for (int cls = 0; cls < 3; ++cls) {
        memset(seed, 0, sizeof seed);
        seed[cls] = 1;
        ck_assert_int_eq(gc_backprop_input(&c, S, seed, x, 1, g, &e), 0);
        ck_assert_int_eq(gc_backprop_input(&c, S, seed, x, 0, plain, &e), 0);
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
    gc_ctx_free(&c);
    free_network(net);
    free(x), free(g), free(ref), free(plain);
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
    return s;
}
