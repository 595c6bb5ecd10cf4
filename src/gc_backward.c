/* gc_backward: inference-mode vector-Jacobian products, one per layer type.
 *
 * Every kernel below is a plain function on raw arrays (outputs first, then
 * inputs, then sizes; batch 1) that mirrors, index for index, what Darknet's
 * CPU forward_*_layer() computes at inference (net.train == 0), including its
 * odd cases (1x1 convolutions that read the input directly, [upsample] with a
 * negative stride, [reorg]'s "backwards" indexing). Each one ADDS its result
 * into the input gradient. Only gc_backward_layer() and
 * gc_backward_supported() look at `layer` and `network`. */
#include "gc_backward.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "col2im.h"
#include "gemm.h"
#include "gc_forward.h"

/* ---- activations ---------------------------------------------------------
 * Darknet applies activations in place, so only the output y survives the
 * forward pass; every derivative below is written as a function of y. Each
 * case is derived from the forward formula in Darknet's activations.h:
 *   logistic y = 1/(1+e^-x)            dy/dx = y(1-y)
 *   loggy    y = 2/(1+e^-x) - 1        dy/dx = (1-y^2)/2
 *   relu     y = x*(x>0)               dy/dx = [y>0]
 *   relie    y = x>0 ? x : .01x        dy/dx = y>0 ? 1 : .01
 *   ramp     y = x*(x>0) + .1x         dy/dx = y>0 ? 1.1 : .1
 *   leaky    y = x>0 ? x : .1x         dy/dx = y>0 ? 1 : .1
 *   elu      y = x>=0 ? x : e^x-1      dy/dx = y>=0 ? 1 : y+1
 *   selu     y = x>=0 ? 1.0507x : 1.0507*1.6732(e^x-1)
 *                                      dy/dx = y>=0 ? 1.0507 : y + 1.0507*1.6732
 *   tanh     y = (e^2x-1)/(e^2x+1)     dy/dx = 1-y^2
 *   plse     y = .01(x+4) (x<-4), .01(x-4)+1 (x>4), .125x+.5 else
 *                                      dy/dx = (y<0 || y>1) ? .01 : .125
 *   hardtan  y = clamp(x, -1, 1)       dy/dx = -1<y<1 ? 1 : 0
 *   lhtan    y = .001x (x<0), .001(x-1)+1 (x>1), x else
 *                                      dy/dx = 0<y<1 ? 1 : .001
 *   stair    floor(x) even: y = floor(x/2), an integer (slope 0);
 *            odd: y = frac(x) + floor(x/2), not an integer (slope 1)
 *                                      dy/dx = y integer ? 0 : 1
 *   linear   dy/dx = 1
 * At the kinks (y exactly on a boundary) the one-sided choice is Darknet's. */
float gc_backward_activation_derivative(float y, ACTIVATION a)
{
    switch (a) {
    case LINEAR: return 1;
    case LOGISTIC: return y * (1 - y);
    case LOGGY: return .5f * (1 - y * y);
    case RELU: return y > 0 ? 1.f : 0.f;
    case RELIE: return y > 0 ? 1.f : .01f;
    case RAMP: return y > 0 ? 1.1f : .1f;
    case LEAKY: return y > 0 ? 1.f : .1f;
    case ELU: return y >= 0 ? 1.f : y + 1;
    case SELU: return y >= 0 ? 1.0507f : y + 1.0507f * 1.6732f;
    case TANH: return 1 - y * y;
    case PLSE: return (y < 0 || y > 1) ? .01f : .125f;
    case HARDTAN: return (y > -1 && y < 1) ? 1.f : 0.f;
    case LHTAN: return (y > 0 && y < 1) ? 1.f : .001f;
    case STAIR: return floorf(y) == y ? 0.f : 1.f;
    }
    assert(!"unknown activation");
    return 0;
}

/* dy: [n] (scaled in place), y: [n] activation outputs. The common
 * activations get their own loop (vectorised; the same values as the
 * function above), the rest call it per element. Leaky's is a select
 * between dy and .1 dy (dy * 1 is dy): written as dy *= (y > 0 ? 1 : .1),
 * gcc made it a branch around the multiply, taken at random with the sign
 * of y, and did not vectorise it (3.5% of a list run's CPU with every
 * output; the select vectorises under no-trapping-math). */
GC_OPT_O3_NOTRAP void gc_backward_activation(float *restrict dy, const float *restrict y, size_t n, ACTIVATION a)
{
    switch (a) {
    case LINEAR: return;
    case LEAKY:
        for (size_t i = 0; i < n; ++i) {
            float d = dy[i], t = d * .1f;
            dy[i] = y[i] > 0 ? d : t;
        }
        return;
    case RELU:
        for (size_t i = 0; i < n; ++i) dy[i] *= y[i] > 0 ? 1.f : 0.f;
        return;
    case LOGISTIC:
        for (size_t i = 0; i < n; ++i) dy[i] *= y[i] * (1 - y[i]);
        return;
    default:
        for (size_t i = 0; i < n; ++i) dy[i] *= gc_backward_activation_derivative(y[i], a);
    }
}

