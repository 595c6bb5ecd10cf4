/* Tests for gc_metrics: every metric on a small example worked out by hand
 * (the arithmetic is in the comments), plus the edge cases that must not give
 * NaN: all-zero maps, empty boxes, classes without ground truth. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gc_metrics.h"
#include "gc_rng.h"
#include "gc_testutil.h"
#include "gc_tests.h"

/* 4 x 3 map, maximum 5 at (x 2, y 1):
 *   0 1 0 0
 *   0 2 5 0
 *   0 0 0 3            total positive mass 11 */
static const float map43[12] = {0, 1, 0, 0, 0, 2, 5, 0, 0, 0, 0, 3};

START_TEST(pointing_game_by_hand)
{
    gc_pbox in = {1, 1, 2, 2}, out = {3, 0, 3, 2}, edge = {2, 1, 2, 1};
    ck_assert_int_eq(gc_metrics_pointing(map43, 4, 3, in), 1);
    ck_assert_int_eq(gc_metrics_pointing(map43, 4, 3, out), 0);
    ck_assert_int_eq(gc_metrics_pointing(map43, 4, 3, edge), 1); /* inclusive bounds */
    /* a tie at the maximum: the first in raster order (2,1) counts, not (3,2) */
    float tie[12];
    memcpy(tie, map43, sizeof tie);
    tie[11] = 5;
    ck_assert_int_eq(gc_metrics_pointing(tie, 4, 3, out), 0);
    gc_pbox only32 = {3, 2, 3, 2};
    ck_assert_int_eq(gc_metrics_pointing(tie, 4, 3, only32), 0);
    /* an all-zero map points nowhere */
    float zero[12] = {0};
    gc_pbox all = {0, 0, 3, 2};
    ck_assert_int_eq(gc_metrics_pointing(zero, 4, 3, all), 0);
}
END_TEST

START_TEST(energy_in_box_by_hand)
{
    gc_pbox in = {1, 1, 2, 2}, out = {3, 0, 3, 2}, all = {0, 0, 3, 2};
    /* inside (1..2, 1..2): 2 + 5 + 0 + 0 = 7 of 11 */
    ck_assert_double_eq_tol(gc_metrics_energy(map43, 4, 3, in), 7.0 / 11.0, 1e-12);
    ck_assert_double_eq_tol(gc_metrics_energy(map43, 4, 3, out), 3.0 / 11.0, 1e-12);
    ck_assert_double_eq_tol(gc_metrics_energy(map43, 4, 3, all), 1.0, 1e-12);
    /* negative values are not energy: -4 at (0,0) and (2,2) changes nothing */
    float neg[12];
    memcpy(neg, map43, sizeof neg);
    neg[0] = -4;
    neg[10] = -4;
    ck_assert_double_eq_tol(gc_metrics_energy(neg, 4, 3, in), 7.0 / 11.0, 1e-12);
    float zero[12] = {0};
    ck_assert_double_eq(gc_metrics_energy(zero, 4, 3, all), 0.0);
}
END_TEST

/* gc_metrics_heat_stats against the plain per-pixel loop it replaced (every
 * value summed, the box's too, the first maximum in raster order): by hand
 * on map43, then on random maps of widths that are and are not multiples
 * of 4, with negative values, NaN, ties for the maximum, and boxes inside,
 * clipped by the edges, a single pixel, empty and off the map. */
