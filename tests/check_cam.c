/* Tests for gc_cam: hand-worked cases for every method, the CAM equivalence
 * of Grad-CAM on a GAP + linear head, and the error paths. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gc_cam.h"
#include "gc_fixture.h"
#include "gc_tests.h"

#define TOL 1e-6

/* Runs gc_cam_compute with a work buffer of exactly the advertised size. */
static int compute(gc_method m, const float *A, const float *G, size_t K, size_t H, size_t W,
                   float *weights, float *map)
{
    size_t ws = gc_cam_work_size(m, K, H, W);
    float *work = ws ? malloc(ws * sizeof *work) : NULL;
    ck_assert(ws == 0 || work);
    int rc = gc_cam_compute(m, A, G, K, H, W, weights, map, work);
    free(work);
    return rc;
}

static void assert_map(const float *got, const double *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; ++i)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol, "cell %zu: got %.9g, want %.9g", i, got[i], want[i]);
}

/* Seed 004 / DESIGN.md worked example. */
static const float EX_A[18] = {1, 0, 2, 3, 5, 0, 1, 1, 1, /* A^1 */
                               0, 1, 0, 3, 1, 0, 1, 0, 1}; /* A^2 */
static const float EX_G[18] = {0, 1, 0, 0, 0, 0, 1, 0, 1,      /* g^1 */
                               0, -1, -1, -1, -1, 0, 0, -1, -1}; /* g^2 */

START_TEST(gradcam_worked_example)
{
    float a[2], w[2], map[9];
    const double want[9] = {1.0 / 3, 0, 2.0 / 3, 0, 1, 0, 0, 1.0 / 3, 0};

    gc_cam_gradcam_weights(EX_G, 2, 9, a);
    ck_assert_double_eq_tol(a[0], 1.0 / 3, TOL);
    ck_assert_double_eq_tol(a[1], -2.0 / 3, TOL);
    gc_cam_weighted_sum(EX_A, a, 2, 9, map);
    assert_map(map, want, 9, TOL);

    memset(map, 0x7f, sizeof map);
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, EX_A, EX_G, 2, 3, 3, w, map), 0);
    ck_assert_double_eq_tol(w[0], 1.0 / 3, TOL);
    ck_assert_double_eq_tol(w[1], -2.0 / 3, TOL);
    assert_map(map, want, 9, TOL);

    /* with weights given, no work buffer is needed */
    memset(map, 0x7f, sizeof map);
    ck_assert_int_eq(gc_cam_compute(GC_METHOD_GRADCAM, EX_A, EX_G, 2, 3, 3, w, map, NULL), 0);
    assert_map(map, want, 9, TOL);

    /* weights == NULL uses the work buffer instead */
    memset(map, 0x7f, sizeof map);
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, EX_A, EX_G, 2, 3, 3, NULL, map), 0);
    assert_map(map, want, 9, TOL);
}
END_TEST

/* Counterfactual explanation (Grad-CAM sec. 5): negating the gradient negates
 * every channel weight; the map is the ReLU of the negated pre-ReLU sum. */
START_TEST(gradcam_counterfactual_flips_weights)
{
    float G[18], w[2], wn[2], map[9];
    for (int i = 0; i < 18; ++i) G[i] = -EX_G[i];
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, EX_A, EX_G, 2, 3, 3, w, map), 0);
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, EX_A, G, 2, 3, 3, wn, map), 0);
    for (int k = 0; k < 2; ++k) {
        ck_assert(w[k] != 0);
        ck_assert_float_eq(wn[k], -w[k]);
    }
    /* pre-ReLU sum of the example: [[1/3,-2/3,2/3],[-1,1,0],[-1/3,1/3,-1/3]] */
    const double want[9] = {0, 2.0 / 3, 0, 1, 0, 0, 1.0 / 3, 0, 1.0 / 3};
    assert_map(map, want, 9, TOL);

    /* and on random data: every weight changes sign */
    enum { K = 6, HW = 20 };
    float A[K * HW], Gr[K * HW], Gn[K * HW], a1[K], a2[K], m[HW];
    uint64_t s = 7;
    for (int i = 0; i < K * HW; ++i) {
        A[i] = gcf_uniform(&s, 0, 2);
        Gr[i] = gcf_uniform(&s, -1, 1);
        Gn[i] = -Gr[i];
    }
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, A, Gr, K, 4, 5, a1, m), 0);
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, A, Gn, K, 4, 5, a2, m), 0);
    for (int k = 0; k < K; ++k) {
        ck_assert(a1[k] != 0);
        ck_assert_float_eq(a2[k], -a1[k]);
    }
}
END_TEST