int gc_backward_is_rectifier(ACTIVATION a)
{
    switch (a) {
    case RELU:
    case LEAKY:
    case RELIE:
    case RAMP:
    case ELU:
    case SELU: return 1;
    default: return 0;
    }
}

/* Guided Backpropagation's gate (see the header): y > 0 is the sign of the
 * rectifier's input, so the rule needs only the output that survives. */
void gc_backward_guided_activation(float *dy, const float *y, size_t n, ACTIVATION a)
{
    if (!gc_backward_is_rectifier(a)) {
        gc_backward_activation(dy, y, n, a);
        return;
    }
    for (size_t i = 0; i < n; ++i)
        dy[i] = (y[i] > 0 && dy[i] > 0) ? dy[i] * gc_backward_activation_derivative(y[i], a) : 0.0f;
}

/* dx: [n] += dy * f'(y); dy, y: [n]. Used by [activation] and [logistic],
 * which leave l.delta as it is. */
static void activation_backward_add(float *dx, const float *dy, const float *y, size_t n,
                                    ACTIVATION a)
{
    for (size_t i = 0; i < n; ++i) dx[i] += dy[i] * gc_backward_activation_derivative(y[i], a);
}

/* ---- frozen batch norm ----------------------------------------------------
 * normalize_cpu() at inference: y = scale*(x-mean)/(sqrt(var)+.000001f) + bias,
 * an affine map per channel. The factor is evaluated as Darknet does (sqrt in
 * double, then the float epsilon). */
static float bn_factor(float scale, float var)
{
    return (float)(scale / (sqrt(var) + .000001f));
}

/* dy: [c, spatial] scaled in place; scales, var: [c]. */
static void batchnorm_scale_delta(float *dy, const float *scales, const float *var, int c,
                                  int spatial)
{
    for (int f = 0; f < c; ++f) {
        float k = bn_factor(scales[f], var[f]);
        float *d = dy + (size_t)f * spatial;
        for (int i = 0; i < spatial; ++i) d[i] *= k;
    }
}

/* dx: [c, spatial] += dy * factor[f]; dy: [c, spatial]. Standalone [batchnorm]. */
static void batchnorm_backward(float *dx, const float *dy, const float *scales, const float *var,
                               int c, int spatial)
{
    for (int f = 0; f < c; ++f) {
        float k = bn_factor(scales[f], var[f]);
        size_t o = (size_t)f * spatial;
        for (int i = 0; i < spatial; ++i) dx[o + i] += dy[o + i] * k;
    }
}

/* ---- convolution ----------------------------------------------------------
 * Forward, per group g (m = n/groups filters, k = size*size*c/groups):
 *   Y_g [m, out_h*out_w] = W_g [m, k] * im2col(X_g) [k, out_h*out_w]
 * so dX_g = col2im(W_g^T dY_g). When size == 1 Darknet skips im2col and reads
 * X_g itself as a [c/groups, out_h*out_w] matrix, whatever the stride (a
 * strided 1x1 convolution therefore reads the first out_h*out_w values of each
 * channel-block, not a strided subsample); we mirror that with a gemm straight
 * into dx (beta 1).
 * dx: [c, h, w]; workspace: [k, out_h*out_w] scratch (capacity floats);
 * dy: [n, out_h, out_w]; weights: [n, c/groups, size, size]. */
/* A box's score seeds one cell of a head, so below it the gradient is
 * non-zero only in a window that grows by the kernel at each convolution:
 * for one box, conv 12 of yolov3-tiny (3x3, 512 -> 1024 at 13x13) sees a few
 * of its 169 positions. When at most a quarter of the output positions carry
 * any gradient, only those columns of W^T dY are computed and scattered:
 * skipped columns are exactly zero, so the sum is the dense one (the gemm's
 * rounding aside). The workspace (size*size*c/groups*out_h*out_w floats, as
 * Darknet sizes it) holds the compact columns, the gathered dY, the column
 * indices and (at its end, first) a byte per position; `capacity` is its size
 * in floats. */
#define GC_SPARSE_FEW 16 /* up to this many columns: one pass over W, no gemm */

/* colsT [u, k] = dYc^T W for few columns: each row of W [m, k] is read once,
 * while gemm would pack all of W^T (the bulk of a box's backward on deep
 * layers: W is 18 MB at conv 12 of yolov3-tiny) for a handful of columns.
 * Four filters at a time, so each pass over an output row does four
 * multiply-adds per load and store of it (1.9x faster than one at a time on
 * yolov3-tiny's boxes; chunking the rows to stay in L1 gained nothing). */
