/* Grad-CAM on whole Darknet networks, against identities from the paper:
 * on a global-average-pooling classifier Grad-CAM equals CAM up to a positive
 * factor (1/Z), and the counterfactual map negates every channel weight. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gc_cam.h"
#include "gc_detect_run.h"
#include "gc_explain.h"
#include "gc_fixture.h"
#include "gc_hooks.h"
#include "gc_testutil.h"
#include "gc_tests.h"

typedef struct run {
    network *net;
    gc_ctx c;
    float *x;
} run;

static void run_open(run *r, const char *cfg, unsigned seed)
{
    r->net = gcf_random_network(cfg, seed);
    ck_assert_ptr_nonnull(r->net);
    r->x = malloc((size_t)r->net->inputs * sizeof *r->x);
    uint64_t st = seed + 17;
    for (int i = 0; i < r->net->inputs; ++i) r->x[i] = gcf_uniform(&st, 0, 1);
    gc_err e;
    ck_assert_int_eq(gc_hooks_init(&r->c, r->net, &e), 0);
    gc_hooks_install(&r->c);
    gc_hooks_forward(&r->c, r->x);
}

static void run_close(run *r)
{
    gc_hooks_free(&r->c);
    free_network(r->net);
    free(r->x);
}

/* Grad-CAM at `target` for class c vs ReLU(sum_k w_ck A^k) / Z with the class
 * weights w read straight from the linear layer after the pooling. */
/* Returns how many cells of the map are positive (the caller checks that the
 * comparison was not vacuous over all classes). */
static int check_cam_equivalence(const float *W, int K, int c, const layer *feat)
{
    size_t Z = (size_t)feat->out_w * feat->out_h;
    float *gc = malloc(Z * sizeof *gc), *cam = calloc(Z, sizeof *cam), *a = malloc((size_t)K * sizeof *a);
    ck_assert_int_eq(gc_cam_compute(GC_METHOD_GRADCAM, feat->output, feat->delta, (size_t)K,
                                    (size_t)feat->out_h, (size_t)feat->out_w, a, gc, NULL), 0);
    for (int k = 0; k < K; ++k) {
        ck_assert_msg(fabsf(a[k] - W[(size_t)c * K + k] / (float)Z) < 1e-6f, "alpha_%d = %g, w/Z = %g", k, a[k],
                      W[(size_t)c * K + k] / (float)Z);
        for (size_t p = 0; p < Z; ++p) cam[p] += W[(size_t)c * K + k] * feat->output[(size_t)k * Z + p];
    }
    int positive = 0;
    for (size_t p = 0; p < Z; ++p) {
        float want = cam[p] > 0 ? cam[p] / (float)Z : 0.0f;
        ck_assert_msg(fabsf(gc[p] - want) <= 1e-5f * (1.0f + fabsf(want)), "cell %zu: %g vs %g", p, gc[p], want);
        positive += want > 0;
    }
    free(gc);
    free(cam);
    free(a);
    return positive;
}

START_TEST(gradcam_equals_cam_on_gap_linear_classifier)
{
    /* clf_gap_fc: 1 conv features (K=7), 2 avgpool, 3 connected (logits) */
    run r;
    run_open(&r, "tests/cfg/clf_gap_fc.cfg", 3);
    const layer *fc = &r.net->layers[3], *feat = &r.net->layers[1];
    int positive = 0;
    for (int c = 0; c < fc->outputs; ++c) {
        gc_err e;
        ck_assert_int_eq(gc_hooks_backprop(&r.c, 3, NULL, (size_t)c, 1.0f, 1, &e), 0);
        positive += check_cam_equivalence(fc->weights, feat->out_c, c, feat);
    }
    ck_assert_int_gt(positive, 0);
    ck_assert_int_lt(positive, fc->outputs * feat->out_w * feat->out_h);
    run_close(&r);
}
END_TEST