/* Grad-CAM paper sec. 3.1: for a GAP + linear head, y^c = sum_k w_k (1/Z)
 * sum_ij A^k_ij, so dy^c/dA^k_ij = w_k / Z and Grad-CAM = ReLU(CAM) / Z with
 * CAM = sum_k w_k A^k. */
START_TEST(gradcam_equals_cam_for_gap_linear_head)
{
    enum { K = 8, H = 5, W = 7, HW = H * W };
    float A[K * HW], G[K * HW], wc[K], a[K], map[HW];
    double cam[HW];
    uint64_t s = 6;
    for (int i = 0; i < K * HW; ++i) A[i] = gcf_uniform(&s, 0, 3); /* post-ReLU features */
    for (int k = 0; k < K; ++k) wc[k] = gcf_uniform(&s, -1, 1);
    for (int k = 0; k < K; ++k)
        for (int p = 0; p < HW; ++p) G[k * HW + p] = wc[k] / HW;

    int npos = 0, nneg = 0;
    for (int p = 0; p < HW; ++p) {
        cam[p] = 0;
        for (int k = 0; k < K; ++k) cam[p] += (double)wc[k] * A[k * HW + p];
        npos += cam[p] > 0;
        nneg += cam[p] < 0;
    }
    ck_assert_msg(npos > 2 && nneg > 2, "test data should exercise the ReLU (%d/%d)", npos, nneg);

    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, A, G, K, H, W, a, map), 0);
    for (int k = 0; k < K; ++k) ck_assert_double_eq_tol(a[k], wc[k] / HW, 1e-7);
    /* proportional with the positive factor Z, estimated from the maximum */
    size_t am;
    float mx = gc_cam_map_max(map, HW, &am);
    ck_assert(mx > 0);
    double factor = cam[am] / mx;
    ck_assert_double_eq_tol(factor, HW, 1e-3);
    for (int p = 0; p < HW; ++p) {
        double want = cam[p] > 0 ? cam[p] : 0;
        ck_assert_msg(fabs(map[p] * factor - want) <= 1e-5, "cell %d: %g vs %g", p, map[p] * factor, want);
    }
}
END_TEST

/* Grad-CAM++ by hand (K=3, 2x2):
 * ch1 A=[1,2,3,4] (sum 10), g=[1,0,-1,.5]:
 *   g=1: alpha=1/(2+10)=1/12 -> 1/12; g=0, g<0: nothing;
 *   g=.5: alpha=.25/(.5+10*.125)=1/7 -> .5/7=1/14;  w1 = 1/12+1/14 = 13/84
 * ch2 A=[1,-1,0,0] (sum 0), g=[2,-1,0,1]: alpha=1/2 where g!=0 -> w2 = 2/2+1/2 = 1.5
 * ch3 A=[-1,-1,-1,-1] (sum -4, taken as 0: the paper's sums are of ReLU's
 *   outputs), g=[.5,.5,0,0]: alpha=1/2 where g>0 -> w3 = .25+.25 = .5
 *   (with -4 the denominator 2*.25 - 4*.125 was 0, and w3 had been 0)
 * L = ReLU(13/84*A1 + 1.5*A2 + .5*A3) = [97/84, 0, 0, 10/84] */
START_TEST(gradcampp_hand_worked)
{
    const float A[12] = {1, 2, 3, 4, 1, -1, 0, 0, -1, -1, -1, -1};
    const float G[12] = {1, 0, -1, .5f, 2, -1, 0, 1, .5f, .5f, 0, 0};
    float w[3], map[4];
    ck_assert_int_eq(compute(GC_METHOD_GRADCAMPP, A, G, 3, 2, 2, w, map), 0);
    ck_assert_double_eq_tol(w[0], 13.0 / 84, TOL);
    ck_assert_double_eq_tol(w[1], 1.5, TOL);
    ck_assert_double_eq_tol(w[2], .5, TOL);
    const double want[4] = {97.0 / 84, 0, 0, 10.0 / 84};
    assert_map(map, want, 4, TOL);
}
END_TEST

/* Signed activations (a leaky or linear layer's), where the papers'
 * formulas, made for ReLU's, have no bound:
 * Grad-CAM++ on A = -10 everywhere (sum -40), g = [.1, .2, .05, .3]: the
 *   denominator g^2 (2 - 40 g) crosses 0 at g = .05 and is negative past it
 *   (the weight had been -0.03 or, rounded near the pole, about -1.7e6 with
 *   other gradients); with the sum taken as 0, alpha = 1/2 and
 *   w = (.1 + .2 + .05 + .3) / 2 = .325.
 * XGrad-CAM on A = [1, -1, .5, -.5000001] (sum -1e-7), g = [.1, -.2, .3, .05]:
 *   sum g A / sum A = .425 / -1e-7, about -4e6; kept within the gradient's
 *   range [-.2, .3]: -.2. */
