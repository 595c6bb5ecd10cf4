/* gc_cam: the Grad-CAM family as pure functions on raw arrays.
 *
 * Layout: A[k*HW + p] and G[k*HW + p], p = row*W + col (Darknet's batch-1
 * layer output). Every long sum (over the HW positions of a channel, or over
 * the K channels of a position) is accumulated in double: K and HW reach the
 * thousands and float sums would lose the small channel weights.
 *
 * Non-finite input (NaN/Inf in A, or in G for the methods that read it) and
 * non-finite results (e.g. Grad-CAM++'s g^3 overflowing float) are reported
 * as -1 with an all-zero map and all-zero weights, never propagated. */
#include "gc_cam.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gc_common.h"

static int gc_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Grad-CAM eq. (1): a_k = (1/Z) sum_ij dy^c/dA^k_ij, Z = H*W. */
void gc_cam_gradcam_weights(const float *G, size_t K, size_t HW, float *a)
{
    for (size_t k = 0; k < K; ++k) {
        const float *g = G + k * HW;
        double s = 0;
        for (size_t p = 0; p < HW; ++p) s += g[p];
        a[k] = HW ? (float)(s / (double)HW) : 0.0f;
    }
}

static void gradcam_weights(const float *A, const float *G, size_t K, size_t HW, float *w)
{
    (void)A;
    gc_cam_gradcam_weights(G, K, HW, w);
}

/* Grad-CAM eq. (2): L = ReLU(sum_k a_k A^k). */
void gc_cam_weighted_sum(const float *A, const float *w, size_t K, size_t HW, float *map)
{
    for (size_t p = 0; p < HW; ++p) {
        double s = 0;
        for (size_t k = 0; k < K; ++k) s += (double)w[k] * A[k * HW + p];
        map[p] = s > 0 ? (float)s : 0.0f;
    }
}

/* Grad-CAM++ (Chattopadhay et al., eq. 19 with the exponential-score
 * simplification): alpha^k_ij = g^2 / (2 g^2 + (sum_ab A^k_ab) g^3), 0 where
 * the denominator is 0; w_k = sum_ij alpha^k_ij ReLU(g^k_ij). The paper's
 * activations are ReLU's, their sum never negative; a leaky or linear
 * layer's can be, and then the denominator g^2 (2 + sum g) crossed zero at
 * g = -2 / sum: alpha without bound near it, negative past it (one channel
 * of -10s with a gradient of 0.2 had weighed -1.7e6). The sum is taken as
 * at least 0, so that alpha stays in (0, 1/2] where g > 0, as with ReLU. */
static void gc_cam_gradcampp_weights(const float *A, const float *G, size_t K, size_t HW, float *w)
{
    for (size_t k = 0; k < K; ++k) {
        const float *a = A + k * HW, *g = G + k * HW;
        double sum_a = 0, s = 0;
        for (size_t p = 0; p < HW; ++p) sum_a += a[p];
        if (sum_a < 0) sum_a = 0;
        for (size_t p = 0; p < HW; ++p) {
            double g1 = g[p], g2 = g1 * g1, g3 = g2 * g1;
            double den = 2.0 * g2 + sum_a * g3;
            if (den != 0 && g1 > 0) s += g2 / den * g1;
        }
        w[k] = (float)s;
    }
}

/* XGrad-CAM (Fu et al.): w_k = sum_ij (A^k_ij / sum_ab A^k_ab) g^k_ij, 0 for a
 * channel whose activations sum to 0. With ReLU's activations (the paper's)
 * that is an average of the channel's gradient, within its range; a leaky
 * or linear layer's activations of both signs can sum to nearly 0, and the
 * ratio had no bound (-3.6e6 from gradients of at most 0.3). The weight is
 * kept within the gradient's range, which changes nothing where the
 * activations share a sign. */