START_TEST(gradcam_equals_cam_with_a_1x1_score_convolution)
{
    /* darknet19-style head (clf_bn): 2 conv features, 3 linear 1x1 conv to the
     * classes, 4 avgpool (logits). The 1x1 convolution commutes with the
     * pooling, so its weights are CAM's class weights. */
    run r;
    run_open(&r, "tests/cfg/clf_bn.cfg", 4);
    const layer *score = &r.net->layers[3], *feat = &r.net->layers[2];
    int positive = 0;
    for (int c = 0; c < score->n; ++c) {
        gc_err e;
        ck_assert_int_eq(gc_hooks_backprop(&r.c, 4, NULL, (size_t)c, 1.0f, 2, &e), 0);
        positive += check_cam_equivalence(score->weights, feat->out_c, c, feat);
    }
    ck_assert_int_gt(positive, 0);
    ck_assert_int_lt(positive, score->n * feat->out_w * feat->out_h);
    run_close(&r);
}
END_TEST

START_TEST(counterfactual_negates_every_channel_weight)
{
    run r;
    run_open(&r, "tests/cfg/clf_resnet.cfg", 8);
    const layer *feat = &r.net->layers[3];
    size_t K = (size_t)feat->out_c, H = (size_t)feat->out_h, W = (size_t)feat->out_w;
    float *a = malloc(K * sizeof *a), *b = malloc(K * sizeof *b), *map = malloc(H * W * sizeof *map);
    gc_err e;
    ck_assert_int_eq(gc_hooks_backprop(&r.c, 6, NULL, 2, 1.0f, 3, &e), 0);
    ck_assert_int_eq(gc_cam_compute(GC_METHOD_GRADCAM, feat->output, feat->delta, K, H, W, a, map, NULL), 0);
    ck_assert_int_eq(gc_hooks_backprop(&r.c, 6, NULL, 2, -1.0f, 3, &e), 0);
    ck_assert_int_eq(gc_cam_compute(GC_METHOD_GRADCAM, feat->output, feat->delta, K, H, W, b, map, NULL), 0);
    int nonzero = 0;
    for (size_t k = 0; k < K; ++k) {
        ck_assert_float_eq(a[k], -b[k]);
        nonzero += a[k] != 0;
    }
    ck_assert_int_gt(nonzero, 0);
    free(a);
    free(b);
    free(map);
    run_close(&r);
}
END_TEST

/* One forward per image, then per target only a backward pass and a map:
 * once the session has prepared both heads' boxes (gc_explain_prepare),
 * explaining more boxes through the one explain path, alternating between two
 * heads (each switch recomputes the path), for classes up to the last one and
 * with counterfactuals, allocates nothing, and leaves the seed all zero. */
START_TEST(explaining_more_targets_allocates_nothing)
{
    network *net = gcf_random_network("tests/cfg/det_yolo2.cfg", 21);
    ck_assert_ptr_nonnull(net);
    char img[4096];
    snprintf(img, sizeof img, "%s", gcf_darknet_path("data/dog.jpg"));
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, img, &e) == 0, "%s", e.msg);
    int heads[2] = {6, 13};
    ck_assert_int_eq(net->layers[heads[0]].type, YOLO);
    ck_assert_int_eq(net->layers[heads[1]].type, YOLO);
    gc_explain_opts o = {.method = GC_METHOD_GRADCAM, .alpha = 0.5f};
    gc_map m;
    gc_det d[2];
    memset(d, 0, sizeof d);
    for (int h = 0; h < 2; ++h) {
        d[h].head = heads[h];
        gc_subject t = {0, &d[h]};
        ck_assert_msg(gc_explain_prepare(&s, &t, &o, &e) == 0, "%s", e.msg);
    }
    /* no ck_assert inside the counted loop: Check allocates to record one */
    size_t before = gct_allocs;
    int failed = 0, classes = net->layers[heads[0]].classes;
    for (int t = 0; t < 20 && !failed; ++t) {
        gc_det *dt = &d[t % 2];
        const layer *hl = &net->layers[dt->head];
        dt->cls = (t * 7) % classes;
        dt->anchor = t % hl->n;
        dt->cell = (t * 5) % (hl->w * hl->h);
        gc_subject subj = {dt->cls, dt};
        o.counterfactual = t % 3 == 0;
        o.target = (gc_target)(t % 3);
        failed = gc_explain_target(&s, &subj, &o, &m, &e) != 0;
    }
    size_t after = gct_allocs;
    ck_assert_msg(!failed, "%s", e.msg);
    ck_assert_msg(after == before, "20 explanations made %zu heap allocations", after - before);
    for (size_t i = 0; i < s.cap_seed; ++i) ck_assert_float_eq(s.seed[i], 0);
    /* and the counter does count */
    before = gct_allocs;
    void *volatile p = malloc(16); /* volatile: -O2 drops a malloc/free pair */
    free(p);
    ck_assert_uint_eq(gct_allocs, before + 1);
    gc_explain_close(&s);
    free_network(net);
}
END_TEST

