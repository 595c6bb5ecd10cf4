/* bench_equiv: our Darknet (patched: gemm through cblas_sgemm, and the
 * plugin's hooks installed) computes the same forward pass as stock Darknet
 * built from the unpatched source. Every layer's output is compared, for a
 * network with every layer type Darknet's CPU forward runs at inference
 * (tests/cfg/eq_all_layers.cfg) and for Darknet's own yolov3-tiny.
 *
 * Both libraries define the same symbols, so the stock side is a separate
 * program (bench/gc_stock_forward.c linked against the stock libdarknet.a,
 * GC_STOCK_FORWARD, built by `make test`): it loads the same cfg and
 * .weights, runs network_predict on the same input file and dumps every
 * layer's output. Tolerance: |ours - stock| <= 1e-4 |stock| + 1e-5 max|layer|
 * (+1e-6): cblas_sgemm sums in a different order than Darknet's loops. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_backward.h"
#include "gc_fixture.h"
#include "gc_hooks.h"
#include "gc_tests.h"

#define EQ_RTOL 1e-4
#define EQ_ATOL_SCALE 1e-5
#define EQ_ATOL_FLOOR 1e-6

static void fill(float *x, size_t n, uint64_t *st, float lo, float hi)
{
    for (size_t i = 0; i < n; ++i) x[i] = gcf_uniform(st, lo, hi);
}

/* Seeded parameters for every layer that has any, recurrent layers' inner
 * layers included (gc_model_randomize covers only top-level convolutional,
 * connected and batchnorm layers; Darknet's own init leaves local weights
 * beyond the first location at zero and batch-norm variances at zero). */
static void randomize_layer(layer *l, uint64_t *st)
{
    size_t nw, nb, fan;
    switch (l->type) {
    case CONVOLUTIONAL:
        nw = (size_t)l->nweights, nb = (size_t)l->n, fan = (size_t)l->size * l->size * l->c / l->groups;
        break;
    case DECONVOLUTIONAL:
        nw = (size_t)l->nweights, nb = (size_t)l->n, fan = (size_t)l->c;
        break;
    case CONNECTED:
        nw = (size_t)l->inputs * l->outputs, nb = (size_t)l->outputs, fan = (size_t)l->inputs;
        break;
    case LOCAL:
        nw = (size_t)l->out_w * l->out_h * l->size * l->size * l->c * l->n, nb = (size_t)l->outputs;
        fan = (size_t)l->size * l->size * l->c;
        break;
    case RNN:
    case CRNN:
        randomize_layer(l->input_layer, st);
        randomize_layer(l->self_layer, st);
        randomize_layer(l->output_layer, st);
        return;
    case GRU: {
        layer *in[] = {l->uz, l->wz, l->ur, l->wr, l->uh, l->wh};
        for (size_t i = 0; i < sizeof in / sizeof in[0]; ++i) randomize_layer(in[i], st);
        return;
    }
    case LSTM: {
        layer *in[] = {l->uf, l->ui, l->ug, l->uo, l->wf, l->wi, l->wg, l->wo};
        for (size_t i = 0; i < sizeof in / sizeof in[0]; ++i) randomize_layer(in[i], st);
        return;
    }
    default:
        return;
    }
    float s = 1.6f / sqrtf((float)fan);
    fill(l->weights, nw, st, -s, s);
    fill(l->biases, nb, st, -0.2f, 0.2f);
    if (l->batch_normalize) {
        fill(l->scales, nb, st, 0.5f, 1.5f);
        fill(l->rolling_mean, nb, st, -0.3f, 0.3f);
        fill(l->rolling_variance, nb, st, 0.3f, 2.0f);
    }
}

/* make_deconvolutional_layer leaves groups at 0 and load_convolutional_weights
 * divides by it (SIGFPE): set the one group a deconvolution has. The stock
 * program does the same. */