START_TEST(heat_stats_equal_the_plain_loop)
{
    gc_heat_stats hs = gc_metrics_heat_stats(map43, 4, 3, (gc_pbox){1, 1, 2, 2});
    ck_assert_double_eq(hs.total, 11);
    ck_assert_double_eq(hs.inside, 7);
    ck_assert(hs.best == 5 && hs.best_x == 2 && hs.best_y == 1);
    const int sizes[][2] = {{1, 1}, {3, 2}, {4, 4}, {9, 7}, {37, 11}, {64, 5}};
    const gc_pbox boxes[] = {{2, 1, 5, 4}, {-3, -2, 100, 100}, {3, 3, 3, 3}, {5, 2, 4, 6}, {50, 0, 60, 3}, {0, 0, 0, 0}};
    uint64_t rng = 7;
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; ++z) {
        int w = sizes[z][0], h = sizes[z][1], n = w * h;
        float *m = malloc((size_t)n * sizeof *m);
        ck_assert_ptr_nonnull(m);
        for (int rep = 0; rep < 20; ++rep) {
            for (int i = 0; i < n; ++i) {
                uint32_t s = (uint32_t)(gc_rng_next(&rng) >> 32);
                int k = (int)(s >> 28);
                /* ties: values from a few levels; some NaN, some negative */
                m[i] = k == 0 ? NAN : k < 3 ? -(float)(s >> 20 & 7) : (float)(s >> 22 & 15) * 0.25f;
            }
            if (rep == 0)
                for (int i = 0; i < n; ++i) m[i] = -2; /* all below -1 */
            for (size_t q = 0; q < sizeof boxes / sizeof *boxes; ++q) {
                gc_pbox b = boxes[q];
                double total = 0, in = 0, best = -1;
                int bx = 0, by = 0;
                for (int y = 0; y < h; ++y)
                    for (int x = 0; x < w; ++x) {
                        double v = m[(size_t)y * w + x];
                        if (isnan(v)) continue; /* the plain loop's sums had no NaN to meet */
                        total += v;
                        if (x >= b.l && x <= b.r && y >= b.t && y <= b.b) in += v;
                        if (v > best) best = v, bx = x, by = y;
                    }
                int nan = 0;
                for (int i = 0; i < n; ++i) nan |= isnan(m[i]);
                hs = gc_metrics_heat_stats(m, w, h, b);
                if (!nan) {
                    ck_assert_msg(fabs(hs.total - total) <= 1e-9 && fabs(hs.inside - in) <= 1e-9,
                                  "%dx%d box %zu: %g %g against %g %g", w, h, q, hs.total, hs.inside, total, in);
                }
                ck_assert_msg(hs.best == (float)best && hs.best_x == bx && hs.best_y == by,
                              "%dx%d box %zu: max %g at %d,%d against %g at %d,%d", w, h, q, hs.best, hs.best_x,
                              hs.best_y, best, bx, by);
            }
        }
        free(m);
    }
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
    ck_assert_uint_eq(gc_metrics_largest_region(blobs, 5, 5, 0.15f, labels, stack, &b), 5);
    ck_assert_int_eq(b.l, 3);
    ck_assert_int_eq(b.t, 2);
    ck_assert_int_eq(b.r, 4);
    ck_assert_int_eq(b.b, 4);
    /* (2,4) = 2 > 1.35 touches (3,3) only diagonally: 8-connectivity joins it */
    float diag[25];
    memcpy(diag, blobs, sizeof diag);
    diag[4 * 5 + 2] = 2;
    ck_assert_uint_eq(gc_metrics_largest_region(diag, 5, 5, 0.15f, labels, stack, &b), 6);
    ck_assert_int_eq(b.l, 2);
    ck_assert_int_eq(b.t, 2);
    /* at 60% of the max (5.4) only 9, 8, 7 (blob A) and 6, 6, 7 (B) remain:
     * A: 3 px; B: (4,2) (3,3) (4,3) 3 px: a tie, the first found (A) wins */
    ck_assert_uint_eq(gc_metrics_largest_region(blobs, 5, 5, 0.6f, labels, stack, &b), 3);
    ck_assert_int_eq(b.l, 0);
    ck_assert_int_eq(b.t, 0);
    ck_assert_int_eq(b.r, 1);
    ck_assert_int_eq(b.b, 1);
    /* nothing positive: no region, an empty box */
    float zero[25] = {0};
    ck_assert_uint_eq(gc_metrics_largest_region(zero, 5, 5, 0.15f, labels, stack, &b), 0);
    ck_assert(b.r < b.l);
    gc_pbox gt = {0, 0, 4, 4};
    ck_assert_double_eq(gc_metrics_pbox_iou(b, gt), 0.0);
}
END_TEST

START_TEST(iou_by_hand)
{
    /* 2x2 boxes overlapping in one pixel: 1 / (4 + 4 - 1) */
    gc_pbox a = {0, 0, 1, 1}, b = {1, 1, 2, 2}, c = {5, 5, 6, 6};
    ck_assert_double_eq_tol(gc_metrics_pbox_iou(a, b), 1.0 / 7.0, 1e-12);
    ck_assert_double_eq(gc_metrics_pbox_iou(a, c), 0.0);
    ck_assert_double_eq(gc_metrics_pbox_iou(a, a), 1.0);
    /* blob B's box x 3..4, y 2..4 (6 px) against x 2..4, y 1..4 (12 px): 6/12 */
    gc_pbox blob = {3, 2, 4, 4}, gt = {2, 1, 4, 4};
    ck_assert_double_eq_tol(gc_metrics_pbox_iou(blob, gt), 0.5, 1e-12);
    /* relative: half-width overlap, 0.125 / (0.25 + 0.25 - 0.125) = 1/3 */
    gc_rbox r1 = {0.5f, 0.5f, 0.5f, 0.5f}, r2 = {0.75f, 0.5f, 0.5f, 0.5f}, r3 = {0.1f, 0.1f, 0.1f, 0.1f};
    ck_assert_double_eq_tol(gc_metrics_rbox_iou(r1, r2), 1.0 / 3.0, 1e-6);
    ck_assert_double_eq(gc_metrics_rbox_iou(r1, r3), 0.0);
    gc_rbox z = {0.5f, 0.5f, 0, 0};
    ck_assert_double_eq(gc_metrics_rbox_iou(z, z), 0.0);
}
END_TEST