/* An independent computation of what gc_explain_target must give:
 * the seed built here (one-hot, or gc_detect_seed into a buffer of our own),
 * negated for a counterfactual, one backward pass per layer, each map
 * min-max normalised, bilinear-upsampled to the input and averaged. */
static void reference_map(gc_session *s, const gc_subject *t, const gc_explain_opts *o, const int *layers, int nl,
                          float *out)
{
    network *net = s->net;
    int score = t->det ? t->det->head : s->cl.logit_layer;
    size_t ns = (size_t)net->layers[score].outputs, npx = (size_t)net->w * net->h;
    float *seed = calloc(ns, sizeof *seed), *up = malloc(npx * sizeof *up);
    gc_err e;
    if (t->det) ck_assert_int_eq(gc_detect_seed(net, t->det, o->target, seed, NULL, NULL, &e), 0);
    else seed[t->cls] = 1;
    for (size_t i = 0; i < ns; ++i) seed[i] *= o->counterfactual ? -1.0f : 1.0f;
    memset(out, 0, npx * sizeof *out);
    for (int j = 0; j < nl; ++j) {
        const layer *l = &net->layers[layers[j]];
        size_t hw = (size_t)l->out_w * l->out_h;
        float *map = malloc(hw * sizeof *map), *w = malloc((size_t)l->out_c * sizeof *w);
        ck_assert_int_eq(gc_hooks_backprop(&s->ctx, score, seed, 0, 0, layers[j], &e), 0);
        ck_assert_int_eq(gc_cam_compute(o->method, l->output, l->delta, (size_t)l->out_c, (size_t)l->out_h,
                                        (size_t)l->out_w, w, map, NULL),
                         0);
        if (nl == 1) {
            memcpy(out, map, hw * sizeof *map);
        } else {
            gc_render_normalize(map, hw);
            gc_render_resize(map, l->out_w, l->out_h, up, net->w, net->h);
            for (size_t p = 0; p < npx; ++p) out[p] += up[p] / (float)nl;
        }
        free(map);
        free(w);
    }
    free(seed);
    free(up);
}

static void assert_same_map(const gc_map *m, const float *ref, int w, int h, const char *what)
{
    ck_assert_int_eq(m->w, w);
    ck_assert_int_eq(m->h, h);
    double peak = 0;
    for (int p = 0; p < w * h; ++p) peak = fmax(peak, ref[p]);
    ck_assert_msg(peak > 0, "%s: the reference map is all zero (the test would prove nothing)", what);
    for (int p = 0; p < w * h; ++p)
        ck_assert_msg(fabs(m->data[p] - ref[p]) <= 1e-5 * peak, "%s: cell %d: %g vs %g", what, p, m->data[p], ref[p]);
}