GC_OPT_O3 static void few_columns(float *restrict colsT, const float *restrict packed, const float *restrict w,
                                  int m, int k, size_t u, int c0, int c1)
{
    /* rows c0..c1-1 of the k (a thread's share; each row's sum is the same
     * whatever the split) */
    int len = c1 - c0;
    for (size_t q = 0; q < u; ++q) memset(colsT + q * (size_t)k + c0, 0, (size_t)len * sizeof(float));
    int f = 0;
    for (; f + 4 <= m; f += 4) {
        const float *restrict r0 = w + (size_t)f * k + c0;
        const float *restrict r1 = r0 + k, *restrict r2 = r1 + k, *restrict r3 = r2 + k;
        const float *a = packed + (size_t)f * u;
        for (size_t q = 0; q < u; ++q) {
            float a0 = a[q], a1 = a[u + q], a2 = a[2 * u + q], a3 = a[3 * u + q];
            if (a0 == 0.0f && a1 == 0.0f && a2 == 0.0f && a3 == 0.0f) continue;
            float *restrict out = colsT + q * (size_t)k + c0;
            for (int r = 0; r < len; ++r) out[r] += a0 * r0[r] + a1 * r1[r] + a2 * r2[r] + a3 * r3[r];
        }
    }
    for (; f < m; ++f) {
        const float *restrict row = w + (size_t)f * k + c0;
        for (size_t q = 0; q < u; ++q) {
            float a0 = packed[(size_t)f * u + q];
            if (a0 == 0.0f) continue;
            float *restrict out = colsT + q * (size_t)k + c0;
            for (int r = 0; r < len; ++r) out[r] += a0 * row[r];
        }
    }
}

/* used[j] |= any of the n rows of dy is non-zero at position j. */
GC_OPT_O3 static void mark_used(unsigned char *restrict used, const float *restrict dy, int n, size_t spatial)
{
    for (int f = 0; f < n; ++f) {
        const float *restrict d = dy + (size_t)f * spatial;
        for (size_t j = 0; j < spatial; ++j) used[j] |= d[j] != 0.0f;
    }
}

/* One group's compact product and its scatter into dx, for the input
 * channels [c0, c1) of the group: their rows of the k are the thread's own,
 * and so are the planes of dx they add into. */
typedef struct sparse_args {
    float *cols, *im;
    const float *a, *b;
    const int *index;
    size_t u, spatial;
    int m, k, size, stride, pad, h, w, out_w, few;
    int cg, parts; /* the group's input channels, cut into parts (sparse_parts) */
} sparse_args;

static void sparse_body(void *raw, size_t ch0, size_t ch1)
{
    const sparse_args *q = raw;
    int size = q->size, k = q->k, ss = size * size, h = q->h, w = q->w;
    size_t u = q->u, spatial = q->spatial;
    int r0 = (int)ch0 * ss, r1 = (int)ch1 * ss;
    if (r0 >= r1) return;
    /* cols[r, t] is at cols[r * rs + t * ts]. */
    size_t rs = q->few ? 1 : u, ts = q->few ? (size_t)k : 1;
    if (q->few) few_columns(q->cols, q->b, q->a, q->m, k, u, r0, r1);
    else gemm(1, 0, r1 - r0, (int)u, q->m, 1, (float *)q->a + r0, k, (float *)q->b, (int)u, 0,
              q->cols + (size_t)r0 * u, (int)u);
    if (size == 1) {
        /* Darknet's 1x1 reads X_g as [c/groups, out_h*out_w] (see above). */
        for (int r = r0; r < r1; ++r)
            for (size_t t = 0; t < u; ++t) q->im[(size_t)r * spatial + q->index[t]] += q->cols[r * rs + t * ts];
        return;
    }
    /* col2im_cpu's index arithmetic, restricted to the used columns. */
    for (int r = r0; r < r1; ++r) {
        int kx = r % size, ky = (r / size) % size, ci = r / size / size;
        float *plane = q->im + (size_t)ci * h * w;
        for (size_t t = 0; t < u; ++t) {
            int oy = q->index[t] / q->out_w, ox = q->index[t] % q->out_w;
            int iy = oy * q->stride + ky - q->pad, ix = ox * q->stride + kx - q->pad;
            if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
            plane[(size_t)iy * w + ix] += q->cols[r * rs + t * ts];
        }
    }
}

/* Parts [p0, p1) of the q->parts equal cuts of the group's channels, each
 * one sparse_body: the cuts are pool->split's whether the loop runs on the
 * threads or inline (gc_pool_for decides by the work and the round trip it
 * measured at start), so the gemm has the same shapes and every run the
 * same bits (OpenBLAS's result for one element can depend on the shape;
 * seen as last-bit differences in Guided Grad-CAM's input gradients between
 * two runs of one list). */
static void sparse_parts(void *raw, size_t p0, size_t p1)
{
    const sparse_args *q = raw;
    size_t cg = (size_t)q->cg, chunk = (cg + (size_t)q->parts - 1) / (size_t)q->parts;
    for (size_t p = p0; p < p1; ++p) {
        size_t c0 = p * chunk, c1 = c0 + chunk < cg ? c0 + chunk : cg;
        if (c0 < c1) sparse_body(raw, c0, c1);
    }
}