START_TEST(signed_activations_keep_the_weights_bounded)
{
    const float A[4] = {-10, -10, -10, -10}, G[4] = {.1f, .2f, .05f, .3f};
    float w[1], map[4];
    ck_assert_int_eq(compute(GC_METHOD_GRADCAMPP, A, G, 1, 2, 2, w, map), 0);
    ck_assert_double_eq_tol(w[0], .325, TOL);
    const float B[4] = {1, -1, .5f, -.5000001f}, H[4] = {.1f, -.2f, .3f, .05f};
    ck_assert_int_eq(compute(GC_METHOD_XGRADCAM, B, H, 1, 2, 2, w, map), 0);
    ck_assert_double_eq_tol(w[0], -.2, TOL);
    const double want[4] = {0, .2, 0, .5000001 * .2};
    assert_map(map, want, 4, 1e-5);
}
END_TEST

/* XGrad-CAM by hand (K=3, 2x2): w_k = sum g A / sum A
 * ch1 A=[1,2,3,4] (10), g=[1,0,-1,2]: (1-3+8)/10 = .6
 * ch2 A=[1,-1,0,0] (0): w2 = 0 whatever g
 * ch3 A=[0,0,2,2] (4), g=[1,1,-1,-2]: (-2-4)/4 = -1.5
 * L = ReLU(.6 A1 - 1.5 A3) = [.6, 1.2, 0, 0] */
START_TEST(xgradcam_hand_worked)
{
    const float A[12] = {1, 2, 3, 4, 1, -1, 0, 0, 0, 0, 2, 2};
    const float G[12] = {1, 0, -1, 2, 5, 5, 5, 5, 1, 1, -1, -2};
    float w[3], map[4];
    ck_assert_int_eq(compute(GC_METHOD_XGRADCAM, A, G, 3, 2, 2, w, map), 0);
    ck_assert_double_eq_tol(w[0], .6, TOL);
    ck_assert_float_eq(w[1], 0);
    ck_assert_double_eq_tol(w[2], -1.5, TOL);
    const double want[4] = {.6, 1.2, 0, 0};
    assert_map(map, want, 4, TOL);
}
END_TEST

/* HiResCAM and LayerCAM by hand (K=2, 1x3):
 * A1=[1,2,3] g1=[1,-1,2]; A2=[2,1,0] g2=[.5,1,-3]
 * HiResCAM: ReLU([1+1, -2+1, 6+0]) = [2,0,6]
 * LayerCAM: ReLU([1*1+.5*2, 0*2+1*1, 2*3+0*0]) = [2,1,6] */
START_TEST(hirescam_layercam_hand_worked)
{
    const float A[6] = {1, 2, 3, 2, 1, 0};
    const float G[6] = {1, -1, 2, .5f, 1, -3};
    float w[2] = {9, 9}, map[3];
    ck_assert_int_eq(compute(GC_METHOD_HIRESCAM, A, G, 2, 1, 3, w, map), 0);
    const double hires[3] = {2, 0, 6};
    assert_map(map, hires, 3, TOL);
    ck_assert(w[0] == 0 && w[1] == 0); /* no channel weights for this method */
    ck_assert_int_eq(compute(GC_METHOD_LAYERCAM, A, G, 2, 1, 3, NULL, map), 0);
    const double layer[3] = {2, 1, 6};
    assert_map(map, layer, 3, TOL);
}
END_TEST

