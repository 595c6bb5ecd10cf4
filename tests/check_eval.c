/* `darknet gradcam eval` end to end, through the real binary, on small
 * synthetic labeled images written here (PNG + Darknet label files) and the
 * project's tiny cfgs with seeded random weights:
 * - a map's pointing, energy and localization in the report equal the metric
 *   functions applied to the .npy the main `gradcam` command writes for the
 *   same image and class (or box);
 * - scores, curves and aggregates are consistent with each other and with an
 *   independent forward pass;
 * - -baseline center points at the centre, -baseline random is seeded;
 * - every error leaves no JSON file and exits non-zero. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "darknet.h"
#include "gc_classify.h"
#include "gc_detect.h"
#include "gc_eval.h"
#include "gc_explain.h"
#include "gc_model.h"
#include "gc_fixture.h"
#include "gc_image.h"
#include "gc_metrics.h"
#include "gc_render.h"
#include "gc_tests.h"

static char *dir;
static char clf_w[4096], det_w[4096], list_txt[4096], json[4096];
static char out[1 << 16], err[1 << 16];
static const char *clf = "tests/cfg/clf_bn.cfg"; /* 20x16 input, 5 classes */
static const char *det = "tests/cfg/det_yolo2.cfg"; /* 32x32 input, 3 classes */

/* dir/rel in one of 64 rotating buffers (each test uses far fewer). */
static const char *at(const char *rel)
{
    static char p[64][4096];
    static int k;
    k = (k + 1) % 64;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, rel);
    return p[k];
}

static void setup(void)
{
    dir = gcf_tempdir();
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(mkdir(at("images"), 0755), 0);
    ck_assert_int_eq(mkdir(at("labels"), 0755), 0);
    ck_assert_int_eq(mkdir(at("out"), 0755), 0);
    snprintf(clf_w, sizeof clf_w, "%s", at("clf.weights"));
    snprintf(det_w, sizeof det_w, "%s", at("det.weights"));
    snprintf(list_txt, sizeof list_txt, "%s", at("list.txt"));
    snprintf(json, sizeof json, "%s", at("out/eval.json"));
    ck_assert_int_eq(gcf_write_random_weights(clf, clf_w, 21), 0);
    ck_assert_int_eq(gcf_write_random_weights(det, det_w, 5), 0);
}

static void teardown(void)
{
    gcf_rmtree(dir);
    free(dir);
}

/* A w x h PNG images/<name>.png: seeded noise with a bright rectangle. */
static const char *write_image(const char *name, int w, int h, unsigned seed)
{
    unsigned char *rgb = malloc((size_t)w * h * 3);
    ck_assert_ptr_nonnull(rgb);
    uint64_t st = seed;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c) {
                int v = (int)gcf_uniform(&st, 0, 160);
                if (x > w / 5 && x < w / 2 && y > h / 4 && y < 3 * h / 4) v = 230 - 40 * c;
                rgb[((size_t)y * w + x) * 3 + c] = (unsigned char)v;
            }
    char rel[256];
    snprintf(rel, sizeof rel, "images/%s.png", name);
    const char *p = at(rel);
    gc_err e;
    ck_assert_msg(gc_image_write_png(p, w, h, rgb, &e) == 0, "%s", e.msg);
    free(rgb);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void write_label(const char *name, const char *text)
{
    char rel[256];
    snprintf(rel, sizeof rel, "labels/%s.txt", name);
    write_text(at(rel), text);
}

/* list.txt with the given image paths (NULL-terminated), a blank line between. */
static void write_list(const char *first, ...)
{
    FILE *f = fopen(list_txt, "w");
    ck_assert_ptr_nonnull(f);
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *)) fprintf(f, "%s\n\n", p);
    va_end(ap);
    fclose(f);
}

/* ./darknet gradcam ARGS... (NULL-terminated); returns the exit status. */
#define run(...) gcf_run_gradcam(out, sizeof out, err, sizeof err, __VA_ARGS__)

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The number after the nth (0-based) `"key": ` at or after `from`; NAN if none. */
static double jnum(const char *from, const char *key, int nth)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = from;
    for (int i = 0; i <= nth; ++i) {
        p = strstr(p, pat);
        if (!p) return NAN;
        p += strlen(pat);
    }
    if (!strncmp(p, "true", 4)) return 1;
    if (!strncmp(p, "false", 5)) return 0;
    char *end;
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

/* The nth array `"key": [..]` into v; returns its length. */
static int jarray(const char *from, const char *key, int nth, double *v, int max)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": [", key);
    const char *p = from;
    for (int i = 0; i <= nth; ++i) {
        p = strstr(p, pat);
        ck_assert_msg(p != NULL, "no %s array #%d", key, nth);
        p += strlen(pat);
    }
    int n = 0;
    while (*p && *p != ']' && n < max) {
        char *end;
        v[n++] = strtod(p, &end);
        ck_assert(end != p);
        p = end;
        while (*p == ',' || *p == ' ') ++p;
    }
    return n;
}

/* The value of metric `key` in the report's "metrics" object, and its n. */
static double metric(const char *js, const char *key, long *n)
{
    const char *m = strstr(js, "\"metrics\"");
    ck_assert_ptr_nonnull(m);
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": {", key);
    const char *p = strstr(m, pat);
    ck_assert_msg(p != NULL, "metric %s missing", key);
    if (n) *n = (long)jnum(p, "n", 0);
    return jnum(p, "value", 0);
}

/* The maps counted by the randomisation row and by both random-logit rows. */
static void assert_sanity_counts(const char *js, long randomized, long random_logit)
{
    long n;
    metric(js, "randomization_spearman", &n);
    ck_assert_int_eq(n, randomized);
    metric(js, "randomization_random_pair", &n);
    ck_assert_int_eq(n, randomized);
    metric(js, "randomization_random_pair_box", &n);
    ck_assert_int_eq(n, randomized);
    metric(js, "random_logit_spearman", &n);
    ck_assert_int_eq(n, random_logit);
    metric(js, "random_logit_spearman_box", &n);
    ck_assert_int_eq(n, random_logit);
}

