/* Detections: decoding equals Darknet's own get_network_boxes(), the seed
 * for every head type and every -target is the exact gradient of that target
 * (finite differences through the head's activations), a box's gradient
 * comes only through its own head, and the CLI reports the same detections as
 * stock Darknet (`darknet detector valid`, cut at the same threshold). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gc_detect.h"
#include "gc_fixture.h"
#include "gc_hooks.h"
#include "gc_image.h"
#include "gc_model.h"
#include "gc_rng.h"
#include "gc_tests.h"

typedef struct det_net {
    network *net;
    gc_ctx c;
    float *x;
    int im_w, im_h;
} det_net;

static void open_net(det_net *d, const char *cfg, unsigned seed)
{
    d->net = gcf_random_network(cfg, seed);
    ck_assert_msg(d->net != NULL, "%s", cfg);
    d->x = malloc((size_t)d->net->inputs * sizeof *d->x);
    uint64_t st = seed + 99;
    for (int i = 0; i < d->net->inputs; ++i) d->x[i] = gcf_uniform(&st, 0, 1);
    gc_err e;
    ck_assert_int_eq(gc_hooks_init(&d->c, d->net, &e), 0);
    gc_hooks_install(&d->c);
    gc_hooks_forward(&d->c, d->x);
    d->im_w = 640; /* a landscape original: the letterbox correction matters */
    d->im_h = 427;
}

static void close_net(det_net *d)
{
    gc_hooks_free(&d->c);
    free_network(d->net);
    free(d->x);
}

static void assert_same_as_darknet(det_net *d, float thresh)
{
    gc_boxes b;
    gc_err e;
    ck_assert_msg(gc_detect_decode(d->net, d->im_w, d->im_h, thresh, 0.5f, &b, &e) == 0, "%s", e.msg);
    int n = 0;
    detection *ref = get_network_boxes(d->net, d->im_w, d->im_h, thresh, 0.5f, 0, 1, &n);
    ck_assert_int_eq(b.n, n);
    ck_assert_int_gt(n, 0);
    int classes = d->net->layers[d->net->n - 1].classes, positive = 0;
    for (int k = 0; k < n; ++k) {
        box x = b.dets[k].bbox, y = ref[k].bbox;
        ck_assert_msg(fabsf(x.x - y.x) <= 1e-5f * fabsf(y.x) + 1e-6f && fabsf(x.y - y.y) <= 1e-5f * fabsf(y.y) + 1e-6f &&
                          fabsf(x.w - y.w) <= 1e-5f * fabsf(y.w) + 1e-6f && fabsf(x.h - y.h) <= 1e-5f * fabsf(y.h) + 1e-6f,
                      "box %d: (%g %g %g %g) vs Darknet (%g %g %g %g)", k, x.x, x.y, x.w, x.h, y.x, y.y, y.w, y.h);
        ck_assert_float_eq(b.dets[k].objectness, ref[k].objectness);
        for (int j = 0; j < classes; ++j) {
            ck_assert_float_eq(b.dets[k].prob[j], ref[k].prob[j]);
            positive += ref[k].prob[j] > 0;
        }
        ck_assert_int_ge(b.head[k], 0);
    }
    ck_assert_int_gt(positive, 0);
    free_detections(ref, n);
    gc_detect_boxes_free(&b);
}

/* The letterbox correction's size arithmetic does not overflow: an image of
 * 2^27 x 2^26 pixels (im_h * net_w = 2^31 for this 32-wide net) has the
 * boxes of a 4 x 2 one, the same shape (in int, new_h came out negative). */
START_TEST(letterbox_correction_of_huge_sizes_does_not_overflow)
{
    det_net d;
    open_net(&d, "tests/cfg/det_yolo2.cfg", 5);
    ck_assert_int_eq(d.net->w, 32);
    gc_boxes small, huge;
    gc_err e;
    ck_assert_int_eq(gc_detect_decode(d.net, 4, 2, 0.0f, 0.5f, &small, &e), 0);
    ck_assert_int_eq(gc_detect_decode(d.net, 1 << 27, 1 << 26, 0.0f, 0.5f, &huge, &e), 0);
    ck_assert_int_eq(small.n, huge.n);
    ck_assert_int_gt(small.n, 0);
    for (int k = 0; k < small.n; ++k) {
        box a = small.dets[k].bbox, b = huge.dets[k].bbox;
        ck_assert_msg(a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h,
                      "box %d: (%g %g %g %g) against (%g %g %g %g)", k, a.x, a.y, a.w, a.h, b.x, b.y, b.w, b.h);
    }
    gc_detect_boxes_free(&small);
    gc_detect_boxes_free(&huge);
    close_net(&d);
}
END_TEST

START_TEST(decoding_matches_get_network_boxes)
{
    const char *cfgs[] = {"tests/cfg/det_yolo2.cfg", "tests/cfg/det_region.cfg", "tests/cfg/det_v1.cfg"};
    float thresh[] = {0.1f, 0.1f, 0.05f};
    for (int i = 0; i < 3; ++i) {
        det_net d;
        open_net(&d, cfgs[i], 3 + (unsigned)i);
        assert_same_as_darknet(&d, thresh[i]);
        close_net(&d);
    }
}
END_TEST

START_TEST(decoding_matches_on_shipped_cfgs)
{
    const char *cfgs[] = {"cfg/yolov3-tiny.cfg", "cfg/yolov2-tiny.cfg"};
    for (int i = 0; i < 2; ++i) {
        det_net d;
        open_net(&d, gcf_darknet_path(cfgs[i]), 11);
        assert_same_as_darknet(&d, 0.005f);
        close_net(&d);
    }
}
END_TEST

/* The value each -target explains, computed the plain way from the head's
 * input and output after a forward pass. */
typedef struct target_of {
    gc_det d;
    gc_target t;
} target_of;

static double target_value(const network *net, const void *ctx)
{
    const target_of *w = ctx;
    const layer *l = &net->layers[w->d.head];
    const float *in = net->layers[w->d.head - 1].output, *out = l->output;
    int n = w->d.anchor, loc = w->d.cell, c = w->d.cls;
    if (l->type == YOLO || l->type == REGION) {
        int coords = l->type == YOLO ? 4 : l->coords;
        int stride = l->w * l->h, per = coords + 1 + l->classes;
        int oi = n * stride * per + coords * stride + loc, ci = n * stride * per + (coords + 1 + c) * stride + loc;
        switch (w->t) {
        case GC_TARGET_LOGIT: return in[ci];
        case GC_TARGET_OBJ: return in[oi];
        case GC_TARGET_SCORE: return (double)out[oi] * out[ci];
        }
    } else {
        int side = l->side, pi = side * side * l->classes + loc * l->n + n, ci = loc * l->classes + c;
        switch (w->t) {
        case GC_TARGET_LOGIT: return out[ci];
        case GC_TARGET_OBJ: return out[pi];
        case GC_TARGET_SCORE: return (double)out[pi] * out[ci];
        }
    }
    return NAN;
}

/* The gradient of target t of raw box k at layer `at` matches finite
 * differences of target_value. */
