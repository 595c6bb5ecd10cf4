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
    unsigned st = seed + 17;
    for (int i = 0; i < r->net->inputs; ++i) r->x[i] = gcf_uniform(&st, 0, 1);
    gc_err e;
    ck_assert_int_eq(gc_ctx_init(&r->c, r->net, &e), 0);
    gc_hooks_install(&r->c);
    gc_forward(&r->c, r->x);
}

static void run_close(run *r)
{
    gc_ctx_free(&r->c);
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
        ck_assert_int_eq(gc_backprop(&r.c, 3, NULL, (size_t)c, 1.0f, 1, &e), 0);
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
        ck_assert_int_eq(gc_backprop(&r.c, 4, NULL, (size_t)c, 1.0f, 2, &e), 0);
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
    ck_assert_int_eq(gc_backprop(&r.c, 6, NULL, 2, 1.0f, 3, &e), 0);
    ck_assert_int_eq(gc_cam_compute(GC_METHOD_GRADCAM, feat->output, feat->delta, K, H, W, a, map, NULL), 0);
    ck_assert_int_eq(gc_backprop(&r.c, 6, NULL, 2, -1.0f, 3, &e), 0);
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
 * once the session has reserved its buffers (gc_session_reserve) and seen
 * both heads' paths, explaining more boxes, alternating between two heads
 * (each switch recomputes the path), allocates nothing. */
START_TEST(explaining_more_targets_allocates_nothing)
{
    network *net = gcf_random_network("tests/cfg/det_yolo2.cfg", 21);
    ck_assert_ptr_nonnull(net);
    char img[4096];
    snprintf(img, sizeof img, "%s", gcf_darknet_path("data/dog.jpg"));
    gc_session s;
    gc_err e = {{0}};
    ck_assert_msg(gc_session_open(&s, net, img, &e) == 0, "%s", e.msg);
    int heads[2] = {6, 13};
    ck_assert_int_eq(net->layers[heads[0]].type, YOLO);
    ck_assert_int_eq(net->layers[heads[1]].type, YOLO);
    gc_explain_opts o = {GC_METHOD_GRADCAM, 0, 0.5f};
    gc_map m;
    for (int h = 0; h < 2; ++h) {
        int li = gc_detect_default_layer(net, heads[h]);
        ck_assert_msg(gc_session_reserve(&s, li, o.method, &e) == 0, "%s", e.msg);
        ck_assert_msg(gc_session_explain(&s, heads[h], NULL, 3, li, &o, &m, &e) == 0, "%s", e.msg);
    }
    /* no ck_assert inside the counted loop: Check allocates to record one */
    size_t before = gct_allocs;
    int failed = 0;
    for (int t = 0; t < 20 && !failed; ++t) {
        int h = t % 2, li = gc_detect_default_layer(net, heads[h]);
        size_t idx = (size_t)(t * 7) % (size_t)net->layers[heads[h]].outputs;
        failed = gc_session_explain(&s, heads[h], NULL, idx, li, &o, &m, &e) != 0;
    }
    size_t after = gct_allocs;
    ck_assert_msg(!failed, "%s", e.msg);
    ck_assert_msg(after == before, "20 explanations made %zu heap allocations", after - before);
    /* and the counter does count */
    before = gct_allocs;
    void *volatile p = malloc(16); /* volatile: -O2 drops a malloc/free pair */
    free(p);
    ck_assert_uint_eq(gct_allocs, before + 1);
    gc_session_close(&s);
    free_network(net);
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
    suite_add_tcase(s, tc);
    return s;
}