static int conv_backward_sparse(float *dx, float *workspace, size_t capacity, const float *dy,
                                const float *weights, int c, int h, int w, int n, int groups,
                                int size, int stride, int pad, int out_h, int out_w, gc_pool *pool)
{
    int m = n / groups;
    int k = size * size * c / groups;
    int cg = c / groups;
    size_t spatial = (size_t)out_h * out_w;
    if (capacity * sizeof(float) < spatial + sizeof(float)) return 0;
    /* used[j]: any filter's gradient at position j, from a pass along the rows. */
    unsigned char *used = (unsigned char *)(workspace + capacity) - spatial;
    memset(used, 0, spatial);
    mark_used(used, dy, n, spatial);
    size_t u = 0;
    for (size_t j = 0; j < spatial; ++j) u += used[j];
    if (u > spatial / 4) return 0;
    /* The compact buffers end before `used` begins. */
    if (((size_t)(k + n + 1) * u) * sizeof(float) > capacity * sizeof(float) - spatial) return 0;
    if (u == 0) return 1; /* no gradient reaches this layer's input */
    float *cols = workspace;                          /* [k, u], or [u, k] for few columns */
    float *packed = workspace + (size_t)k * u;        /* [n, u] */
    int *index = (int *)(packed + (size_t)n * u);     /* [u]    */
    size_t t = 0;
    for (size_t j = 0; j < spatial; ++j)
        if (used[j]) index[t++] = (int)j;
    for (int f = 0; f < n; ++f)
        for (size_t q = 0; q < u; ++q) packed[(size_t)f * u + q] = dy[(size_t)f * spatial + index[q]];
    size_t wg = (size_t)m * k;
    for (int g = 0; g < groups; ++g) {
        sparse_args q = {cols, dx + (size_t)g * cg * h * w, weights + g * wg, packed + (size_t)g * m * u, index,
                         u, spatial, m, k, size, stride, pad, h, w, out_w, u <= GC_SPARSE_FEW, cg, 1};
        /* the threads split the group's input channels (few_columns and the
         * gemm cost m * u per row of the k) */
        if (pool && groups == 1) {
            q.parts = pool->split < cg ? pool->split : cg;
            gc_pool_for(pool, (size_t)q.parts, (size_t)m * u * size * size * (size_t)((cg + q.parts - 1) / q.parts),
                        sparse_parts, &q);
        } else {
            sparse_body(&q, 0, (size_t)cg);
        }
    }
    return 1;
}

static void conv_backward_input(float *dx, float *workspace, size_t capacity, const float *dy,
                                const float *weights, int c, int h, int w, int n, int groups,
                                int size, int stride, int pad, int out_h, int out_w, gc_pool *pool)
{
    if (conv_backward_sparse(dx, workspace, capacity, dy, weights, c, h, w, n, groups, size, stride,
                             pad, out_h, out_w, pool))
        return;
    int m = n / groups;
    int k = size * size * c / groups;
    int spatial = out_h * out_w;
    size_t wg = (size_t)m * k;
    for (int g = 0; g < groups; ++g) {
        float *a = (float *)weights + g * wg;
        float *b = (float *)dy + (size_t)g * m * spatial;
        float *im = dx + (size_t)g * (c / groups) * h * w;
        if (size == 1) {
            gemm(1, 0, k, spatial, m, 1, a, k, b, spatial, 1, im, spatial);
        } else {
            gemm(1, 0, k, spatial, m, 1, a, k, b, spatial, 0, workspace, spatial);
            col2im_cpu(workspace, c / groups, h, w, size, stride, pad, im);
        }
    }
}

/* ---- connected ------------------------------------------------------------
 * Forward y [outputs] = W [outputs, inputs] x; dx [inputs] += dy^T W. */
static void connected_backward(float *dx, const float *dy, const float *weights, int inputs,
                               int outputs)
{
    gemm(0, 0, 1, inputs, outputs, 1, (float *)dy, outputs, (float *)weights, inputs, 1, dx,
         inputs);
}

/* ---- locally connected ([local], YOLOv1) ----------------------------------
 * Forward, per output location j: Y[:, j] = W_j [n, k] * im2col(X)[:, j] with
 * W_j at weights + j*k*n. dcol[:, j] = W_j^T dY[:, j], then col2im adds it.
 * dx: [c, h, w]; workspace: [k, locations]; dy: [n, locations]. */
static void local_backward_input(float *dx, float *workspace, const float *dy,
                                 const float *weights, int c, int h, int w, int n, int size,
                                 int stride, int pad, int locations)
{
    int k = size * size * c;
    for (int j = 0; j < locations; ++j) {
        float *a = (float *)weights + (size_t)j * k * n;
        gemm(1, 0, k, 1, n, 1, a, k, (float *)dy + j, locations, 0, workspace + j, locations);
    }
    col2im_cpu(workspace, c, h, w, size, stride, pad, dx);
}

/* ---- pooling --------------------------------------------------------------
 * maxpool: indexes[i] is the flat input index of output i's maximum (filled
 * by forward_maxpool_layer; -1 when a window saw only padding).
 * dx: [inputs]; dy, indexes: [outputs]. */