static void check_target(det_net *d, gc_boxes *b, int k, int cls, gc_target t, int at)
{
    target_of w;
    memset(&w, 0, sizeof w);
    w.d.head = b->head[k];
    w.d.anchor = b->anchor[k];
    w.d.cell = b->cell[k];
    w.d.cls = cls;
    w.t = t;
    const layer *head = &d->net->layers[w.d.head];
    float *seed = calloc((size_t)head->outputs, sizeof *seed);
    int idx[64], nnz = 64;
    gc_err e;
    ck_assert_int_eq(gc_detect_seed(d->net, &w.d, t, seed, idx, &nnz, &e), 0);
    ck_assert_int_gt(nnz, 0);
    ck_assert_msg(gc_hooks_backprop(&d->c, w.d.head, seed, 0, 0, at, &e) == 0, "%s", e.msg);
    int n = d->net->layers[at].outputs;
    float *g = malloc((size_t)n * sizeof *g);
    memcpy(g, d->net->layers[at].delta, (size_t)n * sizeof *g);
    double *fd = malloc((size_t)n * sizeof *fd);
    int ties = gcf_finite_differences(d->net, at, w.d.head, target_value, &w, 1e-3f, fd);
    ck_assert_int_lt(ties * 20, n);
    double norm = 0;
    for (int i = 0; i < n; ++i)
        if (!isnan(fd[i])) norm += fd[i] * fd[i];
    ck_assert_msg(norm > 1e-14, "target %s of box %d has no gradient at layer %d", gc_detect_target_name(t), k, at);
    double err = gcf_rel_error(g, fd, n);
    ck_assert_msg(err < 2e-2, "head %d (%s) target %s box %d class %d at layer %d: relative error %g", w.d.head,
                  head->type == YOLO ? "yolo" : head->type == REGION ? "region" : "detection", gc_detect_target_name(t), k,
                  cls, at, err);
    free(seed);
    free(g);
    free(fd);
}

static void check_all_targets(const char *cfg, int at, int boxes_to_check)
{
    det_net d;
    open_net(&d, cfg, 5);
    gc_boxes b;
    gc_err e;
    ck_assert_int_eq(gc_detect_decode(d.net, d.im_w, d.im_h, 0.0f, 0.5f, &b, &e), 0);
    ck_assert_int_ge(b.n, boxes_to_check);
    for (int q = 0; q < boxes_to_check; ++q) {
        int k = (int)((long)q * b.n / boxes_to_check);
        for (int t = GC_TARGET_LOGIT; t <= GC_TARGET_OBJ; ++t) check_target(&d, &b, k, q % b.classes, (gc_target)t, at);
    }
    gc_detect_boxes_free(&b);
    close_net(&d);
}

START_TEST(yolo_targets_match_finite_differences) { check_all_targets("tests/cfg/det_yolo2.cfg", 4, 3); }
END_TEST
START_TEST(region_targets_match_finite_differences) { check_all_targets("tests/cfg/det_region.cfg", 2, 4); }
END_TEST
/* a [region] head with softmax=0: logistic classes (Darknet's region forward
 * applies the logistic to them then), a path of its own in the seed */
START_TEST(logistic_region_targets_match_finite_differences)
{
    check_all_targets("tests/cfg/det_region_logistic.cfg", 2, 4);
}
END_TEST
START_TEST(detection_targets_match_finite_differences) { check_all_targets("tests/cfg/det_v1.cfg", 1, 4); }
END_TEST

START_TEST(each_box_gradient_comes_only_from_its_own_head)
{
    det_net d;
    open_net(&d, "tests/cfg/det_yolo2.cfg", 8);
    gc_boxes b;
    gc_err e;
    ck_assert_int_eq(gc_detect_decode(d.net, d.im_w, d.im_h, 0.0f, 0.5f, &b, &e), 0);
    int from6 = -1, from13 = -1;
    for (int k = 0; k < b.n; ++k) {
        if (b.head[k] == 6 && from6 < 0) from6 = k;
        if (b.head[k] == 13 && from13 < 0) from13 = k;
    }
    ck_assert(from6 >= 0 && from13 >= 0);
    /* head 6's box, explained at layer 2: the second head's branch is not visited */
    ck_assert_int_eq(gc_hooks_path(&d.c, 2, 6, &e), 0);
    for (int i = 7; i <= 13; ++i) ck_assert_int_eq(d.c.on_path[i], 0);
    for (int i = 3; i <= 6; ++i) ck_assert_int_eq(d.c.on_path[i], 1);
    /* head 13's box: the first head's score convolution and head are not */
    ck_assert_int_eq(gc_hooks_path(&d.c, 2, 13, &e), 0);
    ck_assert_int_eq(d.c.on_path[5], 0);
    ck_assert_int_eq(d.c.on_path[6], 0);
    for (int i = 7; i <= 13; ++i) ck_assert_int_eq(d.c.on_path[i], 1);
    /* and the gradients are exact for both (layer 2 reaches head 13 twice:
     * through layer 4 and the route directly) */
    check_target(&d, &b, from6, 1, GC_TARGET_LOGIT, 2);
    check_target(&d, &b, from13, 2, GC_TARGET_SCORE, 2);
    /* the second head's own layers carry no gradient of a head-6 box */
    float *seed = calloc((size_t)d.net->layers[6].outputs, sizeof *seed);
    int idx[8], nnz = 8;
    gc_det det = {.head = 6, .anchor = b.anchor[from6], .cell = b.cell[from6], .cls = 0};
    ck_assert_int_eq(gc_detect_seed(d.net, &det, GC_TARGET_LOGIT, seed, idx, &nnz, &e), 0);
    for (int i = 0; i < d.net->layers[12].outputs; ++i) d.net->layers[12].delta[i] = 0;
    ck_assert_int_eq(gc_hooks_backprop(&d.c, 6, seed, 0, 0, 2, &e), 0);
    for (int i = 0; i < d.net->layers[12].outputs; ++i) ck_assert_float_eq(d.net->layers[12].delta[i], 0);
    free(seed);
    gc_detect_boxes_free(&b);
    close_net(&d);
}
END_TEST

/* A box's own score (head, anchor, cell, class) is the probability Darknet's
 * own get_network_boxes() reports for that box and class, for every head
 * type, and it follows the output when the input changes. */
static void check_own_scores(const char *cfg, unsigned seed)
{
    det_net d;
    open_net(&d, cfg, seed);
    for (int pass = 0; pass < 2; ++pass) {
        if (pass) { /* another input: the scores follow the network's current output */
            uint64_t st = seed + 7;
            for (int i = 0; i < d.net->inputs; ++i) d.x[i] = gcf_uniform(&st, 0, 1);
            gc_hooks_forward(&d.c, d.x);
        }
        gc_boxes b;
        gc_err e;
        ck_assert_int_eq(gc_detect_decode(d.net, d.im_w, d.im_h, 0.0f, 0.5f, &b, &e), 0);
        int n = 0, checked = 0;
        detection *ref = get_network_boxes(d.net, d.im_w, d.im_h, 0.0f, 0.5f, 0, 1, &n);
        ck_assert_int_eq(b.n, n);
        for (int k = 0; k < n; ++k)
            for (int j = 0; j < b.classes; ++j) {
                gc_det det = {.head = b.head[k], .anchor = b.anchor[k], .cell = b.cell[k], .cls = j};
                float own = gc_detect_own_score(d.net, &det);
                ck_assert(isfinite(own));
                /* Darknet zeroes a probability not above the threshold (0;
                 * a [detection] head's raw outputs can be negative) */
                if (ref[k].prob[j] > 0) {
                    ck_assert_msg(own == ref[k].prob[j], "%s box %d class %d: %g, Darknet %g", cfg, k, j, own,
                                  ref[k].prob[j]);
                    ++checked;
                } else {
                    ck_assert_msg(!(own > 0), "%s box %d class %d: %g, Darknet 0", cfg, k, j, own);
                }
            }
        ck_assert_int_gt(checked, n / 2);
        free_detections(ref, n);
        gc_detect_boxes_free(&b);
    }
    close_net(&d);
}

