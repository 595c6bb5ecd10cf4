/* Every cfg that ships with Darknet: it parses, the plugin finds what it
 * explains and a sensible default layer, and one explanation with random
 * weights runs without a crash and gives a finite map. Recurrent cfgs get a
 * clear error naming the unsupported layer instead. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_backward.h"
#include "gc_cam.h"
#include "gc_classify.h"
#include "gc_detect_run.h"
#include "gc_explain.h"
#include "gc_fixture.h"
#include "gc_hooks.h"
#include "gc_tests.h"

#define MAX_CFGS 128
static char *cfgs[MAX_CFGS];
static int ncfgs;

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_cfgs(void)
{
    if (ncfgs) return;
    DIR *d = opendir(gcf_darknet_path("cfg"));
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) && ncfgs < MAX_CFGS) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".cfg")) cfgs[ncfgs++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(cfgs, (size_t)ncfgs, sizeof *cfgs, by_name);
}

static int has_recurrent(const network *net)
{
    for (int i = 0; i < net->n; ++i) {
        LAYER_TYPE t = net->layers[i].type;
        if (t == RNN || t == GRU || t == LSTM || t == CRNN) return 1;
    }
    return 0;
}

/* Expected default layer type for the classic classifiers. */
static const char *expected_default(const char *name)
{
    static const struct { const char *cfg, *type; } want[] = {
        {"darknet19.cfg", "convolutional"}, {"darknet53.cfg", "shortcut"}, {"resnet50.cfg", "shortcut"},
        {"resnet18.cfg", "shortcut"},       {"tiny.cfg", "convolutional"},  {"alexnet.cfg", "maxpool"},
        {"densenet201.cfg", "convolutional"},       {"vgg-16.cfg", "maxpool"},      {"resnext50.cfg", "shortcut"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; ++i)
        if (!strcmp(want[i].cfg, name)) return want[i].type;
    return NULL;
}

START_TEST(shipped_cfg)
{
    list_cfgs();
    ck_assert_int_gt(ncfgs, 40);
    if (_i >= ncfgs) return;
    /* Darknet's cfgs name data files (9k.tree) relative to its own tree: parse
     * from there, as Darknet users do (each test runs in its own process). */
    ck_assert_int_eq(chdir(gcf_darknet_path(".")), 0);
    char path[4096];
    snprintf(path, sizeof path, "cfg/%s", cfgs[_i]);
    network *net = gcf_random_network(path, 1 + (unsigned)_i);
    ck_assert_msg(net != NULL, "%s does not parse", cfgs[_i]);
    gc_err e = {0};
    if (has_recurrent(net)) {
        gc_classifier cl;
        ck_assert_int_eq(gc_classify_find(net, &cl, &e), 0);
        gc_ctx c;
        ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
        int ok = 1;
        for (int i = 0; i < net->n; ++i) ok &= gc_backward_supported(net, i, &e);
        ck_assert_msg(!ok, "%s: a recurrent layer claims support", cfgs[_i]);
        ck_assert_msg(strstr(e.msg, "rnn") || strstr(e.msg, "gru") || strstr(e.msg, "lstm") || strstr(e.msg, "crnn"),
                      "%s: %s", cfgs[_i], e.msg);
        gc_hooks_free(&c);
        free_network(net);
        return;
    }
    if (gc_darknet_is_detector(net)) {
        /* every layer below a head must be differentiable, and each head's
         * default layer is a spatial feature layer the head depends on */
        for (int i = 0; i < net->n; ++i)
            ck_assert_msg(gc_backward_supported(net, i, &e), "%s: %s", cfgs[_i], e.msg);
        gc_ctx c;
        ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
        int heads = 0;
        for (int h = 0; h < net->n; ++h) {
            LAYER_TYPE t = net->layers[h].type;
            if (t != YOLO && t != REGION && t != DETECTION) continue;
            ++heads;
            int ls[GC_MAX_LAYERS];
            int nl = gc_explain_default_layers(net, h, ls, &e);
            ck_assert_msg(nl >= 1 && nl <= 2, "%s: head %d: %d default layers", cfgs[_i], h, nl);
            for (int j = 0; j < nl; ++j) {
                int li = ls[j];
                const layer *l = &net->layers[li];
                ck_assert_msg(li < h - 1 && l->out_w * l->out_h > 1, "%s: head %d default layer %d", cfgs[_i], h, li);
                ck_assert_msg(gc_hooks_path(&c, li, h, &e) == 0, "%s: head %d: %s", cfgs[_i], h, e.msg);
                if (j) ck_assert_msg(li < ls[j - 1], "%s: head %d: layers %d, %d not top down", cfgs[_i], h, ls[0], li);
            }
        }
        ck_assert_int_gt(heads, 0);
        gc_hooks_free(&c);
        free_network(net);
        return;
    }
    gc_classifier cl;
    ck_assert_msg(gc_classify_find(net, &cl, &e) == 0, "%s: %s", cfgs[_i], e.msg);
    int li = -1;
    ck_assert_msg(gc_explain_default_layers(net, cl.logit_layer, &li, &e) == 1, "%s: %s", cfgs[_i], e.msg);
    const layer *l = &net->layers[li];
    ck_assert_msg(l->out_w * l->out_h > 1 && li < cl.logit_layer, "%s: default layer %d", cfgs[_i], li);
    const char *want = expected_default(cfgs[_i]);
    if (want)
        ck_assert_msg(!strcmp(gc_darknet_type_name(l->type), want), "%s: default layer %d is %s, expected %s",
                      cfgs[_i], li, gc_darknet_type_name(l->type), want);

    /* one explanation on a random image */
    float *x = malloc((size_t)net->inputs * sizeof *x);
    uint64_t st = 5;
    for (int i = 0; i < net->inputs; ++i) x[i] = gcf_uniform(&st, 0, 1);
    gc_ctx c;
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);
    ck_assert_msg(gc_hooks_backprop(&c, cl.logit_layer, NULL, 0, 1.0f, li, &e) == 0, "%s: %s", cfgs[_i], e.msg);
    size_t hw = (size_t)l->out_w * l->out_h;
    float *map = malloc(hw * sizeof *map), *w = malloc((size_t)l->out_c * sizeof *w);
    int rc = gc_cam_compute(GC_METHOD_GRADCAM, l->output, l->delta, (size_t)l->out_c, (size_t)l->out_h,
                            (size_t)l->out_w, w, map, NULL);
    ck_assert_msg(rc == 0, "%s: non-finite map", cfgs[_i]);
    for (size_t i = 0; i < hw; ++i) ck_assert(isfinite(map[i]) && map[i] >= 0);
    gc_hooks_free(&c);
    free(map);
    free(w);
    free(x);
    free_network(net);
}
END_TEST

