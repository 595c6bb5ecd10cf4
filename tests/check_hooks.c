/* gc_hooks: slots are installed and restored, only path layers are visited,
 * and the driven backward pass gives the finite-difference gradient of the
 * class logit at the chosen layer of whole networks with batch norm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gc_backward.h"
#include "gc_fixture.h"
#include "gc_hooks.h"
#include "gc_tests.h"

static void random_input(float *x, int n, unsigned seed)
{
    uint64_t st = seed;
    for (int i = 0; i < n; ++i) x[i] = gcf_uniform(&st, 0.0f, 1.0f);
}

typedef struct logit_at {
    int layer, index;
} logit_at;

static double output_at(const network *net, const void *ctx)
{
    const logit_at *w = ctx;
    return net->layers[w->layer].output[w->index];
}

static void check_network_gradient(const char *cfg, int target, int score, int index, unsigned seed)
{
    network *net = gcf_random_network(cfg, seed);
    ck_assert_ptr_nonnull(net);
    float *x = malloc((size_t)net->inputs * sizeof *x);
    random_input(x, net->inputs, seed + 1);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);
    ck_assert_msg(gc_hooks_backprop(&c, score, NULL, (size_t)index, 1.0f, target, &e) == 0, "%s", e.msg);
    int n = net->layers[target].outputs;
    float *g = malloc((size_t)n * sizeof *g);
    memcpy(g, net->layers[target].delta, (size_t)n * sizeof *g);
    double *fd = malloc((size_t)n * sizeof *fd);
    ck_assert(g && fd);
    logit_at at = {score, index};
    int ties = gcf_finite_differences(net, target, score, output_at, &at, 1e-3f, fd);
    ck_assert_msg(ties * 20 < n, "%s: %d of %d elements sit on a maxpool tie", cfg, ties, n);
    double err = gcf_rel_error(g, fd, n), norm = 0;
    for (int i = 0; i < n; ++i)
        if (!isnan(fd[i])) norm += fd[i] * fd[i];
    ck_assert_msg(norm > 1e-12, "%s: gradient at layer %d is zero; the test would prove nothing", cfg, target);
    ck_assert_msg(err < 2e-2, "%s: layer %d gradient of layer %d[%d]: relative error %g", cfg, target, score,
                  index, err);
    /* and the comparison itself is sharp: a gradient off by 10% fails it */
    for (int i = 0; i < n; ++i) g[i] *= 1.1f;
    ck_assert(gcf_rel_error(g, fd, n) > 5e-2);
    gc_hooks_free(&c);
    free(g);
    free(fd);
    free(x);
    free_network(net);
}

START_TEST(whole_network_with_batchnorm_matches_finite_differences)
{
    /* clf_bn: 0 conv-bn, 1 maxpool, 2 conv-bn, 3 conv 1x1, 4 avgpool (logits), 5 softmax */
    for (int c = 0; c < 5; ++c) check_network_gradient("tests/cfg/clf_bn.cfg", 2, 4, c, 100 + (unsigned)c);
    check_network_gradient("tests/cfg/clf_bn.cfg", 0, 4, 3, 7);
}
END_TEST

START_TEST(residual_network_sums_gradients_from_every_consumer)
{
    /* clf_resnet: layer 0 feeds layer 1 and the shortcut (3); layer 1 feeds
     * layer 2 and the route (4): their gradients arrive along two paths. */
    for (int t = 0; t <= 3; ++t) check_network_gradient("tests/cfg/clf_resnet.cfg", t, 6, 1, 40 + (unsigned)t);
}
END_TEST

START_TEST(gap_fc_network_matches_finite_differences)
{
    check_network_gradient("tests/cfg/clf_gap_fc.cfg", 1, 3, 2, 5);
    check_network_gradient("tests/cfg/clf_gap_fc.cfg", 0, 3, 0, 6);
}
END_TEST