START_TEST(own_score_is_darknets_probability)
{
    check_own_scores("tests/cfg/det_yolo2.cfg", 3);
    check_own_scores("tests/cfg/det_region.cfg", 4);
    check_own_scores("tests/cfg/det_v1.cfg", 5);
}
END_TEST

START_TEST(nms_keeps_provenance)
{
    det_net d;
    open_net(&d, "tests/cfg/det_yolo2.cfg", 13);
    gc_boxes raw, b;
    gc_err e;
    ck_assert_int_eq(gc_detect_decode(d.net, d.im_w, d.im_h, 0.3f, 0.5f, &raw, &e), 0);
    ck_assert_int_eq(gc_detect_decode(d.net, d.im_w, d.im_h, 0.3f, 0.5f, &b, &e), 0);
    gc_det *dets = NULL;
    int n = 0;
    ck_assert_int_eq(gc_detect_boxes(&b, 0.3f, 0.45f, &dets, &n, &e), 0);
    ck_assert_int_gt(n, 0);
    for (int k = 0; k < n; ++k) {
        /* the raw box with the same provenance has the same geometry */
        int found = 0;
        for (int r = 0; r < raw.n && !found; ++r)
            found = raw.head[r] == dets[k].head && raw.anchor[r] == dets[k].anchor && raw.cell[r] == dets[k].cell &&
                    raw.dets[r].bbox.x == dets[k].bbox.x && raw.dets[r].bbox.w == dets[k].bbox.w;
        ck_assert_msg(found, "detection %d lost its provenance", k);
        ck_assert(dets[k].prob > 0.3f);
    }
    free(dets);
    gc_detect_boxes_free(&b);
    gc_detect_boxes_free(&raw);
    close_net(&d);
}
END_TEST

/* gc_detect_nms against Darknet's own do_nms_sort on random boxes: the same
 * probabilities zeroed and the same final order, position by position. The
 * values come from a few levels so that ties in one class (decided by the
 * lower classes, then by position) are common; some boxes have objectness 0,
 * some probabilities are negative (a [detection] head's raw scale). */
static void random_dets(detection *d, int n, int classes, uint64_t *st, int ties)
{
    const float levels[] = {0.3f, 0.5f, 0.7f, 0.9f, -0.4f};
    for (int i = 0; i < n; ++i) {
        /* a third in each of two clusters (many overlaps, and none between
         * them); a third on a grid of boxes whose edges touch or nearly do,
         * and anywhere in the image */
        double u = gc_rng_unit(st);
        if (u < 2.0 / 3)
            d[i].bbox = (box){0.2f + 0.6f * (float)(u < 1.0 / 3) + 0.05f * (float)gc_rng_unit(st),
                              0.5f + 0.05f * (float)gc_rng_unit(st), 0.1f + 0.2f * (float)gc_rng_unit(st),
                              0.1f + 0.2f * (float)gc_rng_unit(st)};
        else
            d[i].bbox = (box){0.05f + 0.1f * (float)(int)(gc_rng_unit(st) * 10), 0.5f + 0.3f * (float)gc_rng_unit(st),
                              0.1f + 0.002f * (float)(gc_rng_unit(st) - 0.5), 0.1f + 0.3f * (float)gc_rng_unit(st)};
        d[i].objectness = gc_rng_unit(st) < 0.1 ? 0 : 0.5f;
        d[i].classes = classes;
        d[i].prob = calloc((size_t)classes, sizeof(float));
        for (int j = 0; j < classes; ++j) {
            double keep = gc_rng_unit(st);
            if (d[i].objectness == 0 || keep < 0.7) continue;
            d[i].prob[j] = ties ? levels[(int)(gc_rng_unit(st) * 5) % 5] : (float)gc_rng_unit(st) - 0.1f;
        }
    }
}

/* gc_detect_boxes_top keeps what ranking every pair would: the max most
 * probable (prob descending, ties to the earlier pair), in their order.
 * Probabilities put on three levels make most pairs tie. */
typedef struct ranked_pair {
    float prob;
    int i;
} ranked_pair;