static void maxpool_backward(float *dx, const float *dy, const int *indexes, int outputs,
                             int inputs)
{
    for (int i = 0; i < outputs; ++i) {
        int j = indexes[i];
        if (j < 0) continue;
        assert(j < inputs);
        dx[j] += dy[i];
    }
}

/* Global average pool. dx: [c, spatial]; dy: [c]. */
static void avgpool_backward(float *dx, const float *dy, int c, int spatial)
{
    for (int k = 0; k < c; ++k) {
        float g = dy[k] / spatial;
        float *d = dx + (size_t)k * spatial;
        for (int i = 0; i < spatial; ++i) d[i] += g;
    }
}

/* ---- shortcut -------------------------------------------------------------
 * shortcut_cpu(): out = copy(prev); for the overlapping block
 *   out[o(i,j,k)] = alpha*out[o] + beta*add[a(i,j,k)],
 * o and a sampled with integer strides when the two shapes differ; then the
 * activation (already applied to dy by the caller).
 * dprev: [c2, h2, w2] (may be NULL); dadd: [c1, h1, w1] (may be NULL);
 * dy: [c2, h2, w2]; (w1, h1, c1): the `from` layer, (w2, h2, c2): the output. */
static void shortcut_backward(float *dprev, float *dadd, const float *dy, int w1, int h1, int c1,
                              int w2, int h2, int c2, float alpha, float beta)
{
    int stride = w1 / w2;
    int sample = w2 / w1;
    if (stride < 1) stride = 1;
    if (sample < 1) sample = 1;
    int minw = w1 < w2 ? w1 : w2;
    int minh = h1 < h2 ? h1 : h2;
    int minc = c1 < c2 ? c1 : c2;
    size_t outputs = (size_t)w2 * h2 * c2;
    if (dprev)
        for (size_t i = 0; i < outputs; ++i) dprev[i] += dy[i];
    for (int k = 0; k < minc; ++k) {
        for (int j = 0; j < minh; ++j) {
            for (int i = 0; i < minw; ++i) {
                int o = i * sample + w2 * (j * sample + h2 * k);
                int a = i * stride + w1 * (j * stride + h1 * k);
                if (dprev) dprev[o] += (alpha - 1) * dy[o];
                if (dadd) dadd[a] += beta * dy[o];
            }
        }
    }
}

/* ---- upsample -------------------------------------------------------------
 * upsample_cpu() pairs a small [c, h, w] map with a big [c, h*s, w*s] one:
 * big[b(i,j,k)] = scale*small[s(i,j,k)]. Forward mode writes the big output
 * from the small input; reverse mode (negative stride in the cfg) SUMS the big
 * input into the small output, with (w, h) the OUTPUT size, so a big input
 * whose width is not a multiple of the stride is read with rows of w*s values,
 * exactly as Darknet does.
 * (w, h, c): the small map's shape. reverse 0: dx small, dy big; reverse 1:
 * dx big, dy small. */
static void upsample_backward(float *dx, const float *dy, int w, int h, int c, int s, float scale,
                              int reverse)
{
    for (int k = 0; k < c; ++k) {
        for (int j = 0; j < h * s; ++j) {
            for (int i = 0; i < w * s; ++i) {
                size_t si = (size_t)k * w * h + (size_t)(j / s) * w + i / s;
                size_t bi = (size_t)k * w * h * s * s + (size_t)j * w * s + i;
                if (reverse) dx[bi] += scale * dy[si];
                else dx[si] += scale * dy[bi];
            }
        }
    }
}

/* ---- reorg ----------------------------------------------------------------
 * reorg_cpu(x, w, h, c, stride, forward, out) pairs index p over [c, h, w]
 * with index q over [c/s^2, h*s, w*s]; forward=1 (reverse reorg) writes
 * out[q] = x[p], forward=0 (the usual YOLOv2 reorg) writes out[p] = x[q].
 * Both are permutations when c % s^2 == 0, so the VJP is the inverse gather.
 * dx, dy: [c*h*w]; (w, h, c): the layer's INPUT shape, as passed to reorg_cpu. */
static void reorg_backward(float *dx, const float *dy, int w, int h, int c, int s, int forward)
{
    int out_c = c / (s * s);
    for (int k = 0; k < c; ++k) {
        for (int j = 0; j < h; ++j) {
            for (int i = 0; i < w; ++i) {
                int p = i + w * (j + h * k);
                int c2 = k % out_c;
                int offset = k / out_c;
                int w2 = i * s + offset % s;
                int h2 = j * s + offset / s;
                int q = w2 + w * s * (h2 + h * s * c2);
                if (forward) dx[p] += dy[q];
                else dx[q] += dy[p];
            }
        }
    }
}

/* [reorg] flatten=1: a transpose between [c, size] and [size, c] (Darknet's
 * flatten(), forward = !reverse). forward 1: y[i*c + k] = x[k*size + i];
 * forward 0: y[k*size + i] = x[i*c + k]. dx, dy: [c*size]. */