/* HiResCAM reduces to Grad-CAM when every channel's gradient is constant. */
START_TEST(hirescam_equals_gradcam_for_constant_gradients)
{
    enum { K = 5, H = 4, W = 6, HW = H * W };
    float A[K * HW], G[K * HW], m1[HW], m2[HW];
    uint64_t s = 99;
    for (int i = 0; i < K * HW; ++i) A[i] = gcf_uniform(&s, -1, 2);
    for (int k = 0; k < K; ++k) {
        float c = gcf_uniform(&s, -1, 1);
        for (int p = 0; p < HW; ++p) G[k * HW + p] = c;
    }
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, A, G, K, H, W, NULL, m1), 0);
    ck_assert_int_eq(compute(GC_METHOD_HIRESCAM, A, G, K, H, W, NULL, m2), 0);
    int nonzero = 0;
    for (int p = 0; p < HW; ++p) {
        ck_assert_double_eq_tol(m1[p], m2[p], 1e-6);
        nonzero += m1[p] > 0;
    }
    ck_assert(nonzero > 0 && nonzero < HW);
    /* ...and differs once the gradient varies inside a channel: raise it at a
     * shown cell where the channel is active */
    int q = 0, kq = 0;
    while (q < HW - 1 && !(m1[q] > 0)) ++q;
    while (kq < K - 1 && !(A[kq * HW + q] > .1f)) ++kq;
    ck_assert(m1[q] > 0 && A[kq * HW + q] > .1f);
    G[kq * HW + q] += 1.0f;
    ck_assert_int_eq(compute(GC_METHOD_HIRESCAM, A, G, K, H, W, NULL, m2), 0);
    double diff = 0;
    for (int p = 0; p < HW; ++p) diff += fabs(m1[p] - m2[p]);
    ck_assert(diff > 1e-3);
}
END_TEST

/* EigenCAM on rank-1 activations A^k = c_k P: the centred matrix is
 * (P - mean P) c^T, its first component is c/|c| and the projection is
 * |c| (P - mean P); the sign is chosen to correlate with sum_k A^k =
 * (sum c) P, so the map is |c| ReLU(P - mean P) for sum c > 0 and
 * |c| ReLU(mean P - P) for sum c < 0. */
static void eigencam_rank1(const float *c, int K, int sign)
{
    enum { H = 6, W = 5, HW = H * W };
    float P[HW], map[HW], w[8];
    float *A = malloc(sizeof(float) * K * HW);
    ck_assert_ptr_nonnull(A);
    uint64_t s = 4242;
    double mean = 0, cn = 0;
    for (int p = 0; p < HW; ++p) mean += P[p] = gcf_uniform(&s, 0, 1);
    mean /= HW;
    for (int k = 0; k < K; ++k) {
        cn += (double)c[k] * c[k];
        for (int p = 0; p < HW; ++p) A[k * HW + p] = c[k] * P[p];
    }
    cn = sqrt(cn);
    ck_assert_int_eq(compute(GC_METHOD_EIGENCAM, A, NULL, K, H, W, w, map), 0);
    for (int k = 0; k < K; ++k) ck_assert_float_eq(w[k], 0);
    int pos = 0;
    for (int p = 0; p < HW; ++p) {
        double d = sign * (P[p] - mean);
        double want = d > 0 ? cn * d : 0;
        ck_assert_msg(fabs(map[p] - want) <= 1e-4 * cn, "cell %d: %g vs %g", p, map[p], want);
        pos += want > 0;
    }
    ck_assert(pos > 0 && pos < HW);
    free(A);
}

START_TEST(eigencam_rank1_recovers_pattern)
{
    const float c1[4] = {1, 2, -.5f, 3};
    eigencam_rank1(c1, 4, +1);
    const float c2[3] = {-1, -2, .5f};
    eigencam_rank1(c2, 3, -1);
    /* nearly orthogonal to the all-ones direction: the power iteration's own
     * sign (that of the start vector) is the wrong one here */
    const float c3[2] = {1, -1.1f};
    eigencam_rank1(c3, 2, -1);
}
END_TEST

/* Two channels, four positions: points (7,5), (3,5), (5,6), (5,4). The
 * covariance is diag(2, .5): the first component is the x axis, so the
 * projection is x - 5 = [2,-2,0,0] (the second component would give
 * [0,0,1,-1]); the activation sums [12,8,11,9] correlate positively. */
START_TEST(eigencam_picks_first_component)
{
    const float A[8] = {7, 3, 5, 5, 5, 5, 6, 4};
    float map[4];
    ck_assert_int_eq(compute(GC_METHOD_EIGENCAM, A, NULL, 2, 2, 2, NULL, map), 0);
    const double want[4] = {2, 0, 0, 0};
    assert_map(map, want, 4, 1e-5);
}
END_TEST

START_TEST(eigencam_constant_activations_give_zero)
{
    float A[12], map[4];
    for (int i = 0; i < 12; ++i) A[i] = (float)(i / 4 + 1);
    memset(map, 0x7f, sizeof map);
    ck_assert_int_eq(compute(GC_METHOD_EIGENCAM, A, NULL, 3, 2, 2, NULL, map), 0);
    for (int p = 0; p < 4; ++p) ck_assert_float_eq(map[p], 0);
}
END_TEST

/* Non-finite input: every method returns -1 with an all-zero map and
 * all-zero weights, whatever was in them before. */