static int by_rank(const void *a, const void *b)
{
    const ranked_pair *x = a, *y = b;
    if (x->prob != y->prob) return x->prob < y->prob ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

static void quantize(gc_boxes *b)
{
    for (int i = 0; i < b->n; ++i)
        for (int j = 0; j < b->classes; ++j)
            if (b->dets[i].prob[j] > 0) b->dets[i].prob[j] = 0.4f + 0.1f * (float)((i * 7 + j) % 3);
}

START_TEST(top_pairs_are_the_ranking_cut)
{
    det_net d;
    open_net(&d, "tests/cfg/det_yolo2.cfg", 17);
    for (int ties = 0; ties < 2; ++ties)
        for (int nms = 0; nms < 2; ++nms) {
            gc_boxes all;
            gc_err e;
            gc_det *ref = NULL;
            int n = 0;
            ck_assert_int_eq(gc_detect_decode(d.net, d.im_w, d.im_h, 0.05f, 0.5f, &all, &e), 0);
            if (ties) quantize(&all);
            ck_assert_int_eq(gc_detect_boxes(&all, 0.05f, nms ? 0.45f : 0, &ref, &n, &e), 0);
            ck_assert_int_gt(n, 10);
            ranked_pair *r = malloc((size_t)n * sizeof *r);
            for (int i = 0; i < n; ++i) r[i] = (ranked_pair){ref[i].prob, i};
            qsort(r, (size_t)n, sizeof *r, by_rank);
            const int maxes[] = {1, 2, 3, 7, n / 2, n - 1, n, n + 5};
            for (int m = 0; m < 8; ++m) {
                int max = maxes[m], want = max < n ? max : n, got = 0;
                char *keep = calloc((size_t)n, 1);
                for (int i = 0; i < want; ++i) keep[r[i].i] = 1;
                gc_boxes b;
                gc_det *top = NULL;
                size_t above = 0;
                ck_assert_int_eq(gc_detect_decode(d.net, d.im_w, d.im_h, 0.05f, 0.5f, &b, &e), 0);
                if (ties) quantize(&b);
                ck_assert_int_eq(gc_detect_boxes_top(&b, 0.05f, nms ? 0.45f : 0, max, &top, &got, &above, &e), 0);
                ck_assert_int_eq(got, want);
                ck_assert_uint_eq(above, (size_t)n);
                for (int i = 0, k = 0; i < n; ++i) {
                    if (!keep[i]) continue;
                    ck_assert_msg(!memcmp(&top[k], &ref[i], sizeof *top), "ties %d nms %d max %d: pair %d", ties, nms,
                                  max, k);
                    ++k;
                }
                free(keep);
                free(top);
                gc_detect_boxes_free(&b);
            }
            free(r);
            free(ref);
            gc_detect_boxes_free(&all);
        }
    close_net(&d);
}
END_TEST

START_TEST(nms_is_darknets_do_nms_sort)
{
    uint64_t st = 2024;
    const int sizes[] = {0, 1, 2, 7, 60, 300};
    const int ncls[] = {1, 3, 80};
    const float threshes[] = {0.45f, 0.0f, 0.9f, -0.1f};
    int compared = 0, zeroed = 0;
    for (int si = 0; si < 6; ++si)
        for (int ci = 0; ci < 3; ++ci)
            for (int ti = 0; ti < 4; ++ti)
                for (int ties = 0; ties < 2; ++ties) {
                    int n = sizes[si], classes = ncls[ci];
                    detection *a = calloc((size_t)(n ? n : 1), sizeof *a), *b = calloc((size_t)(n ? n : 1), sizeof *b);
                    random_dets(a, n, classes, &st, ties);
                    int before = 0;
                    for (int i = 0; i < n; ++i) {
                        b[i] = a[i];
                        b[i].prob = malloc((size_t)classes * sizeof(float));
                        memcpy(b[i].prob, a[i].prob, (size_t)classes * sizeof(float));
                        for (int j = 0; j < classes; ++j) before += a[i].prob[j] != 0;
                    }
                    do_nms_sort(a, n, classes, threshes[ti]);
                    ck_assert_int_eq(gc_detect_nms(b, n, classes, threshes[ti]), 0);
                    int after = 0;
                    for (int i = 0; i < n; ++i) {
                        ck_assert_msg(!memcmp(&a[i].bbox, &b[i].bbox, sizeof(box)) &&
                                          a[i].objectness == b[i].objectness,
                                      "n %d classes %d thresh %g ties %d: box %d differs", n, classes,
                                      threshes[ti], ties, i);
                        ck_assert_msg(!memcmp(a[i].prob, b[i].prob, (size_t)classes * sizeof(float)),
                                      "n %d classes %d thresh %g ties %d: box %d's probabilities differ", n,
                                      classes, threshes[ti], ties, i);
                        for (int j = 0; j < classes; ++j) after += a[i].prob[j] != 0;
                        free(a[i].prob), free(b[i].prob);
                    }
                    compared += n;
                    zeroed += before - after;
                    free(a), free(b);
                }
    /* the cases exercise suppression, not just copying */
    ck_assert_int_gt(compared, 2000);
    ck_assert_int_gt(zeroed, 1000);
}
END_TEST

/* One detection as Darknet's validate_detector writes it (voc format:
 * "id prob xmin ymin xmax ymax", corners in pixels plus one, clamped to
 * [1, w] x [1, h]) or as our -json report gives it. */
typedef struct ref_det {
    char name[64];
    float prob, x0, y0, x1, y1;
    int seen;
} ref_det;

/* Parses our -json report: the image size and every detection's class name,
 * probability and box centre/size, turned into validate_detector's corners. */
static int json_dets(const char *js, ref_det *out, int cap)
{
    int W = 0, H = 0, n = 0;
    const char *p = strstr(js, "\"width\": ");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(sscanf(p, "\"width\": %d,\n  \"height\": %d", &W, &H), 2);
    while ((p = strstr(p, "\"name\": \"")) && n < cap) {
        ref_det *d = &out[n];
        float x, y, w, h;
        ck_assert_int_eq(sscanf(p, "\"name\": \"%63[^\"]\", \"probability\": %f", d->name, &d->prob), 2);
        p = strstr(p, "\"x\": ");
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(sscanf(p, "\"x\": %f, \"y\": %f, \"w\": %f, \"h\": %f", &x, &y, &w, &h), 4);
        d->x0 = fmaxf(x - w / 2 + 1, 1);
        d->y0 = fmaxf(y - h / 2 + 1, 1);
        d->x1 = fminf(x + w / 2 + 1, (float)W);
        d->y1 = fminf(y + h / 2 + 1, (float)H);
        d->seen = 0;
        ++n;
    }
    return n;
}

START_TEST(cli_reports_what_darknet_detect_reports)
{
    const char *cfg = gcf_shared_model("yolo-fastest/yolo-fastest-1.1.cfg");
    if (!cfg) {
        fprintf(stdout, "skipped: ../shared/models/yolo-fastest is absent\n");
        return;
    }
    char cfgp[4096], w[4096], data[4096], img[4096], prefix[4096], json[4096];
    snprintf(cfgp, sizeof cfgp, "%s", cfg);
    snprintf(w, sizeof w, "%s", gcf_shared_model("yolo-fastest/yolo-fastest-1.1.weights"));
    snprintf(data, sizeof data, "%s", gcf_shared_model("yolo-fastest/coco.data"));
    snprintf(img, sizeof img, "%s", gcf_darknet_path("data/dog.jpg"));
    char *dir = gcf_tempdir();
    snprintf(prefix, sizeof prefix, "%s/yf", dir);
    snprintf(json, sizeof json, "%s/yf.json", dir);

    /* Stock Darknet's reference: `detector valid`, not `detector test`, whose
     * load_alphabet() reads glyphs from the absolute path of Debian's binary
     * package. valid reads the image list named by valid= in a .data file,
     * letterboxes each image, keeps boxes at thresh .005, runs do_nms_sort at
     * .45 and appends every nonzero class probability to
     * <results>/comp4_det_test_<class name>.txt. Its loader starts 4 threads
     * on paths[0..3] whatever the list's length, so the list names the image
     * 4 times (fewer would read past the path array); every line then
     * appears 4 times. */
    gc_err e;
    char *names_path = gc_model_data_value(data, "names", &e);
    ck_assert_msg(names_path != NULL, "names= of %s", data);
    int nnames = 0;
    char **names = gc_model_names_load(names_path, &nnames, &e);
    ck_assert_msg(names != NULL, "%s", e.msg);
    ck_assert_int_eq(nnames, 80);
    char list[4200], vdata[4200];
    snprintf(list, sizeof list, "%s/valid.list", dir);
    snprintf(vdata, sizeof vdata, "%s/valid.data", dir);
    FILE *f = fopen(list, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 4; ++i) fprintf(f, "%s\n", img);
    fclose(f);
    f = fopen(vdata, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "classes=80\nvalid=%s\nnames=%s\nresults=%s\neval=voc\n", list, names_path, dir);
    fclose(f);
    free(names_path);

    static char out1[1 << 16], err1[1 << 16], out2[1 << 16], err2[1 << 16];
    char *a1[] = {"./darknet", "detector", "valid", vdata, cfgp, w, NULL};
    char *a2[] = {"./darknet", "gradcam", cfgp, w, img, "-data", data, "-thresh", "0.25", "-out", prefix, "-json", json, NULL};
    ck_assert_msg(gcf_run(a1, out1, sizeof out1, err1, sizeof err1) == 0, "detector valid:\n...%s", gcf_tail(err1, 3000));
    ck_assert_msg(gcf_run(a2, out2, sizeof out2, err2, sizeof err2) == 0, "gradcam:\n...%s", gcf_tail(err2, 3000));

    /* Why valid's output, cut at our threshold, is what `detector test
     * -thresh .25` (and so gradcam) reports: a class probability is
     * objectness * class score <= objectness, so every box with a
     * probability > .25 passes both the .005 and the .25 objectness cut, with
     * the same probabilities (only those below the threshold are zeroed).
     * do_nms_sort works per class over boxes sorted by that class's
     * probability, and a box is zeroed only by an earlier, unsuppressed box
     * of at least its probability. So for a box above .25 every box that can
     * suppress it, and every box that can suppress those, is above .25 too,
     * and present and ordered the same in both runs: the greedy pass over
     * that prefix is identical, and sub-threshold boxes, sorted after it,
     * suppress nothing in it (ties in probability aside). Both sides keep prob > thresh (strictly), as
     * draw_detections and gc_detect_boxes do. */
    static ref_det ref[256];
    int nref = 0;
    for (int c = 0; c < nnames; ++c) {
        char path[4400];
        snprintf(path, sizeof path, "%s/comp4_det_test_%s.txt", dir, names[c]);
        FILE *r = fopen(path, "r");
        ck_assert_msg(r != NULL, "detector valid wrote no %s", path);
        char id[256];
        ref_det d;
        while (fscanf(r, "%255s %f %f %f %f %f", id, &d.prob, &d.x0, &d.y0, &d.x1, &d.y1) == 6) {
            ck_assert_str_eq(id, "dog");
            if (!(d.prob > 0.25f)) continue;
            snprintf(d.name, sizeof d.name, "%s", names[c]);
            int dup = 0;
            for (int k = 0; k < nref && !dup; ++k)
                if (!strcmp(ref[k].name, d.name) && ref[k].prob == d.prob && ref[k].x0 == d.x0 && ref[k].y0 == d.y0 &&
                    ref[k].x1 == d.x1 && ref[k].y1 == d.y1)
                    dup = ++ref[k].seen;
            if (!dup) {
                ck_assert_int_lt(nref, 256);
                d.seen = 1;
                ref[nref++] = d;
            }
        }
        fclose(r);
    }
    for (int k = 0; k < nref; ++k) ck_assert_msg(ref[k].seen == 4, "%s %g seen %d times", ref[k].name, ref[k].prob, ref[k].seen);
    gc_model_names_free(names, nnames);

    static char js[1 << 16];
    f = fopen(json, "r");
    ck_assert_ptr_nonnull(f);
    js[fread(js, 1, sizeof js - 1, f)] = '\0';
    fclose(f);
    static ref_det ours[256];
    int nours = json_dets(js, ours, 256);
    int nlines = 0;
    for (const char *p = out2; (p = strstr(p, "box ")); p += 4) nlines += p == out2 || p[-1] == '\n';

    ck_assert_int_gt(nref, 0);
    ck_assert_msg(nref == nours && nours == nlines, "detector valid: %d detections above .25, gradcam: %d in the json, %d printed\n%s",
                  nref, nours, nlines, out2);
    for (int k = 0; k < nours; ++k) {
        const ref_det *o = &ours[k];
        int hit = -1;
        for (int j = 0; j < nref && hit < 0; ++j) {
            const ref_det *r = &ref[j];
            if (r->seen > 0 && !strcmp(r->name, o->name) && fabsf(r->prob - o->prob) <= 1e-4f &&
                fabsf(r->x0 - o->x0) <= 1 && fabsf(r->y0 - o->y0) <= 1 && fabsf(r->x1 - o->x1) <= 1 &&
                fabsf(r->y1 - o->y1) <= 1)
                hit = j;
        }
        ck_assert_msg(hit >= 0, "gradcam's %s %.6f [%.1f %.1f %.1f %.1f] is not among detector valid's detections", o->name,
                      o->prob, o->x0, o->y0, o->x1, o->y1);
        ref[hit].seen = 0; /* each reference detection matches once */
        /* and the printed line says the same, rounded as printed */
        char line[128];
        snprintf(line, sizeof line, "box %d %.63s: %.0f%% ", k, o->name, o->prob * 100);
        ck_assert_msg(strstr(out2, line) != NULL, "no \"%s\" in\n%s", line, out2);
    }
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

/* ./darknet gradcam on a small random detector: one overlay and one map per
 * box, a summary, a JSON report consistent with them; no file at all when
 * there is no detection or an argument is bad. */
typedef struct cli_run {
    char dir[2048];
    char w[4096], prefix[4096], json[4096];
    char out[1 << 16], err[1 << 16];
} cli_run;

static cli_run *cli_open(void)
{
    cli_run *r = calloc(1, sizeof *r);
    char *d = gcf_tempdir();
    snprintf(r->dir, sizeof r->dir, "%s", d);
    free(d);
    snprintf(r->w, sizeof r->w, "%s/det.weights", r->dir);
    ck_assert_int_eq(gcf_write_random_weights("tests/cfg/det_yolo2.cfg", r->w, 5), 0);
    snprintf(r->prefix, sizeof r->prefix, "%s/out/d", r->dir);
    snprintf(r->json, sizeof r->json, "%s/out/d.json", r->dir);
    char o[4200];
    snprintf(o, sizeof o, "%s/out", r->dir);
    ck_assert_int_eq(mkdir(o, 0755), 0);
    return r;
}

static int cli_files(cli_run *r)
{
    char o[4200];
    snprintf(o, sizeof o, "%s/out", r->dir);
    return gcf_count_files(o);
}

static void cli_close(cli_run *r)
{
    gcf_rmtree(r->dir);
    free(r);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) ++n;
    return n;
}

START_TEST(detector_cli_writes_consistent_outputs)
{
    cli_run *r = cli_open();
    char *argv[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)gcf_darknet_path("data/dog.jpg"),
                    "-thresh", "0.05", "-out", r->prefix, "-json", r->json, "-target", "score", NULL};
    int rc = gcf_run(argv, r->out, sizeof r->out, r->err, sizeof r->err);
    ck_assert_msg(rc == 0, "%s", gcf_tail(r->err, 3000));
    int boxes = count_of(r->out, "\nbox ") + (strncmp(r->out, "box ", 4) == 0);
    ck_assert_int_gt(boxes, 0);
    /* per box a .png and a .npy, plus the summary and the JSON */
    ck_assert_int_eq(cli_files(r), 2 * boxes + 2);
    FILE *f = fopen(r->json, "r");
    ck_assert_ptr_nonnull(f);
    static char js[1 << 20];
    size_t n = fread(js, 1, sizeof js - 1, f);
    js[n] = 0;
    fclose(f);
    ck_assert_int_eq(count_of(js, "\"index\":"), boxes);
    const char *keys[] = {"\"class\":", "\"name\":", "\"probability\":", "\"box\":", "\"head\":", "\"anchor\":",
                          "\"cell\":", "\"layers\":", "\"peak\":", "\"energy_in_box\":", "\"overlay\":", "\"map\":"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; ++k) ck_assert_int_eq(count_of(js, keys[k]), boxes);
    ck_assert_ptr_nonnull(strstr(js, "\"target\": \"score\""));
    /* each box's map has the size the report gives, and the share is a share */
    const char *p = js;
    for (int k = 0; k < boxes; ++k) {
        p = strstr(p, "\"map_size\": [");
        ck_assert_ptr_nonnull(p);
        int mh = 0, mw = 0, px = -1, py = -1;
        ck_assert_int_eq(sscanf(p, "\"map_size\": [%d, %d], \"peak\": {\"x\": %d, \"y\": %d", &mh, &mw, &px, &py), 4);
        ck_assert(px >= 0 && px < 768 && py >= 0 && py < 576);
        const char *q = strstr(p, "\"energy_in_box\": ");
        double share = -1;
        ck_assert_int_eq(sscanf(q, "\"energy_in_box\": %lf", &share), 1);
        ck_assert(share >= 0 && share <= 1);
        char npy[8192];
        snprintf(npy, sizeof npy, "%s_%d.npy", r->prefix, k);
        size_t rows = 0, cols = 0;
        gc_err e;
        float *m = gc_image_read_npy(npy, &rows, &cols, &e);
        ck_assert_msg(m != NULL, "%s", e.msg);
        ck_assert_uint_eq(rows, (size_t)mh);
        ck_assert_uint_eq(cols, (size_t)mw);
        free(m);
        p = q;
    }
    /* one anchor numbering: each box's printed anchor and peak are the JSON's */
    const char *line = r->out, *ja = js, *jp = js;
    for (int k = 0; k < boxes; ++k) {
        char head[32];
        snprintf(head, sizeof head, "box %d ", k);
        line = strstr(line, head);
        ck_assert_ptr_nonnull(line);
        int a_out = -1, a_js = -2, px = -1, py = -1, jx = -2, jy = -2;
        ck_assert_int_eq(sscanf(strstr(line, " anchor "), " anchor %d", &a_out), 1);
        ck_assert_int_eq(sscanf(strstr(line, " peak ("), " peak (%d,%d)", &px, &py), 2);
        ja = strstr(ja, "\"anchor\": ");
        ck_assert_int_eq(sscanf(ja, "\"anchor\": %d", &a_js), 1);
        jp = strstr(jp, "\"peak\": ");
        ck_assert_int_eq(sscanf(jp, "\"peak\": {\"x\": %d, \"y\": %d", &jx, &jy), 2);
        ck_assert_msg(a_out == a_js, "box %d: anchor %d printed, %d in the JSON", k, a_out, a_js);
        ck_assert(px == jx && py == jy);
        ++line, ++ja, ++jp;
    }
    cli_close(r);
}
END_TEST