/* The pixels whose centres lie in the box: a box from pixel edges x0 < x1
 * (the scenes' tight boxes, exclusive x1) is x0 .. x1 - 1, after the label
 * file's 6 decimals and a float, for every pair of edges; Darknet's drawing
 * arithmetic (truncation) gave x1 as the last column, and x0 - 1 where the
 * decimals rounded down. */
START_TEST(pixel_box_covers_pixel_centres)
{
    /* 10 x 8, centre (0.5, 0.5), size (0.5, 0.5): x 2.5..7.5 -> 2..7, y 2..6 -> 2..5 */
    gc_pbox p = gc_metrics_pbox_cover((gc_rbox){0.5f, 0.5f, 0.5f, 0.5f}, 10, 8);
    ck_assert_int_eq(p.l, 2);
    ck_assert_int_eq(p.r, 7);
    ck_assert_int_eq(p.t, 2);
    ck_assert_int_eq(p.b, 5);
    /* clamped: x -1.25..3.75 -> 0..3 */
    p = gc_metrics_pbox_cover((gc_rbox){0.125f, 0.5f, 0.5f, 0.25f}, 10, 8);
    ck_assert_int_eq(p.l, 0);
    ck_assert_int_eq(p.r, 3);
    /* no pixel centre inside (x 3.6..3.9): the pixel under the centre */
    p = gc_metrics_pbox_cover((gc_rbox){0.375f, 0.5f, 0.03f, 0.25f}, 10, 8);
    ck_assert_int_eq(p.l, 3);
    ck_assert_int_eq(p.r, 3);
    const int sizes[2] = {96, 128};
    for (int k = 0; k < 2; ++k) {
        int n = sizes[k];
        for (int x0 = 0; x0 < n; ++x0)
            for (int x1 = x0 + 1; x1 <= n; ++x1) {
                char t[64];
                snprintf(t, sizeof t, "%.6f %.6f", (x0 + x1) / 2.0 / n, (double)(x1 - x0) / n);
                float c = strtof(t, NULL), w = strtof(strchr(t, ' ') + 1, NULL);
                gc_pbox q = gc_metrics_pbox_cover((gc_rbox){c, c, w, w}, n, n);
                ck_assert_msg(q.l == x0 && q.r == x1 - 1 && q.t == x0 && q.b == x1 - 1,
                              "edges %d..%d of %d: box %d..%d", x0, x1, n, q.l, q.r);
            }
    }
}
END_TEST

/* Edges far outside the image (a box decoded from exp() of a large logit is
 * Inf wide; 1e12 is past INT_MAX): clamped to the image, never converted to
 * int as they are (undefined: x86 gave column 0 for the whole box). */
START_TEST(pixel_box_far_edges)
{
    const double far[2] = {INFINITY, 1e12};
    for (int k = 0; k < 2; ++k) {
        gc_pbox p = gc_metrics_pbox_cover_edges(-far[k], 2, far[k], 5, 10, 8);
        ck_assert_msg(p.l == 0 && p.r == 9 && p.t == 2 && p.b == 4, "edges +-%g: %d..%d x %d..%d", far[k], p.l,
                      p.r, p.t, p.b);
        p = gc_metrics_pbox_cover_edges(3, -far[k], 6, far[k], 10, 8);
        ck_assert_msg(p.l == 3 && p.r == 5 && p.t == 0 && p.b == 7, "edges +-%g: %d..%d x %d..%d", far[k], p.l,
                      p.r, p.t, p.b);
        /* one far edge: the box up to (from) its near one */
        p = gc_metrics_pbox_cover_edges(4.2, 1, far[k], 3, 10, 8);
        ck_assert_int_eq(p.l, 4);
        ck_assert_int_eq(p.r, 9);
        p = gc_metrics_pbox_cover_edges(-far[k], 1, 4.2, 3, 10, 8);
        ck_assert_int_eq(p.l, 0);
        ck_assert_int_eq(p.r, 3);
        /* wholly beyond one side: the edge pixel, as for a finite box there */
        p = gc_metrics_pbox_cover_edges(far[k], 1, far[k], 3, 10, 8);
        ck_assert_int_eq(p.l, 9);
        ck_assert_int_eq(p.r, 9);
        p = gc_metrics_pbox_cover_edges(-far[k], 1, -far[k], 3, 10, 8);
        ck_assert_int_eq(p.l, 0);
        ck_assert_int_eq(p.r, 0);
    }
    /* a relative box of infinite width: every column */
    gc_pbox q = gc_metrics_pbox_cover((gc_rbox){0.5f, 0.5f, INFINITY, 0.5f}, 10, 8);
    ck_assert_int_eq(q.l, 0);
    ck_assert_int_eq(q.r, 9);
    ck_assert_int_eq(q.t, 2);
    ck_assert_int_eq(q.b, 5);
}
END_TEST