static void flatten_backward(float *dx, const float *dy, int size, int c, int forward)
{
    for (int k = 0; k < c; ++k) {
        for (int i = 0; i < size; ++i) {
            size_t chw = (size_t)k * size + i, hwc = (size_t)i * c + k;
            if (forward) dx[chw] += dy[hwc];
            else dx[hwc] += dy[chw];
        }
    }
}

/* ---- softmax --------------------------------------------------------------
 * Per group of n values: p = softmax(x / T), dx_i += (p_i / T)(dy_i - sum_j p_j dy_j).
 * dx, dy, p: [groups * n]. */
static void softmax_backward(float *dx, const float *dy, const float *p, int n, int groups,
                             float temperature)
{
    for (int g = 0; g < groups; ++g) {
        size_t o = (size_t)g * n;
        double dot = 0;
        for (int i = 0; i < n; ++i) dot += (double)p[o + i] * dy[o + i];
        for (int i = 0; i < n; ++i)
            dx[o + i] += (float)(p[o + i] * (dy[o + i] - dot) / temperature);
    }
}

/* ---- crop (inference: centred window, no flip) ----------------------------
 * out[c, i, j] = scale * in[c, i + dh, j + dw] + trans, with scale 2 (1 with
 * noadjust). dx: [c, h, w]; dy: [c, out_h, out_w]. */
static void crop_backward(float *dx, const float *dy, int c, int h, int w, int out_h, int out_w,
                          float scale)
{
    int dh = (h - out_h) / 2;
    int dw = (w - out_w) / 2;
    size_t count = 0;
    for (int k = 0; k < c; ++k)
        for (int i = 0; i < out_h; ++i)
            for (int j = 0; j < out_w; ++j)
                dx[(j + dw) + (size_t)w * ((i + dh) + (size_t)h * k)] += scale * dy[count++];
}

/* ---- l2norm ----------------------------------------------------------------
 * Per spatial position, y_f = x_f / s with s = sqrt(sum_f x_f^2) over channels:
 * dx_f += (dy_f - y_f * sum_g y_g dy_g) / s. s is recomputed from x as
 * l2normalize_cpu does. dx, dy, x, y: [c, spatial]. */
static void l2norm_backward(float *dx, const float *dy, const float *x, const float *y, int c,
                            int spatial)
{
    for (int i = 0; i < spatial; ++i) {
        float sum = 0;
        double dot = 0;
        for (int f = 0; f < c; ++f) {
            size_t j = (size_t)f * spatial + i;
            sum += powf(x[j], 2);
            dot += (double)y[j] * dy[j];
        }
        sum = sqrtf(sum);
        if (!(sum > 0)) continue;
        for (int f = 0; f < c; ++f) {
            size_t j = (size_t)f * spatial + i;
            dx[j] += (float)((dy[j] - y[j] * dot) / sum);
        }
    }
}

/* dx: [n] += dy: [n]. */
static void add_into(float *dx, const float *dy, size_t n)
{
    for (size_t i = 0; i < n; ++i) dx[i] += dy[i];
}

/* ---- type names and support ---------------------------------------------- */

/* Darknet sizes net->workspace as the largest l.workspace_size (bytes). */
static size_t net_workspace_bytes(const network *net)
{
    size_t most = 0;
    for (int i = 0; i < net->n; ++i)
        if (net->layers[i].workspace_size > most) most = net->layers[i].workspace_size;
    return most;
}

#define GC_LAYER_FAIL(e, i, l, ...)                                                        \
    do {                                                                                   \
        char why_[256];                                                                    \
        snprintf(why_, sizeof why_, __VA_ARGS__);                                          \
        gc_fail((e), "layer %d (%s): %s", (i), gc_darknet_type_name((l)->type), why_);       \
        return 0;                                                                          \
    } while (0)