START_TEST(install_and_remove_restore_every_slot)
{
    network *net = gcf_random_network("tests/cfg/clf_resnet.cfg", 1);
    gc_backward_fn before[16];
    for (int i = 0; i < net->n; ++i) before[i] = net->layers[i].backward;
    gc_ctx c;
    gc_err e;
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    for (int i = 0; i < net->n; ++i) ck_assert(net->layers[i].backward == gc_backward_layer);
    gc_hooks_remove(&c);
    for (int i = 0; i < net->n; ++i) ck_assert(net->layers[i].backward == before[i]);
    gc_hooks_install(&c);
    gc_hooks_free(&c); /* frees while installed: must restore too */
    for (int i = 0; i < net->n; ++i) ck_assert(net->layers[i].backward == before[i]);
    free_network(net);
}
END_TEST

START_TEST(batch_must_be_one)
{
    network *net = parse_network_cfg("tests/cfg/clf_bn.cfg");
    set_batch_network(net, 2);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "batch"));
    free_network(net);
}
END_TEST

START_TEST(inputs_and_path)
{
    network *net = gcf_random_network("tests/cfg/clf_resnet.cfg", 1);
    int in[8];
    ck_assert_int_eq(gc_darknet_layer_inputs(net, 0, in, 8), 0);
    ck_assert_int_eq(gc_darknet_layer_inputs(net, 3, in, 8), 2); /* shortcut: previous + from */
    ck_assert_int_eq(in[0], 2);
    ck_assert_int_eq(in[1], 0);
    ck_assert_int_eq(gc_darknet_layer_inputs(net, 4, in, 8), 2); /* route -1,-3 */
    ck_assert_int_eq(in[0], 3);
    ck_assert_int_eq(in[1], 1);

    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    /* from layer 2 to the logits: 3 (shortcut), 4 (route), 5, 6; not 2 itself */
    ck_assert_int_eq(gc_hooks_path(&c, 2, 6, &e), 0);
    unsigned char want[8] = {0, 0, 0, 1, 1, 1, 1, 0};
    for (int i = 0; i < net->n; ++i) ck_assert_int_eq(c.on_path[i], want[i]);
    /* from layer 1: layer 2 and the route's direct read both lead on */
    ck_assert_int_eq(gc_hooks_path(&c, 1, 4, &e), 0);
    unsigned char want1[8] = {0, 0, 1, 1, 1, 0, 0, 0};
    for (int i = 0; i < net->n; ++i) ck_assert_int_eq(c.on_path[i], want1[i]);
    /* score before target, or out of range */
    ck_assert_int_eq(gc_hooks_path(&c, 4, 2, &e), -1);
    ck_assert_int_eq(gc_hooks_path(&c, -2, 2, &e), -1);
    /* GC_INPUT: the network input, read by layer 0 only */
    ck_assert_int_eq(gc_hooks_path(&c, GC_INPUT, 2, &e), 0);
    ck_assert_int_eq(c.on_path[0], 1);
    ck_assert_int_eq(gc_hooks_path(&c, 0, 99, &e), -1);
    gc_hooks_free(&c);
    free_network(net);
}
END_TEST

START_TEST(path_skips_a_branch_that_does_not_lead_to_the_target)
{
    /* layer 4 of this net reads layer 1 only; layers 2 and 3 are a side branch */
    network *net = gcf_random_network("tests/cfg/two_branch.cfg", 2);
    ck_assert_ptr_nonnull(net);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    ck_assert_int_eq(gc_hooks_path(&c, 0, 5, &e), 0);
    unsigned char want[6] = {0, 1, 0, 0, 1, 1};
    for (int i = 0; i < net->n; ++i) ck_assert_int_eq(c.on_path[i], want[i]);
    /* a score that does not depend on the target at all is an error */
    ck_assert_int_eq(gc_hooks_path(&c, 2, 4, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "does not depend"));
    gc_hooks_free(&c);
    free_network(net);
}
END_TEST

