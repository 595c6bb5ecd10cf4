/* The shipped demo models (cfg/fmnist-cls, cfg/fmnist-det) on held-out
 * scenes composed from the Fashion-MNIST TEST split (the models were trained
 * on train-split scenes only): the maps must find the garments, beat a
 * centre prior and a random map by a wide margin, and a counterfactual map
 * must point away from the garment. Metrics come from gc_eval, which the
 * eval and metrics suites check against hand-worked examples. Skips when
 * Debian's dataset-fashion-mnist is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_eval.h"
#include "gc_fixture.h"
#include "gc_model.h"
#include "gc_scenes.h"
#include "gc_tests.h"

#define FM_DIR "/usr/share/datasets/fashion-mnist"

typedef struct demo_set {
    char *dir;
    char list[4200];
    network *net;
} demo_set;

/* count held-out scenes of a kind (seed 21: not the README's demo seeds) and
 * the model; 0 when the data set is missing (the test then skips). */
static int demo_open(demo_set *d, gc_scene_kind kind, int count, const char *cfg, const char *weights)
{
    memset(d, 0, sizeof *d);
    if (access(FM_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        fprintf(stdout, "skipped: %s is not installed (apt-get install dataset-fashion-mnist)\n", FM_DIR);
        return 0;
    }
    gc_fmnist fm;
    gc_err e;
    ck_assert_msg(gc_scenes_fmnist_load(&fm, FM_DIR, 0, &e) == 0, "%s", e.msg);
    d->dir = gcf_tempdir();
    ck_assert_msg(gc_scenes_write(&fm, kind, 21, count, d->dir, &e) == 0, "%s", e.msg);
    gc_scenes_fmnist_free(&fm);
    snprintf(d->list, sizeof d->list, "%s/list.txt", d->dir);
    d->net = gc_model_load(cfg, weights, &e);
    ck_assert_msg(d->net != NULL, "%s", e.msg);
    return 1;
}

static void demo_close(demo_set *d)
{
    if (d->net) free_network(d->net);
    if (d->dir) gcf_rmtree(d->dir);
    free(d->dir);
}

typedef struct demo_run {
    gc_method method;
    int counterfactual;
    gc_baseline baseline;
} demo_run;

/* Runs gc_eval and returns the metric values (all NMETRICS of them). Two
 * deletion/insertion steps keep it fast: these tests are about the maps. */
static void demo_eval(demo_set *d, demo_run run, double *value)
{
    gc_eval_opts o;
    memset(&o, 0, sizeof o);
    o.cfg = "demo";
    o.weights = "demo";
    o.list = d->list;
    o.ex = (gc_explain_opts){.method = run.method, .counterfactual = run.counterfactual, .alpha = 0.5f};
    o.thresh = 0.25f;
    o.map_thresh = 0.005f;
    o.nms = 0.45f;
    o.steps = 2;
    o.baseline = run.baseline;
    o.seed = 5;
    gc_eval_result r;
    gc_err e;
    ck_assert_msg(gc_eval_run(d->net, &o, &r, &e) == 0, "%s", e.msg);
    for (int m = 0; m < GC_EVAL_NMETRICS; ++m) {
        int defined;
        value[m] = gc_eval_value(&r.stat[m], &defined);
    }
    gc_eval_result_free(&r);
}

#define CLS_CFG "cfg/fmnist-cls.cfg", "cfg/fmnist-cls.weights"
#define DET_CFG "cfg/fmnist-det.cfg", "cfg/fmnist-det.weights"

START_TEST(classifier_points_at_the_true_garment)
{
    demo_set d;
    if (!demo_open(&d, GC_SCENE_CLS, 200, CLS_CFG)) return;
    double gc[GC_EVAL_NMETRICS], ctr[GC_EVAL_NMETRICS], rnd[GC_EVAL_NMETRICS], cf[GC_EVAL_NMETRICS];
    demo_eval(&d, (demo_run){GC_METHOD_GRADCAM, 0, GC_BASELINE_NONE}, gc);
    demo_eval(&d, (demo_run){GC_METHOD_GRADCAM, 0, GC_BASELINE_CENTER}, ctr);
    demo_eval(&d, (demo_run){GC_METHOD_GRADCAM, 0, GC_BASELINE_RANDOM}, rnd);
    demo_eval(&d, (demo_run){GC_METHOD_GRADCAM, 1, GC_BASELINE_NONE}, cf);
    fprintf(stdout,
            "demo classifier, 200 held-out scenes: accuracy %.3f; pointing gradcam %.3f, centre %.3f, random %.3f, "
            "counterfactual %.3f; energy %.3f / %.3f / %.3f / %.3f\n",
            gc[GC_EVAL_ACCURACY], gc[GC_EVAL_POINTING], ctr[GC_EVAL_POINTING], rnd[GC_EVAL_POINTING],
            cf[GC_EVAL_POINTING], gc[GC_EVAL_ENERGY], ctr[GC_EVAL_ENERGY], rnd[GC_EVAL_ENERGY], cf[GC_EVAL_ENERGY]);
    ck_assert_double_ge(gc[GC_EVAL_ACCURACY], 0.75);
    ck_assert_double_ge(gc[GC_EVAL_POINTING], 0.90);
    /* a wide margin over both baselines, on both map metrics */
    ck_assert_double_ge(gc[GC_EVAL_POINTING], ctr[GC_EVAL_POINTING] + 0.40);
    ck_assert_double_ge(gc[GC_EVAL_POINTING], rnd[GC_EVAL_POINTING] + 0.40);
    ck_assert_double_ge(gc[GC_EVAL_ENERGY], 2 * ctr[GC_EVAL_ENERGY]);
    ck_assert_double_ge(gc[GC_EVAL_ENERGY], 2 * rnd[GC_EVAL_ENERGY]);
    /* the counterfactual map (negated gradients) points away from the garment */
    ck_assert_double_le(cf[GC_EVAL_POINTING], 0.25);
    ck_assert_double_le(cf[GC_EVAL_ENERGY], gc[GC_EVAL_ENERGY] / 4);
    demo_close(&d);
}
END_TEST

/* Two garments of different classes: the map for A is scored against A's box,
 * the map for B against B's. Issue #5 asks for 85% of cases, asserted both per
 * map and per scene (both maps right at once); the shipped classifier
 * (multi-label training, see README) gives 0.958 and 0.920 on this set. A map
 * that ignores the class scores about the centre prior (0.15 per map here). */
START_TEST(classifier_maps_separate_two_garments)
{
    demo_set d;
    if (!demo_open(&d, GC_SCENE_PAIR, 200, CLS_CFG)) return;
    double gc[GC_EVAL_NMETRICS], ctr[GC_EVAL_NMETRICS];
    demo_eval(&d, (demo_run){GC_METHOD_GRADCAM, 0, GC_BASELINE_NONE}, gc);
    demo_eval(&d, (demo_run){GC_METHOD_GRADCAM, 0, GC_BASELINE_CENTER}, ctr);
    fprintf(stdout,
            "demo classifier, 200 two-garment scenes (400 maps): pointing %.3f (centre %.3f), both garments %.3f "
            "(centre %.3f), energy %.3f\n",
            gc[GC_EVAL_POINTING], ctr[GC_EVAL_POINTING], gc[GC_EVAL_POINTING_ALL], ctr[GC_EVAL_POINTING_ALL],
            gc[GC_EVAL_ENERGY]);
    ck_assert_double_ge(gc[GC_EVAL_POINTING], 0.85);
    ck_assert_double_ge(gc[GC_EVAL_POINTING], ctr[GC_EVAL_POINTING] + 0.40);
    ck_assert_double_ge(gc[GC_EVAL_POINTING_ALL], 0.85);
    ck_assert_double_ge(gc[GC_EVAL_POINTING_ALL], ctr[GC_EVAL_POINTING_ALL] + 0.50);
    demo_close(&d);
}
END_TEST

START_TEST(detector_points_at_matched_boxes)
{
    demo_set d;
    if (!demo_open(&d, GC_SCENE_DET, 100, DET_CFG)) return;
    double lc[GC_EVAL_NMETRICS], gcm[GC_EVAL_NMETRICS], ctr[GC_EVAL_NMETRICS], rnd[GC_EVAL_NMETRICS];
    demo_eval(&d, (demo_run){GC_METHOD_LAYERCAM, 0, GC_BASELINE_NONE}, lc);
    demo_eval(&d, (demo_run){GC_METHOD_GRADCAM, 0, GC_BASELINE_NONE}, gcm);
    demo_eval(&d, (demo_run){GC_METHOD_LAYERCAM, 0, GC_BASELINE_CENTER}, ctr);
    demo_eval(&d, (demo_run){GC_METHOD_LAYERCAM, 0, GC_BASELINE_RANDOM}, rnd);
    fprintf(stdout,
            "demo detector, 100 held-out scenes: mAP@0.5 %.3f, matched %.3f; pointing layercam %.3f, gradcam %.3f, "
            "centre %.3f, random %.3f; energy %.3f / %.3f / %.3f / %.3f\n",
            lc[GC_EVAL_MAP50], lc[GC_EVAL_MATCHED], lc[GC_EVAL_POINTING], gcm[GC_EVAL_POINTING],
            ctr[GC_EVAL_POINTING], rnd[GC_EVAL_POINTING], lc[GC_EVAL_ENERGY], gcm[GC_EVAL_ENERGY],
            ctr[GC_EVAL_ENERGY], rnd[GC_EVAL_ENERGY]);
    ck_assert_double_ge(lc[GC_EVAL_MAP50], 0.60);
    ck_assert_double_ge(lc[GC_EVAL_MATCHED], 0.60);
    ck_assert_double_ge(lc[GC_EVAL_POINTING], 0.85);
    ck_assert_double_ge(lc[GC_EVAL_POINTING], ctr[GC_EVAL_POINTING] + 0.40);
    ck_assert_double_ge(lc[GC_EVAL_POINTING], rnd[GC_EVAL_POINTING] + 0.40);
    ck_assert_double_ge(lc[GC_EVAL_ENERGY], 2 * ctr[GC_EVAL_ENERGY]);
    ck_assert_double_ge(lc[GC_EVAL_ENERGY], 2 * rnd[GC_EVAL_ENERGY]);
    /* Grad-CAM proper still beats the baselines, by less (class-level maps) */
    ck_assert_double_gt(gcm[GC_EVAL_POINTING], ctr[GC_EVAL_POINTING]);
    ck_assert_double_gt(gcm[GC_EVAL_POINTING], rnd[GC_EVAL_POINTING]);
    demo_close(&d);
}
END_TEST

/* Two garments of the SAME class (issue #11): each box's map must peak in its
 * own garment, not its twin's. The default detector rule (LayerCAM fused over
 * the two layers where a box's gradient spreads) gives 0.993 on these 100
 * `same` scenes of seed 21 (every twin 0.986); the README's seed-77 table,
 * 138 boxes: 0.971 (0.884 with the first round's layers). */
START_TEST(detector_maps_tell_same_class_twins_apart)
{
    demo_set d;
    if (!demo_open(&d, GC_SCENE_SAME, 100, DET_CFG)) return;
    double lc[GC_EVAL_NMETRICS], ctr[GC_EVAL_NMETRICS];
    demo_eval(&d, (demo_run){GC_METHOD_LAYERCAM, 0, GC_BASELINE_NONE}, lc);
    demo_eval(&d, (demo_run){GC_METHOD_LAYERCAM, 0, GC_BASELINE_CENTER}, ctr);
    fprintf(stdout, "demo detector, 100 same-class scenes: own-instance pointing %.3f (centre %.3f), every twin %.3f, all-zero %.3f\n",
            lc[GC_EVAL_OWN_INSTANCE], ctr[GC_EVAL_OWN_INSTANCE], lc[GC_EVAL_OWN_INSTANCE_ALL], lc[GC_EVAL_ALL_ZERO]);
    ck_assert_double_ge(lc[GC_EVAL_OWN_INSTANCE], 0.85);
    ck_assert_double_ge(lc[GC_EVAL_OWN_INSTANCE], ctr[GC_EVAL_OWN_INSTANCE] + 0.40);
    ck_assert_double_eq(lc[GC_EVAL_ALL_ZERO], 0);
    demo_close(&d);
}
END_TEST

Suite *suite_demo(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("heldout");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, classifier_points_at_the_true_garment);
    tcase_add_test(tc, classifier_maps_separate_two_garments);
    tcase_add_test(tc, detector_points_at_matched_boxes);
    tcase_add_test(tc, detector_maps_tell_same_class_twins_apart);
    suite_add_tcase(s, tc);
    return s;
}