static void gc_cam_xgradcam_weights(const float *A, const float *G, size_t K, size_t HW, float *w)
{
    for (size_t k = 0; k < K; ++k) {
        const float *a = A + k * HW, *g = G + k * HW;
        double sum_a = 0, s = 0, lo = HW ? g[0] : 0, hi = lo;
        for (size_t p = 0; p < HW; ++p) {
            sum_a += a[p];
            s += (double)g[p] * a[p];
            if (g[p] < lo) lo = g[p];
            if (g[p] > hi) hi = g[p];
        }
        if (sum_a == 0) {
            w[k] = 0.0f;
            continue;
        }
        double v = s / sum_a;
        w[k] = (float)(v < lo ? lo : v > hi ? hi : v);
    }
}

/* HiResCAM (Draelos & Carin): L = ReLU(sum_k g^k .* A^k); LayerCAM (Jiang et
 * al.): L = ReLU(sum_k ReLU(g^k) .* A^k). */
static void gc_cam_elementwise(const float *A, const float *G, size_t K, size_t HW, int relu_g,
                               float *map)
{
    for (size_t p = 0; p < HW; ++p) {
        double s = 0;
        for (size_t k = 0; k < K; ++k) {
            double g = G[k * HW + p];
            if (relu_g && g < 0) g = 0;
            s += g * A[k * HW + p];
        }
        map[p] = s > 0 ? (float)s : 0.0f;
    }
}

static void hirescam_map(const float *A, const float *G, size_t K, size_t HW, float *map, float *work)
{
    (void)work;
    gc_cam_elementwise(A, G, K, HW, 0, map);
}

static void layercam_map(const float *A, const float *G, size_t K, size_t HW, float *map, float *work)
{
    (void)work;
    gc_cam_elementwise(A, G, K, HW, 1, map);
}

#define GC_EIGEN_MAX_ITER 1000
#define GC_EIGEN_TOL 1e-6

/* Eigen-CAM (Muhammad & Yeasin): the HW x K matrix of activations (one row per
 * position), centred per channel, projected on its first principal component.
 *
 * The component is the top eigenvector v of the K x K covariance
 * C = (1/HW) sum_p (a_p - mu)(a_p - mu)^T, found by power iteration from a
 * fixed start vector (all positive, slightly uneven so that it is not
 * orthogonal to v by symmetry), until the largest change of a component of v
 * falls below GC_EIGEN_TOL or GC_EIGEN_MAX_ITER iterations have run (a
 * near-degenerate top eigenvalue then leaves v inside its eigenspace, which
 * is as good an answer as any). C is positive semi-definite, so the iteration
 * converges to the largest eigenvalue without sign flips.
 *
 * A principal component has no sign. We choose the one whose projection
 * s_p = (a_p - mu) . v correlates positively with the per-position activation
 * sum t_p = sum_k A^k_p (i.e. sum_p s_p t_p >= 0; s is already centred), so
 * that the map highlights where the layer is most active, then apply a ReLU
 * like every other method. Since t_p - mean t = 1 . (a_p - mu), that sum is
 * HW * lambda * (v . 1): the rule amounts to making v's components sum to a
 * non-negative number. For rank-1 activations A^k = c_k P this gives
 * |c| ReLU(P - mean P) when sum_k c_k > 0.
 *
 * Work: means[K], cov[K*K], v[K], v2[K]. A constant layer (C == 0) gives an
 * all-zero map. */