START_TEST(auc_trapezoid_by_hand)
{
    /* 0.25 * (1 + 0.5)/2 + 0.25 * 0.5 + 0.25 * 0.5/2 + 0 = 0.1875 + 0.125 + 0.0625 = 0.375 */
    double x[5] = {0, 0.25, 0.5, 0.75, 1}, y[5] = {1, 0.5, 0.5, 0, 0};
    ck_assert_double_eq_tol(gc_metrics_auc(x, y, 5), 0.375, 1e-12);
    /* y = x: 1/2, exact for a line whatever the steps */
    double xs[4] = {0, 0.1, 0.7, 1}, ys[4] = {0, 0.1, 0.7, 1};
    ck_assert_double_eq_tol(gc_metrics_auc(xs, ys, 4), 0.5, 1e-12);
    /* unequal steps: 0.2 * (0 + 1)/2 + 0.8 * 1 = 0.9 */
    double xu[3] = {0, 0.2, 1}, yu[3] = {0, 1, 1};
    ck_assert_double_eq_tol(gc_metrics_auc(xu, yu, 3), 0.9, 1e-12);
    ck_assert_double_eq(gc_metrics_auc(x, y, 1), 0.0);
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
    ck_assert_double_eq_tol(gc_metrics_ap(score, tp, 5, 4, order), (1 + 2.0 / 3 + 3.0 / 5) / 4, 1e-12);
    /* perfect ranking of all objects: AP 1 */
    unsigned char all[3] = {1, 1, 1};
    float s3[3] = {0.3f, 0.2f, 0.1f};
    ck_assert_double_eq_tol(gc_metrics_ap(s3, all, 3, 3, order), 1.0, 1e-12);
    /* one FP ranked first: precision 0, 1/2, 2/3 at recall 0, 1/2, 1; the
     * envelope at the first TP is max(1/2, 2/3): AP = (2/3 + 2/3) / 2 */
    unsigned char fp_first[3] = {0, 1, 1};
    ck_assert_double_eq_tol(gc_metrics_ap(s3, fp_first, 3, 2, order), 2.0 / 3, 1e-12);
    /* TP, FP, TP over 2 objects: (1 + 2/3) / 2, the FP costs the second one */
    unsigned char mid_fp[3] = {1, 0, 1};
    ck_assert_double_eq_tol(gc_metrics_ap(s3, mid_fp, 3, 2, order), (1 + 2.0 / 3) / 2, 1e-12);
    /* no ground truth, or no detections */
    ck_assert_double_eq(gc_metrics_ap(s3, all, 3, 0, order), 0.0);
    ck_assert_double_eq(gc_metrics_ap(s3, all, 0, 2, order), 0.0);
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
    gc_metrics_match_voc(di, db, ds, 4, gi, gb, 3, 0.5f, tp, order, used);
    ck_assert_int_eq(tp[0], 0);
    ck_assert_int_eq(tp[1], 1);
    ck_assert_int_eq(tp[2], 1);
    ck_assert_int_eq(tp[3], 0);
    /* ranked TP FP TP FP over 3 objects: (1 + 2/3) / 3 */
    ck_assert_double_eq_tol(gc_metrics_ap(ds, tp, 4, 3, order), (1 + 2.0 / 3) / 3, 1e-12);
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
    ck_assert_int_eq(gc_metrics_match_greedy(db, dc, p1, 3, gb, gc, 3, 0.5f, gt_det, order), 1);
    ck_assert_int_eq(gt_det[0], 0);
    ck_assert_int_eq(gt_det[1], -1);
    ck_assert_int_eq(gt_det[2], -1);
    /* B first (0.95): B takes g0, and A is left with nothing */
    float p2[3] = {0.9f, 0.95f, 0.7f};
    ck_assert_int_eq(gc_metrics_match_greedy(db, dc, p2, 3, gb, gc, 3, 0.5f, gt_det, order), 1);
    ck_assert_int_eq(gt_det[0], 1);
    /* a stricter threshold: B's 0.6 no longer counts, A (IoU 1) does */
    ck_assert_int_eq(gc_metrics_match_greedy(db, dc, p2, 3, gb, gc, 3, 0.7f, gt_det, order), 1);
    ck_assert_int_eq(gt_det[0], 0);
}
END_TEST