int gc_backward_supported(const network *net, int index, gc_err *e)
{
    if (!net || index < 0 || index >= net->n) {
        gc_fail(e, "layer %d does not exist (the network has %d layers)", index,
                net ? net->n : 0);
        return 0;
    }
    const layer *l = &net->layers[index];
    if (l->batch != 1)
        GC_LAYER_FAIL(e, index, l, "batch is %d; call set_batch_network(net, 1) first", l->batch);
    switch (l->type) {
    case CONVOLUTIONAL:
        if (!l->weights || l->outputs == 0) {
            gc_fail(e, "layer %d: Darknet did not recognize its cfg section and left an empty "
                       "layer in its place",
                    index);
            return 0;
        }
        if (l->xnor || l->binary)
            GC_LAYER_FAIL(e, index, l, "binary/xnor convolutions are not supported by "
                                       "gradcam's backward pass");
        if (l->groups < 1 || l->c % l->groups || l->n % l->groups)
            GC_LAYER_FAIL(e, index, l, "groups=%d does not divide c=%d and filters=%d",
                          l->groups, l->c, l->n);
        if (l->size == 1 && l->out_h * l->out_w > l->h * l->w)
            GC_LAYER_FAIL(e, index, l, "1x1 convolution with padding reads past its input in "
                                       "Darknet's forward");
        if (l->batch_normalize && (!l->scales || !l->rolling_variance))
            GC_LAYER_FAIL(e, index, l, "batch_normalize without scales/rolling statistics");
        if (l->size != 1 && !net->workspace)
            GC_LAYER_FAIL(e, index, l, "the network has no workspace");
        return 1;
    case CONNECTED:
        if (l->batch_normalize && (!l->scales || !l->rolling_variance))
            GC_LAYER_FAIL(e, index, l, "batch_normalize without scales/rolling statistics");
        return 1;
    case LOCAL: {
        int im_h = (l->h + 2 * l->pad - l->size) / l->stride + 1;
        int im_w = (l->w + 2 * l->pad - l->size) / l->stride + 1;
        if (im_h != l->out_h || im_w != l->out_w)
            GC_LAYER_FAIL(e, index, l,
                          "pad=%d with size=%d: Darknet's output size (%dx%d) and im2col's "
                          "(%dx%d) disagree",
                          l->pad, l->size, l->out_w, l->out_h, im_w, im_h);
        /* make_local_layer sizes its workspace in floats, parse_network_cfg
         * allocates it in bytes: only a bigger layer elsewhere saves it. */
        size_t need = (size_t)l->out_h * l->out_w * l->size * l->size * l->c * sizeof(float);
        if (!net->workspace || net_workspace_bytes(net) < need)
            GC_LAYER_FAIL(e, index, l,
                          "needs a %zu-byte workspace but Darknet allocated %zu bytes (local "
                          "layers size it in floats, not bytes)",
                          need, net_workspace_bytes(net));
        return 1;
    }
    case BATCHNORM:
        if (!l->scales || !l->rolling_variance)
            GC_LAYER_FAIL(e, index, l, "no scales/rolling statistics");
        return 1;
    case REORG: {
        int s = l->stride;
        if (l->flatten) {
            if (l->outputs != l->inputs)
                GC_LAYER_FAIL(e, index, l, "flatten with %d outputs for %d inputs", l->outputs,
                              l->inputs);
            return 1;
        }
        if (l->extra) return 1;
        if (s < 1 || l->c % (s * s) || (!l->reverse && (l->w % s || l->h % s)))
            GC_LAYER_FAIL(e, index, l, "%dx%dx%d input is not divisible by stride %d", l->w,
                          l->h, l->c, s);
        return 1;
    }
    case SOFTMAX:
        if (l->softmax_tree)
            GC_LAYER_FAIL(e, index, l, "softmax trees are not supported by gradcam's backward "
                                       "pass");
        if (l->groups < 1 || l->inputs % l->groups)
            GC_LAYER_FAIL(e, index, l, "groups=%d does not divide %d inputs", l->groups,
                          l->inputs);
        return 1;
    case CROP:
        if (!l->delta)
            GC_LAYER_FAIL(e, index, l, "Darknet allocates no delta for crop layers, so no "
                                       "gradient can flow through it");
        return 1;
    case ROUTE:
        if (!l->input_layers || !l->input_sizes)
            GC_LAYER_FAIL(e, index, l, "no source layers");
        for (int i = 0; i < l->n; ++i)
            if (l->input_layers[i] < 0 || l->input_layers[i] >= index)
                GC_LAYER_FAIL(e, index, l, "source layer %d is not below it",
                              l->input_layers[i]);
        return 1;
    case SHORTCUT:
        if (l->index < 0 || l->index >= index)
            GC_LAYER_FAIL(e, index, l, "source layer %d is not below it", l->index);
        return 1;
    case UPSAMPLE:
        if (l->stride < 1) GC_LAYER_FAIL(e, index, l, "stride %d", l->stride);
        return 1;
    case MAXPOOL:
        if (!l->indexes) GC_LAYER_FAIL(e, index, l, "no arg-max indexes");
        return 1;
    case AVGPOOL:
    case DROPOUT:
    case ACTIVE:
    case LOGXENT:
    case L2NORM:
    case YOLO:
    case REGION:
    case DETECTION:
        return 1;
    default:
        gc_fail(e, "layer %d (%s) is not supported by gradcam's backward pass", index,
                gc_darknet_type_name(l->type));
        return 0;
    }
}

/* ---- the slot function ---------------------------------------------------- */