static const char *per_map(const char *js)
{
    const char *p = strstr(js, "\"per_map\"");
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Field `key` of the kth per-map record. */
static double mval(const char *pm, int k, const char *key)
{
    const char *p = pm;
    for (int i = 0; i <= k; ++i) {
        p = strstr(p + 1, "{\"image\": ");
        ck_assert_msg(p != NULL, "no per-map record %d", k);
    }
    return jnum(p, key, 0);
}

/* The main command's map for `image`, as written to .npy, resampled onto the
 * image through the inverse letterbox: what the eval's metrics must see. */
static float *heat_from_npy(const char *npy, int W, int H, int net_w, int net_h)
{
    size_t rows, cols;
    gc_err e;
    float *m = gc_image_read_npy(npy, &rows, &cols, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    gc_letterbox lb = gc_render_letterbox(W, H, net_w, net_h);
    float *heat = malloc((size_t)W * H * sizeof *heat);
    ck_assert_ptr_nonnull(heat);
    gc_render_map_to_image(m, (int)cols, (int)rows, &lb, heat);
    free(m);
    return heat;
}

static void assert_map_metrics(const char *pm, int nth, const float *heat, int W, int H, gc_rbox gt)
{
    gc_pbox box = gc_metrics_pbox_cover(gt, W, H), loc;
    int *labels = malloc((size_t)W * H * sizeof *labels), *stack = malloc((size_t)W * H * sizeof *stack);
    ck_assert(labels && stack);
    gc_metrics_largest_region(heat, W, H, 0.15f, labels, stack, &loc);
    free(labels);
    free(stack);
    ck_assert_int_eq((int)mval(pm, nth, "pointing"), gc_metrics_pointing(heat, W, H, box));
    ck_assert_double_eq_tol(mval(pm, nth, "energy_in_box"), gc_metrics_energy(heat, W, H, box), 2e-6);
    ck_assert_double_eq_tol(mval(pm, nth, "loc_iou"), gc_metrics_pbox_iou(loc, box), 2e-6);
    ck_assert_int_eq((int)mval(pm, nth, "left"), box.l); /* "box" comes before "loc_box" */
    ck_assert_int_eq((int)mval(pm, nth, "bottom"), box.b);
}

static void assert_no_json_and_error(int rc, const char *what)
{
    ck_assert_msg(rc != 0, "exit 0 for an error case (%s)", what);
    ck_assert_int_eq(gcf_count_files(at("out")), 0);
    int lines = 0;
    const char *hit = NULL;
    for (const char *p = err; (p = strstr(p, "gradcam:")); ++p)
        if (p == err || p[-1] == '\n') ++lines, hit = p;
    ck_assert_msg(lines == 1, "expected one gradcam: line, got %d:\n%s", lines, err);
    const char *eol = strchr(hit, '\n');
    ck_assert_msg(strstr(hit, what) && (!eol || strstr(hit, what) < eol), "error does not name %s:\n%s", what, hit);
}

/* ---- classifiers ------------------------------------------------------------ */

START_TEST(classifier_maps_match_the_main_command)
{
    const int W = 48, H = 36;
    const char *img = write_image("a", W, H, 7);
    /* two objects: class 1 on the bright rectangle, class 3 elsewhere */
    gc_rbox g0 = {0.35f, 0.5f, 0.3f, 0.5f}, g1 = {0.75f, 0.25f, 0.4f, 0.3f};
    write_label("a", "1 0.35 0.5 0.3 0.5\n3 0.75 0.25 0.4 0.3\n");
    write_list(img, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-json", json, NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "pointing game"));
    const char *js = slurp(json);
    const char *pm = per_map(js);
    long n;
    metric(js, "pointing", &n);
    ck_assert_int_eq(n, 2);

    int cls[2] = {1, 3};
    gc_rbox gt[2] = {g0, g1};
    double y[2];
    for (int k = 0; k < 2; ++k) {
        char c[8], prefix[4096], npy[4200];
        snprintf(c, sizeof c, "%d", cls[k]);
        snprintf(prefix, sizeof prefix, "%s/m%d", dir, k);
        char *argv[] = {"./darknet", "gradcam", (char *)clf, clf_w, (char *)img, "-class", c, "-out", prefix, NULL};
        rc = gcf_run(argv, out, sizeof out, err, sizeof err);
        ck_assert_msg(rc == 0, "%s", err);
        float prob = -1;
        ck_assert_msg(sscanf(out, "class %*d %*s probability %f", &prob) == 1, "%s", out);
        snprintf(npy, sizeof npy, "%s_%d.npy", prefix, cls[k]);
        float *heat = heat_from_npy(npy, W, H, 20, 16);
        assert_map_metrics(pm, k, heat, W, H, gt[k]);
        free(heat);
        /* the score is the class's softmax probability on the image */
        y[k] = mval(pm, k, "score");
        ck_assert_double_eq_tol(y[k], prob, 6e-5);
        ck_assert_int_eq((int)mval(pm, k, "class"), cls[k]);
    }
    /* aggregates are the means of the per-map values */
    double e0 = mval(pm, 0, "energy_in_box"), e1 = mval(pm, 1, "energy_in_box");
    ck_assert_double_eq_tol(metric(js, "energy_in_box", NULL), (e0 + e1) / 2, 2e-6);
    double d0 = mval(pm, 0, "deletion_auc"), d1 = mval(pm, 1, "deletion_auc");
    ck_assert_double_eq_tol(metric(js, "deletion_auc", NULL), (d0 + d1) / 2, 2e-6);
    double drop = 0, inc = 0;
    for (int k = 0; k < 2; ++k) {
        double o = mval(pm, k, "masked_score");
        drop += (y[k] > o ? y[k] - o : 0) / y[k] / 2;
        inc += (o > y[k]) / 2.0;
    }
    ck_assert_double_eq_tol(metric(js, "average_drop", NULL), drop, 1e-5);
    ck_assert_double_eq_tol(metric(js, "increase_in_confidence", NULL), inc, 1e-12);
}
END_TEST

START_TEST(classifier_accuracy_and_top1_localization)
{
    const char *a = write_image("a", 40, 30, 1), *b = write_image("b", 30, 40, 2);
    int top[2];
    const char *imgs[2] = {a, b};
    for (int k = 0; k < 2; ++k) {
        char *argv[] = {"./darknet", "gradcam", (char *)clf, clf_w, (char *)imgs[k], "-out", (char *)at("t"), NULL};
        ck_assert_int_eq(gcf_run(argv, out, sizeof out, err, sizeof err), 0);
        ck_assert_int_eq(sscanf(out, "class %d", &top[k]), 1);
    }
    /* a: its top-1 class (right); b: another class (wrong); b's second line
     * does not count for accuracy */
    char t[256];
    snprintf(t, sizeof t, "%d 0.5 0.5 1 1\n", top[0]);
    write_label("a", t);
    snprintf(t, sizeof t, "%d 0.5 0.5 1 1\n%d 0.5 0.5 1 1\n", (top[1] + 1) % 5, top[1]);
    write_label("b", t);
    write_list(a, b, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "4", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    long n;
    ck_assert_double_eq_tol(metric(js, "accuracy", &n), 0.5, 1e-12);
    ck_assert_int_eq(n, 2);
    metric(js, "top1_localization_error", &n);
    ck_assert_int_eq(n, 3);
    const char *pm = per_map(js);
    /* b's first object has the wrong class: never top-1 localized */
    ck_assert_int_eq((int)mval(pm, 1, "top1_localized"), 0);
    /* localization error = share of maps not localized */
    double loc = 0;
    for (int k = 0; k < 3; ++k) loc += (1 - mval(pm, k, "localized")) / 3;
    ck_assert_double_eq_tol(metric(js, "localization_error", NULL), loc, 1e-6);
    ck_assert_ptr_null(strstr(js, "\"map50\""));
    ck_assert_ptr_nonnull(strstr(out, "classification accuracy"));
}
END_TEST

/* An image listed again, by its own path or another (images/./a.png),
 * counts once a copy, with one warning naming the first repeat; a list
 * without repeats gets none. */
START_TEST(a_repeated_image_is_named)
{
    const char *a = write_image("a", 40, 30, 1), *b = write_image("b", 30, 40, 2);
    write_label("a", "0 0.5 0.5 0.5 0.5\n");
    write_label("b", "1 0.5 0.5 0.5 0.5\n");
    write_list(a, b, NULL);
    ck_assert_msg(run("eval", clf, clf_w, list_txt, "-steps", "2", "-nosanity", NULL) == 0, "%s", err);
    ck_assert_msg(!strstr(err, "listed again"), "%s", err);
    long n0;
    ck_assert_msg(run("eval", clf, clf_w, list_txt, "-steps", "2", "-nosanity", "-json", json, NULL) == 0, "%s", err);
    metric(slurp(json), "pointing", &n0);
    ck_assert_int_eq(n0, 2);
    write_list(a, b, at("images/./a.png"), b, NULL);
    ck_assert_msg(run("eval", clf, clf_w, list_txt, "-steps", "2", "-nosanity", "-json", json, NULL) == 0, "%s", err);
    ck_assert_msg(strstr(err, "gradcam: warning: image list ") &&
                      strstr(err, ": 2 images are listed again (first: image 1, ") &&
                      strstr(err, "images/a.png, is image 3 too); each copy counts in the metrics\n"),
                  "%s", err);
    long n;
    metric(slurp(json), "pointing", &n);
    ck_assert_int_eq(n, 4);
}
END_TEST

/* Deletion ends on an all-zero input and insertion on the input itself: the
 * curves' ends are checked against an independent forward pass. */
START_TEST(deletion_insertion_curves)
{
    const char *img = write_image("c", 40, 32, 3);
    write_label("c", "2 0.4 0.5 0.3 0.5\n");
    write_list(img, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "8", "-method", "layercam", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    const char *pm = per_map(js);
    double del[32], ins[32];
    ck_assert_int_eq(jarray(pm, "deletion", 0, del, 32), 9);
    ck_assert_int_eq(jarray(pm, "insertion", 0, ins, 32), 9);
    double y = mval(pm, 0, "score");
    ck_assert_double_eq_tol(del[0], y, 2e-6);
    ck_assert_double_eq_tol(ins[8], y, 2e-6);

    network *net = gcf_random_network(clf, 21);
    ck_assert_ptr_nonnull(net);
    gc_classifier cl;
    gc_err e;
    ck_assert_int_eq(gc_classify_find(net, &cl, &e), 0);
    float *zero = calloc((size_t)net->inputs, sizeof *zero), probs[5];
    network_predict(net, zero);
    gc_classify_probs(net, &cl, probs);
    ck_assert_double_eq_tol(del[8], probs[2], 2e-6);
    free(zero);
    free_network(net);

    /* AUC by the trapezoid rule over fractions k/8 (20x16 = 320 pixels, 40 a step) */
    double x[9];
    for (int k = 0; k <= 8; ++k) x[k] = k / 8.0;
    ck_assert_double_eq_tol(mval(pm, 0, "deletion_auc"), gc_metrics_auc(x, del, 9), 1e-5);
    ck_assert_double_eq_tol(mval(pm, 0, "insertion_auc"), gc_metrics_auc(x, ins, 9), 1e-5);

    /* two layers fused: the table's header names both (it named the first) */
    rc = run("eval", clf, clf_w, list_txt, "-steps", "2", "-nosanity", "-layer", "0,2", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strstr(out, "gradcam, layer 0,2;"), "%s", out);
}
END_TEST

START_TEST(center_baseline_points_at_the_centre)
{
    const char *img = write_image("d", 60, 40, 4);
    /* a box on the centre, one in a corner, one on the right edge */
    write_label("d", "0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.15 0.15\n4 0.9 0.5 0.15 0.6\n");
    write_list(img, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-baseline", "center", "-steps", "2", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    const char *pm = per_map(js);
    ck_assert_int_eq((int)mval(pm, 0, "pointing"), 1);
    ck_assert_int_eq((int)mval(pm, 1, "pointing"), 0);
    ck_assert_int_eq((int)mval(pm, 2, "pointing"), 0);
    ck_assert(mval(pm, 0, "energy_in_box") > mval(pm, 2, "energy_in_box"));
    ck_assert(mval(pm, 2, "energy_in_box") > mval(pm, 1, "energy_in_box"));
    ck_assert_int_eq((int)mval(pm, 0, "layer"), -1);
    ck_assert_double_eq_tol(metric(js, "pointing", NULL), 1.0 / 3, 1e-6);
    ck_assert_ptr_nonnull(strstr(js, "\"baseline\": \"center\""));
    ck_assert_ptr_nonnull(strstr(out, "baseline center"));
    /* one image with 2+ objects, not all of whose maps point: 0 of 1 */
    long n = 0;
    ck_assert_double_eq_tol(metric(js, "pointing_all_objects", &n), 0, 1e-9);
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_nonnull(strstr(out, "pointing, every object"));
}
END_TEST

START_TEST(pointing_every_object_counts_images)
{
    /* With the centre prior every map peaks on the image centre. "d": two
     * boxes over the centre (both point); "e": one over it, one in a corner;
     * "f": a single object, not counted. So 1 of 2 images, pointing 4/5. */
    const char *d = write_image("d", 60, 40, 4), *e2 = write_image("e", 60, 40, 5), *f = write_image("f", 60, 40, 6);
    write_label("d", "0 0.5 0.5 0.2 0.2\n1 0.45 0.5 0.3 0.4\n");
    write_label("e", "2 0.5 0.5 0.2 0.2\n3 0.1 0.1 0.15 0.15\n");
    write_label("f", "4 0.5 0.5 0.3 0.3\n");
    write_list(d, e2, f, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-baseline", "center", "-steps", "2", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    long n = 0;
    ck_assert_double_eq_tol(metric(js, "pointing", &n), 4.0 / 5, 1e-6);
    ck_assert_int_eq(n, 5);
    ck_assert_double_eq_tol(metric(js, "pointing_all_objects", &n), 0.5, 1e-9);
    ck_assert_int_eq(n, 2);
    /* single-object lists have no such images: the row and key are left out */
    write_list(f, NULL);
    rc = run("eval", clf, clf_w, list_txt, "-json", json, "-baseline", "center", "-steps", "2", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_ptr_null(strstr(slurp(json), "pointing_all_objects"));
    ck_assert_ptr_null(strstr(out, "pointing, every object"));
}
END_TEST

START_TEST(random_baseline_is_seeded)
{
    const char *img = write_image("e", 40, 30, 5);
    write_label("e", "0 0.5 0.5 0.5 0.5\n1 0.25 0.25 0.3 0.3\n");
    write_list(img, img, NULL);
    double en[4][4];
    const char *seeds[4] = {"7", "7", "8", "7"};
    for (int s = 0; s < 4; ++s) {
        /* the last run skips the sanity checks, whose random maps have their own draws */
        int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-baseline", "random", "-seed", seeds[s], "-steps",
                     "2", s == 3 ? "-nosanity" : NULL, NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *pm = per_map(slurp(json));
        for (int k = 0; k < 4; ++k) en[s][k] = mval(pm, k, "energy_in_box");
    }
    for (int k = 0; k < 4; ++k) ck_assert_double_eq(en[0][k], en[1][k]);
    for (int k = 0; k < 4; ++k) ck_assert_double_eq(en[0][k], en[3][k]);
    /* a new map for every object and image, and another with another seed */
    ck_assert(en[0][0] != en[0][2]);
    ck_assert(en[0][0] != en[2][0]);
}
END_TEST

/* ---- detectors ------------------------------------------------------------- */

/* Runs the main command on img; returns the index of the most probable box
 * (with `inside`, of those that lie inside the image: a random detector's
 * boxes may reach past it, and a label cannot) and fills its class,
 * probability and box (relative). */
static int pick_detection(const char *img, const char *prefix, const char *djson, int W, int H, int inside,
                          int *cls, float *prob, gc_rbox *b)
{
    char *argv[] = {"./darknet", "gradcam", (char *)det, det_w, (char *)img, "-thresh", "0.2", "-out",
                    (char *)prefix, "-json", (char *)djson, NULL};
    int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(djson);
    int best = -1;
    double bp = -1;
    for (int k = 0;; ++k) {
        double p = jnum(js, "probability", k);
        if (isnan(p)) break;
        /* "x" ... "h" of box k are pixels */
        double x = jnum(js, "x", k), y = jnum(js, "y", k), w = jnum(js, "w", k), h = jnum(js, "h", k);
        if (inside && (x - w / 2 < 0 || x + w / 2 > W || y - h / 2 < 0 || y + h / 2 > H)) continue;
        if (p > bp) bp = p, best = k;
    }
    ck_assert_msg(best >= 0, "no detection above 0.2%s on the test image:\n%s", inside ? " inside it" : "", out);
    *cls = (int)jnum(js, "class", best);
    *prob = (float)bp;
    b->x = (float)(jnum(js, "x", best) / W);
    b->y = (float)(jnum(js, "y", best) / H);
    b->w = (float)(jnum(js, "w", best) / W);
    b->h = (float)(jnum(js, "h", best) / H);
    return best;
}

static int best_detection(const char *img, const char *prefix, const char *djson, int W, int H, int *cls,
                          float *prob, gc_rbox *b)
{
    return pick_detection(img, prefix, djson, W, H, 0, cls, prob, b);
}

/* A W x H test image `name` (seed 3) labeled with the random detector's most
 * probable detection inside it (its class in *cls), as the only entry of the
 * list; returns the image's path. */
static const char *one_box_scene(const char *name, int W, int H, int *cls)
{
    char prefix[64], djson[64], lab[128];
    snprintf(prefix, sizeof prefix, "out/%s", name);
    snprintf(djson, sizeof djson, "%s.json", name);
    const char *img = write_image(name, W, H, 3);
    float prob;
    gc_rbox b;
    pick_detection(img, at(prefix), at(djson), W, H, 1, cls, &prob, &b);
    snprintf(lab, sizeof lab, "%d %f %f %f %f\n", *cls, b.x, b.y, b.w, b.h);
    write_label(name, lab);
    write_list(img, NULL);
    return img;
}

/* The k-th `"layers": [...]` of js, brackets included and spaces left out, into buf. */
static const char *layers_list(const char *js, int k, char *buf, size_t cap)
{
    const char *p = js;
    for (int i = 0; i <= k; ++i) {
        p = strstr(p, "\"layers\": [");
        ck_assert_msg(p != NULL, "no %d-th \"layers\" in %s", k, js);
        if (i < k) ++p;
    }
    p += strlen("\"layers\": ");
    size_t n = 0;
    for (; *p && (n == 0 || buf[n - 1] != ']'); ++p)
        if (*p != ' ') {
            ck_assert(n + 1 < cap);
            buf[n++] = *p;
        }
    buf[n] = '\0';
    return buf;
}

START_TEST(detector_maps_match_the_main_command)
{
    const int W = 64, H = 48;
    const char *img = write_image("f", W, H, 9);
    int cls, k;
    float prob;
    gc_rbox b;
    char prefix[4096], djson[4096], npy[4200];
    snprintf(prefix, sizeof prefix, "%s/m", dir);
    snprintf(djson, sizeof djson, "%s/main.json", dir);
    k = best_detection(img, prefix, djson, W, H, &cls, &prob, &b);
    /* ground truth: that box, and a tiny box no detection can match */
    char t[256];
    snprintf(t, sizeof t, "%d %.6f %.6f %.6f %.6f\n%d 0.5 0.5 0.01 0.01\n", cls, b.x, b.y, b.w, b.h, cls);
    write_label("f", t);
    write_list(img, NULL);
    int rc = run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.2", "-steps", "4", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    long n;
    ck_assert_double_eq_tol(metric(js, "matched", &n), 0.5, 1e-12);
    ck_assert_int_eq(n, 2);
    /* the best detection of its class ranks first and finds its object;
     * the tiny object is never found: AP = 1/2 */
    ck_assert_double_eq_tol(metric(js, "map50", &n), 0.5, 1e-6);
    ck_assert_int_eq(n, 1);
    metric(js, "pointing", &n);
    ck_assert_int_eq(n, 1);
    metric(js, "random_logit_spearman", &n);
    ck_assert_int_eq(n, 1);
    ck_assert_ptr_null(strstr(js, "\"accuracy\""));
    const char *pm = per_map(js);
    ck_assert_double_eq_tol(mval(pm, 0, "probability"), prob, 2e-6);
    /* the explained box's score on the input is its own probability (IoU 1) */
    ck_assert_double_eq_tol(mval(pm, 0, "score"), prob, 2e-6);
    snprintf(npy, sizeof npy, "%s_%d.npy", prefix, k);
    gc_rbox gt = {(float)mval(pm, 0, "x"), (float)mval(pm, 0, "y"), (float)mval(pm, 0, "w"), (float)mval(pm, 0, "h")};
    float *heat = heat_from_npy(npy, W, H, 32, 32);
    assert_map_metrics(pm, 0, heat, W, H, gt);
    free(heat);
    ck_assert_ptr_nonnull(strstr(out, "mAP@0.5"));
    /* the map's layers, as the main command's JSON lists them: every one
     * fused ("layer" alone had named the first) */
    char want[256], got[256];
    layers_list(pm, 0, got, sizeof got); /* before slurp() reuses js's buffer */
    layers_list(slurp(djson), k, want, sizeof want);
    ck_assert_str_eq(got, want);
    char *argv[] = {"./darknet", "gradcam", (char *)det, det_w, (char *)img, "-thresh", "0.2", "-out", prefix,
                    "-json", djson, "-layer", "-2,-3", "-save", "none", NULL};
    rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    rc = run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.2", "-steps", "1", "-nosanity", "-layer",
             "-2,-3", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    layers_list(per_map(slurp(json)), 0, got, sizeof got);
    layers_list(slurp(djson), k, want, sizeof want);
    ck_assert_msg(strchr(want, ','), "-layer -2,-3 fused one layer: %s", want);
    ck_assert_str_eq(got, want);
    /* -target obj: one map whatever the class, so no random-logit value (it
     * had been the same map twice, a Spearman of 1 by construction) */
    rc = run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.2", "-steps", "1", "-target", "obj", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    js = slurp(json);
    assert_sanity_counts(js, 1, 0);
    ck_assert_ptr_nonnull(strstr(per_map(js), "\"random_logit\": null"));
}
END_TEST

START_TEST(detector_without_objects_and_limit)
{
    const char *a = write_image("g", 40, 40, 11), *b = write_image("h", 40, 40, 12);
    write_label("g", "");
    write_label("h", "0 0.5 0.5 0.5 0.5\n");
    write_list(a, b, NULL);
    int rc = run("eval", det, det_w, list_txt, "-json", json, "-limit", "1", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    ck_assert_int_eq((int)jnum(js, "images", 0), 1);
    long n;
    metric(js, "map50", &n);
    ck_assert_int_eq(n, 0); /* no class has ground truth: no mAP */
    ck_assert_ptr_nonnull(strstr(js, "\"map50\": {\"value\": null"));
    ck_assert_ptr_nonnull(strstr(js, "\"per_map\": []"));
    /* the rows asked for are there with no map to fill them (null, n 0),
     * and the settings that move the numbers are recorded */
    rc = run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.99999", "-rise", "2", "-seed", "7", "-smooth",
             "aug", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    js = slurp(json);
    ck_assert_int_eq((int)jnum(js, "maps", 0), 0);
    const char *keys[] = {"randomization_spearman", "randomization_spearman_box", "random_logit_spearman",
                          "rise_spearman", "rise_spearman_box", "rise_peak_within_cell"};
    for (int k = 0; k < 6; ++k) {
        char want[96];
        snprintf(want, sizeof want, "\"%s\": {\"value\": null, \"n\": 0", keys[k]);
        ck_assert_msg(strstr(js, want) != NULL, "%s not in %s", want, js);
    }
    ck_assert_msg(strstr(js, "\"smooth\": \"aug\",") && strstr(js, "\"seed\": 7,"), "%s", js);
    ck_assert_msg(strstr(out, "layercam smooth aug, layer") && strstr(out, "randomization Spearman") &&
                      strstr(out, "RISE Spearman, image"),
                  "%s", out);
}
END_TEST

/* ---- errors ------------------------------------------------------------------ */

START_TEST(errors_leave_no_json)
{
    const char *img = write_image("i", 30, 30, 13);
    write_label("i", "1 0.5 0.5 0.5 0.5\n");
    write_list(img, NULL);
    /* missing list */
    assert_no_json_and_error(run("eval", clf, clf_w, at("nolist.txt"), "-json", json, NULL), "nolist.txt");
    /* missing label file */
    const char *j = write_image("j", 30, 30, 14);
    write_list(img, j, NULL);
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, NULL), "labels/j.txt");
    /* bad class index */
    write_label("j", "1 0.5 0.5 0.5 0.5\n9 0.5 0.5 0.5 0.5\n");
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, NULL), "line 2");
    /* malformed line */
    write_label("j", "1 0.5 0.5\n");
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, NULL), "labels/j.txt");
    /* a classifier needs a class per image */
    write_label("j", "\n");
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, NULL), "no object");
    /* an image that is missing, or does not decode, after a good one */
    write_label("j", "1 0.5 0.5 0.5 0.5\n");
    write_text(at("images/k.png"), "not a png\n");
    write_label("k", "1 0.5 0.5 0.5 0.5\n");
    write_list(img, at("images/k.png"), NULL);
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, NULL), "images/k.png");
    write_label("gone", "1 0.5 0.5 0.5 0.5\n");
    write_list(img, at("images/gone.png"), NULL);
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, NULL), "images/gone.png");
    /* an image without a known extension */
    write_list(at("images/x.gif"), NULL);
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, NULL), "x.gif");
}
END_TEST

