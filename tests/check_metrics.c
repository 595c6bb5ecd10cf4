/* Tests for gc_metrics: every metric on a small example worked out by hand
 * (the arithmetic is in the comments), plus the edge cases that must not give
 * NaN: all-zero maps, empty boxes, classes without ground truth. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gc_metrics.h"
#include "gc_tests.h"

/* 4 x 3 map, maximum 5 at (x 2, y 1):
 *   0 1 0 0
 *   0 2 5 0
 *   0 0 0 3            total positive mass 11 */
static const float map43[12] = {0, 1, 0, 0, 0, 2, 5, 0, 0, 0, 0, 3};

START_TEST(pointing_game_by_hand)
{
    gc_pbox in = {1, 1, 2, 2}, out = {3, 0, 3, 2}, edge = {2, 1, 2, 1};
    ck_assert_int_eq(gc_metric_pointing(map43, 4, 3, in), 1);
    ck_assert_int_eq(gc_metric_pointing(map43, 4, 3, out), 0);
    ck_assert_int_eq(gc_metric_pointing(map43, 4, 3, edge), 1); /* inclusive bounds */
    /* a tie at the maximum: the first in raster order (2,1) counts, not (3,2) */
    float tie[12];
    memcpy(tie, map43, sizeof tie);
    tie[11] = 5;
    ck_assert_int_eq(gc_metric_pointing(tie, 4, 3, out), 0);
    gc_pbox only32 = {3, 2, 3, 2};
    ck_assert_int_eq(gc_metric_pointing(tie, 4, 3, only32), 0);
    /* an all-zero map points nowhere */
    float zero[12] = {0};
    gc_pbox all = {0, 0, 3, 2};
    ck_assert_int_eq(gc_metric_pointing(zero, 4, 3, all), 0);
}
END_TEST

START_TEST(energy_in_box_by_hand)
{
    gc_pbox in = {1, 1, 2, 2}, out = {3, 0, 3, 2}, all = {0, 0, 3, 2};
    /* inside (1..2, 1..2): 2 + 5 + 0 + 0 = 7 of 11 */
    ck_assert_double_eq_tol(gc_metric_energy(map43, 4, 3, in), 7.0 / 11.0, 1e-12);
    ck_assert_double_eq_tol(gc_metric_energy(map43, 4, 3, out), 3.0 / 11.0, 1e-12);
    ck_assert_double_eq_tol(gc_metric_energy(map43, 4, 3, all), 1.0, 1e-12);
    /* negative values are not energy: -4 at (0,0) and (2,2) changes nothing */
    float neg[12];
    memcpy(neg, map43, sizeof neg);
    neg[0] = -4;
    neg[10] = -4;
    ck_assert_double_eq_tol(gc_metric_energy(neg, 4, 3, in), 7.0 / 11.0, 1e-12);
    float zero[12] = {0};
    ck_assert_double_eq(gc_metric_energy(zero, 4, 3, all), 0.0);
}
END_TEST

/* 5 x 5 map with two blobs, max 9, threshold 0.15 * 9 = 1.35:
 *   9 8 0 0 0      blob A: (0,0) (1,0) (0,1)              3 px, box x 0..1, y 0..1
 *   7 0 0 0 0
 *   0 0 0 5 6      blob B: (3,2) (4,2) (3,3) (4,3) (4,4)  5 px, box x 3..4, y 2..4
 *   0 0 0 6 7
 *   0 0 1 0 4      (2,4) = 1 is below 1.35 */
static float blobs[25] = {9, 8, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 5, 6, 0, 0, 0, 6, 7, 0, 0, 1, 0, 4};

START_TEST(largest_region_two_blobs)
{
    int labels[25], stack[25];
    gc_pbox b;
    ck_assert_uint_eq(gc_metric_largest_region(blobs, 5, 5, 0.15f, labels, stack, &b), 5);
    ck_assert_int_eq(b.l, 3);
    ck_assert_int_eq(b.t, 2);
    ck_assert_int_eq(b.r, 4);
    ck_assert_int_eq(b.b, 4);
    /* (2,4) = 2 > 1.35 touches (3,3) only diagonally: 8-connectivity joins it */
    float diag[25];
    memcpy(diag, blobs, sizeof diag);
    diag[4 * 5 + 2] = 2;
    ck_assert_uint_eq(gc_metric_largest_region(diag, 5, 5, 0.15f, labels, stack, &b), 6);
    ck_assert_int_eq(b.l, 2);
    ck_assert_int_eq(b.t, 2);
    /* at 60% of the max (5.4) only 9, 8, 7 (blob A) and 6, 6, 7 (B) remain:
     * A: 3 px; B: (4,2) (3,3) (4,3) 3 px: a tie, the first found (A) wins */
    ck_assert_uint_eq(gc_metric_largest_region(blobs, 5, 5, 0.6f, labels, stack, &b), 3);
    ck_assert_int_eq(b.l, 0);
    ck_assert_int_eq(b.t, 0);
    ck_assert_int_eq(b.r, 1);
    ck_assert_int_eq(b.b, 1);
    /* nothing positive: no region, an empty box */
    float zero[25] = {0};
    ck_assert_uint_eq(gc_metric_largest_region(zero, 5, 5, 0.15f, labels, stack, &b), 0);
    ck_assert(b.r < b.l);
    gc_pbox gt = {0, 0, 4, 4};
    ck_assert_double_eq(gc_pbox_iou(b, gt), 0.0);
}
END_TEST