static void gc_cam_eigencam(const float *A, size_t K, size_t HW, float *map, float *work)
{
    float *mu = work, *cov = work + K, *v = cov + K * K, *v2 = v + K;

    for (size_t k = 0; k < K; ++k) {
        double s = 0;
        for (size_t p = 0; p < HW; ++p) s += A[k * HW + p];
        mu[k] = (float)(s / (double)HW);
    }
    for (size_t i = 0; i < K; ++i) {
        const float *ai = A + i * HW;
        for (size_t j = i; j < K; ++j) {
            const float *aj = A + j * HW;
            double s = 0;
            for (size_t p = 0; p < HW; ++p) s += ((double)ai[p] - mu[i]) * ((double)aj[p] - mu[j]);
            cov[i * K + j] = cov[j * K + i] = (float)(s / (double)HW);
        }
    }

    double n0 = 0;
    for (size_t k = 0; k < K; ++k) {
        double frac = fmod((double)(k + 1) * 0.6180339887498949, 1.0);
        v[k] = (float)(1.0 + 0.5 * frac);
        n0 += (double)v[k] * v[k];
    }
    n0 = sqrt(n0);
    for (size_t k = 0; k < K; ++k) v[k] = (float)(v[k] / n0);

    for (int it = 0; it < GC_EIGEN_MAX_ITER; ++it) {
        double norm = 0;
        for (size_t i = 0; i < K; ++i) {
            double s = 0;
            for (size_t j = 0; j < K; ++j) s += (double)cov[i * K + j] * v[j];
            v2[i] = (float)s;
            norm += s * s;
        }
        norm = sqrt(norm);
        if (!(norm > 0) || !isfinite(norm)) {
            /* C v == 0: the start vector lies in C's null space, which (C
             * being PSD with a positive start vector) happens only for C == 0
             * in practice: no variation, nothing to show. A C v that is not
             * finite is no such case: finite activations beyond ~1.8e19
             * overflow C's float entries. Its NaN makes the callers' check of
             * the map report it (-1, the map zeroed) instead of an all-zero
             * map passing for a real one. */
            memset(map, 0, HW * sizeof *map);
            if (!isfinite(norm)) map[0] = NAN;
            return;
        }
        double change = 0;
        for (size_t i = 0; i < K; ++i) {
            double x = v2[i] / norm;
            double d = fabs(x - v[i]);
            if (d > change) change = d;
            v[i] = (float)x;
        }
        if (change < GC_EIGEN_TOL) break;
    }

    double corr = 0;
    for (size_t p = 0; p < HW; ++p) {
        double s = 0, t = 0;
        for (size_t k = 0; k < K; ++k) {
            double a = A[k * HW + p];
            s += (a - mu[k]) * v[k];
            t += a;
        }
        map[p] = (float)s;
        corr += s * t;
    }
    float sign = corr < 0 ? -1.0f : 1.0f;
    for (size_t p = 0; p < HW; ++p) {
        float x = sign * map[p];
        map[p] = x > 0 ? x : 0.0f;
    }
}

static void eigencam_map(const float *A, const float *G, size_t K, size_t HW, float *map, float *work)
{
    (void)G;
    gc_cam_eigencam(A, K, HW, map, work);
}

/* means[K], covariance[K*K], two power-iteration vectors[K] */
static size_t eigencam_work(size_t K, size_t HW)
{
    size_t kk;
    (void)HW;
    if (gc_size_mul(K, K, &kk) != 0 || kk > SIZE_MAX - 3 * K) return SIZE_MAX;
    return kk + 3 * K;
}

/* Eigen-Grad-CAM (pytorch-grad-cam's EigenGradCAM): Eigen-CAM's first
 * principal component taken of the gradient-weighted activations g^k .* A^k
 * instead of A. Work: the product [K*HW], then Eigen-CAM's scratch. */
static void eigengradcam_map(const float *A, const float *G, size_t K, size_t HW, float *map, float *work)
{
    float *ga = work;
    for (size_t i = 0; i < K * HW; ++i) ga[i] = G[i] * A[i];
    gc_cam_eigencam(ga, K, HW, map, work + K * HW);
}

static size_t eigengradcam_work(size_t K, size_t HW)
{
    size_t e = eigencam_work(K, HW), kh;
    if (e == SIZE_MAX || gc_size_mul(K, HW, &kh) != 0 || kh > SIZE_MAX - e) return SIZE_MAX;
    return kh + e;
}

/* CAM (Zhou et al., eq. 2 of the CAM paper): M_c = sum_k w^c_k A^k with w^c
 * the class's row of the linear layer after global average pooling. G holds
 * those K weights (GC_G_CLASS_WEIGHTS); the ReLU follows as for every method. */
static void cam_weights(const float *A, const float *G, size_t K, size_t HW, float *w)
{
    (void)A, (void)HW;
    memcpy(w, G, K * sizeof *w);
}

/* Score-CAM (Wang et al.), as pytorch-grad-cam computes it: G holds the
 * target's score s_k on the input masked by channel k's normalised,
 * upsampled activation (GC_G_MASKED_SCORES); w = softmax_k(s). Channels left
 * out by a cap, or whose score was not finite, carry -FLT_MAX and get weight
 * 0 (all of them: every weight 0). Softmax is shift-invariant,
 * so the paper's increase over a baseline score gives the same weights. */