START_TEST(order_by_value_ties_by_index)
{
    float m[6] = {0.2f, 0.9f, 0.2f, 0.5f, -1.0f, 0.9f};
    int order[6];
    gc_metrics_order_by_value(m, 6, order);
    int want[6] = {1, 5, 3, 0, 2, 4};
    for (int i = 0; i < 6; ++i) ck_assert_int_eq(order[i], want[i]);
}
END_TEST

START_TEST(blur_by_hand)
{
    /* an impulse in a 9x1 row, sigma 1 (radius 3): weights exp(-i^2/2) / S,
     * S = 1 + 2 (e^-0.5 + e^-2 + e^-4.5) = 2.505949 */
    float in[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0}, out[9], tmp[9];
    gc_metrics_blur_gaussian(in, 9, 1, 1, 1.0f, tmp, out);
    double S = 1 + 2 * (exp(-0.5) + exp(-2.0) + exp(-4.5));
    ck_assert_double_eq_tol(out[4], 1 / S, 1e-6);
    ck_assert_double_eq_tol(out[5], exp(-0.5) / S, 1e-6);
    ck_assert_double_eq_tol(out[3], exp(-0.5) / S, 1e-6);
    ck_assert_double_eq_tol(out[1], exp(-4.5) / S, 1e-6);
    ck_assert_double_eq(out[0], 0.0);
    /* a constant 2-channel image stays constant (clamped edges); sigma 0 copies */
    float c[2 * 4 * 3], o[2 * 4 * 3], t[12];
    for (int i = 0; i < 24; ++i) c[i] = i < 12 ? 0.25f : 0.75f;
    gc_metrics_blur_gaussian(c, 4, 3, 2, 2.0f, t, o);
    for (int i = 0; i < 24; ++i) ck_assert_double_eq_tol(o[i], c[i], 1e-6);
    gc_metrics_blur_gaussian(in, 9, 1, 1, 0.0f, tmp, out);
    ck_assert_mem_eq(in, out, sizeof in);
}
END_TEST

START_TEST(center_prior_by_hand)
{
    /* 8 x 4 image: centre (4, 2), sigma = 4/4 = 1 */
    ck_assert_double_eq_tol(gc_metrics_center_prior(8, 4, 4, 2), 1.0, 1e-7);
    ck_assert_double_eq_tol(gc_metrics_center_prior(8, 4, 5, 2), exp(-0.5), 1e-7);
    ck_assert_double_eq_tol(gc_metrics_center_prior(8, 4, 4, 0), exp(-2.0), 1e-7);
    ck_assert_double_eq_tol(gc_metrics_center_prior(8, 4, 7, 3), exp(-5.0), 1e-7);
}
END_TEST

START_TEST(ranks_average_ties)
{
    /* 3 1 4 1 5: the two 1s share ranks 1 and 2 (1.5), then 3, 4, 5 */
    float x[5] = {3, 1, 4, 1, 5};
    double r[5];
    void *scratch = malloc(gc_metrics_rank_scratch_size(5));
    ck_assert_ptr_nonnull(scratch);
    gc_metrics_ranks(x, 5, r, scratch);
    const double want[5] = {3, 1.5, 4, 1.5, 5};
    for (int i = 0; i < 5; ++i) ck_assert_double_eq_tol(r[i], want[i], 1e-12);
    free(scratch);
}
END_TEST