void gc_backward_layer(layer l, network net)
{
    float *dx = net.delta; /* gradient of the previous layer's output, or NULL */
    float *dy = l.delta;
    assert(l.batch == 1);
    if (!dy) return;
    switch (l.type) {
    case CONVOLUTIONAL:
        assert(!l.xnor && !l.binary);
        gc_backward_activation(dy, l.output, (size_t)l.outputs, l.activation);
        if (l.batch_normalize)
            batchnorm_scale_delta(dy, l.scales, l.rolling_variance, l.out_c,
                                  l.out_h * l.out_w);
        if (dx) {
            size_t capacity = net.workspace ? l.workspace_size / sizeof(float) : 0;
            conv_backward_input(dx, net.workspace, capacity, dy, l.weights, l.c, l.h, l.w, l.n, l.groups,
                                l.size, l.stride, l.pad, l.out_h, l.out_w, gc_forward_pool(net.layers));
        }
        break;
    case CONNECTED:
        gc_backward_activation(dy, l.output, (size_t)l.outputs, l.activation);
        if (l.batch_normalize) batchnorm_scale_delta(dy, l.scales, l.rolling_variance, l.outputs, 1);
        if (dx) connected_backward(dx, dy, l.weights, l.inputs, l.outputs);
        break;
    case LOCAL:
        gc_backward_activation(dy, l.output, (size_t)l.outputs, l.activation);
        if (dx)
            local_backward_input(dx, net.workspace, dy, l.weights, l.c, l.h, l.w, l.n, l.size,
                                 l.stride, l.pad, l.out_h * l.out_w);
        break;
    case BATCHNORM:
        if (dx) batchnorm_backward(dx, dy, l.scales, l.rolling_variance, l.out_c, l.out_h * l.out_w);
        break;
    case MAXPOOL:
        if (dx) maxpool_backward(dx, dy, l.indexes, l.outputs, l.inputs);
        break;
    case AVGPOOL:
        if (dx) avgpool_backward(dx, dy, l.c, l.h * l.w);
        break;
    case ROUTE: {
        size_t offset = 0;
        for (int i = 0; i < l.n; ++i) {
            float *src = net.layers[l.input_layers[i]].delta;
            if (src) add_into(src, dy + offset, (size_t)l.input_sizes[i]);
            offset += (size_t)l.input_sizes[i];
        }
        assert(offset == (size_t)l.outputs);
        break;
    }
    case SHORTCUT:
        gc_backward_activation(dy, l.output, (size_t)l.outputs, l.activation);
        shortcut_backward(dx, net.layers[l.index].delta, dy, l.w, l.h, l.c, l.out_w, l.out_h,
                          l.out_c, l.alpha, l.beta);
        break;
    case UPSAMPLE:
        if (!dx) break;
        if (l.reverse) upsample_backward(dx, dy, l.out_w, l.out_h, l.c, l.stride, l.scale, 1);
        else upsample_backward(dx, dy, l.w, l.h, l.c, l.stride, l.scale, 0);
        break;
    case REORG:
        /* Same precedence as forward_reorg_layer: flatten, extra, reorg. */
        if (!dx) break;
        if (l.flatten) flatten_backward(dx, dy, l.w * l.h, l.c, !l.reverse);
        else if (l.extra) add_into(dx, dy, (size_t)l.inputs); /* the extra outputs are constant */
        else reorg_backward(dx, dy, l.w, l.h, l.c, l.stride, l.reverse);
        break;
    case SOFTMAX:
        assert(!l.softmax_tree);
        /* The CPU forward ignores `spatial` (only the GPU path honours it). */
        if (dx) softmax_backward(dx, dy, l.output, l.inputs / l.groups, l.groups, l.temperature);
        break;
    case DROPOUT:
        /* Identity at inference, and l.delta IS the previous layer's delta
         * (parse_network_cfg aliases output and delta): nothing to do. */
        break;
    case CROP:
        if (dx) crop_backward(dx, dy, l.c, l.h, l.w, l.out_h, l.out_w, l.noadjust ? 1.f : 2.f);
        break;
    case ACTIVE:
        if (dx) activation_backward_add(dx, dy, l.output, (size_t)l.outputs, l.activation);
        break;
    case LOGXENT:
        if (dx) activation_backward_add(dx, dy, l.output, (size_t)l.outputs, LOGISTIC);
        break;
    case L2NORM:
        assert(!dx || net.input);
        if (dx) l2norm_backward(dx, dy, net.input, l.output, l.out_c, l.out_w * l.out_h);
        break;
    case YOLO:
    case REGION:
    case DETECTION:
        /* Detector heads: the seed written into a head's delta is, by
         * convention (and as Darknet's own backward treats it), already the
         * gradient w.r.t. the head's INPUT, i.e. the pre-logistic/softmax
         * logits. So the head passes it through unchanged. */
        if (dx) add_into(dx, dy, (size_t)l.inputs);
        break;
    default:
        assert(!"gc_backward_layer: unsupported layer type (call gc_backward_supported)");
        break;
    }
}

void gc_backward_layer_guided(layer l, network net)
{
    switch (l.type) {
    case CONVOLUTIONAL:
    case CONNECTED:
    case LOCAL:
    case SHORTCUT:
    case ACTIVE:
        /* Gate l.delta at the activation, then run the plain backward with
         * the activation taken as linear (l is this call's copy). */
        if (l.delta && l.activation != LINEAR) {
            gc_backward_guided_activation(l.delta, l.output, (size_t)l.outputs, l.activation);
            l.activation = LINEAR;
        }
        break;
    default:
        break;
    }
    gc_backward_layer(l, net);
}