START_TEST(nonfinite_input_rejected)
{
    float A[18], G[18], w[2], map[9];
    for (int m = 0; m < GC_METHOD_COUNT; ++m) {
        if (!gc_cam_method_has_layer_map((gc_method)m)) continue; /* input-level only */
        gc_g_kind gk = gc_cam_method_get((gc_method)m)->g;
        for (int bad = 0; bad < 3; ++bad) {
            memcpy(A, EX_A, sizeof A);
            memcpy(G, EX_G, sizeof G);
            if (bad == 0) A[4] = NAN;
            if (bad == 1) A[13] = -INFINITY;
            if (bad == 2) G[7] = NAN;
            memset(map, 0x7f, sizeof map);
            memset(w, 0x7f, sizeof w);
            int rc = compute((gc_method)m, A, G, 2, 3, 3, w, map);
            if (bad == 2 && (m == GC_METHOD_EIGENCAM || gk == GC_G_CLASS_WEIGHTS || gk == GC_G_MASKED_SCORES ||
                             gk == GC_G_ABLATED_SCORES)) {
                ck_assert_int_eq(rc, 0); /* gradient-free (G never read, or only its K = 2 first values) */
                continue;
            }
            ck_assert_msg(rc == -1, "%s, case %d", gc_cam_method_name((gc_method)m), bad);
            for (int p = 0; p < 9; ++p) ck_assert_float_eq(map[p], 0);
            ck_assert(w[0] == 0 && w[1] == 0);
        }
    }
}
END_TEST

/* Finite input whose result overflows float: a = 3e38, L = a * A = 9e76. */
START_TEST(nonfinite_result_rejected)
{
    const float A[2] = {3e38f, 1};
    const float G[2] = {3e38f, 3e38f};
    float w[1] = {1}, map[2] = {1, 1};
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, A, G, 1, 1, 2, w, map), -1);
    ck_assert_float_eq(w[0], 0);
    ck_assert(map[0] == 0 && map[1] == 0);
    ck_assert_int_eq(compute(GC_METHOD_HIRESCAM, A, G, 1, 1, 2, NULL, map), -1);
    ck_assert(map[0] == 0 && map[1] == 0);

    /* Grad-CAM++ weight overflowing while the map stays finite: with A == 0,
     * alpha = 1/2 and w = 3 * 3e38 / 2 = inf, but w * A gives no signal. */
    const float Z[3] = {0, 0, 0}, Gb[3] = {3e38f, 3e38f, 3e38f};
    float m3[3] = {1, 1, 1};
    w[0] = 1;
    ck_assert_int_eq(compute(GC_METHOD_GRADCAMPP, Z, Gb, 1, 1, 3, w, m3), -1);
    ck_assert_float_eq(w[0], 0);
    ck_assert(m3[0] == 0 && m3[1] == 0 && m3[2] == 0);

    /* Eigen-CAM on finite activations whose covariance overflows float
     * (variance 1e40): reported, not an all-zero map passed off as a result
     * (the projection itself, ~1e20, fits a float). Both K = 1 and K = 2. */
    const float Big[6] = {1e20f, -1e20f, 0, 0, 1, 2};
    float m2[3];
    for (size_t K = 1; K <= 2; ++K) {
        m2[0] = m2[1] = m2[2] = 1;
        ck_assert_msg(compute(GC_METHOD_EIGENCAM, Big, NULL, K, 1, 3, NULL, m2) == -1, "K = %zu", K);
        ck_assert(m2[0] == 0 && m2[1] == 0 && m2[2] == 0);
    }
    /* -smooth eigen goes through the same kernel */
    float ew[2], ework[64];
    ck_assert_uint_le(gc_cam_eigen_work_size(GC_METHOD_LAYERCAM, 2, 1, 3), 64);
    const float Gone[6] = {1, 1, 1, 1, 1, 1};
    m2[0] = m2[1] = m2[2] = 1;
    ck_assert_int_eq(gc_cam_compute_eigen(GC_METHOD_LAYERCAM, Big, Gone, 2, 1, 3, ew, m2, ework), -1);
    ck_assert(m2[0] == 0 && m2[1] == 0 && m2[2] == 0);
}
END_TEST

/* All-zero maps: zero gradients, or only negative evidence, give an all-zero
 * (never NaN) map that gc_cam_map_max reports as 0. */