/* An image cut short behind a whole header, last in the list, fails
 * before the first forward pass, as a missing one does (its header had been
 * all that was checked: the run explained every image before it, then
 * stopped on stb's "outofdata", without the list and position). */
START_TEST(a_cut_image_fails_before_any_forward_pass)
{
    const char *a = write_image("whole", 40, 30, 3);
    char b[512];
    snprintf(b, sizeof b, "%s", write_image("cut", 40, 30, 4));
    write_label("whole", "1 0.5 0.5 0.5 0.5\n");
    write_label("cut", "1 0.5 0.5 0.5 0.5\n");
    size_t n;
    unsigned char *bytes = (unsigned char *)gcf_read_file(b, &n);
    ck_assert_ptr_nonnull(bytes);
    FILE *f = fopen(b, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n / 2, f), n / 2);
    fclose(f);
    free(bytes);
    write_list(a, b, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "1", NULL);
    assert_no_json_and_error(rc, "image 2: cannot decode image");
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "(a truncated file?)") && strstr(err, "image list ") && !strstr(err, "1/2"), "%s", err);
}
END_TEST

START_TEST(bad_options)
{
    const char *img = write_image("l", 30, 30, 15);
    write_label("l", "1 0.5 0.5 0.5 0.5\n");
    write_list(img, NULL);
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-frobnicate", NULL), 2);
    assert_no_json_and_error(2, "-frobnicate");
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "0", NULL), 2);
    assert_no_json_and_error(2, "-steps 0");
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-baseline", "mean", NULL), 2);
    assert_no_json_and_error(2, "-baseline mean");
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-seed", "3", "-nosanity", NULL), 2);
    assert_no_json_and_error(2, "-seed");
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-rise", "-1", NULL), 2);
    assert_no_json_and_error(2, "-rise");
    /* RISE from 0 masks: no RISE rows, silently (and -seed 3 -nosanity then "is for -rise") */
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-rise", "0", NULL), 2);
    assert_no_json_and_error(2, "-rise 0: expected an integer in 1..1000000");
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-cascade", "x", NULL), 2);
    assert_no_json_and_error(2, "-cascade");
    /* the cascade's points without the cascade: ignored without a word, as -seed was */
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-cascade", "2", "-nosanity", NULL), 2);
    assert_no_json_and_error(2, "-cascade sets the randomisation cascade, which -nosanity skips");
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, "-baseline", "cell", NULL), "-baseline cell");
    /* a baseline replaces the maps: the options that shape a map do not
     * apply (they had been ignored, and the JSON named them as used) */
    static const char *const shaping[][2] = {
        {"-method", "layercam"}, {"-layer", "5"}, {"-smooth", "aug"}, {"-target", "obj"}, {"-counterfactual", NULL}};
    for (size_t k = 0; k < sizeof shaping / sizeof *shaping; ++k) {
        ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-baseline", "center", shaping[k][0],
                             shaping[k][1], NULL),
                         2);
        char want[96];
        snprintf(want, sizeof want, "-baseline center replaces the maps: %s does not apply", shaping[k][0]);
        assert_no_json_and_error(2, want);
    }
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-limit", "x", NULL), 2);
    assert_no_json_and_error(2, "-limit x");
    ck_assert_int_eq(run("eval", clf, clf_w, "-json", json, NULL), 2);
    assert_no_json_and_error(2, "missing list");
    /* a folder that cannot be created (a file is in its way; missing
     * folders are created) */
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", at("list.txt/dir/x.json"), NULL), 1);
    assert_no_json_and_error(1, "list.txt");
    /* detector-only options on a classifier; a layer out of range */
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, "-thresh", "0.3", NULL), "-thresh");
    assert_no_json_and_error(run("eval", clf, clf_w, list_txt, "-json", json, "-layer", "9", NULL), "-layer 9");
    assert_no_json_and_error(run("eval", det, det_w, list_txt, "-json", json, "-layer", "40", NULL), "-layer 40");
    /* weights of another cfg */
    assert_no_json_and_error(run("eval", det, clf_w, list_txt, "-json", json, NULL), "do not match");
}
END_TEST