START_TEST(spearman_by_hand)
{
    double ra[5], rb[5];
    void *sc = malloc(gc_metrics_rank_scratch_size(5));
    ck_assert_ptr_nonnull(sc);
    /* b = 5 6 7 8 7: ranks 1 2 3.5 5 3.5; deviations from 3: a -2 -1 0 1 2,
     * b -2 -1 .5 2 .5; sum ab = 8, aa = 10, bb = 9.5: rho = 8 / sqrt(95) */
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {5, 6, 7, 8, 7};
    ck_assert_double_eq_tol(gc_metrics_spearman(a, b, 5, ra, rb, sc), 8.0 / sqrt(95.0), 1e-12);
    /* monotone maps agree fully, whatever the scale; reversed ones disagree */
    float up[5] = {0.1f, 0.5f, 2, 30, 400}, down[5] = {9, 8, 7, 6, 5};
    ck_assert_double_eq_tol(gc_metrics_spearman(a, up, 5, ra, rb, sc), 1.0, 1e-12);
    ck_assert_double_eq_tol(gc_metrics_spearman(a, down, 5, ra, rb, sc), -1.0, 1e-12);
    /* constant maps: both -> 1, one -> 0, never NaN; fewer than 2 values -> 0 */
    float z[5] = {0}, c[5] = {2, 2, 2, 2, 2};
    ck_assert_double_eq(gc_metrics_spearman(z, c, 5, ra, rb, sc), 1.0);
    ck_assert_double_eq(gc_metrics_spearman(z, a, 5, ra, rb, sc), 0.0);
    ck_assert_double_eq(gc_metrics_spearman(a, z, 5, ra, rb, sc), 0.0);
    ck_assert_double_eq(gc_metrics_spearman(a, b, 1, ra, rb, sc), 0.0);
    free(sc);
}
END_TEST

/* Why the randomisation test over the image cannot pass for a map confined to
 * a fixed support: two maps that are 0 outside the same share s of the pixels
 * and ordered independently inside it have, with average ranks for the ties,
 *   rho = 3(1 - s) / (3(1 - s) + s^2)
 * (ranks scaled to [0,1]: the blocks' means differ by 1/2, between-block
 * variance s(1-s)/4 is shared, the inside adds s^3/12 of its own). So rho <= 0.5
 * needs s >= (sqrt(21) - 3)/2 = 0.79 of the image, whatever the weights do
 * inside. Checked on 20000-pixel maps (the README quotes these values). */
START_TEST(spearman_shared_support)
{
    const size_t n = 20000;
    float *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    double *ra = malloc(n * sizeof *ra), *rb = malloc(n * sizeof *rb);
    void *sc = malloc(gc_metrics_rank_scratch_size(n));
    ck_assert(a && b && ra && rb && sc);
    const double shares[5] = {.1, .25, .5, .79, 1};
    gct_rng rng;
    gct_rng_seed(&rng, 2018);
    for (int t = 0; t < 5; ++t) {
        double s = shares[t];
        size_t inside = (size_t)(s * (double)n);
        for (size_t i = 0; i < n; ++i) {
            a[i] = i < inside ? gct_rng_uniform(&rng, .01f, 1) : 0;
            b[i] = i < inside ? gct_rng_uniform(&rng, .01f, 1) : 0;
        }
        double want = 3 * (1 - s) / (3 * (1 - s) + s * s);
        double rho = gc_metrics_spearman(a, b, n, ra, rb, sc);
        ck_assert_msg(fabs(rho - want) < .02, "share %.2f: rho %.4f, formula %.4f", s, rho, want);
    }
    free(a);
    free(b);
    free(ra);
    free(rb);
    free(sc);
}
END_TEST

START_TEST(gini_by_hand)
{
    float tmp[4];
    /* 1 2 3 4: sum (2i - 5) x_i = -3 - 2 + 3 + 12 = 10, over n * sum = 40 */
    float a[4] = {4, 1, 3, 2};
    ck_assert_double_eq_tol(gc_metrics_gini(a, 4, tmp), 0.25, 1e-12);
    /* one non-zero value: (n - 1) / n; negatives count as 0 */
    float one[4] = {0, 0, 4, 0}, neg[4] = {-5, 0, 4, 0};
    ck_assert_double_eq_tol(gc_metrics_gini(one, 4, tmp), 0.75, 1e-12);
    ck_assert_double_eq_tol(gc_metrics_gini(neg, 4, tmp), 0.75, 1e-12);
    /* constant and all-zero maps: 0 */
    float c[3] = {2, 2, 2}, z[3] = {0, 0, 0};
    ck_assert_double_eq(gc_metrics_gini(c, 3, tmp), 0.0);
    ck_assert_double_eq(gc_metrics_gini(z, 3, tmp), 0.0);
}
END_TEST