/* The detector default rule, worked by hand on two known cfgs: walking down
 * from the 1x1 score conv, the half-width of one head cell's gradient grows
 * by size/2 at each convolution or pooling (x stride below it). */
static void assert_default(const char *cfg, int head, int n, int l0, int l1)
{
    network *net = gcf_random_network(cfg, 1);
    ck_assert_ptr_nonnull(net);
    int ls[GC_MAX_LAYERS];
    gc_err e;
    ck_assert_int_eq(gc_explain_default_layers(net, head, ls, &e), n);
    ck_assert_msg(ls[0] == l0, "%s head %d: first default layer %d, expected %d", cfg, head, ls[0], l0);
    if (n > 1) ck_assert_msg(ls[1] == l1, "%s head %d: second default layer %d, expected %d", cfg, head, ls[1], l1);
    free_network(net);
}

START_TEST(detector_default_layers_by_hand)
{
    /* fmnist-det, head 12: score 11 (1x1); 10 is 3x3 -> r 1 at 9 and 8 (9 is
     * 1x1); 8 is 3x3 -> r 2 at 7 (first group with r >= 2); 7 is a 2x2/2
     * maxpool -> r 2*2 + 1 = 5 at 6, but 6 is under that strided pool (its
     * gradient reaches one cell in four), so its group has no candidate; 6 is
     * 3x3 -> r 6 at the pool 5 (next group, r >= 4); so 7 and 5. Head 19:
     * score 18; 17 is 3x3 -> r 1 at 16, a route of layers 15 and 6: on
     * through its first input, the 2x upsampling 15 (r 1 at 14, in 8x8
     * cells), the 1x1 14, the route 13 of layer 9, the 1x1 9; 8 is 3x3 -> r 2
     * at 7; then as head 12: 7 and 5. */
    assert_default("cfg/fmnist-det.cfg", 12, 2, 7, 5);
    assert_default("cfg/fmnist-det.cfg", 19, 2, 7, 5);
    /* YOLOv2 (Darknet's yolov2.cfg), head 31: score 30 (1x1); 29 is 3x3 -> r
     * 1 at the route 28 of the reorg 27 and layer 24. The reorg is a
     * passthrough the walk cannot follow (its first input: the walk used to
     * stop there and explain at 27, a 1x1 convolution of layer 16 folded onto
     * the coarse grid), so on into 24: 3x3 -> r 2 at 23 (first group), 23 is
     * 3x3 -> r 3 at 22, 22 is 3x3 -> r 4 at 21, 21 is 1x1 -> r 4 at 20 (the
     * group's lowest): 23 and 20. */
    char v2[4096];
    snprintf(v2, sizeof v2, "%s", gcf_darknet_path("cfg/yolov2.cfg"));
    assert_default(v2, 31, 2, 23, 20);
    /* Yolo-Fastest, when present. Head 121: 119 and 118 r 0 (1x1 above);
     * 118 is 5x5 -> r 2 at 117, 116; 116 is 5x5 -> r 4 at 115 and the
     * concatenating route 114 (lowest of that group: the walk has both
     * layers there): 116 and 114 (-5, -7). Head 130: 127
     * 5x5 -> r 2 at 126, 125; 125 5x5 -> r 4 at the route 124: 125 and 124. */
    const char *yf = gcf_shared_model("yolo-fastest/yolo-fastest-1.1.cfg");
    if (!yf) return;
    assert_default(yf, 121, 2, 116, 114);
    assert_default(yf, 130, 2, 125, 124);
}
END_TEST

Suite *suite_cfgs(void)
{
    list_cfgs();
    Suite *s = suite_create("cfgs");
    TCase *tc = tcase_create("darknet cfg/");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, shipped_cfg, 0, ncfgs > 0 ? ncfgs : 1);
    tcase_add_test(tc, detector_default_layers_by_hand);
    suite_add_tcase(s, tc);
    return s;
}