START_TEST(all_zero_maps)
{
    float G[18] = {0}, map[9];
    size_t am = 99;
    for (int m = 0; m < GC_METHOD_COUNT; ++m) {
        /* Eigen-CAM reads no gradient; Score-CAM's equal scores weigh every channel alike */
        if (m == GC_METHOD_EIGENCAM || m == GC_METHOD_SCORECAM || !gc_cam_method_has_layer_map((gc_method)m)) continue;
        memset(map, 0x7f, sizeof map);
        ck_assert_int_eq(compute((gc_method)m, EX_A, G, 2, 3, 3, NULL, map), 0);
        for (int p = 0; p < 9; ++p) ck_assert_float_eq(map[p], 0);
    }
    ck_assert_float_eq(gc_cam_map_max(map, 9, &am), 0);
    ck_assert_uint_eq(am, 0);
    /* negative evidence only: every cell of sum_k a_k A^k is <= 0 */
    for (int i = 0; i < 18; ++i) G[i] = -1;
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, EX_A, G, 2, 3, 3, NULL, map), 0);
    for (int p = 0; p < 9; ++p) ck_assert_float_eq(map[p], 0);
    /* empty inputs */
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, EX_A, G, 0, 3, 3, NULL, map), 0);
    ck_assert_float_eq(gc_cam_map_max(map, 0, &am), 0);
}
END_TEST

START_TEST(map_max_and_argmax)
{
    const float m[6] = {0, .5f, 2, 1, 2, 0};
    size_t am = 99;
    ck_assert_float_eq(gc_cam_map_max(m, 6, &am), 2);
    ck_assert_uint_eq(am, 2); /* first of ties */
    ck_assert_float_eq(gc_cam_map_max(m, 2, NULL), .5f);
}
END_TEST

START_TEST(method_names_round_trip)
{
    const char *names[GC_METHOD_COUNT] = {"gradcam",        "gradcam++",     "xgradcam", "hirescam", "layercam",
                                          "eigencam",       "guidedbackprop", "guidedgradcam", "cam", "scorecam",
                                          "eigengradcam", "ablationcam"};
    for (int m = 0; m < GC_METHOD_COUNT; ++m) {
        gc_method got = GC_METHOD_COUNT;
        ck_assert_str_eq(gc_cam_method_name((gc_method)m), names[m]);
        ck_assert_int_eq(gc_cam_method_parse(names[m], &got), 0);
        ck_assert_int_eq(got, m);
    }
    gc_method got = GC_METHOD_GRADCAM;
    ck_assert_int_eq(gc_cam_method_parse("GradCAM++", &got), 0);
    ck_assert_int_eq(got, GC_METHOD_GRADCAMPP);
    ck_assert_int_eq(gc_cam_method_parse("nosuchcam", &got), -1);
    ck_assert_int_eq(gc_cam_method_parse("", &got), -1);
    ck_assert_int_eq(gc_cam_method_parse(NULL, &got), -1);
    ck_assert_int_eq(got, GC_METHOD_GRADCAMPP); /* untouched on failure */
    ck_assert_str_eq(gc_cam_method_name(GC_METHOD_COUNT), "unknown");
}
END_TEST

START_TEST(work_sizes)
{
    ck_assert_uint_eq(gc_cam_work_size(GC_METHOD_GRADCAM, 7, 3, 3), 7);
    ck_assert_uint_eq(gc_cam_work_size(GC_METHOD_HIRESCAM, 7, 3, 3), 0);
    ck_assert_uint_eq(gc_cam_work_size(GC_METHOD_LAYERCAM, 7, 3, 3), 0);
    ck_assert_uint_eq(gc_cam_work_size(GC_METHOD_EIGENCAM, 7, 3, 3), 49 + 21);
    ck_assert_uint_eq(gc_cam_work_size(GC_METHOD_EIGENCAM, SIZE_MAX / 2, 3, 3), SIZE_MAX);
}
END_TEST

/* ---- the methods of issue 12, one hand-worked example each ---------------- */

/* CAM: the class weights w = (1, -2) on the worked example's A:
 * ReLU(A^1 - 2 A^2). */
START_TEST(cam_by_hand)
{
    const float wc[2] = {1, -2};
    float w[2], map[9];
    const double want[9] = {1, 0, 2, 0, 3, 0, 0, 1, 0};
    ck_assert_int_eq(compute(GC_METHOD_CAM, EX_A, wc, 2, 3, 3, w, map), 0);
    assert_map(map, want, 9, 0);
    ck_assert(w[0] == 1 && w[1] == -2);
}
END_TEST

/* Score-CAM: scores (ln 1, ln 3) give softmax weights (1/4, 3/4); a channel
 * left out by the cap (-FLT_MAX) weighs 0, and so do all when none scored. */