/* ---- sanity checks, baselines on the box, RISE, in-box perturbation --------- */

/* The cascade re-initialises layers and must put the network back: a
 * second image's maps and scores are the same with the checks on or off. */
START_TEST(randomization_restores_the_network)
{
    const char *a = write_image("ra", 40, 30, 11), *b = write_image("rb", 40, 30, 12);
    write_label("ra", "1 0.35 0.5 0.3 0.5\n");
    write_label("rb", "2 0.35 0.5 0.3 0.5\n0 0.8 0.3 0.3 0.4\n");
    write_list(a, b, NULL);
    double on[2][4], off[2][4];
    const char *keys[4] = {"energy_in_box", "score", "deletion_auc", "inbox_insertion_auc"};
    for (int pass = 0; pass < 2; ++pass) {
        int rc = pass ? run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "3", "-nosanity", NULL)
                      : run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "3", NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *js = slurp(json);
        const char *pm = per_map(js);
        for (int k = 0; k < 2; ++k)
            for (int q = 0; q < 4; ++q) (pass ? off : on)[k][q] = mval(pm, k + 1, keys[q]);
        if (pass == 0) {
            /* the curve: one point per cascade layer, the reported value on it */
            double layers[32], curve[32];
            int nl = jarray(js, "cascade_layers", 0, layers, 32);
            ck_assert_int_ge(nl, 2);
            for (int j = 1; j < nl; ++j) ck_assert(layers[j] < layers[j - 1]);
            ck_assert_int_eq(jarray(pm, "curve", 0, curve, 32), nl);
            const char *rz = strstr(pm, "\"randomization\": {");
            ck_assert_ptr_nonnull(rz);
            double v = jnum(rz, "spearman", 0), at = jnum(rz, "layer", 0);
            int hit = 0;
            for (int j = 0; j < nl; ++j) {
                ck_assert(curve[j] >= -1 && curve[j] <= 1);
                if (layers[j] == at) {
                    hit = 1;
                    ck_assert_double_eq_tol(curve[j], v, 1e-6);
                }
            }
            ck_assert(hit);
            assert_sanity_counts(js, 3, 3);
            ck_assert_ptr_nonnull(strstr(out, "randomization Spearman"));
        } else {
            ck_assert_ptr_null(strstr(js, "randomization_spearman"));
            ck_assert_ptr_null(strstr(js, "\"randomization\""));
        }
    }
    for (int k = 0; k < 2; ++k)
        for (int q = 0; q < 4; ++q) ck_assert_msg(on[k][q] == off[k][q], "map %d %s: %g vs %g", k + 1, keys[q], on[k][q], off[k][q]);
}
END_TEST