START_TEST(box_gather_and_peaks)
{
    float out[12];
    gc_pbox in = {1, 1, 2, 2}, clamp = {-3, -3, 0, 0}, empty = {2, 0, 1, 2};
    ck_assert_uint_eq(gc_metrics_box_gather(map43, 4, 3, in, out), 4);
    ck_assert(out[0] == 2 && out[1] == 5 && out[2] == 0 && out[3] == 0);
    ck_assert_uint_eq(gc_metrics_box_gather(map43, 4, 3, clamp, out), 1);
    ck_assert_double_eq(out[0], 0);
    ck_assert_uint_eq(gc_metrics_box_gather(map43, 4, 3, empty, out), 0);
    /* peak of map43 at (2,1); b's at (3,2): one pixel apart on each axis */
    float b[12] = {0};
    b[11] = 1;
    ck_assert_int_eq(gc_metrics_peak(map43, 12), 6);
    ck_assert_int_eq(gc_metrics_peaks_near(map43, b, 4, 3, 1, 1), 1);
    ck_assert_int_eq(gc_metrics_peaks_near(map43, b, 4, 3, 0.5f, 1), 0);
    ck_assert_int_eq(gc_metrics_peaks_near(map43, b, 4, 3, 1, 0.5f), 0);
    float z[12] = {0};
    ck_assert_int_eq(gc_metrics_peak(z, 12), -1);
    ck_assert_int_eq(gc_metrics_peaks_near(map43, z, 4, 3, 9, 9), 0);
}
END_TEST

START_TEST(box_gaussian_and_cell_by_hand)
{
    /* 4 x 2 grid, centre (2, 1), box 4 x 4: sigma 1 on both axes */
    float g[8];
    gc_metrics_box_gaussian(4, 2, 2, 1, 4, 4, g);
    ck_assert_double_eq_tol(g[1], exp(-0.25), 1e-6);      /* (1.5, 0.5): dx = dy = -0.5 */
    ck_assert_double_eq_tol(g[7], exp(-1.25), 1e-6);      /* (3.5, 1.5): dx 1.5, dy 0.5 */
    /* box 8 x 4: sigma_x 2, sigma_y 1: (3.5, 1.5) gives 2.25/8 + 0.25/2 */
    gc_metrics_box_gaussian(4, 2, 2, 1, 8, 4, g);
    ck_assert_double_eq_tol(g[7], exp(-(2.25 / 8 + 0.125)), 1e-6);
    /* a degenerate box stays finite (sigma floored at half a pixel) */
    gc_metrics_box_gaussian(4, 2, 2, 1, 0, 0, g);
    for (int i = 0; i < 8; ++i) ck_assert(isfinite(g[i]) && g[i] >= 0 && g[i] <= 1);
    ck_assert_double_eq_tol(g[1], exp(-1.0), 1e-6); /* dx = dy = -0.5, sigma 0.5: 0.5 + 0.5 */
    float c[6] = {7, 7, 7, 7, 7, 7};
    gc_metrics_cell_map(3, 2, 2, 1, c);
    for (int i = 0; i < 6; ++i) ck_assert_double_eq(c[i], i == 5 ? 1.0 : 0.0);
}
END_TEST

START_TEST(rise_upsample_by_hand)
{
    /* grid [1 0; 0 0], 4 x 4 mask: cell 2 px, up-sampled to 6 x 6, so pixel
     * u samples the grid at (u + 0.5) / 3 - 0.5, clamped: u = 0, 1 -> cell 0;
     * u = 2 -> 1/3 of the way to cell 1; u = 3 -> 2/3; u = 4 -> cell 1 */
    const float grid[4] = {1, 0, 0, 0};
    float m[16];
    gc_metrics_rise_upsample(grid, 2, 4, 4, 0, 0, m);
    const float axis0[4] = {1, 1, 2.0f / 3, 1.0f / 3};
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) ck_assert_double_eq_tol(m[y * 4 + x], axis0[x] * axis0[y], 1e-6);
    /* shifted by one pixel right */
    gc_metrics_rise_upsample(grid, 2, 4, 4, 1, 0, m);
    const float axis1[4] = {1, 2.0f / 3, 1.0f / 3, 0};
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x) ck_assert_double_eq_tol(m[y * 4 + x], axis1[x] * axis0[y], 1e-6);
}
END_TEST