START_TEST(scorecam_by_hand)
{
    const float sc[2] = {0, (float)log(3.0)}, capped[2] = {0, -FLT_MAX};
    float w[2], map[9];
    double want[9];
    for (int p = 0; p < 9; ++p) want[p] = .25 * EX_A[p] + .75 * EX_A[9 + p];
    ck_assert_int_eq(compute(GC_METHOD_SCORECAM, EX_A, sc, 2, 3, 3, w, map), 0);
    assert_map(map, want, 9, 1e-6);
    ck_assert(fabsf(w[0] - .25f) < 1e-7f && fabsf(w[1] - .75f) < 1e-7f);
    ck_assert_int_eq(compute(GC_METHOD_SCORECAM, EX_A, capped, 2, 3, 3, w, map), 0);
    for (int p = 0; p < 9; ++p) want[p] = EX_A[p];
    assert_map(map, want, 9, 0);
    /* no channel scored: every weight 0, an all-zero map (softmax over equal
     * values had weighted both channels 1/2) */
    const float none[2] = {-FLT_MAX, -FLT_MAX};
    ck_assert_int_eq(compute(GC_METHOD_SCORECAM, EX_A, none, 2, 3, 3, w, map), 0);
    ck_assert(w[0] == 0 && w[1] == 0);
    for (int p = 0; p < 9; ++p) want[p] = 0;
    assert_map(map, want, 9, 0);
}
END_TEST

/* Eigen-Grad-CAM: g .* A = rows (1,1), (2,2), (3,3): centred (-1,-1), (0,0),
 * (1,1), component (1,1)/sqrt 2, projections -sqrt 2, 0, sqrt 2. Eigen-CAM of A
 * alone ((1,2), (2,4), (3,6)) gives sqrt 5 instead. */
START_TEST(eigengradcam_by_hand)
{
    const float A[6] = {1, 2, 3, 2, 4, 6}, G[6] = {1, 1, 1, .5f, .5f, .5f};
    float map[3];
    const double want[3] = {0, 0, sqrt(2.0)}, want_e[3] = {0, 0, sqrt(5.0)};
    ck_assert_int_eq(compute(GC_METHOD_EIGENGRADCAM, A, G, 2, 1, 3, NULL, map), 0);
    assert_map(map, want, 3, 1e-5);
    ck_assert_int_eq(compute(GC_METHOD_EIGENCAM, A, G, 2, 1, 3, NULL, map), 0);
    assert_map(map, want_e, 3, 1e-5);
    ck_assert_uint_eq(gc_cam_work_size(GC_METHOD_EIGENGRADCAM, 2, 1, 3), 6 + 4 + 6);
}
END_TEST

/* The input-level kernels: the guided gradient as it is, or times the cam
 * per channel; and the saliency max_c |x|. */
START_TEST(guided_input_kernels_by_hand)
{
    const float grad[6] = {1, -2, 3, -4, 5, -6}, cam[3] = {0, .5f, 1};
    float out[6], sal[3];
    const double want[6] = {0, -1, 3, 0, 2.5, -6}, want_s[3] = {0, 2.5, 6};
    gc_cam_input_compute(GC_METHOD_GUIDEDGRADCAM, grad, cam, 2, 3, out);
    assert_map(out, want, 6, 0);
    gc_cam_input_saliency(out, 2, 3, sal);
    assert_map(sal, want_s, 3, 0);
    gc_cam_input_compute(GC_METHOD_GUIDEDBACKPROP, grad, NULL, 2, 3, out);
    for (int i = 0; i < 6; ++i) ck_assert_float_eq(out[i], grad[i]);
    ck_assert(gc_cam_method_get(GC_METHOD_GUIDEDBACKPROP)->reaches_input && !gc_cam_method_has_layer_map(GC_METHOD_GUIDEDBACKPROP));
    ck_assert(gc_cam_method_get(GC_METHOD_GUIDEDGRADCAM)->input_cam && gc_cam_method_has_layer_map(GC_METHOD_GUIDEDGRADCAM));
    /* Guided Grad-CAM's layer part is Grad-CAM */
    float m1[9], m2[9];
    ck_assert_int_eq(compute(GC_METHOD_GUIDEDGRADCAM, EX_A, EX_G, 2, 3, 3, NULL, m1), 0);
    ck_assert_int_eq(compute(GC_METHOD_GRADCAM, EX_A, EX_G, 2, 3, 3, NULL, m2), 0);
    for (int p = 0; p < 9; ++p) ck_assert_float_eq(m1[p], m2[p]);
}
END_TEST

/* Ablation-CAM: ablated scores (1, 3) against the score 2 give
 * w = ((2-1)/2, (2-3)/2) = (1/2, -1/2): ReLU((A^1 - A^2) / 2); a zero score
 * gives zero weights. */