START_TEST(detector_cli_fuses_layers)
{
    cli_run *r = cli_open();
    char *argv[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)gcf_darknet_path("data/dog.jpg"),
                    "-thresh", "0.05", "-out", r->prefix, "-layer", "-2,2", NULL};
    ck_assert_msg(gcf_run(argv, r->out, sizeof r->out, r->err, sizeof r->err) == 0, "%s", gcf_tail(r->err, 3000));
    char npy[8192];
    snprintf(npy, sizeof npy, "%s_0.npy", r->prefix);
    size_t rows = 0, cols = 0;
    gc_err e;
    float *m = gc_image_read_npy(npy, &rows, &cols, &e);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(rows, 32); /* fused maps live at the network's input size */
    ck_assert_uint_eq(cols, 32);
    for (size_t i = 0; i < rows * cols; ++i) ck_assert(m[i] >= 0 && m[i] <= 1.0f + 1e-6f);
    free(m);
    ck_assert_ptr_nonnull(strstr(r->out, "layer "));
    cli_close(r);
}
END_TEST

/* No box: no picture, and no folder made for them, but the report, with
 * an empty "detections" (a script reads it for every image) and a null
 * "summary" (the key had been left out). */
START_TEST(detector_cli_without_detections_writes_only_the_report)
{
    cli_run *r = cli_open();
    char prefix[4300];
    snprintf(prefix, sizeof prefix, "%s/out/new/d", r->dir);
    char *argv[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)gcf_darknet_path("data/dog.jpg"),
                    "-thresh", "1", "-out", prefix, "-json", r->json, NULL};
    ck_assert_int_eq(gcf_run(argv, r->out, sizeof r->out, r->err, sizeof r->err), 0);
    ck_assert_ptr_nonnull(strstr(r->out, "no detections"));
    ck_assert_int_eq(cli_files(r), 1);
    char *js = gcf_read_file(r->json, NULL);
    ck_assert_ptr_nonnull(js);
    ck_assert_msg(strstr(js, "\"mode\": \"detector\"") && strstr(js, "\"detections\": [\n  ]") &&
                      strstr(js, "\"summary\": null,"),
                  "%s", js);
    free(js);
    char folder[4300];
    snprintf(folder, sizeof folder, "%s/out/new", r->dir);
    ck_assert_int_ne(access(folder, F_OK), 0);
    cli_close(r);
}
END_TEST