START_TEST(rise_grid_and_masks)
{
    uint64_t s1 = 42, s2 = 42;
    float g[100 * 100], g2[100 * 100];
    gc_metrics_rise_grid(100, 0.5f, &s1, g);
    gc_metrics_rise_grid(100, 0.5f, &s2, g2);
    ck_assert_mem_eq(g, g2, sizeof g); /* deterministic for a state */
    double mean = 0;
    for (int i = 0; i < 10000; ++i) {
        ck_assert(g[i] == 0 || g[i] == 1);
        mean += g[i] / 10000.0;
    }
    ck_assert_double_eq_tol(mean, 0.5, 0.03);
    gc_metrics_rise_grid(10, 0.0f, &s1, g);
    for (int i = 0; i < 100; ++i) ck_assert_double_eq(g[i], 0);
    float m[13 * 9];
    gc_metrics_rise_mask(13, 9, 4, 1.0f, &s1, g, m);
    for (int i = 0; i < 13 * 9; ++i) ck_assert_double_eq_tol(m[i], 1, 1e-6);
    for (int k = 0; k < 50; ++k) {
        gc_metrics_rise_mask(13, 9, 4, 0.5f, &s1, g, m);
        for (int i = 0; i < 13 * 9; ++i) ck_assert(m[i] >= 0 && m[i] <= 1);
    }
}
END_TEST

START_TEST(rise_accumulate_by_hand)
{
    float sal[3] = {0}, m1[3] = {1, 0, 0.5f}, m2[3] = {0, 1, 1};
    gc_metrics_rise_accumulate(sal, m1, 3, 2);
    gc_metrics_rise_accumulate(sal, m2, 3, 4);
    ck_assert(sal[0] == 2 && sal[1] == 4 && sal[2] == 5);
    gc_metrics_rise_finish(sal, 3, 2, 0.25f); /* / (2 * 0.25) */
    ck_assert(sal[0] == 4 && sal[1] == 8 && sal[2] == 10);
    gc_metrics_rise_finish(sal, 3, 0, 0.5f); /* no masks: unchanged, no division by 0 */
    ck_assert(sal[0] == 4 && sal[1] == 8 && sal[2] == 10);
}
END_TEST

/* A black box whose score is the mask's value at one pixel: RISE's estimate
 * E[score | pixel kept] is largest at that pixel (Cauchy-Schwarz for a
 * stationary mask), so the map must peak there or next to it. */
START_TEST(rise_finds_a_hidden_pixel)
{
    enum { W = 16, H = 16, N = 800 };
    float sal[W * H] = {0}, mask[W * H], grid[16], truth[W * H] = {0};
    uint64_t st = 7;
    int kx = 5, ky = 11;
    for (int i = 0; i < N; ++i) {
        gc_metrics_rise_mask(W, H, 4, 0.5f, &st, grid, mask);
        gc_metrics_rise_accumulate(sal, mask, W * H, mask[ky * W + kx]);
    }
    gc_metrics_rise_finish(sal, W * H, N, 0.5f);
    truth[ky * W + kx] = 1;
    ck_assert_int_eq(gc_metrics_peaks_near(sal, truth, W, H, 1, 1), 1);
    /* and far pixels get much less than the hidden one */
    ck_assert(sal[0 * W + 15] < 0.8f * sal[ky * W + kx]);
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("by hand");
    tcase_add_test(tc, pointing_game_by_hand);
    tcase_add_test(tc, pixel_box_covers_pixel_centres);
    tcase_add_test(tc, pixel_box_far_edges);
    tcase_add_test(tc, energy_in_box_by_hand);
    tcase_add_test(tc, heat_stats_equal_the_plain_loop);
    tcase_add_test(tc, largest_region_two_blobs);
    tcase_add_test(tc, iou_by_hand);
    tcase_add_test(tc, auc_trapezoid_by_hand);
    tcase_add_test(tc, average_precision_by_hand);
    tcase_add_test(tc, voc_matching_by_hand);
    tcase_add_test(tc, greedy_matching_by_hand);
    tcase_add_test(tc, order_by_value_ties_by_index);
    tcase_add_test(tc, blur_by_hand);
    tcase_add_test(tc, center_prior_by_hand);
    tcase_add_test(tc, ranks_average_ties);
    tcase_add_test(tc, spearman_by_hand);
    tcase_add_test(tc, spearman_shared_support);
    tcase_add_test(tc, gini_by_hand);
    tcase_add_test(tc, box_gather_and_peaks);
    tcase_add_test(tc, box_gaussian_and_cell_by_hand);
    tcase_add_test(tc, rise_upsample_by_hand);
    tcase_add_test(tc, rise_grid_and_masks);
    tcase_add_test(tc, rise_accumulate_by_hand);
    tcase_add_test(tc, rise_finds_a_hidden_pixel);
    suite_add_tcase(s, tc);
    return s;
}