/* y = 2: zeroing channel 0 drops it to 1 (w 0.5), channel 1 raises it to 3
 * (w -0.5). The same drops from y = -2 (to -3: the channel supports the
 * score) keep their sign: w = (y - y_k) / |y|, so a negative score (a
 * detector's class logit) is not explained by what lowers it. y = 0: the
 * drops themselves. */
START_TEST(ablationcam_by_hand)
{
    const float sc[3] = {1, 3, 2}, neg[3] = {-3, -1, -2}, zero[3] = {-1, 1, 0};
    float w[2], map[9];
    const double want[9] = {.5, 0, 1, 0, 2, 0, 0, .5, 0};
    ck_assert_int_eq(compute(GC_METHOD_ABLATIONCAM, EX_A, sc, 2, 3, 3, w, map), 0);
    assert_map(map, want, 9, 1e-7);
    ck_assert(w[0] == .5f && w[1] == -.5f);
    ck_assert_int_eq(compute(GC_METHOD_ABLATIONCAM, EX_A, neg, 2, 3, 3, w, map), 0);
    assert_map(map, want, 9, 1e-7);
    ck_assert(w[0] == .5f && w[1] == -.5f);
    ck_assert_int_eq(compute(GC_METHOD_ABLATIONCAM, EX_A, zero, 2, 3, 3, w, map), 0);
    ck_assert(w[0] == 1 && w[1] == -1);
}
END_TEST

/* -smooth eigen: Grad-CAM's weights here are the gradient means (1, 1/2),
 * so the weighted activations are the rows (1,1), (2,2), (3,3) of the
 * Eigen-Grad-CAM example: map (0, 0, sqrt 2) instead of the sum's ReLU
 * (2, 4, 6). For HiResCAM, the terms g .* A are the same rows. */
START_TEST(eigen_smoothing_by_hand)
{
    const float A[6] = {1, 2, 3, 2, 4, 6}, G[6] = {1, 1, 1, .5f, .5f, .5f};
    float map[3], w[2];
    const double want[3] = {0, 0, sqrt(2.0)}, plain[3] = {2, 4, 6};
    const gc_method ms[2] = {GC_METHOD_GRADCAM, GC_METHOD_HIRESCAM};
    for (int i = 0; i < 2; ++i) {
        size_t ws = gc_cam_eigen_work_size(ms[i], 2, 1, 3);
        float *work = malloc(ws * sizeof *work);
        ck_assert_ptr_nonnull(work);
        ck_assert_int_eq(gc_cam_compute_eigen(ms[i], A, G, 2, 1, 3, i ? NULL : w, map, work), 0);
        assert_map(map, want, 3, 1e-5);
        free(work);
        ck_assert_int_eq(compute(ms[i], A, G, 2, 1, 3, NULL, map), 0);
        assert_map(map, plain, 3, 1e-6);
    }
    ck_assert(w[0] == 1 && w[1] == .5f);
}
END_TEST

Suite *suite_cam(void)
{
    Suite *s = suite_create("cam");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, gradcam_worked_example);
    tcase_add_test(tc, gradcam_counterfactual_flips_weights);
    tcase_add_test(tc, gradcam_equals_cam_for_gap_linear_head);
    tcase_add_test(tc, gradcampp_hand_worked);
    tcase_add_test(tc, xgradcam_hand_worked);
    tcase_add_test(tc, signed_activations_keep_the_weights_bounded);
    tcase_add_test(tc, hirescam_layercam_hand_worked);
    tcase_add_test(tc, hirescam_equals_gradcam_for_constant_gradients);
    tcase_add_test(tc, eigencam_rank1_recovers_pattern);
    tcase_add_test(tc, eigencam_picks_first_component);
    tcase_add_test(tc, eigencam_constant_activations_give_zero);
    tcase_add_test(tc, nonfinite_input_rejected);
    tcase_add_test(tc, nonfinite_result_rejected);
    tcase_add_test(tc, all_zero_maps);
    tcase_add_test(tc, map_max_and_argmax);
    tcase_add_test(tc, method_names_round_trip);
    tcase_add_test(tc, work_sizes);
    tcase_add_test(tc, cam_by_hand);
    tcase_add_test(tc, scorecam_by_hand);
    tcase_add_test(tc, eigengradcam_by_hand);
    tcase_add_test(tc, guided_input_kernels_by_hand);
    tcase_add_test(tc, eigen_smoothing_by_hand);
    tcase_add_test(tc, ablationcam_by_hand);
    suite_add_tcase(s, tc);
    return s;
}