static void scorecam_weights(const float *A, const float *G, size_t K, size_t HW, float *w)
{
    (void)A, (void)HW;
    double mx = -INFINITY, sum = 0;
    for (size_t k = 0; k < K; ++k)
        if (G[k] > mx) mx = G[k];
    if (mx == -FLT_MAX) { /* no channel scored (each capped, or its score not finite): no weight, not
                           * the uniform softmax of K equal values, which weighted every channel */
        memset(w, 0, K * sizeof *w);
        return;
    }
    for (size_t k = 0; k < K; ++k) sum += exp((double)G[k] - mx);
    for (size_t k = 0; k < K; ++k) w[k] = (float)(exp((double)G[k] - mx) / sum);
}

/* Ablation-CAM (Desai & Ramaswamy): G holds the score y_k with channel k
 * of the layer zeroed, for each k, then the score y itself
 * (GC_G_ABLATED_SCORES); w_k = (y - y_k) / |y|, the drop in score when the
 * channel is removed, relative to the score's size. pytorch-grad-cam divides
 * by y: for a negative score (a detector's class logit under probability
 * 0.5) every weight changes sign, and the map shows what lowers the score.
 * A score within 1e-6 of 0: the drops themselves. */
static void ablationcam_weights(const float *A, const float *G, size_t K, size_t HW, float *w)
{
    (void)A, (void)HW;
    double y = G[K], size = fabs(y) > 1e-6 ? fabs(y) : 1.0;
    for (size_t k = 0; k < K; ++k) w[k] = (float)((y - G[k]) / size);
}

/* Guided Backpropagation: the guided input gradient itself. */
static void guided_input(const float *grad, const float *cam, size_t C, size_t HW, float *out)
{
    (void)cam;
    memcpy(out, grad, C * HW * sizeof *out);
}

/* Guided Grad-CAM (Grad-CAM, section 3.1): the guided gradient times the
 * Grad-CAM map upsampled to the input, element-wise per channel. */
static void guided_gradcam_input(const float *grad, const float *cam, size_t C, size_t HW, float *out)
{
    for (size_t c = 0; c < C; ++c)
        for (size_t p = 0; p < HW; ++p) out[c * HW + p] = grad[c * HW + p] * cam[p];
}

/* The terms of the element-wise and Eigen methods (for -smooth eigen). */
static void terms_ga(const float *A, const float *G, size_t K, size_t HW, float *out)
{
    for (size_t i = 0; i < K * HW; ++i) out[i] = G[i] * A[i];
}

static void terms_relu_ga(const float *A, const float *G, size_t K, size_t HW, float *out)
{
    for (size_t i = 0; i < K * HW; ++i) out[i] = (G[i] > 0 ? G[i] : 0.0f) * A[i];
}

static void terms_a(const float *A, const float *G, size_t K, size_t HW, float *out)
{
    (void)G;
    memcpy(out, A, K * HW * sizeof *out);
}