static void fix_deconv_groups(network *net)
{
    for (int i = 0; i < net->n; ++i)
        if (net->layers[i].type == DECONVOLUTIONAL && net->layers[i].groups == 0) net->layers[i].groups = 1;
}

static network *load(const char *cfg, const char *weights)
{
    network *net = parse_network_cfg((char *)cfg);
    ck_assert_ptr_nonnull(net);
    fix_deconv_groups(net);
    if (weights) load_weights(net, (char *)weights);
    set_batch_network(net, 1);
    return net;
}

typedef struct dump {
    int n;
    int32_t *type, *count;
    float **out;
} dump;

static int read_dump(const char *path, dump *d)
{
    memset(d, 0, sizeof *d);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char magic[4];
    int32_t n;
    int ok = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GCFD", 4) && fread(&n, sizeof n, 1, f) == 1 && n > 0 &&
             n < 100000;
    if (ok) {
        d->n = n;
        d->type = calloc((size_t)n, sizeof *d->type);
        d->count = calloc((size_t)n, sizeof *d->count);
        d->out = calloc((size_t)n, sizeof *d->out);
        ok = d->type && d->count && d->out;
    }
    for (int i = 0; ok && i < d->n; ++i) {
        int32_t h[2];
        ok = fread(h, sizeof h[0], 2, f) == 2 && h[1] >= 0;
        if (!ok) break;
        d->type[i] = h[0];
        d->count[i] = h[1];
        d->out[i] = malloc((size_t)h[1] * sizeof(float) + 1);
        ok = d->out[i] && fread(d->out[i], sizeof(float), (size_t)h[1], f) == (size_t)h[1];
    }
    fclose(f);
    return ok ? 0 : -1;
}

static void free_dump(dump *d)
{
    for (int i = 0; i < d->n && d->out; ++i) free(d->out[i]);
    free(d->out);
    free(d->type);
    free(d->count);
}

static const char *stock_forward_path(void)
{
    const char *p = getenv("GC_STOCK_FORWARD");
    return p && *p ? p : "build/stock/gc_stock_forward";
}

/* Random weights for cfg (saved in dir), a random input; stock Darknet's
 * per-layer outputs vs ours. Returns the network's layer types seen. */