/* The random-pair rows compare the map of the cascade's random draw at the
 * randomisation point with the map of a second draw of the same layers.
 * Checked through another path: weights whose layers from the point up are
 * that second draw (made here with the model's own randomiser and saved) are
 * evaluated as if trained; their randomisation Spearman (second draw against
 * the cascade's) must equal the first run's random pair, over the image and
 * in the box. The cascade runs on below the point (the default 4 points
 * more), so a pair taken against the trained map, against one draw twice,
 * against a lower point's map, or without the trained layers below the point
 * put back, fails. */
START_TEST(random_pair_is_two_draws_of_the_same_layers)
{
    const char *img = write_image("fl", 40, 30, 5);
    write_label("fl", "3 0.4 0.5 0.5 0.6\n");
    write_list(img, NULL);
    /* LayerCAM at layer 2: no map of these random weights is all zero there
     * (a Spearman of 0 or 1 would not tell the maps apart) */
    int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "1", "-seed", "3", "-method", "layercam",
                 "-layer", "2", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    double layers[8];
    int nl = jarray(js, "cascade_layers", 0, layers, 8);
    const char *rz = strstr(per_map(js), "\"randomization\": {");
    ck_assert_ptr_nonnull(rz);
    int p = (int)jnum(rz, "layer", 0);
    ck_assert(nl >= 2 && layers[nl - 1] < p); /* the cascade goes on below the point */
    double trained = jnum(rz, "spearman", 0), rp = jnum(rz, "random_pair", 0), rpb = jnum(rz, "random_pair_box", 0);
    ck_assert_msg(fabs(trained) > 0.01 && fabs(trained) < 0.99 && fabs(rp) > 0.01 && fabs(rp) < 0.99 &&
                  fabs(rpb) > 0.01 && fabs(rpb) < 0.99 && fabs(rp - trained) > 0.01,
                  "trained vs random %g, random pair %g, in the box %g", trained, rp, rpb);
    ck_assert_ptr_nonnull(strstr(out, "random vs. random, in box"));

    gc_err e;
    network *net = gc_model_load(clf, clf_w, &e);
    ck_assert_msg(net != NULL, "%s", e.msg);
    ck_assert_int_ge(p, 0);
    gc_model_randomize_layers(net, p, net->n - 1, gc_eval_pair_seed(3));
    gc_model_save_weights(net, at("draw2.weights"));
    free_network(net);
    rc = run("eval", clf, at("draw2.weights"), list_txt, "-json", json, "-steps", "1", "-seed", "3", "-method",
             "layercam", "-layer", "2", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    rz = strstr(per_map(slurp(json)), "\"randomization\": {");
    ck_assert_ptr_nonnull(rz);
    ck_assert_int_eq((int)jnum(rz, "layer", 0), p);
    ck_assert_double_eq_tol(jnum(rz, "spearman", 0), rp, 1e-6);
    ck_assert_double_eq_tol(jnum(rz, "spearman_box", 0), rpb, 1e-6);
}
END_TEST

/* A one-class network has no other class for the random logit, but its
 * randomisation cascade runs all the same: the randomisation rows count its
 * maps (they had been left out with the random-logit ones, "-" for 0 maps). */
START_TEST(randomization_with_one_class)
{
    write_text(at("one.cfg"), "[net]\nbatch=1\nwidth=20\nheight=16\nchannels=3\n\n"
                              "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
                              "[convolutional]\nfilters=1\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
                              "[avgpool]\n\n[softmax]\ngroups=1\n");
    ck_assert_int_eq(gcf_write_random_weights(at("one.cfg"), at("one.weights"), 4), 0);
    const char *img = write_image("one", 40, 30, 9);
    write_label("one", "0 0.35 0.5 0.3 0.5\n");
    write_list(img, NULL);
    int rc = run("eval", at("one.cfg"), at("one.weights"), list_txt, "-json", json, "-steps", "1", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    long n;
    double v = metric(js, "randomization_spearman", &n);
    ck_assert_int_eq(n, 1);
    const char *rz = strstr(per_map(js), "\"randomization\": {");
    ck_assert_ptr_nonnull(rz);
    ck_assert_double_eq_tol(jnum(rz, "spearman", 0), v, 1e-6);
    metric(js, "randomization_spearman_box", &n);
    ck_assert_int_eq(n, 1);
    metric(js, "random_logit_spearman", &n);
    ck_assert_int_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(js, "\"random_logit\": null"));
}
END_TEST

/* Guided Backprop's map is the input gradient, at no layer: eval names it
 * as the main command does ("layer input", layers []), and its
 * randomisation point, as Guided Grad-CAM's (weighted by that gradient), is
 * the lowest layer with weights: every weight random. Both had been given
 * the default layer and its point, which left the layers below trained. */
START_TEST(guided_methods_are_randomised_from_the_input)
{
    const char *img = write_image("gb", 40, 30, 13);
    write_label("gb", "1 0.35 0.5 0.3 0.5\n");
    write_list(img, NULL);
    static const char *const methods[] = {"guidedbackprop", "guidedgradcam", "gradcam"};
    double ggc_layer = -2;
    for (int k = 0; k < 3; ++k) {
        int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "1", "-method", methods[k], NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *js = slurp(json), *pm = per_map(js);
        double layers[32];
        int nl = jarray(js, "cascade_layers", 0, layers, 32);
        ck_assert_int_ge(nl, 1);
        const char *rz = strstr(pm, "\"randomization\": {");
        ck_assert_ptr_nonnull(rz);
        double at = jnum(rz, "layer", 0), first = jnum(pm, "layer", 0);
        if (k < 2) {
            ck_assert_msg(at == 0 && layers[nl - 1] == 0, "%s: randomised from %g", methods[k], at);
        } else {
            ck_assert_msg(at > 0, "gradcam: randomised from %g", at); /* its own layer's weights, not the input's */
        }
        if (k == 0) {
            ck_assert_msg(first == -1 && strstr(pm, "\"layers\": []"), "%.300s", pm);
            ck_assert_msg(strstr(out, "guidedbackprop, layer input;"), "%s", out);
        } else {
            ck_assert_msg(first >= 0, "%s: layer %g", methods[k], first);
            if (k == 1) ggc_layer = first;
            else ck_assert_msg(first == ggc_layer, "guidedgradcam at layer %g, gradcam at %g", ggc_layer, first);
        }
    }
}
END_TEST

/* "The explained layer and everything above it random" means the explained
 * layer's activations come from random weights: for a layer without weights
 * (max pool, route, shortcut) the point reaches the lowest layer with weights
 * that feeds it without another one between. det_yolo2 at -3: head 6 at 3 (a
 * max pool of conv 2), head 13 at 10 (a route of 9 = upsample of conv 8, and
 * conv 2): both 2, where the layers above the explained one start at 4 and
 * 11. clf_resnet at 3, a shortcut of conv 2 and conv 0: 0, not 5. */
START_TEST(randomization_point_reaches_the_weights_under_the_layer)
{
    const int W = 64, H = 48;
    int cls;
    one_box_scene("p", W, H, &cls);
    for (int pass = 0; pass < 2; ++pass) {
        int rc = pass ? run("eval", "tests/cfg/clf_resnet.cfg", at("res.weights"), list_txt, "-json", json, "-layer",
                            "3", "-steps", "1", "-cascade", "0", NULL)
                      : run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.2", "-steps", "1", "-layer",
                            "-3", "-cascade", "0", NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *js = slurp(json);
        double layers[32];
        int nl = jarray(js, "cascade_layers", 0, layers, 32);
        ck_assert_int_ge(nl, 2);
        int want = pass ? 0 : 2;
        /* -cascade 0: the lowest point is the randomisation point */
        ck_assert_int_eq((int)layers[nl - 1], want);
        const char *pm = per_map(js);
        int maps = 0;
        for (const char *rz = strstr(pm, "\"randomization\": {"); rz; rz = strstr(rz + 1, "\"randomization\": {")) {
            ck_assert_int_eq((int)jnum(rz, "layer", 0), want);
            ++maps;
        }
        ck_assert_int_ge(maps, 1);
        if (!pass) ck_assert_int_eq(gcf_write_random_weights("tests/cfg/clf_resnet.cfg", at("res.weights"), 3), 0);
    }
}
END_TEST

/* A ground-truth box drawn from pixel edges (columns 8..17, rows 6..20 of a
 * 40 x 30 image, as the scenes write their tight boxes) is scored on those
 * pixels: Darknet's drawing arithmetic had taken column 18 and row 21, the
 * pixels just past the box, as inside it. */
START_TEST(ground_truth_box_is_its_pixels)
{
    const char *img = write_image("gt", 40, 30, 8);
    char t[128];
    snprintf(t, sizeof t, "1 %.6f %.6f %.6f %.6f\n", 13 / 40.0, 13.5 / 30.0, 10 / 40.0, 15 / 30.0);
    write_label("gt", t);
    write_list(img, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "1", "-nosanity", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *pm = per_map(slurp(json));
    ck_assert_int_eq((int)mval(pm, 0, "left"), 8);
    ck_assert_int_eq((int)mval(pm, 0, "right"), 17);
    ck_assert_int_eq((int)mval(pm, 0, "top"), 6);
    ck_assert_int_eq((int)mval(pm, 0, "bottom"), 20);
}
END_TEST

/* Explained at layer 2 of cfg (random weights, one image of w x h): the
 * cascade's points are the score convolution 3, then layer 2 itself, which
 * is also the randomisation point: layer 2 has weights of its own. */
static void assert_layer_2_is_randomised(const char *cfg, const char *name, int w, int h)
{
    char wts[64];
    snprintf(wts, sizeof wts, "%s.weights", name);
    ck_assert_int_eq(gcf_write_random_weights(cfg, at(wts), 3), 0);
    const char *img = write_image(name, w, h, 6);
    write_label(name, "1 0.4 0.5 0.5 0.5\n");
    write_list(img, NULL);
    int rc = run("eval", cfg, at(wts), list_txt, "-json", json, "-layer", "2", "-steps", "1", "-cascade", "0", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    double layers[32];
    int nl = jarray(js, "cascade_layers", 0, layers, 32);
    ck_assert_int_eq(nl, 2);
    ck_assert_int_eq((int)layers[0], 3);
    ck_assert_int_eq((int)layers[1], 2);
    const char *rz = strstr(per_map(js), "\"randomization\": {");
    ck_assert_ptr_nonnull(rz);
    ck_assert_int_eq((int)jnum(rz, "layer", 0), 2);
}

/* A [local] layer has weights: explained there, the randomisation point is
 * the local layer itself, and the cascade randomises it (it had passed
 * through it as if it had none, to the convolution below, leaving the
 * explained activations trained). */
START_TEST(randomization_covers_local_layers) { assert_layer_2_is_randomised("tests/cfg/clf_local.cfg", "loc", 16, 16); }
END_TEST

/* A [deconvolutional] layer has weights too: explained there, the cascade
 * randomises it and the randomisation point is the layer itself (it had
 * kept its trained weights, the point passing through it and the max pool
 * under it to the first convolution). */
START_TEST(randomization_covers_deconvolutional_layers)
{
    assert_layer_2_is_randomised("tests/cfg/clf_deconv.cfg", "dec", 16, 12);
}
END_TEST

/* A map that does not depend on the weights or the class (the centre and box
 * priors) keeps a Spearman of exactly 1 under both checks; fresh random
 * values, about 0. The box prior peaks in every box, away from others. */
START_TEST(priors_pass_no_sanity_check)
{
    const char *img = write_image("p", 60, 40, 4);
    write_label("p", "0 0.2 0.3 0.2 0.3\n1 0.75 0.7 0.3 0.4\n");
    write_list(img, NULL);
    const char *names[3] = {"center", "box", "random"};
    for (int b = 0; b < 3; ++b) {
        int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-baseline", names[b], "-steps", "2", NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *js = slurp(json);
        double rs = metric(js, "randomization_spearman", NULL), rl = metric(js, "random_logit_spearman", NULL);
        double rlb = metric(js, "random_logit_spearman_box", NULL), fl = metric(js, "randomization_random_pair", NULL);
        if (b < 2) {
            ck_assert_double_eq_tol(rs, 1, 1e-9);
            ck_assert_double_eq_tol(rl, 1, 1e-9);
            ck_assert_double_eq_tol(rlb, 1, 1e-9);
            ck_assert_double_eq_tol(fl, 1, 1e-9);
        } else {
            ck_assert(fabs(rs) < 0.2 && fabs(rl) < 0.2 && fabs(rlb) < 0.3 && fabs(fl) < 0.2);
        }
        /* the median row is the per-map values' median (two maps: their mean) */
        const char *maps = per_map(js);
        const char *r0 = strstr(maps, "\"random_logit\": {"), *r1 = r0 ? strstr(r0 + 1, "\"random_logit\": {") : NULL;
        ck_assert(r0 && r1);
        ck_assert_double_eq_tol(rlb, (jnum(r0, "spearman_box", 0) + jnum(r1, "spearman_box", 0)) / 2, 1e-6);
        if (b == 1) {
            ck_assert_double_eq(metric(js, "pointing", NULL), 1);
            const char *pm = per_map(js);
            ck_assert(mval(pm, 0, "energy_in_box") > 0.5 && mval(pm, 1, "energy_in_box") > 0.5);
            ck_assert_ptr_nonnull(strstr(js, "\"baseline\": \"box\""));
        }
        double g = metric(js, "gini", NULL);
        ck_assert(g > 0 && g < 1);
        ck_assert_double_eq(metric(js, "all_zero", NULL), 0);
    }
}
END_TEST

/* In-box curves start at the score (deletion) and end at it (insertion); their
 * AUCs are the trapezoids over k / steps. RISE adds its rows, and is
 * reproducible for a seed. */
START_TEST(inbox_curves_and_rise)
{
    const char *img = write_image("q", 48, 36, 9);
    write_label("q", "1 0.35 0.5 0.3 0.5\n");
    write_list(img, NULL);
    double first[3];
    for (int pass = 0; pass < 2; ++pass) {
        int rc = run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "4", "-rise", "40", "-seed", "3", NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *js = slurp(json);
        const char *pm = per_map(js);
        double del[8], ins[8], x[5] = {0, 0.25, 0.5, 0.75, 1};
        ck_assert_int_eq(jarray(pm, "inbox_deletion", 0, del, 8), 5);
        ck_assert_int_eq(jarray(pm, "inbox_insertion", 0, ins, 8), 5);
        double y = mval(pm, 0, "score");
        ck_assert_double_eq_tol(del[0], y, 1e-6);
        ck_assert_double_eq_tol(ins[4], y, 1e-6);
        ck_assert_double_eq_tol(mval(pm, 0, "inbox_deletion_auc"), gc_metrics_auc(x, del, 5), 1e-5);
        ck_assert_double_eq_tol(mval(pm, 0, "inbox_insertion_auc"), gc_metrics_auc(x, ins, 5), 1e-5);
        const char *rise = strstr(pm, "\"rise\": {");
        ck_assert_ptr_nonnull(rise);
        double v[3] = {jnum(rise, "spearman", 0), jnum(rise, "spearman_box", 0), jnum(rise, "peak_within_cell", 0)};
        for (int q = 0; q < 2; ++q) ck_assert(v[q] >= -1 && v[q] <= 1);
        long n;
        ck_assert_double_eq_tol(metric(js, "rise_spearman", &n), v[0], 1e-6);
        ck_assert_int_eq(n, 1);
        ck_assert_double_eq_tol(metric(js, "rise_peak_within_cell", NULL), v[2], 1e-9);
        if (pass == 0) memcpy(first, v, sizeof v);
        else
            for (int q = 0; q < 3; ++q) ck_assert_double_eq(first[q], v[q]);
    }
    ck_assert_ptr_nonnull(strstr(out, "RISE Spearman, in box"));
}
END_TEST

/* A label box that runs past the image's edge is its part on the image:
 * the same rows as the label of that part alone. On a 40x64 image in the
 * 20x16 input (letterboxed to 10x16, grey bars of 5 columns each side) the
 * box x 0.7-1.1 had taken a column of the right bar: pixels deletion and
 * insertion cannot change, and the box baseline's Gaussian moved onto them. */
START_TEST(a_box_past_the_image_edge_is_its_part_on_the_image)
{
    const char *a = write_image("edge_a", 40, 64, 5), *b = write_image("edge_b", 40, 64, 5);
    write_label("edge_a", "1 0.9 0.5 0.4 0.5\n");  /* x 28-44 of 40 */
    write_label("edge_b", "1 0.85 0.5 0.3 0.5\n"); /* x 28-40 */
    write_list(a, b, NULL);
    static const char *const keys[] = {"pointing",     "energy_in_box",       "inbox_deletion_auc",
                                       "inbox_insertion_auc", "deletion_auc", "insertion_auc", "gini"};
    for (int v = 0; v < 2; ++v) {
        int rc = v ? run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "4", "-nosanity", "-baseline", "box", NULL)
                   : run("eval", clf, clf_w, list_txt, "-json", json, "-steps", "4", "-nosanity", NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *pm = per_map(slurp(json));
        for (size_t k = 0; k < sizeof keys / sizeof *keys; ++k) {
            double x = mval(pm, 0, keys[k]), y = mval(pm, 1, keys[k]);
            ck_assert_msg(!isnan(x) && x == y, "%s %s: %g against %g", v ? "-baseline box" : "gradcam", keys[k], x, y);
        }
    }
}
END_TEST

/* Detectors: the cell baseline is the box's head cell (so it never changes
 * under either check), and is not all zero. */
START_TEST(detector_cell_and_box_baselines)
{
    const int W = 64, H = 48;
    int cls;
    one_box_scene("g", W, H, &cls);
    gcf_rmtree(at("out"));
    ck_assert_int_eq(mkdir(at("out"), 0755), 0);
    for (int k = 0; k < 2; ++k) {
        int rc = run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.2", "-baseline", k ? "cell" : "box",
                     "-steps", "2", NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *js = slurp(json);
        long n;
        ck_assert_double_eq(metric(js, "matched", &n), 1);
        ck_assert_double_eq_tol(metric(js, "randomization_spearman", NULL), 1, 1e-9);
        ck_assert_double_eq_tol(metric(js, "randomization_random_pair", NULL), 1, 1e-9);
        ck_assert_double_eq_tol(metric(js, "randomization_random_pair_box", NULL), 1, 1e-9);
        ck_assert_double_eq_tol(metric(js, "random_logit_spearman", NULL), 1, 1e-9);
        ck_assert_double_eq_tol(metric(js, "random_logit_spearman_box", NULL), 1, 1e-9);
        ck_assert_double_eq(metric(js, "all_zero", NULL), 0);
        ck_assert_int_eq((int)mval(per_map(js), 0, "layer"), -1);
        /* one box and no twin of its class: no own-instance row */
        ck_assert_ptr_null(strstr(js, "own_instance_pointing"));
        ck_assert_ptr_nonnull(strstr(js, "\"own_instance\": null"));
    }
}
END_TEST

/* Detector RISE: the masks weighted by the box's own score by default (the
 * JSON says which), by D-RISE's best IoU x probability with -rise-weight iou;
 * the two references differ, and the default is "own" exactly. */
START_TEST(detector_rise_weights)
{
    const int W = 64, H = 48;
    int cls;
    one_box_scene("w", W, H, &cls);
    gcf_rmtree(at("out"));
    ck_assert_int_eq(mkdir(at("out"), 0755), 0);
    double v[3][2];
    const char *weight[3] = {NULL, "own", "iou"};
    for (int k = 0; k < 3; ++k) {
        int rc = weight[k] ? run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.2", "-steps", "1",
                                 "-nosanity", "-rise", "60", "-rise-weight", weight[k], NULL)
                           : run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.2", "-steps", "1",
                                 "-nosanity", "-rise", "60", NULL);
        ck_assert_msg(rc == 0, "%s", err);
        const char *js = slurp(json);
        char want[64];
        snprintf(want, sizeof want, "\"rise_weight\": \"%s\"", weight[k] ? weight[k] : "own");
        ck_assert_msg(strstr(js, want) != NULL, "%s", want);
        const char *rise = strstr(per_map(js), "\"rise\": {");
        ck_assert_ptr_nonnull(rise);
        v[k][0] = jnum(rise, "spearman", 0);
        v[k][1] = jnum(rise, "spearman_box", 0);
        for (int q = 0; q < 2; ++q) ck_assert(v[k][q] >= -1 && v[k][q] <= 1);
    }
    ck_assert_double_eq(v[0][0], v[1][0]);
    ck_assert_double_eq(v[0][1], v[1][1]);
    ck_assert_msg(v[1][0] != v[2][0] || v[1][1] != v[2][1], "own and iou weights gave the same RISE map");
    /* usage errors */
    ck_assert_int_eq(remove(json), 0);
    ck_assert_int_eq(run("eval", det, det_w, list_txt, "-json", json, "-rise", "5", "-rise-weight", "max", NULL), 2);
    assert_no_json_and_error(2, "-rise-weight max");
    ck_assert_int_eq(run("eval", det, det_w, list_txt, "-json", json, "-rise-weight", "iou", NULL), 2);
    assert_no_json_and_error(2, "-rise N");
    const char *ci = write_image("wc", 30, 30, 5);
    write_label("wc", "1 0.5 0.5 0.5 0.5\n");
    write_list(ci, NULL);
    /* a detector option on a classifier: a usage error */
    ck_assert_int_eq(run("eval", clf, clf_w, list_txt, "-json", json, "-rise", "5", "-rise-weight", "own", NULL), 2);
    assert_no_json_and_error(2, "-rise-weight");
}
END_TEST

/* eval's keywords take any case, as -method, -smooth, -target and scenes'
 * kinds do: -rise-weight IOU had been "unknown (own, iou)" where -baseline
 * CENTER was taken. */
START_TEST(eval_keywords_take_any_case)
{
    gc_baseline b = GC_BASELINE_NONE;
    ck_assert_int_eq(gc_eval_baseline_parse("CENTER", &b), 0);
    ck_assert_int_eq(b, GC_BASELINE_CENTER);
    ck_assert_int_eq(gc_eval_baseline_parse("Cell", &b), 0);
    ck_assert_int_eq(b, GC_BASELINE_CELL);
    gc_rise_weight w = GC_RISE_WEIGHT_OWN;
    ck_assert_int_eq(gc_eval_rise_weight_parse("IOU", &w), 0);
    ck_assert_int_eq(w, GC_RISE_WEIGHT_IOU);
    ck_assert_int_eq(gc_eval_rise_weight_parse("Own", &w), 0);
    ck_assert_int_eq(w, GC_RISE_WEIGHT_OWN);
    ck_assert_int_eq(gc_eval_rise_weight_parse("max", &w), -1);
    ck_assert_int_eq(gc_eval_rise_weight_parse("", &w), -1);
}
END_TEST

/* The own-score RISE reference recomputed here by a direct loop: the same
 * seeded masks (eval seeds them with seed * 0xD1B54A32D192ED03 + 5), the box's
 * objectness x class probability read from its [yolo] head's output by hand
 * under each mask, sum / (N p); then its Spearman with the default map, over
 * the image and inside the box, must be eval's. */
START_TEST(detector_rise_own_weight_by_hand)
{
    const int W = 64, H = 48, N = 24;
    int cls;
    const char *img = one_box_scene("w", W, H, &cls);
    int rc = run("eval", det, det_w, list_txt, "-json", json, "-thresh", "0.2", "-steps", "1", "-nosanity", "-rise",
                 "24", "-seed", "3", NULL);
    ck_assert_msg(rc == 0, "%s", err);
    const char *js = slurp(json);
    const char *rise = strstr(per_map(js), "\"rise\": {");
    ck_assert_ptr_nonnull(rise);
    double want_img = jnum(rise, "spearman", 0), want_box = jnum(rise, "spearman_box", 0);
    const char *dj = strstr(per_map(js), "\"detection\": {");
    ck_assert_ptr_nonnull(dj);
    float dprob = (float)jnum(dj, "probability", 0); /* the detection eval matched */

    gc_err e;
    network *net = gc_model_load(det, det_w, &e);
    ck_assert_msg(net != NULL, "%s", e.msg);
    gc_session s;
    ck_assert_msg(gc_explain_open(&s, net, img, &e) == 0, "%s", e.msg);
    /* the detection eval matched to the label */
    gc_boxes bx;
    gc_det *dets = NULL, d;
    int nd = 0, k = -1;
    ck_assert_int_eq(gc_detect_decode(net, W, H, 0.005f, 0.5f, &bx, &e), 0);
    ck_assert_int_eq(gc_detect_boxes(&bx, 0.005f, 0.45f, &dets, &nd, &e), 0);
    gc_detect_boxes_free(&bx);
    for (int i = 0; i < nd; ++i)
        if (dets[i].cls == cls && (k < 0 || fabsf(dets[i].prob - dprob) < fabsf(dets[k].prob - dprob))) k = i;
    ck_assert_int_ge(k, 0);
    ck_assert_float_eq_tol(dets[k].prob, dprob, 1e-4f);
    d = dets[k];
    free(dets);
    const layer *hl = &net->layers[d.head];
    ck_assert_int_eq(hl->type, YOLO);
    int nw = net->w, nh = net->h;
    size_t npx = (size_t)nw * nh;
    float *up = malloc(npx * sizeof *up), *sal = calloc(npx, sizeof *sal), *mask = malloc(npx * sizeof *mask);
    float *x = malloc(3 * npx * sizeof *x), grid[16 * 16];
    float *ha = malloc((size_t)W * H * sizeof *ha), *hb = malloc((size_t)W * H * sizeof *hb);
    float *ga = malloc((size_t)W * H * sizeof *ga), *gb = malloc((size_t)W * H * sizeof *gb);
    double *ra = malloc((size_t)W * H * sizeof *ra), *rb = malloc((size_t)W * H * sizeof *rb);
    void *scr = malloc(gc_metrics_rank_scratch_size((size_t)W * H));
    ck_assert(up && sal && mask && x && ha && hb && ga && gb && ra && rb && scr);
    gc_explain_opts ex;
    memset(&ex, 0, sizeof ex);
    ex.method = GC_METHOD_LAYERCAM;
    gc_subject subj = {cls, &d};
    gc_map gm;
    ck_assert_msg(gc_explain_target(&s, &subj, &ex, &gm, &e) == 0, "%s", e.msg);
    if (gm.w == nw && gm.h == nh) memcpy(up, gm.data, npx * sizeof *up);
    else gc_render_resize(gm.data, gm.w, gm.h, up, nw, nh);
    const float *in = s.input.data;
    uint64_t st = 3ull * 0xD1B54A32D192ED03ull + 5;
    int wh = hl->w * hl->h, per = 4 + 1 + hl->classes, scored = 0;
    for (int i = 0; i < N; ++i) {
        gc_metrics_rise_mask(nw, nh, 16, 0.5f, &st, grid, mask);
        for (int c = 0; c < 3; ++c)
            for (size_t p = 0; p < npx; ++p) x[(size_t)c * npx + p] = in[(size_t)c * npx + p] * mask[p];
        gc_hooks_forward(&s.ctx, x);
        const float *o = hl->output + (size_t)d.anchor * wh * per + d.cell;
        float sc = o[4 * wh] * o[(size_t)(5 + cls) * wh];
        scored += sc > 0;
        for (size_t p = 0; p < npx; ++p) sal[p] += mask[p] * sc;
    }
    ck_assert_int_gt(scored, 0);
    for (size_t p = 0; p < npx; ++p) sal[p] /= N * 0.5f;
    gc_render_map_to_image(up, nw, nh, &s.lb, ha);
    gc_render_map_to_image(sal, nw, nh, &s.lb, hb);
    double got_img = gc_metrics_spearman(ha, hb, (size_t)W * H, ra, rb, scr);
    gc_pbox pb = gc_metrics_pbox_cover((gc_rbox){d.bbox.x, d.bbox.y, d.bbox.w, d.bbox.h}, W, H);
    size_t n = gc_metrics_box_gather(ha, W, H, pb, ga);
    gc_metrics_box_gather(hb, W, H, pb, gb);
    double got_box = gc_metrics_spearman(ga, gb, n, ra, rb, scr);
    ck_assert_msg(fabs(got_img - want_img) < 1e-5 && fabs(got_box - want_box) < 1e-5,
                  "RISE Spearman by hand %g / %g (box), eval %g / %g", got_img, got_box, want_img, want_box);
    gc_explain_close(&s);
    free_network(net);
    free(up), free(sal), free(mask), free(x), free(ha), free(hb), free(ga), free(gb), free(ra), free(rb), free(scr);
}
END_TEST

/* -json -: the report on stdout, the table and a closing "json -" line on
 * stderr, as in the main command; it had said "json /dev/stdout". */
START_TEST(json_dash_line_says_dash)
{
    const char *img = write_image("a", 48, 36, 7);
    write_label("a", "1 0.35 0.5 0.3 0.5\n");
    write_list(img, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-json", "-", "-steps", "2", "-nosanity", NULL);
    ck_assert_msg(rc == 0, "rc %d\n%s", rc, err);
    ck_assert_msg(strstr(err, "pointing game") && strstr(err, "\njson -\n") && !strstr(err, "/dev/stdout"),
                  "stderr:\n%s", err);
    ck_assert_msg(out[0] == '{' && !strstr(out, "pointing game") && !strstr(out, "\njson "), "stdout:\n%s", out);
}
END_TEST

/* "-" as eval's list is standard input, read once (a pipe cannot be read
 * again), as list mode's -list - is; messages name it "image list -
 * (standard input)". It had been "image list file -: No such file or
 * directory". The same metrics as from the file, with -json (which reads
 * the list's images to protect them) and without. */
START_TEST(a_list_from_stdin)
{
    const char *a = write_image("a", 48, 36, 7), *b = write_image("b", 36, 48, 8);
    write_label("a", "1 0.35 0.5 0.3 0.5\n");
    write_label("b", "0 0.5 0.5 0.4 0.4\n");
    write_list(a, b, NULL);
    ck_assert_msg(run("eval", clf, clf_w, list_txt, "-steps", "2", "-nosanity", "-quiet", NULL) == 0, "%s", err);
    char *table = strdup(out);
    char cmd[16384], json2[4200];
    snprintf(json2, sizeof json2, "%s.2", json);
    snprintf(cmd, sizeof cmd, "cat %s | exec %s gradcam eval %s %s - -steps 2 -nosanity -quiet -json %s", list_txt,
             gcf_shell_binary(), clf, clf_w, json2);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d\n%s", rc, err);
    ck_assert_msg(strstr(out, table) == out, "from stdin:\n%s\nfrom the file:\n%s", out, table);
    ck_assert_msg(strstr(slurp(json2), "\"pointing\""), "%s", slurp(json2));
    /* an image that cannot be read is named with the list as given */
    snprintf(cmd, sizeof cmd, "printf 'nope.png\\n' | exec %s gradcam eval %s %s - -steps 2", gcf_shell_binary(), clf,
             clf_w);
    rc = gcf_run(argv, out, sizeof out, err, sizeof err);
    ck_assert_msg(rc == 1 && strstr(err, "gradcam: image list - (standard input), image 1: cannot open image nope.png") &&
                      !strstr(err, "/dev/stdin"),
                  "exit %d\n%s", rc, err);
    free(table);
}
END_TEST

/* -rise N runs N forward passes per image: with many masks, progress within
 * the image (a line every 1000 masks without a terminal, the image's last
 * excepted), where -rise 1000000 had shown nothing for hours; none with 1000
 * or fewer. */
START_TEST(rise_shows_progress_within_an_image)
{
    const char *img = write_image("r", 40, 30, 4);
    write_label("r", "2 0.4 0.5 0.3 0.4\n");
    write_list(img, NULL);
    int rc = run("eval", clf, clf_w, list_txt, "-rise", "2500", "-nosanity", "-steps", "2", NULL);
    ck_assert_msg(rc == 0, "%s", gcf_tail(err, 400));
    const char *a = strstr(err, "eval: image 1/1, RISE mask 1000/2500, ");
    const char *b = strstr(err, "eval: image 1/1, RISE mask 2000/2500, ");
    ck_assert_msg(a && b && a < b && strstr(b, "masks/s, ETA ") && !strstr(err, "RISE mask 2500/2500"), "%s",
                  gcf_tail(err, 600));
    ck_assert_msg(strstr(b, "\neval: 1/1 images\n"), "%s", gcf_tail(err, 600)); /* then the image's own line */
    rc = run("eval", clf, clf_w, list_txt, "-rise", "1000", "-nosanity", "-steps", "2", NULL);
    ck_assert_msg(rc == 0 && !strstr(err, "RISE mask"), "%s", gcf_tail(err, 600));
    /* -quiet: neither the masks' lines nor the images' */
    rc = run("eval", clf, clf_w, list_txt, "-rise", "2500", "-nosanity", "-steps", "2", "-quiet", NULL);
    ck_assert_msg(rc == 0 && !strstr(err, "eval: "), "%s", gcf_tail(err, 600));
    ck_assert_ptr_nonnull(strstr(out, "pointing game")); /* the table is still there */
}
END_TEST

START_TEST(help_lists_eval)
{
    ck_assert_int_eq(run("help", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "gradcam eval <cfg> <weights> <list.txt>"));
    ck_assert_ptr_nonnull(strstr(out, "-baseline"));
}
END_TEST

/* The header line counts in words: "1 image, 1 labeled object, 1 map; ...
 * 1 deletion/insertion step" (it had said "1 images, 1 labeled objects"). */
START_TEST(header_says_one_image)
{
    gc_eval_result r;
    gc_eval_opts o;
    memset(&r, 0, sizeof r);
    memset(&o, 0, sizeof o);
    r.detector = 1;
    r.nimages = r.nobjects = r.nmaps = r.steps = 1;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    gc_eval_print_table(&r, &o, f);
    fclose(f);
    ck_assert_msg(!strncmp(text, "gradcam eval: detector, 1 image, 1 labeled object, 1 map; ", 58), "%s", text);
    ck_assert_msg(strstr(text, "; 1 deletion/insertion step\n") != NULL, "%s", text);
    free(text);
}
END_TEST

Suite *suite_eval(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("darknet gradcam eval");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, classifier_maps_match_the_main_command);
    tcase_add_test(tc, json_dash_line_says_dash);
    tcase_add_test(tc, a_list_from_stdin);
    tcase_add_test(tc, rise_shows_progress_within_an_image);
    tcase_add_test(tc, classifier_accuracy_and_top1_localization);
    tcase_add_test(tc, a_repeated_image_is_named);
    tcase_add_test(tc, deletion_insertion_curves);
    tcase_add_test(tc, center_baseline_points_at_the_centre);
    tcase_add_test(tc, pointing_every_object_counts_images);
    tcase_add_test(tc, random_baseline_is_seeded);
    tcase_add_test(tc, detector_maps_match_the_main_command);
    tcase_add_test(tc, detector_without_objects_and_limit);
    tcase_add_test(tc, errors_leave_no_json);
    tcase_add_test(tc, bad_options);
    tcase_add_test(tc, help_lists_eval);
    tcase_add_test(tc, randomization_restores_the_network);
    tcase_add_test(tc, randomization_point_reaches_the_weights_under_the_layer);
    tcase_add_test(tc, randomization_covers_local_layers);
    tcase_add_test(tc, randomization_with_one_class);
    tcase_add_test(tc, random_pair_is_two_draws_of_the_same_layers);
    tcase_add_test(tc, guided_methods_are_randomised_from_the_input);
    tcase_add_test(tc, a_cut_image_fails_before_any_forward_pass);
    tcase_add_test(tc, randomization_covers_deconvolutional_layers);
    tcase_add_test(tc, ground_truth_box_is_its_pixels);
    tcase_add_test(tc, priors_pass_no_sanity_check);
    tcase_add_test(tc, inbox_curves_and_rise);
    tcase_add_test(tc, a_box_past_the_image_edge_is_its_part_on_the_image);
    tcase_add_test(tc, detector_cell_and_box_baselines);
    tcase_add_test(tc, detector_rise_weights);
    tcase_add_test(tc, eval_keywords_take_any_case);
    tcase_add_test(tc, detector_rise_own_weight_by_hand);
    tcase_add_test(tc, header_says_one_image);
    suite_add_tcase(s, tc);
    return s;
}