START_TEST(iou_by_hand)
{
    /* 2x2 boxes overlapping in one pixel: 1 / (4 + 4 - 1) */
    gc_pbox a = {0, 0, 1, 1}, b = {1, 1, 2, 2}, c = {5, 5, 6, 6};
    ck_assert_double_eq_tol(gc_pbox_iou(a, b), 1.0 / 7.0, 1e-12);
    ck_assert_double_eq(gc_pbox_iou(a, c), 0.0);
    ck_assert_double_eq(gc_pbox_iou(a, a), 1.0);
    /* blob B's box x 3..4, y 2..4 (6 px) against x 2..4, y 1..4 (12 px): 6/12 */
    gc_pbox blob = {3, 2, 4, 4}, gt = {2, 1, 4, 4};
    ck_assert_double_eq_tol(gc_pbox_iou(blob, gt), 0.5, 1e-12);
    /* relative: half-width overlap, 0.125 / (0.25 + 0.25 - 0.125) = 1/3 */
    gc_rbox r1 = {0.5f, 0.5f, 0.5f, 0.5f}, r2 = {0.75f, 0.5f, 0.5f, 0.5f}, r3 = {0.1f, 0.1f, 0.1f, 0.1f};
    ck_assert_double_eq_tol(gc_rbox_iou(r1, r2), 1.0 / 3.0, 1e-6);
    ck_assert_double_eq(gc_rbox_iou(r1, r3), 0.0);
    gc_rbox z = {0.5f, 0.5f, 0, 0};
    ck_assert_double_eq(gc_rbox_iou(z, z), 0.0);
}
END_TEST

START_TEST(pixel_box_from_label)
{
    /* 10 x 8 image, centre (0.5, 0.5), size (0.5, 0.5): x 2.5..7.5 -> 2..7, y 2..6 */
    gc_rbox r = {0.5f, 0.5f, 0.5f, 0.5f};
    gc_pbox p = gc_pbox_from_rel(r, 10, 8);
    ck_assert_int_eq(p.l, 2);
    ck_assert_int_eq(p.r, 7);
    ck_assert_int_eq(p.t, 2);
    ck_assert_int_eq(p.b, 6);
    /* truncated and clamped: x -1.25..3.75 -> 0..3 and x 6.25..11.25 -> 6..9 */
    gc_rbox left = {0.125f, 0.5f, 0.5f, 0.25f}, right = {0.875f, 0.5f, 0.5f, 0.25f};
    ck_assert_int_eq(gc_pbox_from_rel(left, 10, 8).l, 0);
    ck_assert_int_eq(gc_pbox_from_rel(left, 10, 8).r, 3);
    ck_assert_int_eq(gc_pbox_from_rel(right, 10, 8).l, 6);
    ck_assert_int_eq(gc_pbox_from_rel(right, 10, 8).r, 9);
}
END_TEST

START_TEST(auc_trapezoid_by_hand)
{
    /* 0.25 * (1 + 0.5)/2 + 0.25 * 0.5 + 0.25 * 0.5/2 + 0 = 0.1875 + 0.125 + 0.0625 = 0.375 */
    double x[5] = {0, 0.25, 0.5, 0.75, 1}, y[5] = {1, 0.5, 0.5, 0, 0};
    ck_assert_double_eq_tol(gc_metric_auc(x, y, 5), 0.375, 1e-12);
    /* y = x: 1/2, exact for a line whatever the steps */
    double xs[4] = {0, 0.1, 0.7, 1}, ys[4] = {0, 0.1, 0.7, 1};
    ck_assert_double_eq_tol(gc_metric_auc(xs, ys, 4), 0.5, 1e-12);
    /* unequal steps: 0.2 * (0 + 1)/2 + 0.8 * 1 = 0.9 */
    double xu[3] = {0, 0.2, 1}, yu[3] = {0, 1, 1};
    ck_assert_double_eq_tol(gc_metric_auc(xu, yu, 3), 0.9, 1e-12);
    ck_assert_double_eq(gc_metric_auc(x, y, 1), 0.0);
}
END_TEST