static void compare_with_stock(const char *cfg, unsigned seed, int *types_seen, int ntypes)
{
    const char *tool = stock_forward_path();
    ck_assert_msg(access(tool, X_OK) == 0,
                  "stock Darknet's forward program %s is missing: run `make test` (it builds it)", tool);
    char *dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    char weights[4096], input[4096], out[4096];
    snprintf(weights, sizeof weights, "%s/w.weights", dir);
    snprintf(input, sizeof input, "%s/input.f32", dir);
    snprintf(out, sizeof out, "%s/stock.dump", dir);

    network *net = load(cfg, NULL);
    uint64_t st = seed;
    for (int i = 0; i < net->n; ++i) randomize_layer(&net->layers[i], &st);
    save_weights(net, weights);
    free_network(net);

    net = load(cfg, weights);
    float *x = malloc((size_t)net->inputs * sizeof *x);
    ck_assert_ptr_nonnull(x);
    fill(x, (size_t)net->inputs, &st, 0.0f, 1.0f);
    FILE *f = fopen(input, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(x, sizeof *x, (size_t)net->inputs, f), (size_t)net->inputs);
    ck_assert_int_eq(fclose(f), 0);

    static char sout[1 << 14], serr[1 << 16];
    char *argv[] = {(char *)tool, (char *)cfg, weights, input, out, NULL};
    int rc = gcf_run(argv, sout, sizeof sout, serr, sizeof serr);
    const char *tail = strlen(serr) > 400 ? serr + strlen(serr) - 400 : serr;
    ck_assert_msg(rc == 0, "%s exited with %d: ...%s", tool, rc, tail);
    dump d;
    ck_assert_msg(read_dump(out, &d) == 0, "cannot read stock Darknet's dump %s", out);

    /* Ours: the plugin's forward entry, hooks installed, as gradcam runs it. */
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);

    ck_assert_int_eq(d.n, net->n);
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        ck_assert_int_eq(d.type[i], (int32_t)l->type);
        if ((int)l->type < ntypes) types_seen[l->type] = 1;
        ck_assert_int_eq(d.count[i], l->output ? l->outputs : 0);
        const float *a = l->output, *b = d.out[i];
        size_t n = (size_t)d.count[i], nonzero = 0, worst = 0, nonfinite = 0, first = 0;
        double scale = 0, worst_excess = -1;
        /* one assertion per layer, not per value: a passing ck_assert writes
         * a mark to Check's pipe, over 8 million of them for yolov3-tiny */
        for (size_t j = 0; j < n; ++j) {
            if (!(isfinite(b[j]) && isfinite(a[j])) && !nonfinite++) first = j;
            if (fabs(b[j]) > scale) scale = fabs(b[j]);
            nonzero += b[j] != 0;
        }
        ck_assert_msg(!nonfinite, "%s layer %d (%s): %zu outputs not finite, the first %zu: ours %g, stock %g", cfg, i,
                      gc_darknet_type_name(l->type), nonfinite, first, a[first], b[first]);
        /* [cost] writes nothing at inference (no truth): all zero on both sides */
        if (l->type != COST)
            ck_assert_msg(nonzero > 0, "%s layer %d (%s): all-zero output proves nothing", cfg, i,
                          gc_darknet_type_name(l->type));
        double atol = EQ_ATOL_FLOOR + EQ_ATOL_SCALE * scale;
        for (size_t j = 0; j < n; ++j) {
            double excess = fabs((double)a[j] - b[j]) - (EQ_RTOL * fabs(b[j]) + atol);
            if (excess > worst_excess) worst_excess = excess, worst = j;
        }
        ck_assert_msg(n == 0 || worst_excess <= 0,
                      "%s layer %d (%s): output %zu is %.9g, stock Darknet's %.9g (layer max %g)", cfg, i,
                      gc_darknet_type_name(l->type), worst, a[worst], b[worst], scale);
    }
    gc_hooks_free(&c);
    free_dump(&d);
    free(x);
    free_network(net);
    gcf_rmtree(dir);
    free(dir);
}

START_TEST(every_layer_type_matches_stock_darknet)
{
    int seen[64] = {0};
    compare_with_stock("tests/cfg/eq_all_layers.cfg", 11, seen, 64);
    /* The cfg really has every type Darknet's CPU forward runs at inference
     * ([batchnorm] and [iseg] are left out: see the cfg's header). */
    static const LAYER_TYPE want[] = {CONVOLUTIONAL, DECONVOLUTIONAL, CONNECTED, MAXPOOL, SOFTMAX, DETECTION,
                                      DROPOUT,       CROP,            ROUTE,     COST,    NORMALIZATION,
                                      AVGPOOL,       LOCAL,           SHORTCUT,  ACTIVE,  RNN,
                                      GRU,           LSTM,            CRNN,      REGION,  YOLO,
                                      REORG,         UPSAMPLE,        LOGXENT,   L2NORM};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; ++i)
        ck_assert_msg(seen[want[i]], "eq_all_layers.cfg has no %s layer", gc_darknet_type_name(want[i]));
}
END_TEST

START_TEST(yolov3_tiny_matches_stock_darknet)
{
    int seen[64] = {0};
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s", gcf_darknet_path("cfg/yolov3-tiny.cfg"));
    compare_with_stock(cfg, 5, seen, 64);
}
END_TEST

Suite *suite_bench_equiv(void)
{
    Suite *s = suite_create("bench_equiv");
    TCase *tc = tcase_create("stock");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_layer_type_matches_stock_darknet);
    tcase_add_test(tc, yolov3_tiny_matches_stock_darknet);
    suite_add_tcase(s, tc);
    return s;
}