static const gc_method_info methods[GC_METHOD_COUNT] = {
    [GC_METHOD_GRADCAM] = {"gradcam", "Grad-CAM: channels weighted by their mean gradient", 1, 0, 0,
                           gradcam_weights, NULL, NULL},
    [GC_METHOD_GRADCAMPP] = {"gradcam++", "Grad-CAM++: weights from positive gradients, alpha-scaled", 1, 0, 0,
                             gc_cam_gradcampp_weights, NULL, NULL},
    [GC_METHOD_XGRADCAM] = {"xgradcam", "XGrad-CAM: gradients weighted by normalised activations", 1, 0, 0,
                            gc_cam_xgradcam_weights, NULL, NULL},
    [GC_METHOD_HIRESCAM] = {"hirescam", "HiResCAM: element-wise gradient x activation", 1, 0, 0, NULL, hirescam_map,
                            NULL, .terms = terms_ga},
    [GC_METHOD_LAYERCAM] = {"layercam", "LayerCAM: element-wise positive gradient x activation", 1, 0, 0, NULL,
                            layercam_map, NULL, .terms = terms_relu_ga},
    [GC_METHOD_EIGENCAM] = {"eigencam", "Eigen-CAM: first principal component of the activations (no gradient)", 0,
                            0, 0, NULL, eigencam_map, eigencam_work, .terms = terms_a},
    [GC_METHOD_GUIDEDBACKPROP] = {"guidedbackprop", "Guided Backpropagation: guided gradient at the input pixels", 1, 0,
                                  1, NULL, NULL, NULL, GC_G_GRAD, guided_input, 0},
    [GC_METHOD_GUIDEDGRADCAM] = {"guidedgradcam", "Guided Grad-CAM: guided gradient x Grad-CAM upsampled to the input",
                                 1, 0, 1, gradcam_weights, NULL, NULL, GC_G_GRAD, guided_gradcam_input, 1},
    [GC_METHOD_CAM] = {"cam", "CAM: the class's weights after global average pooling (GAP + linear classifiers)", 0, 0,
                       0, cam_weights, NULL, NULL, GC_G_CLASS_WEIGHTS, NULL, 0},
    [GC_METHOD_SCORECAM] = {"scorecam", "Score-CAM: softmax of the scores of the input masked by each channel", 0, 1,
                            0, scorecam_weights, NULL, NULL, GC_G_MASKED_SCORES, NULL, 0},
    [GC_METHOD_EIGENGRADCAM] = {"eigengradcam", "Eigen-Grad-CAM: first principal component of gradient x activation",
                                1, 0, 0, NULL, eigengradcam_map, eigengradcam_work, GC_G_GRAD, NULL, 0, terms_ga},
    [GC_METHOD_ABLATIONCAM] = {"ablationcam", "Ablation-CAM: the score's relative drop when each channel is zeroed",
                               0, 1, 0, ablationcam_weights, NULL, NULL, GC_G_ABLATED_SCORES, NULL, 0, NULL},
};

/* The rows above Eigen-CAM predate the g column: their G is the gradient
 * exactly when they need one. */
static gc_g_kind g_kind(const gc_method_info *mi)
{
    if (mi->g != GC_G_NONE) return mi->g;
    return mi->needs_grad ? GC_G_GRAD : GC_G_NONE;
}

int gc_cam_method_has_layer_map(gc_method m)
{
    const gc_method_info *mi = gc_cam_method_get(m);
    return mi->weights || mi->map;
}

void gc_cam_input_compute(gc_method m, const float *grad, const float *cam, size_t C, size_t HW, float *out)
{
    const gc_method_info *mi = gc_cam_method_get(m);
    assert(mi->reaches_input && mi->input && (!mi->input_cam || cam));
    mi->input(grad, cam, C, HW, out);
}

void gc_cam_input_saliency(const float *x, size_t C, size_t HW, float *map)
{
    for (size_t p = 0; p < HW; ++p) {
        float m = 0;
        for (size_t c = 0; c < C; ++c) {
            float v = fabsf(x[c * HW + p]);
            if (v > m) m = v;
        }
        map[p] = m;
    }
}

const gc_method_info *gc_cam_method_get(gc_method m)
{
    assert((int)m >= 0 && m < GC_METHOD_COUNT);
    return &methods[m];
}

const char *gc_cam_method_name(gc_method m)
{
    if ((int)m < 0 || m >= GC_METHOD_COUNT) return "unknown";
    return methods[m].name;
}

int gc_cam_method_parse(const char *name, gc_method *out)
{
    if (!name) return -1;
    for (int m = 0; m < GC_METHOD_COUNT; ++m) {
        if (strcasecmp(name, methods[m].name) == 0) {
            if (out) *out = (gc_method)m;
            return 0;
        }
    }
    return -1;
}

const char *gc_cam_method_list(char *buf, size_t n)
{
    size_t len = 0;
    if (n) buf[0] = '\0';
    for (int m = 0; m < GC_METHOD_COUNT && len < n; ++m)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", m ? ", " : "", methods[m].name);
    return buf;
}

size_t gc_cam_work_size(gc_method m, size_t K, size_t H, size_t W)
{
    const gc_method_info *mi = gc_cam_method_get(m);
    size_t HW;
    if (gc_size_mul(H, W, &HW) != 0) return SIZE_MAX;
    if (mi->weights) return K; /* channel weights; not used when the caller passes weights */
    return mi->work ? mi->work(K, HW) : 0;
}