/* One pass with stops (gc_hooks_backprop_stops, used for fused maps) leaves
 * at each stop, when it is called, the very gradient a pass to that stop
 * alone gives (memcmp: bit for bit), through a route that joins an upsampled
 * branch to layer 2 (det_yolo2, head 13) and through shortcuts (clf_resnet);
 * a layer off the path, or stops out of order, are refused. */
typedef struct stop_check {
    network *net;
    float *want[16];
    int n, seen;
} stop_check;

static int compare_at_stop(void *arg, int li, gc_err *e)
{
    (void)e;
    stop_check *k = arg;
    ck_assert_int_lt(k->seen, k->n);
    const layer *l = &k->net->layers[li];
    ck_assert_msg(memcmp(l->delta, k->want[k->seen], (size_t)l->outputs * sizeof(float)) == 0,
                  "layer %d: the delta differs from a pass to that layer", li);
    k->seen++;
    return 0;
}

static void check_stops(const char *cfg, int score, int target, const int *stops, int nstops, unsigned seed)
{
    network *net = gcf_random_network(cfg, seed);
    ck_assert_ptr_nonnull(net);
    float *x = malloc((size_t)net->inputs * sizeof *x);
    random_input(x, net->inputs, seed + 1);
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);
    int ns = net->layers[score].outputs;
    float *sd = calloc((size_t)ns, sizeof *sd);
    uint64_t st = seed;
    for (int i = 0; i < ns; i += 7) sd[i] = gcf_uniform(&st, -1.0f, 1.0f);
    stop_check k = {net, {0}, nstops + 1, 0};
    float *last = NULL;
    for (int j = 0; j <= nstops; ++j) {
        int li = j < nstops ? stops[j] : target;
        ck_assert_int_eq(gc_hooks_on_path(&c, score, target, li, &e), j < nstops ? 1 : 0);
        ck_assert_msg(gc_hooks_backprop(&c, score, sd, 0, 0, li, &e) == 0, "%s", e.msg);
        size_t n = (size_t)net->layers[li].outputs;
        k.want[j] = malloc(n * sizeof(float));
        memcpy(k.want[j], net->layers[li].delta, n * sizeof(float));
        double norm = 0;
        for (size_t i = 0; i < n; ++i) norm += fabs(k.want[j][i]);
        ck_assert_msg(norm > 0, "%s: layer %d gets no gradient; the test would prove nothing", cfg, li);
        last = k.want[j];
    }
    ck_assert_msg(gc_hooks_backprop_stops(&c, score, sd, target, stops, nstops, compare_at_stop, &k, &e) == 0, "%s",
                  e.msg);
    ck_assert_int_eq(k.seen, nstops);
    k.seen = nstops;
    ck_assert(memcmp(net->layers[target].delta, last, (size_t)net->layers[target].outputs * sizeof(float)) == 0);
    for (int j = 0; j <= nstops; ++j) free(k.want[j]);
    free(sd);
    free(x);
    gc_hooks_free(&c);
    free_network(net);
}