/* -method cam on a detector: refused before any image by the main command,
 * -list and eval alike, an image without a box included (it exited 0). */
START_TEST(detector_cam_is_refused_before_any_image)
{
    cli_run *r = cli_open();
    const char *img = gcf_darknet_path("data/dog.jpg");
    char list[4300], outdir[4300];
    snprintf(list, sizeof list, "%s/list.txt", r->dir);
    FILE *f = fopen(list, "w");
    fprintf(f, "%s\n", img);
    fclose(f);
    snprintf(outdir, sizeof outdir, "%s/out/list", r->dir);
    char *one[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)img, "-thresh", "1",
                   "-out", r->prefix, "-json", r->json, "-method", "cam", NULL};
    char *many[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, "-list", list, "-outdir", outdir,
                    "-method", "cam", NULL};
    char *eval[] = {"./darknet", "gradcam", "eval", "tests/cfg/det_yolo2.cfg", r->w, list, "-method", "cam", NULL};
    char *const *runs[] = {one, many, eval};
    for (int k = 0; k < 3; ++k) {
        int rc = gcf_run(runs[k], r->out, sizeof r->out, r->err, sizeof r->err);
        ck_assert_msg(rc == 1 && strstr(r->err, "gradcam: -method cam explains classifier classes"), "run %d: rc %d\n%s",
                      k, rc, r->err);
        ck_assert_int_eq(cli_files(r), 0);
    }
    cli_close(r);
}
END_TEST

/* -save none: boxes, but no file to write, so no folder made for -out
 * either; -sheet writes there, so it makes it. */
START_TEST(detector_cli_save_none_makes_no_folder)
{
    cli_run *r = cli_open();
    char prefix[4400], folder[4300];
    snprintf(folder, sizeof folder, "%s/out/new", r->dir);
    snprintf(prefix, sizeof prefix, "%s/d", folder);
    char *argv[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)gcf_darknet_path("data/dog.jpg"),
                    "-thresh", "0.05", "-out", prefix, "-save", "none", NULL, NULL};
    ck_assert_msg(gcf_run(argv, r->out, sizeof r->out, r->err, sizeof r->err) == 0, "%s", gcf_tail(r->err, 3000));
    ck_assert_msg(strstr(r->out, "box 0 "), "%s", r->out);
    ck_assert_int_ne(access(folder, F_OK), 0);
    argv[11] = "-sheet";
    ck_assert_msg(gcf_run(argv, r->out, sizeof r->out, r->err, sizeof r->err) == 0, "%s", gcf_tail(r->err, 3000));
    ck_assert_int_eq(access(folder, F_OK), 0);
    /* -save npy: the report's overlay and summary are null (the summary's
     * key had been left out) */
    char *argv2[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)gcf_darknet_path("data/dog.jpg"),
                     "-thresh", "0.05", "-out", prefix, "-save", "npy", "-json", r->json, NULL};
    ck_assert_msg(gcf_run(argv2, r->out, sizeof r->out, r->err, sizeof r->err) == 0, "%s", gcf_tail(r->err, 3000));
    char *js = gcf_read_file(r->json, NULL);
    ck_assert_ptr_nonnull(js);
    ck_assert_msg(strstr(js, "\"summary\": null,") && strstr(js, "\"overlay\": null"), "%s", js);
    free(js);
    cli_close(r);
}
END_TEST