int gc_cam_compute(gc_method m, const float *A, const float *G, size_t K, size_t H, size_t W,
                   float *weights, float *map, float *work)
{
    size_t HW, n;
    assert(A && map);
    if (gc_size_mul(H, W, &HW) != 0 || gc_size_mul(K, HW, &n) != 0) {
        /* Cannot be addressed in memory anyway: a caller bug. */
        assert(!"gc_cam_compute: K*H*W overflows size_t");
        return -1;
    }
    const gc_method_info *mi = gc_cam_method_get(m);
    gc_g_kind gk = g_kind(mi);
    assert(gk == GC_G_NONE || G);
    assert(mi->weights || mi->map);
    /* The weight methods use work only to hold the weights when the caller
     * does not want them. */
    assert(work || gc_cam_work_size(m, K, H, W) == 0 || (weights && mi->weights));

    if (weights) memset(weights, 0, K * sizeof *weights);
    memset(map, 0, HW * sizeof *map);
    if (K == 0 || HW == 0) return 0;

    if (!gc_all_finite(A, n) || (gk == GC_G_GRAD && !gc_all_finite(G, n)) ||
        ((gk == GC_G_CLASS_WEIGHTS || gk == GC_G_MASKED_SCORES) && !gc_all_finite(G, K)) ||
        (gk == GC_G_ABLATED_SCORES && !gc_all_finite(G, K + 1)))
        return -1;

    if (mi->weights) {
        float *w = weights ? weights : work;
        mi->weights(A, G, K, HW, w);
        if (!gc_all_finite(w, K)) goto nonfinite;
        gc_cam_weighted_sum(A, w, K, HW, map);
    } else {
        mi->map(A, G, K, HW, map, work);
    }
    if (!gc_all_finite(map, HW)) goto nonfinite;
    return 0;

nonfinite:
    if (weights) memset(weights, 0, K * sizeof *weights);
    memset(map, 0, HW * sizeof *map);
    return -1;
}

size_t gc_cam_eigen_work_size(gc_method m, size_t K, size_t H, size_t W)
{
    size_t HW, kh;
    if (gc_size_mul(H, W, &HW) != 0 || gc_size_mul(K, HW, &kh) != 0) return SIZE_MAX;
    /* the weights [K], the terms [K*HW], then the method's or Eigen-CAM's scratch */
    size_t a = gc_cam_work_size(m, K, H, W), b = eigencam_work(K, HW), most = a > b ? a : b;
    if (most == SIZE_MAX || kh > SIZE_MAX - K || most > SIZE_MAX - K - kh) return SIZE_MAX;
    return K + kh + most;
}

int gc_cam_compute_eigen(gc_method m, const float *A, const float *G, size_t K, size_t H, size_t W,
                         float *weights, float *map, float *work)
{
    const gc_method_info *mi = gc_cam_method_get(m);
    size_t HW = H * W;
    /* the method's own weights (and its checks) first */
    float *w = weights ? weights : work;
    float *terms = work + K, *scratch = terms + K * HW;
    int rc = gc_cam_compute(m, A, G, K, H, W, w, map, mi->weights ? NULL : scratch);
    if (rc || K == 0 || HW == 0) return rc;
    if (mi->weights) {
        for (size_t k = 0; k < K; ++k)
            for (size_t p = 0; p < HW; ++p) terms[k * HW + p] = w[k] * A[k * HW + p];
    } else {
        assert(mi->terms);
        mi->terms(A, G, K, HW, terms);
    }
    gc_cam_eigencam(terms, K, HW, map, scratch);
    if (!gc_all_finite(map, HW)) {
        memset(map, 0, HW * sizeof *map);
        if (weights) memset(weights, 0, K * sizeof *weights);
        return -1;
    }
    return 0;
}

float gc_cam_map_max(const float *map, size_t n, size_t *argmax)
{
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
        if (map[i] > map[best]) best = i;
    if (argmax) *argmax = best;
    return n ? map[best] : 0.0f;
}