/* The one explain path: boxes (every target kind, counterfactual, fused
 * layers given as negative and absolute indexes) and classes (counterfactual
 * by the same sign rule) against the reference above. */
START_TEST(explain_target_equals_an_independent_computation)
{
    network *net = gcf_random_network("tests/cfg/det_yolo2.cfg", 33);
    ck_assert_ptr_nonnull(net);
    gc_session s;
    gc_err e = {0};
    ck_assert_msg(gc_explain_open(&s, net, gcf_darknet_path("data/dog.jpg"), &e) == 0, "%s", e.msg);
    float *ref = malloc((size_t)net->w * net->h * sizeof *ref);
    gc_det d = {.head = 13, .anchor = 1, .cell = 5, .cls = 2};
    gc_subject t = {d.cls, &d};
    for (int k = 0; k < 3; ++k) {
        gc_explain_opts o = {.method = k == 2 ? GC_METHOD_HIRESCAM : GC_METHOD_GRADCAM, .counterfactual = k == 1,
                             .target = (gc_target)k, .layers = {-3, 2}, .nlayers = 2};
        gc_map m;
        ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(m.nlayers, 2);
        ck_assert_int_eq(m.layers[0], 10);
        ck_assert_int_eq(m.layers[1], 2);
        int layers[2] = {10, 2};
        reference_map(&s, &t, &o, layers, 2, ref);
        assert_same_map(&m, ref, net->w, net->h, "fused box map");
        /* one layer: the map at that layer's resolution */
        o.nlayers = 1;
        o.layers[0] = 2;
        ck_assert_msg(gc_explain_target(&s, &t, &o, &m, &e) == 0, "%s", e.msg);
        reference_map(&s, &t, &o, layers + 1, 1, ref);
        assert_same_map(&m, ref, net->layers[2].out_w, net->layers[2].out_h, "box map");
    }
    /* a layer after the head is refused, naming it */
    gc_explain_opts bad = {.method = GC_METHOD_GRADCAM, .layers = {13}, .nlayers = 1};
    gc_map m;
    ck_assert_int_ne(gc_explain_target(&s, &t, &bad, &m, &e), 0);
    ck_assert_ptr_nonnull(strstr(e.msg, "-layer 13"));
    gc_explain_close(&s);
    free_network(net);
    free(ref);

    net = gcf_random_network("tests/cfg/clf_resnet.cfg", 8);
    ck_assert_ptr_nonnull(net);
    ck_assert_msg(gc_explain_open(&s, net, gcf_darknet_path("data/dog.jpg"), &e) == 0, "%s", e.msg);
    ref = malloc((size_t)net->w * net->h * sizeof *ref);
    gc_subject c = {2, NULL};
    for (int cf = 0; cf < 2; ++cf) {
        gc_explain_opts o = {.method = GC_METHOD_LAYERCAM, .counterfactual = cf, .layers = {3}, .nlayers = 1};
        ck_assert_msg(gc_explain_target(&s, &c, &o, &m, &e) == 0, "%s", e.msg);
        int li = 3;
        reference_map(&s, &c, &o, &li, 1, ref);
        assert_same_map(&m, ref, net->layers[3].out_w, net->layers[3].out_h, cf ? "counterfactual class map" : "class map");
    }
    gc_explain_close(&s);
    free_network(net);
    free(ref);
}
END_TEST

Suite *suite_gradcam(void)
{
    Suite *s = suite_create("gradcam");
    TCase *tc = tcase_create("paper identities");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, gradcam_equals_cam_on_gap_linear_classifier);
    tcase_add_test(tc, gradcam_equals_cam_with_a_1x1_score_convolution);
    tcase_add_test(tc, counterfactual_negates_every_channel_weight);
    tcase_add_test(tc, explaining_more_targets_allocates_nothing);
    tcase_add_test(tc, explain_target_equals_an_independent_computation);
    suite_add_tcase(s, tc);
    return s;
}