/* Ranked: 0.9 TP, 0.8 FP, 0.7 TP, 0.6 FP, 0.5 TP, with 4 ground-truth objects.
 * precision 1, 1/2, 2/3, 1/2, 3/5; recall 1/4, 1/4, 2/4, 2/4, 3/4.
 * Envelope at the TP ranks: 1, max(2/3, 1/2, 3/5) = 2/3, 3/5.
 * AP = 1/4 * (1 + 2/3 + 3/5) = 0.5666... */
START_TEST(average_precision_by_hand)
{
    /* given out of order: the function ranks by score itself */
    float score[5] = {0.6f, 0.9f, 0.5f, 0.8f, 0.7f};
    unsigned char tp[5] = {0, 1, 1, 0, 1};
    int order[5];
    ck_assert_double_eq_tol(gc_metric_ap(score, tp, 5, 4, order), (1 + 2.0 / 3 + 3.0 / 5) / 4, 1e-12);
    /* perfect ranking of all objects: AP 1 */
    unsigned char all[3] = {1, 1, 1};
    float s3[3] = {0.3f, 0.2f, 0.1f};
    ck_assert_double_eq_tol(gc_metric_ap(s3, all, 3, 3, order), 1.0, 1e-12);
    /* one FP ranked first: precision 0, 1/2, 2/3 at recall 0, 1/2, 1; the
     * envelope at the first TP is max(1/2, 2/3): AP = (2/3 + 2/3) / 2 */
    unsigned char fp_first[3] = {0, 1, 1};
    ck_assert_double_eq_tol(gc_metric_ap(s3, fp_first, 3, 2, order), 2.0 / 3, 1e-12);
    /* TP, FP, TP over 2 objects: (1 + 2/3) / 2, the FP costs the second one */
    unsigned char mid_fp[3] = {1, 0, 1};
    ck_assert_double_eq_tol(gc_metric_ap(s3, mid_fp, 3, 2, order), (1 + 2.0 / 3) / 2, 1e-12);
    /* no ground truth, or no detections */
    ck_assert_double_eq(gc_metric_ap(s3, all, 3, 0, order), 0.0);
    ck_assert_double_eq(gc_metric_ap(s3, all, 0, 2, order), 0.0);
}
END_TEST

START_TEST(voc_matching_by_hand)
{
    /* image 0: one object; detections 0.9 (IoU 1), 0.8 (IoU 1: duplicate -> FP).
     * image 1: objects g1 at x 0.3, g2 at x 0.5; detection 0.7 at x 0.35
     * overlaps g1 with IoU 0.6 and g2 with 0.14: TP on g1; detection 0.6 at
     * x 0.3 also prefers g1 (IoU 1), already taken: FP even though nothing
     * else is left for it (VOC takes the best-overlap object only). */
    int gi[3] = {0, 1, 1};
    gc_rbox gb[3] = {{0.5f, 0.5f, 0.2f, 0.2f}, {0.3f, 0.5f, 0.2f, 0.2f}, {0.5f, 0.5f, 0.2f, 0.2f}};
    int di[4] = {1, 0, 1, 0};
    gc_rbox db[4] = {{0.3f, 0.5f, 0.2f, 0.2f}, {0.5f, 0.5f, 0.2f, 0.2f}, {0.35f, 0.5f, 0.2f, 0.2f},
                     {0.5f, 0.5f, 0.2f, 0.2f}};
    float ds[4] = {0.6f, 0.9f, 0.7f, 0.8f};
    unsigned char tp[4], used[3];
    int order[4];
    gc_match_voc(di, db, ds, 4, gi, gb, 3, 0.5f, tp, order, used);
    ck_assert_int_eq(tp[0], 0);
    ck_assert_int_eq(tp[1], 1);
    ck_assert_int_eq(tp[2], 1);
    ck_assert_int_eq(tp[3], 0);
    /* ranked TP FP TP FP over 3 objects: (1 + 2/3) / 3 */
    ck_assert_double_eq_tol(gc_metric_ap(ds, tp, 4, 3, order), (1 + 2.0 / 3) / 3, 1e-12);
}
END_TEST