/* A -layer given as an index is used for every head's boxes: one that
 * feeds only one of det_yolo2's heads (5: head 6's, 11: head 13's) is
 * refused before any image, by the main command, -list and eval alike,
 * naming the head; one below both (4) and a relative one (-2) go through. */
START_TEST(detector_layer_must_feed_every_head)
{
    cli_run *r = cli_open();
    const char *img = gcf_darknet_path("data/dog.jpg");
    char list[4300];
    snprintf(list, sizeof list, "%s/list.txt", r->dir);
    FILE *f = fopen(list, "w");
    fprintf(f, "%s\n", img);
    fclose(f);
    char outdir[4300];
    snprintf(outdir, sizeof outdir, "%s/out/list", r->dir);
    const char *layer[] = {"5", "11", "4", "-2"};
    const char *head[] = {"13", "6", NULL, NULL};
    for (int i = 0; i < 4; ++i) {
        char *one[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)img, "-thresh", "0.05",
                       "-maxboxes", "4", "-out", r->prefix, "-layer", (char *)layer[i], NULL};
        char *many[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, "-list", list, "-outdir", outdir,
                        "-thresh", "0.05", "-maxboxes", "4", "-layer", (char *)layer[i], NULL};
        char *eval[] = {"./darknet", "gradcam", "eval", "tests/cfg/det_yolo2.cfg", r->w, list, "-thresh", "0.05",
                        "-steps", "1", "-nosanity", "-layer", (char *)layer[i], NULL};
        char *const *runs[] = {one, many, eval};
        for (int k = 0; k < 3; ++k) {
            int rc = gcf_run(runs[k], r->out, sizeof r->out, r->err, sizeof r->err);
            if (head[i]) {
                char want[160];
                snprintf(want, sizeof want, "gradcam: -layer %s does not feed the yolo head at layer %s,", layer[i],
                         head[i]);
                ck_assert_msg(rc == 1 && strstr(r->err, want), "run %d, -layer %s: rc %d\n%s", k, layer[i], rc, r->err);
                ck_assert_int_eq(cli_files(r), 0);
            } else if (k < 2) { /* eval needs labels: its later error is not this one */
                ck_assert_msg(rc == 0, "run %d, -layer %s: rc %d\n%s", k, layer[i], rc, r->err);
            } else {
                ck_assert_msg(!strstr(r->err, "does not feed"), "%s", r->err);
            }
            gcf_rmtree(outdir);
        }
    }
    cli_close(r);
}
END_TEST

/* -out ending in a slash names a folder: the outputs go in it, with the
 * default name. */
START_TEST(detector_out_folder_gets_the_default_name)
{
    cli_run *r = cli_open();
    char folder[4300], want[4400];
    snprintf(folder, sizeof folder, "%s/out/pics/", r->dir);
    char *argv[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)gcf_darknet_path("data/dog.jpg"),
                    "-thresh", "0.05", "-maxboxes", "2", "-out", folder, NULL};
    ck_assert_msg(gcf_run(argv, r->out, sizeof r->out, r->err, sizeof r->err) == 0, "%s", r->err);
    snprintf(want, sizeof want, "%sgradcam_0.png", folder);
    ck_assert_msg(access(want, F_OK) == 0 && strstr(r->out, want), "%s", r->out);
    snprintf(want, sizeof want, "%sgradcam_summary.png", folder);
    ck_assert_int_eq(access(want, F_OK), 0);
    snprintf(want, sizeof want, "%s_0.png", folder);
    ck_assert_int_ne(access(want, F_OK), 0);
    cli_close(r);
}
END_TEST

START_TEST(detector_cli_bad_arguments)
{
    cli_run *r = cli_open();
    const char *img = gcf_darknet_path("data/dog.jpg");
    const char *bad[][2] = {{"-layer", "13"}, {"-layer", "-20"}, {"-top", "2"}, {"-target", "box"}, {"-thresh", "2"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        char *argv[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, (char *)img, "-thresh", "0.05",
                        "-out", r->prefix, (char *)bad[i][0], (char *)bad[i][1], NULL};
        int rc = gcf_run(argv, r->out, sizeof r->out, r->err, sizeof r->err);
        ck_assert_msg(rc != 0, "%s %s accepted", bad[i][0], bad[i][1]);
        ck_assert_msg(strstr(r->err, bad[i][0]) != NULL, "%s", r->err);
        ck_assert_int_eq(cli_files(r), 0);
    }
    /* a missing image with -out and -json in folders not made yet: neither is made */
    char pfx[4200], js[4200], made[4200];
    snprintf(pfx, sizeof pfx, "%s/new/d", r->dir);
    snprintf(js, sizeof js, "%s/newjs/d.json", r->dir);
    char *argv[] = {"./darknet", "gradcam", "tests/cfg/det_yolo2.cfg", r->w, "nowhere/none.jpg", "-out", pfx,
                    "-json", js, NULL};
    ck_assert_int_ne(gcf_run(argv, r->out, sizeof r->out, r->err, sizeof r->err), 0);
    ck_assert_msg(strstr(r->err, "nowhere/none.jpg") != NULL, "%s", r->err);
    struct stat st;
    snprintf(made, sizeof made, "%s/new", r->dir);
    ck_assert_msg(stat(made, &st) != 0, "%s was created for a missing image", made);
    snprintf(made, sizeof made, "%s/newjs", r->dir);
    ck_assert_msg(stat(made, &st) != 0, "%s was created for a missing image", made);
    cli_close(r);
}
END_TEST


/* A NaN objectness passes neither obj > thresh nor obj <= thresh, which once
 * wrote boxes past the allocation. Every head type refuses non-finite
 * outputs with a message, at any threshold: one value of each head's output
 * (an objectness, a class probability or a coordinate, in turn) is poisoned
 * after the forward pass. (Non-finite weights are refused earlier, at load:
 * see the model suite.) */
static void poison_and_decode(const char *cfg, float bad)
{
    det_net d;
    open_net(&d, cfg, 5);
    for (int at = 0; at < 3; ++at) {
        gc_hooks_forward(&d.c, d.x);
        int heads = 0;
        for (int i = 0; i < d.net->n; ++i) {
            layer *l = &d.net->layers[i];
            if (l->type != YOLO && l->type != REGION && l->type != DETECTION) continue;
            l->output[(size_t)(at * 7919) % (size_t)l->outputs] = bad;
            ++heads;
        }
        ck_assert_int_gt(heads, 0);
        float threshes[] = {0.0f, 0.5f, 0.999f};
        for (int t = 0; t < 3; ++t) {
            gc_boxes b;
            gc_err e = {0};
            ck_assert_int_eq(gc_detect_decode(d.net, d.im_w, d.im_h, threshes[t], 0.5f, &b, &e), -1);
            ck_assert_msg(strstr(e.msg, "not finite") && strstr(e.msg, "head"), "%s", e.msg);
        }
    }
    close_net(&d);
}

START_TEST(nan_activations_are_refused)
{
    poison_and_decode("tests/cfg/det_yolo2.cfg", NAN);
    poison_and_decode("tests/cfg/det_region.cfg", NAN);
    poison_and_decode("tests/cfg/det_v1.cfg", NAN);
    poison_and_decode("tests/cfg/det_yolo2.cfg", INFINITY);
}
END_TEST

START_TEST(yolo_mask_outside_anchors_is_refused)
{
    det_net d;
    open_net(&d, "tests/cfg/det_yolo2.cfg", 5);
    int head = -1;
    for (int i = 0; i < d.net->n; ++i)
        if (d.net->layers[i].type == YOLO) head = i;
    ck_assert_int_ge(head, 0);
    layer *l = &d.net->layers[head];
    int keep = l->mask[0];
    gc_err e = {0};
    l->mask[0] = -1;
    ck_assert_int_eq(gc_detect_check(d.net, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "mask index -1"));
    l->mask[0] = l->total;
    ck_assert_int_eq(gc_detect_check(d.net, &e), -1);
    l->mask[0] = keep;
    ck_assert_int_eq(gc_detect_check(d.net, &e), 0);
    close_net(&d);
}
END_TEST

/* coords=1 (Darknet's default): the decode read 3 floats per box past the
 * head's output */
START_TEST(detection_coords_other_than_4_are_refused)
{
    det_net d;
    open_net(&d, "tests/cfg/det_v1.cfg", 5);
    layer *l = &d.net->layers[d.net->n - 1];
    ck_assert_int_eq(l->type, DETECTION);
    ck_assert_int_eq(l->coords, 4);
    gc_err e = {0};
    ck_assert_int_eq(gc_detect_check(d.net, &e), 0);
    l->coords = 1;
    ck_assert_int_eq(gc_detect_check(d.net, &e), -1);
    ck_assert_msg(strstr(e.msg, "[detection] with coords=1"), "%s", e.msg);
    l->coords = 4;
    close_net(&d);
}
END_TEST

START_TEST(box_pixels_stay_inside_the_image)
{
    float vals[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.5f};
    for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
            gc_det d;
            memset(&d, 0, sizeof d);
            d.bbox = (box){vals[i], vals[j], vals[(i + j) % 6], vals[(i + 2 * j) % 6]};
            int l, t, r, b;
            gc_detect_pixels(&d, 64, 48, &l, &t, &r, &b);
            ck_assert(l >= 0 && l <= 63 && r >= 0 && r <= 63 && t >= 0 && t <= 47 && b >= 0 && b <= 47);
        }
    gc_det d;
    memset(&d, 0, sizeof d);
    d.bbox = (box){0.5f, 0.5f, 0.5f, 0.5f};
    int l, t, r, b;
    gc_detect_pixels(&d, 64, 48, &l, &t, &r, &b);
    ck_assert_int_eq(l, 16);
    ck_assert_int_eq(r, 48);
    ck_assert_int_eq(t, 12);
    ck_assert_int_eq(b, 36);
}
END_TEST