START_TEST(one_pass_with_stops_equals_a_pass_per_layer)
{
    const int yolo_stops[] = {12, 11, 10, 9, 8, 7, 4, 3};
    check_stops("tests/cfg/det_yolo2.cfg", 13, 2, yolo_stops, 8, 3);
    const int few[] = {10, 4};
    check_stops("tests/cfg/det_yolo2.cfg", 13, 2, few, 2, 4);
    /* clf_resnet: shortcuts of conv 2 and conv 0, and on up */
    network *net = gcf_random_network("tests/cfg/clf_resnet.cfg", 1);
    ck_assert_ptr_nonnull(net);
    int score = net->n - 1;
    int stops[16], ns = 0;
    gc_ctx c;
    gc_err e = {0};
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    for (int i = score - 1; i > 0 && ns < 16; --i)
        if (gc_hooks_on_path(&c, score, 0, i, &e) == 1) stops[ns++] = i;
    gc_hooks_free(&c);
    free_network(net);
    ck_assert_int_ge(ns, 3);
    check_stops("tests/cfg/clf_resnet.cfg", score, 0, stops, ns, 5);
    /* refused: a layer beside the path (5 feeds head 6 only), stops out of order */
    net = gcf_random_network("tests/cfg/det_yolo2.cfg", 3);
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    float *x = calloc((size_t)net->inputs, sizeof *x);
    gc_hooks_forward(&c, x);
    float *sd = calloc((size_t)net->layers[13].outputs, sizeof *sd);
    sd[0] = 1;
    ck_assert_int_eq(gc_hooks_on_path(&c, 13, 2, 5, &e), 0);
    const int beside[] = {5}, unordered[] = {4, 10};
    ck_assert_int_eq(gc_hooks_backprop_stops(&c, 13, sd, 2, beside, 1, compare_at_stop, NULL, &e), -1);
    ck_assert_msg(strstr(e.msg, "layer 5 is not a stop"), "%s", e.msg);
    ck_assert_int_eq(gc_hooks_backprop_stops(&c, 13, sd, 2, unordered, 2, compare_at_stop, NULL, &e), -1);
    free(sd);
    free(x);
    gc_hooks_free(&c);
    free_network(net);
}
END_TEST

START_TEST(repeated_seeds_give_identical_gradients)
{
    /* deltas are zeroed between targets: explaining class 1 after class 0
     * gives the same gradient as explaining class 1 alone */
    network *net = gcf_random_network("tests/cfg/clf_bn.cfg", 9);
    float *x = malloc((size_t)net->inputs * sizeof *x);
    random_input(x, net->inputs, 3);
    gc_ctx c;
    gc_err e;
    ck_assert_int_eq(gc_hooks_init(&c, net, &e), 0);
    gc_hooks_install(&c);
    gc_hooks_forward(&c, x);
    int n = net->layers[2].outputs;
    float *a = malloc((size_t)n * sizeof *a);
    ck_assert_int_eq(gc_hooks_backprop(&c, 4, NULL, 1, 1.0f, 2, &e), 0);
    memcpy(a, net->layers[2].delta, (size_t)n * sizeof *a);
    ck_assert_int_eq(gc_hooks_backprop(&c, 4, NULL, 0, 1.0f, 2, &e), 0);
    ck_assert_int_eq(gc_hooks_backprop(&c, 4, NULL, 1, 1.0f, 2, &e), 0);
    for (int i = 0; i < n; ++i) ck_assert_float_eq(a[i], net->layers[2].delta[i]);
    /* a seed of -1 negates the gradient exactly (counterfactual) */
    ck_assert_int_eq(gc_hooks_backprop(&c, 4, NULL, 1, -1.0f, 2, &e), 0);
    for (int i = 0; i < n; ++i) ck_assert_float_eq(-a[i], net->layers[2].delta[i]);
    ck_assert_int_eq(gc_hooks_backprop(&c, 4, NULL, 5, 1.0f, 2, &e), -1); /* 5 classes: 0..4 */
    gc_hooks_free(&c);
    free(a);
    free(x);
    free_network(net);
}
END_TEST

Suite *suite_hooks(void)
{
    Suite *s = suite_create("hooks");
    TCase *tc = tcase_create("driver");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, install_and_remove_restore_every_slot);
    tcase_add_test(tc, batch_must_be_one);
    tcase_add_test(tc, inputs_and_path);
    tcase_add_test(tc, path_skips_a_branch_that_does_not_lead_to_the_target);
    tcase_add_test(tc, repeated_seeds_give_identical_gradients);
    tcase_add_test(tc, one_pass_with_stops_equals_a_pass_per_layer);
    tcase_add_test(tc, whole_network_with_batchnorm_matches_finite_differences);
    tcase_add_test(tc, residual_network_sums_gradients_from_every_consumer);
    tcase_add_test(tc, gap_fc_network_matches_finite_differences);
    suite_add_tcase(s, tc);
    return s;
}