START_TEST(greedy_matching_by_hand)
{
    /* g0 at x 0.3 (class 0), g1 at x 0.5 (class 0), g2 far away (class 1).
     * A at g0 exactly (IoU 1 with g0, 0 with g1); B at x 0.35: IoU 0.6 with
     * g0, 0.14 with g1; C: class 1 on g0's place. */
    gc_rbox gb[3] = {{0.3f, 0.5f, 0.2f, 0.2f}, {0.5f, 0.5f, 0.2f, 0.2f}, {0.9f, 0.9f, 0.1f, 0.1f}};
    int gc[3] = {0, 0, 1};
    gc_rbox db[3] = {{0.3f, 0.5f, 0.2f, 0.2f}, {0.35f, 0.5f, 0.2f, 0.2f}, {0.3f, 0.5f, 0.2f, 0.2f}};
    int dc[3] = {0, 0, 1};
    int gt_det[3], order[3];
    /* A first (0.9): takes g0; B finds g0 taken and g1 below 0.5; C has no class-1 overlap */
    float p1[3] = {0.9f, 0.8f, 0.7f};
    ck_assert_int_eq(gc_match_greedy(db, dc, p1, 3, gb, gc, 3, 0.5f, gt_det, order), 1);
    ck_assert_int_eq(gt_det[0], 0);
    ck_assert_int_eq(gt_det[1], -1);
    ck_assert_int_eq(gt_det[2], -1);
    /* B first (0.95): B takes g0, and A is left with nothing */
    float p2[3] = {0.9f, 0.95f, 0.7f};
    ck_assert_int_eq(gc_match_greedy(db, dc, p2, 3, gb, gc, 3, 0.5f, gt_det, order), 1);
    ck_assert_int_eq(gt_det[0], 1);
    /* a stricter threshold: B's 0.6 no longer counts, A (IoU 1) does */
    ck_assert_int_eq(gc_match_greedy(db, dc, p2, 3, gb, gc, 3, 0.7f, gt_det, order), 1);
    ck_assert_int_eq(gt_det[0], 0);
}
END_TEST

START_TEST(order_by_value_ties_by_index)
{
    float m[6] = {0.2f, 0.9f, 0.2f, 0.5f, -1.0f, 0.9f};
    int order[6];
    gc_order_by_value(m, 6, order);
    int want[6] = {1, 5, 3, 0, 2, 4};
    for (int i = 0; i < 6; ++i) ck_assert_int_eq(order[i], want[i]);
}
END_TEST

START_TEST(blur_by_hand)
{
    /* an impulse in a 9x1 row, sigma 1 (radius 3): weights exp(-i^2/2) / S,
     * S = 1 + 2 (e^-0.5 + e^-2 + e^-4.5) = 2.505949 */
    float in[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, out[9], tmp[9];
    gc_blur_gaussian(in, 9, 1, 1, 1.0f, tmp, out);
    double S = 1 + 2 * (exp(-0.5) + exp(-2.0) + exp(-4.5));
    ck_assert_double_eq_tol(out[4], 1 / S, 1e-6);
    ck_assert_double_eq_tol(out[5], exp(-0.5) / S, 1e-6);
    ck_assert_double_eq_tol(out[3], exp(-0.5) / S, 1e-6);
    ck_assert_double_eq_tol(out[1], exp(-4.5) / S, 1e-6);
    ck_assert_double_eq(out[0], 0.0);
    /* a constant 2-channel image stays constant (clamped edges); sigma 0 copies */
    float c[2 * 4 * 3], o[2 * 4 * 3], t[12];
    for (int i = 0; i < 24; ++i) c[i] = i < 12 ? 0.25f : 0.75f;
    gc_blur_gaussian(c, 4, 3, 2, 2.0f, t, o);
    for (int i = 0; i < 24; ++i) ck_assert_double_eq_tol(o[i], c[i], 1e-6);
    gc_blur_gaussian(in, 9, 1, 1, 0.0f, tmp, out);
    ck_assert_mem_eq(in, out, sizeof in);
}
END_TEST

START_TEST(center_prior_by_hand)
{
    /* 8 x 4 image: centre (4, 2), sigma = 4/4 = 1 */
    ck_assert_double_eq_tol(gc_center_prior(8, 4, 4, 2), 1.0, 1e-7);
    ck_assert_double_eq_tol(gc_center_prior(8, 4, 5, 2), exp(-0.5), 1e-7);
    ck_assert_double_eq_tol(gc_center_prior(8, 4, 4, 0), exp(-2.0), 1e-7);
    ck_assert_double_eq_tol(gc_center_prior(8, 4, 7, 3), exp(-5.0), 1e-7);
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("by hand");
    tcase_add_test(tc, pointing_game_by_hand);
    tcase_add_test(tc, energy_in_box_by_hand);
    tcase_add_test(tc, largest_region_two_blobs);
    tcase_add_test(tc, iou_by_hand);
    tcase_add_test(tc, pixel_box_from_label);
    tcase_add_test(tc, auc_trapezoid_by_hand);
    tcase_add_test(tc, average_precision_by_hand);
    tcase_add_test(tc, voc_matching_by_hand);
    tcase_add_test(tc, greedy_matching_by_hand);
    tcase_add_test(tc, order_by_value_ties_by_index);
    tcase_add_test(tc, blur_by_hand);
    tcase_add_test(tc, center_prior_by_hand);
    suite_add_tcase(s, tc);
    return s;
}