/* A box the head decodes as infinitely wide (a finite width logit of 100:
 * exp(100) times the anchor overflows a float): its pixels are clamped to
 * the image, and -json gives its raw width as null, not "inf", which no
 * JSON reader parses (the report had been written so, exit status 0). A
 * 1x1 convolution whose weights are 0 and biases (tx, ty, tw, th, obj,
 * cls) = (0, 0, 100, 0, 10, 10) under a one-anchor [yolo] head. */
START_TEST(a_box_of_infinite_width_is_null_in_the_json)
{
    char *dir = gcf_tempdir();
    char cfg[4096], w[4096], json[4096], prefix[4096];
    snprintf(cfg, sizeof cfg, "%s/inf.cfg", dir);
    snprintf(w, sizeof w, "%s/inf.weights", dir);
    snprintf(json, sizeof json, "%s/r.json", dir);
    snprintf(prefix, sizeof prefix, "%s/o", dir);
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fputs("[net]\nbatch=1\nsubdivisions=1\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nfilters=6\nsize=1\n"
          "stride=1\npad=0\nactivation=linear\n\n[yolo]\nmask=0\nanchors=10,10\nclasses=1\nnum=1\n",
          f);
    ck_assert_int_eq(fclose(f), 0);
    f = fopen(w, "wb");
    ck_assert_ptr_nonnull(f);
    const int32_t version[3] = {0, 2, 0};
    const uint64_t seen = 0;
    const float biases[6] = {0, 0, 100, 0, 10, 10}, weights[18] = {0};
    ck_assert_int_eq(fwrite(version, sizeof version, 1, f), 1);
    ck_assert_int_eq(fwrite(&seen, sizeof seen, 1, f), 1);
    ck_assert_int_eq(fwrite(biases, sizeof biases, 1, f), 1);
    ck_assert_int_eq(fwrite(weights, sizeof weights, 1, f), 1);
    ck_assert_int_eq(fclose(f), 0);
    char out[1 << 14], err[1 << 14];
    int rc = gcf_run_gradcam(out, sizeof out, err, sizeof err, cfg, w, gcf_darknet_path("data/dog.jpg"), "-out",
                             prefix, "-save", "none", "-maxboxes", "2", "-json", json, NULL);
    ck_assert_msg(rc == 0, "%s", gcf_tail(err, 2000));
    char *js = gcf_read_file(json, NULL);
    ck_assert_ptr_nonnull(js);
    ck_assert_int_eq(count_of(js, "\"w\": null"), 2);
    /* th = 0: the anchor's 10 px of the 32-px input, 24 image pixels each
     * (dog.jpg's 768 columns letterboxed into 32) */
    ck_assert_int_eq(count_of(js, "\"h\": 240.000"), 2);
    ck_assert_msg(!strstr(js, "inf") && !strstr(js, "nan"), "%s", js);
    /* the pixel box: clamped to the image's full width */
    ck_assert_msg(strstr(js, "\"left\": 0, ") && strstr(js, ", \"right\": 767, "), "%s", js);
    free(js);
    gcf_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_detect(void)
{
    Suite *s = suite_create("detect");
    TCase *tc = tcase_create("heads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, decoding_matches_get_network_boxes);
    tcase_add_test(tc, letterbox_correction_of_huge_sizes_does_not_overflow);
    tcase_add_test(tc, own_score_is_darknets_probability);
    tcase_add_test(tc, nan_activations_are_refused);
    tcase_add_test(tc, yolo_mask_outside_anchors_is_refused);
    tcase_add_test(tc, detection_coords_other_than_4_are_refused);
    tcase_add_test(tc, box_pixels_stay_inside_the_image);
    tcase_add_test(tc, a_box_of_infinite_width_is_null_in_the_json);
    tcase_add_test(tc, decoding_matches_on_shipped_cfgs);
    tcase_add_test(tc, yolo_targets_match_finite_differences);
    tcase_add_test(tc, region_targets_match_finite_differences);
    tcase_add_test(tc, logistic_region_targets_match_finite_differences);
    tcase_add_test(tc, detection_targets_match_finite_differences);
    tcase_add_test(tc, each_box_gradient_comes_only_from_its_own_head);
    tcase_add_test(tc, nms_keeps_provenance);
    tcase_add_test(tc, nms_is_darknets_do_nms_sort);
    tcase_add_test(tc, top_pairs_are_the_ranking_cut);
    tcase_add_test(tc, cli_reports_what_darknet_detect_reports);
    tcase_add_test(tc, detector_cli_writes_consistent_outputs);
    tcase_add_test(tc, detector_cli_fuses_layers);
    tcase_add_test(tc, detector_cli_without_detections_writes_only_the_report);
    tcase_add_test(tc, detector_cli_save_none_makes_no_folder);
    tcase_add_test(tc, detector_cam_is_refused_before_any_image);
    tcase_add_test(tc, detector_layer_must_feed_every_head);
    tcase_add_test(tc, detector_out_folder_gets_the_default_name);
    tcase_add_test(tc, detector_cli_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
