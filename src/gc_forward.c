#include "gc_forward.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <stddef.h>

#include "activations.h"
#include "gc_darknet.h"

/* The forward slot gets the layer and the network by value, with no user
 * pointer: the slot finds its gc_fwd by the network's layer array, which every
 * copy of the network shares. A table, not one pointer, so that two networks
 * can be explained in one process. */
static gc_fwd *active[GC_FWD_MAX_ACTIVE];
static int blas_woken;          /* a forward has used OpenBLAS's threads since the last park */
static int blas_threads_before; /* OpenBLAS threads when the first gc_fwd was installed */

static int n_active(void)
{
    int k = 0;
    for (int i = 0; i < GC_FWD_MAX_ACTIVE; ++i) k += active[i] != NULL;
    return k;
}

static gc_fwd *find_active(const layer *layers)
{
    for (int i = 0; i < GC_FWD_MAX_ACTIVE; ++i)
        if (active[i] && active[i]->net->layers == layers) return active[i];
    return NULL;
}

gc_pool *gc_forward_pool(const layer *layers)
{
    gc_fwd *f = find_active(layers);
    return f && f->pool_ready ? &f->pool : NULL;
}

int gc_forward_handles(const layer *l)
{
    switch (l->type) {
    case CONVOLUTIONAL:
        /* xnor/binary convolutions keep Darknet's own path (binarized weights). */
        return !l->xnor && !l->binary && l->groups >= 1 && l->n % l->groups == 0 && l->c % l->groups == 0;
    case MAXPOOL:
    case SHORTCUT:
    case UPSAMPLE:
    case ROUTE:
        return 1;
    case YOLO:
        /* the layout Darknet's forward_yolo_layer activates */
        return l->outputs == l->w * l->h * l->n * (4 + 1 + l->classes);
    default:
        return 0;
    }
}

/* ---- kernels ------------------------------------------------------------ */

/* x[i] = act(s * x[i] + b): frozen batch norm (s, b folded, see the
 * header; s = 1 without batch norm, which is then exact) and the bias in the
 * same pass as the activation. Darknet's activation formulas
 * (activations.h), including its double-precision constants. */
/* The leaky branch's float -> double -> float conversions vectorize under
 * GC_OPT_O3_NOTRAP (gc_common.h). */
GC_OPT_O3_NOTRAP static void bias_act_run(float *restrict x, size_t n, float s, float b, ACTIVATION a)
{
    switch (a) {
    case LINEAR:
        for (size_t i = 0; i < n; ++i) x[i] = s * x[i] + b;
        break;
    case LEAKY:
        for (size_t i = 0; i < n; ++i) {
            /* a select (not a branch) on both values, so that it vectorizes */
            float v = s * x[i] + b, t = (float)(.1 * (double)v);
            x[i] = v > 0 ? v : t;
        }
        break;
    case RELU:
        for (size_t i = 0; i < n; ++i) {
            float v = s * x[i] + b;
            x[i] = v * (v > 0);
        }
        break;
    case LOGISTIC:
        for (size_t i = 0; i < n; ++i) x[i] = (float)(1. / (1. + exp(-(double)(s * x[i] + b))));
        break;
    default:
        for (size_t i = 0; i < n; ++i) x[i] = s * x[i] + b;
        activate_array(x, (int)n, a);
        break;
    }
}

typedef struct bias_act_args {
    float *out;
    const float *scale, *bias;
    int spatial;
    ACTIVATION a;
} bias_act_args;

static void bias_act_body(void *raw, size_t c0, size_t c1)
{
    const bias_act_args *q = raw;
    for (size_t c = c0; c < c1; ++c)
        bias_act_run(q->out + c * (size_t)q->spatial, (size_t)q->spatial, q->scale ? q->scale[c] : 1.f,
                     q->bias ? q->bias[c] : 0.f, q->a);
}

void gc_forward_bias_act(float *out, const float *scale, const float *bias, int channels, int spatial, ACTIVATION a,
                     gc_pool *pool)
{
    /* out: channels x spatial */
    bias_act_args q = {out, scale, bias, spatial, a};
    if (pool) gc_pool_for(pool, (size_t)channels, (size_t)spatial, bias_act_body, &q);
    else bias_act_body(&q, 0, (size_t)channels);
}

typedef struct im2col_args {
    float *col;
    const float *im;
    int h, w, k, stride, pad, oh, ow;
    size_t ld; /* from one row of col to the next: oh ow, or more when col holds several images' columns */
} im2col_args;

static void im2col_body(void *raw, size_t r0, size_t r1)
{
    const im2col_args *q = raw;
    int h = q->h, w = q->w, k = q->k, stride = q->stride, pad = q->pad, oh = q->oh, ow = q->ow;
    for (size_t r = r0; r < r1; ++r) {
        int kx = (int)(r % (size_t)k), ky = (int)((r / (size_t)k) % (size_t)k);
        size_t ch = r / (size_t)k / (size_t)k;
        const float *src = q->im + ch * h * w;
        float *dst = q->col + r * q->ld;
        /* the ox range whose input column lies inside the image */
        int x0 = 0, x1 = ow;
        while (x0 < ow && x0 * stride + kx - pad < 0) ++x0;
        while (x1 > x0 && (x1 - 1) * stride + kx - pad >= w) --x1;
        for (int oy = 0; oy < oh; ++oy) {
            int iy = oy * stride + ky - pad;
            float *d = dst + (size_t)oy * ow;
            if (iy < 0 || iy >= h) {
                memset(d, 0, (size_t)ow * sizeof *d);
                continue;
            }
            const float *s = src + (size_t)iy * w + kx - pad;
            for (int ox = 0; ox < x0; ++ox) d[ox] = 0;
            if (stride == 1) {
                memcpy(d + x0, s + x0, (size_t)(x1 - x0) * sizeof *d);
            } else {
                for (int ox = x0; ox < x1; ++ox) d[ox] = s[(ptrdiff_t)ox * stride];
            }
            for (int ox = x1; ox < ow; ++ox) d[ox] = 0;
        }
    }
}

/* im2col into rows ld floats apart (ld 0: oh ow). */
static void im2col_ld(float *col, size_t ld, const float *im, int c, int h, int w, int k, int stride, int pad,
                      gc_pool *pool)
{
    /* im: c x h x w; col: (c*k*k) x (oh*ow) */
    im2col_args q = {col, im, h, w, k, stride, pad, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1, ld};
    if (!q.ld) q.ld = (size_t)q.oh * q.ow;
    size_t rows = (size_t)c * k * k;
    if (pool) gc_pool_for(pool, rows, (size_t)q.oh * q.ow, im2col_body, &q);
    else im2col_body(&q, 0, rows);
}

void gc_forward_im2col(float *col, const float *im, int c, int h, int w, int k, int stride, int pad, gc_pool *pool)
{
    im2col_ld(col, 0, im, c, h, w, k, stride, pad, pool);
}

typedef struct depthwise_args {
    float *out;
    const float *in, *wt;
    int h, w, k, stride, pad, out_h, out_w;
} depthwise_args;

static void depthwise_body(void *raw, size_t c0, size_t c1)
{
    const depthwise_args *q = raw;
    int h = q->h, w = q->w, k = q->k, stride = q->stride, pad = q->pad, out_h = q->out_h, out_w = q->out_w;
    for (size_t ch = c0; ch < c1; ++ch) {
        const float *src = q->in + ch * h * w;
        const float *f = q->wt + ch * k * k;
        float *dst = q->out + ch * out_h * out_w;
        memset(dst, 0, (size_t)out_h * out_w * sizeof *dst);
        for (int kx = 0; kx < k; ++kx) {
            int x0 = 0, x1 = out_w;
            while (x0 < out_w && x0 * stride + kx - pad < 0) ++x0;
            while (x1 > x0 && (x1 - 1) * stride + kx - pad >= w) --x1;
            for (int ky = 0; ky < k; ++ky) {
                float fv = f[ky * k + kx];
                for (int oy = 0; oy < out_h; ++oy) {
                    int iy = oy * stride + ky - pad;
                    if (iy < 0 || iy >= h) continue;
                    const float *s = src + (size_t)iy * w + kx - pad;
                    float *d = dst + (size_t)oy * out_w;
                    if (stride == 1) {
                        for (int ox = x0; ox < x1; ++ox) d[ox] += fv * s[ox];
                    } else {
                        for (int ox = x0; ox < x1; ++ox) d[ox] += fv * s[(ptrdiff_t)ox * stride];
                    }
                }
            }
        }
    }
}

void gc_forward_depthwise(float *out, const float *in, const float *wt, int c, int h, int w, int k, int stride,
                      int pad, int out_h, int out_w, gc_pool *pool)
{
    /* in: c x h x w; wt: c x k x k; out: c x out_h x out_w */
    depthwise_args q = {out, in, wt, h, w, k, stride, pad, out_h, out_w};
    if (pool) gc_pool_for(pool, (size_t)c, (size_t)out_h * out_w * k * k, depthwise_body, &q);
    else depthwise_body(&q, 0, (size_t)c);
}

typedef struct maxpool_args {
    float *out;
    int *indexes;
    const float *in;
    int h, w, size, stride, pad, out_h, out_w;
} maxpool_args;

/* The common 2x2 window at stride 2 with no offset, on the rows and
 * columns whose window lies inside the input: the four compares in
 * Darknet's order (row by row, a later value only if strictly greater), no
 * bounds checks. Returns the first output column it did not fill. */
GC_OPT_O3 static int maxpool_2x2(float *restrict out, int *restrict indexes, const float *restrict in, int w,
                                 int base, int i, int out_w)
{
    int jn = w / 2 < out_w ? w / 2 : out_w;
    const float *r0 = in + (size_t)(2 * i) * w, *r1 = r0 + w;
    int i0 = base + 2 * i * w;
    for (int j = 0; j < jn; ++j) {
        float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
        float best = -FLT_MAX;
        int at = -1;
        if (a > best) best = a, at = i0 + 2 * j;
        if (b > best) best = b, at = i0 + 2 * j + 1;
        if (c > best) best = c, at = i0 + w + 2 * j;
        if (d > best) best = d, at = i0 + w + 2 * j + 1;
        out[j] = best;
        indexes[j] = at;
    }
    return jn;
}

static void maxpool_body(void *raw, size_t k0, size_t k1)
{
    const maxpool_args *q = raw;
    int h = q->h, w = q->w, size = q->size, stride = q->stride, out_h = q->out_h, out_w = q->out_w;
    int off = -q->pad / 2; /* Darknet's offsets */
    int fast = size == 2 && stride == 2 && off == 0;
    for (size_t k = k0; k < k1; ++k) {
        for (int i = 0; i < out_h; ++i) {
            int j = 0;
            if (fast && 2 * i + 1 < h) {
                size_t o = (size_t)out_w * (i + (size_t)out_h * k);
                j = maxpool_2x2(q->out + o, q->indexes + o, q->in + k * (size_t)h * w, w, (int)k * w * h, i, out_w);
            }
            for (; j < out_w; ++j) {
                size_t o = (size_t)j + (size_t)out_w * (i + (size_t)out_h * k);
                float best = -FLT_MAX;
                int best_i = -1;
                for (int n = 0; n < size; ++n) {
                    int y = off + i * stride + n;
                    if (y < 0 || y >= h) continue;
                    for (int m = 0; m < size; ++m) {
                        int x = off + j * stride + m;
                        if (x < 0 || x >= w) continue;
                        int idx = x + w * (y + h * (int)k);
                        if (q->in[idx] > best) {
                            best = q->in[idx];
                            best_i = idx;
                        }
                    }
                }
                q->out[o] = best;
                q->indexes[o] = best_i;
            }
        }
    }
}

void gc_forward_maxpool(float *out, int *indexes, const float *in, int c, int h, int w, int size, int stride, int pad,
                    int out_h, int out_w, gc_pool *pool)
{
    /* in: c x h x w; out, indexes: c x out_h x out_w */
    maxpool_args q = {out, indexes, in, h, w, size, stride, pad, out_h, out_w};
    if (pool) gc_pool_for(pool, (size_t)c, (size_t)out_h * out_w * size * size, maxpool_body, &q);
    else maxpool_body(&q, 0, (size_t)c);
}

/* C (m x n) = A (m x k) B (k x n), then C[i][:] = act(scale[i] C[i][:] + bias[i]).
 * Small products: C is cut along its larger side into pool->split blocks
 * (the cores: the same cuts in a -jobs worker as in one process) that the
 * threads share out; each block is a single-threaded sgemm, finished while
 * it is in cache.
 * Products of GC_BLAS_SHARED_MACS multiply-adds or more go to OpenBLAS's own
 * threads, which pack each panel of B once for all of them: when C is split
 * along M (the deep layers: many filters, few positions) every pool thread
 * packed all of B itself. Measured on yolov3 (make bench's forward, 5 rounds
 * in alternation): 1.84 s against 2.33 s median; yolov3-tiny unchanged. Its
 * workers then spin between calls, so gc_forward_blas_park() stops them after
 * the forward. The threshold was 4e6 until the demo detector's list runs
 * (every one of its convolutions has 3.5-4.7 million multiply-adds) showed
 * OpenBLAS's threads started and parked again for each image's forward:
 * at 3e7 its 200 scenes take 5.7-5.8 ms each instead of 6.0-6.3 (alternating
 * runs); of make bench's nets only one layer of yolov3-tiny lies in between. */
#define GC_BLAS_SHARED_MACS 3e7
typedef struct gemm_args {
    float *c;
    const float *a, *b, *scale, *bias;
    int m, n, k, parts;
    ACTIVATION act;
} gemm_args;

static void gemm_body(void *raw, size_t p0, size_t p1)
{
    const gemm_args *q = raw;
    int m = q->m, n = q->n, k = q->k;
    for (size_t p = p0; p < p1; ++p) {
        if (n >= m) {
            int chunk = ((n + q->parts - 1) / q->parts + 15) & ~15;
            int j0 = (int)p * chunk, j1 = j0 + chunk < n ? j0 + chunk : n;
            if (j0 >= j1) continue;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, j1 - j0, k, 1.0f, q->a, k, q->b + j0, n, 0.0f,
                        q->c + j0, n);
            for (int i = 0; i < m; ++i) bias_act_run(q->c + (size_t)i * n + j0, (size_t)(j1 - j0), q->scale[i], q->bias[i], q->act);
        } else {
            int chunk = (m + q->parts - 1) / q->parts;
            int i0 = (int)p * chunk, i1 = i0 + chunk < m ? i0 + chunk : m;
            if (i0 >= i1) continue;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i1 - i0, n, k, 1.0f, q->a + (size_t)i0 * k, k, q->b,
                        n, 0.0f, q->c + (size_t)i0 * n, n);
            for (int i = i0; i < i1; ++i) bias_act_run(q->c + (size_t)i * n, (size_t)n, q->scale[i], q->bias[i], q->act);
        }
    }
}

static void gemm_bias_act(float *c, const float *a, const float *b, int m, int n, int k, const float *scale,
                          const float *bias, ACTIVATION act, gc_pool *pool, double shared_macs)
{
    /* cut into pool->split parts, whatever this pool's threads (see gc_pool.h) */
    int parts = pool ? pool->split : 1;
    if (parts > 1 && (double)m * n * k >= shared_macs) {
        /* OpenBLAS's bits depend on its thread count: a -jobs worker runs
         * as many as one process would (measured on Tiny Darknet, -jobs 2:
         * 0.70-0.81 s for 28 photos against 0.72-0.75 with one each) */
        openblas_set_num_threads(parts);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        openblas_set_num_threads(1);
        blas_woken = 1;
        gc_forward_bias_act(c, scale, bias, m, n, act, pool);
        return;
    }
    gemm_args q = {c, a, b, scale, bias, m, n, k, parts, act};
    if (pool) gc_pool_for(pool, (size_t)parts, (size_t)m * n * k / (size_t)parts / 8, gemm_body, &q);
    else gemm_body(&q, 0, 1);
}

/* ---- Winograd F(2x2, 3x3) -------------------------------------------------
 * Lavin & Gray 2016: a 3x3 stride-1 convolution computed per 2x2 output tile
 * from its 4x4 input patch d as Y = A^T [(G g G^T) . (B^T d B)] A, with
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * (the cross-correlation Darknet computes). Summed over input channels, the
 * elementwise product becomes 16 GEMMs, M_xi [n, T] = U_xi [n, c] V_xi [c, T]
 * for the T tiles: 16 c n T multiply-adds against im2col's 36 c n T, 2.25x
 * fewer. U = G g G^T is made once at install (from Darknet's weights, in
 * double); V per forward into net.workspace (16 c T floats, within Darknet's
 * 9 c h w); M into the gc_fwd's own buffer. The rounding differs from the
 * im2col GEMM's: see tests/check_forward.c for the tolerance.
 *
 * The 16 matrices of V (and of M) lie WINO_PAD floats more than their size
 * apart. Each tile writes one value into each of the 16 (and the output
 * transform reads one from each): at a distance of c T floats, a power of two
 * on maps of 8x8, 16x16, ..., 128x128, all 16 addresses fell into one cache
 * set. Measured layer by layer on darknet19 (256x256) before the padding:
 * 32 -> 64 channels at 128x128 took 1.54x-1.59x as long as im2col and GEMM,
 * against 0.76x on yolov3-tiny's 104x104 (2704 tiles, no power of two). */
#define WINO_PAD 16

/* Darknet's weights [n][c][3][3] -> U [16][n][c]. */
static void wino_weights(const layer *l, float *u)
{
    size_t nc = (size_t)l->n * l->c;
    for (size_t f = 0; f < nc; ++f) {
        const float *g = l->weights + f * 9;
        double t[4][3], v[4][4];
        for (int j = 0; j < 3; ++j) { /* t = G g */
            t[0][j] = g[j];
            t[1][j] = 0.5 * ((double)g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5 * ((double)g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; ++i) { /* v = t G^T */
            v[i][0] = t[i][0];
            v[i][1] = 0.5 * (t[i][0] + t[i][1] + t[i][2]);
            v[i][2] = 0.5 * (t[i][0] - t[i][1] + t[i][2]);
            v[i][3] = t[i][2];
        }
        for (int x = 0; x < 16; ++x) u[(size_t)x * nc + f] = (float)v[x / 4][x % 4];
    }
}

typedef struct wino_args {
    const layer *l;
    const float *const *in; /* per image: the layer's input */
    float *const *out;      /* per image: the layer's output */
    const float *u, *scale, *bias;
    float *v, *m;
    int tw, th, nimg;
    size_t tiles;  /* per image; image b's tiles are columns b T .. b T + T - 1 of V and M */
    size_t vs, ms; /* from one of the 16 matrices of V, of M, to the next: c nimg T + WINO_PAD, n nimg T + WINO_PAD */
} wino_args;

/* Floats of V (c channels) or M (n filters) for T tiles, padding included. */
static size_t wino_floats(size_t channels, size_t tiles)
{
    return 16 * (channels * tiles + WINO_PAD);
}

/* V [16][c][T] = B^T d B for every tile of channels [c0, c1). */
GC_OPT_O3 static void wino_input_body(void *raw, size_t c0, size_t c1)
{
    const wino_args *q = raw;
    int h = q->l->h, w = q->l->w;
    size_t T = q->tiles, plane = q->vs;
    for (size_t item = c0; item < c1; ++item) {
        size_t ch = item / (size_t)q->nimg, b = item % (size_t)q->nimg;
        const float *src = q->in[b] + ch * (size_t)h * w;
        float *dst = q->v + (ch * q->nimg + b) * T;
        for (int ty = 0; ty < q->th; ++ty)
            for (int tx = 0; tx < q->tw; ++tx) {
                float d[4][4];
                int y0 = 2 * ty - 1, x0 = 2 * tx - 1;
                if (y0 >= 0 && x0 >= 0 && y0 + 4 <= h && x0 + 4 <= w) {
                    for (int i = 0; i < 4; ++i)
                        for (int j = 0; j < 4; ++j) d[i][j] = src[(size_t)(y0 + i) * w + x0 + j];
                } else {
                    for (int i = 0; i < 4; ++i)
                        for (int j = 0; j < 4; ++j) {
                            int y = y0 + i, x = x0 + j;
                            d[i][j] = y >= 0 && y < h && x >= 0 && x < w ? src[(size_t)y * w + x] : 0.f;
                        }
                }
                float t[4][4];
                for (int j = 0; j < 4; ++j) { /* t = B^T d */
                    t[0][j] = d[0][j] - d[2][j];
                    t[1][j] = d[1][j] + d[2][j];
                    t[2][j] = d[2][j] - d[1][j];
                    t[3][j] = d[1][j] - d[3][j];
                }
                size_t at = (size_t)ty * q->tw + tx;
                for (int i = 0; i < 4; ++i) { /* v = t B */
                    dst[(size_t)(4 * i + 0) * plane + at] = t[i][0] - t[i][2];
                    dst[(size_t)(4 * i + 1) * plane + at] = t[i][1] + t[i][2];
                    dst[(size_t)(4 * i + 2) * plane + at] = t[i][2] - t[i][1];
                    dst[(size_t)(4 * i + 3) * plane + at] = t[i][1] - t[i][3];
                }
            }
    }
}

/* M_xi = U_xi V_xi for xi in [x0, x1): single-threaded GEMMs, one per item. */
static void wino_gemm_body(void *raw, size_t x0, size_t x1)
{
    const wino_args *q = raw;
    int n = q->l->n, c = q->l->c, T = (int)q->tiles * q->nimg;
    for (size_t x = x0; x < x1; ++x)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, T, c, 1.0f, q->u + x * (size_t)n * c, c,
                    q->v + x * q->vs, T, 0.0f, q->m + x * q->ms, T);
}

/* Y = A^T M A for every tile of output channels [f0, f1), then the bias and
 * the activation over each channel's plane. */
GC_OPT_O3 static void wino_output_body(void *raw, size_t f0, size_t f1)
{
    const wino_args *q = raw;
    const layer *l = q->l;
    int oh = l->out_h, ow = l->out_w;
    size_t T = q->tiles, plane = q->ms;
    for (size_t item = f0; item < f1; ++item) {
        size_t f = item / (size_t)q->nimg, b = item % (size_t)q->nimg;
        const float *m = q->m + (f * q->nimg + b) * T;
        float *out = q->out[b] + f * (size_t)oh * ow;
        for (int ty = 0; ty < q->th; ++ty)
            for (int tx = 0; tx < q->tw; ++tx) {
                size_t at = (size_t)ty * q->tw + tx;
                float v[16];
                for (int x = 0; x < 16; ++x) v[x] = m[(size_t)x * plane + at];
                float s0[4], s1[4];
                for (int j = 0; j < 4; ++j) { /* s = A^T v */
                    s0[j] = v[j] + v[4 + j] + v[8 + j];
                    s1[j] = v[4 + j] - v[8 + j] - v[12 + j];
                }
                float y[2][2] = {{s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3]},
                                 {s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3]}};
                for (int i = 0; i < 2; ++i)
                    for (int j = 0; j < 2; ++j) {
                        int oy = 2 * ty + i, ox = 2 * tx + j;
                        if (oy < oh && ox < ow) out[(size_t)oy * ow + ox] = y[i][j];
                    }
            }
        bias_act_run(out, (size_t)oh * ow, q->scale[f], q->bias[f], l->activation);
    }
}

/* nimg images at once: in[b] and out[b] image b's input and output; V
 * (workspace) and M hold wino_floats(c or n, nimg T) floats. */
static void wino_forward(const layer *l, const float *const *in, float *const *out, int nimg, float *workspace,
                         const float *u, float *m, const float *scale, const float *bias, gc_pool *pool)
{
    int th = (l->out_h + 1) / 2, tw = (l->out_w + 1) / 2;
    size_t tiles = (size_t)th * tw, all = tiles * (size_t)nimg;
    wino_args q = {l,  in, out, u,     scale, bias, workspace, m, tw, th, nimg, tiles, (size_t)l->c * all + WINO_PAD,
                   (size_t)l->n * all + WINO_PAD};
    gc_pool_for(pool, (size_t)l->c * nimg, q.tiles * 48, wino_input_body, &q);
    gc_pool_for(pool, 16, (size_t)l->n * l->c * all, wino_gemm_body, &q);
    gc_pool_for(pool, (size_t)l->n * nimg, q.tiles * 48, wino_output_body, &q);
}

int gc_forward_winograd(const layer *l)
{
    return l->type == CONVOLUTIONAL && gc_forward_handles(l) && l->size == 3 && l->stride == 1 && l->pad == 1 &&
           l->groups == 1 && l->c >= GC_WINO_MIN_INPUTS && l->n >= GC_WINO_MIN_CHANNELS &&
           (long)l->c * l->n >= GC_WINO_MIN_PRODUCT && l->out_w == l->w && l->out_h == l->h &&
           l->out_w * l->out_h >= GC_WINO_MIN_POSITIONS;
}

/* ---- layers ------------------------------------------------------------- */

static void conv_forward(const layer *l, const float *in, float *workspace, const float *scale, const float *bias,
                         gc_pool *pool)
{
    int g = l->groups, m = l->n / g, cg = l->c / g;
    int k = l->size * l->size * cg, n = l->out_w * l->out_h;
    const float *wt = l->weights; /* Darknet's own, read only */
    /* depthwise, but not a strided 1x1: Darknet reads that one's input
     * without im2col (its first out_h*out_w values a channel, below), not
     * subsampled, and so must we (the depthwise kernel subsampled it) */
    if (cg == 1 && m == 1 && !(l->size == 1 && l->stride != 1)) {
        gc_forward_depthwise(l->output, in, wt, l->c, l->h, l->w, l->size, l->stride, l->pad, l->out_h, l->out_w, pool);
        gc_forward_bias_act(l->output, scale, bias, l->n, n, l->activation, pool);
        return;
    }
    for (int j = 0; j < g; ++j) {
        const float *im = in + (size_t)j * cg * l->h * l->w;
        const float *b = im;
        /* Darknet multiplies a 1x1 convolution's input directly (no im2col). */
        if (l->size != 1) {
            gc_forward_im2col(workspace, im, cg, l->h, l->w, l->size, l->stride, l->pad, pool);
            b = workspace;
        }
        gemm_bias_act(l->output + (size_t)j * m * n, wt + (size_t)j * m * k, b, m, n, k, scale + (size_t)j * m,
                      bias + (size_t)j * m, l->activation, pool, GC_BLAS_SHARED_MACS);
    }
}

/* Darknet's [shortcut]: out = in; out[minc, minh, minw] = alpha*out +
 * beta*add (add sampled with stride w1/w2, out with w2/w1); out = act(out). */
typedef struct shortcut_args {
    const layer *l;
    const float *in, *add;
} shortcut_args;

static void shortcut_body(void *raw, size_t k0, size_t k1)
{
    const shortcut_args *q = raw;
    const layer *l = q->l;
    int w1 = l->w, h1 = l->h, c1 = l->c, w2 = l->out_w, h2 = l->out_h, c2 = l->out_c;
    int stride = w1 / w2 < 1 ? 1 : w1 / w2, sample = w2 / w1 < 1 ? 1 : w2 / w1;
    int minw = w1 < w2 ? w1 : w2, minh = h1 < h2 ? h1 : h2, minc = c1 < c2 ? c1 : c2;
    size_t plane = (size_t)w2 * h2;
    float s1 = l->alpha, s2 = l->beta;
    for (size_t k = k0; k < k1; ++k) {
        float *o = l->output + k * plane;
        const float *x = q->in + k * plane;
        if ((int)k < minc && w1 == w2 && h1 == h2) {
            const float *y = q->add + k * plane;
            for (size_t i = 0; i < plane; ++i) o[i] = s1 * x[i] + s2 * y[i];
        } else {
            memcpy(o, x, plane * sizeof *o);
            if ((int)k < minc)
                for (int j = 0; j < minh; ++j)
                    for (int i = 0; i < minw; ++i) {
                        size_t oi = (size_t)i * sample + (size_t)w2 * (size_t)(j * sample);
                        size_t ai = (size_t)i * stride + (size_t)w1 * ((size_t)j * stride + (size_t)h1 * k);
                        o[oi] = s1 * o[oi] + s2 * q->add[ai];
                    }
        }
        bias_act_run(o, plane, 1.f, 0.f, l->activation);
    }
    (void)c2;
}

static void shortcut_forward(const layer *l, const float *in, const float *add, gc_pool *pool)
{
    shortcut_args q = {l, in, add};
    gc_pool_for(pool, (size_t)l->out_c, (size_t)l->out_w * l->out_h, shortcut_body, &q);
}

/* [upsample]: out[k][y][x] = scale * in[k][y/s][x/s]; reversed (stride < 0 in
 * the cfg): out[k][y/s][x/s] = sum of scale * in[k][y][x]. */
static void upsample_body(void *raw, size_t k0, size_t k1)
{
    const shortcut_args *q = raw;
    const layer *l = q->l;
    int s = l->stride;
    for (size_t k = k0; k < k1; ++k) {
        if (!l->reverse) {
            int w = l->w, h = l->h, ow = w * s;
            const float *src = q->in + k * w * h;
            float *dst = l->output + k * w * h * s * s;
            for (int y = 0; y < h * s; ++y) {
                const float *srow = src + (size_t)(y / s) * w;
                float *drow = dst + (size_t)y * ow;
                for (int x = 0; x < ow; ++x) drow[x] = l->scale * srow[x / s];
            }
        } else {
            int w = l->out_w, h = l->out_h, iw = w * s;
            float *dst = l->output + k * w * h;
            const float *src = q->in + k * w * h * s * s;
            memset(dst, 0, (size_t)w * h * sizeof *dst);
            for (int y = 0; y < h * s; ++y)
                for (int x = 0; x < iw; ++x) dst[(y / s) * w + x / s] += l->scale * src[(size_t)y * iw + x];
        }
    }
}

static void upsample_forward(const layer *l, const float *in, gc_pool *pool)
{
    shortcut_args q = {l, in, NULL};
    gc_pool_for(pool, (size_t)l->c, (size_t)l->outputs / (size_t)l->c, upsample_body, &q);
}

/* [route]: the inputs' outputs one after the other, copied in blocks so that
 * one large input uses every core. */
#define GC_ROUTE_BLOCK 16384

typedef struct route_args {
    float *dst;
    const float *src;
    size_t len;
} route_args;

static void route_body(void *raw, size_t b0, size_t b1)
{
    const route_args *q = raw;
    size_t a = b0 * GC_ROUTE_BLOCK, e = b1 * GC_ROUTE_BLOCK < q->len ? b1 * GC_ROUTE_BLOCK : q->len;
    memcpy(q->dst + a, q->src + a, (e - a) * sizeof *q->dst);
}

static void route_copy(float *dst, const float *src, size_t len, gc_pool *pool)
{
    route_args q = {dst, src, len};
    gc_pool_for(pool, (q.len + GC_ROUTE_BLOCK - 1) / GC_ROUTE_BLOCK, GC_ROUTE_BLOCK, route_body, &q);
}



/* [yolo] at inference: the input copied, with Darknet's logistic (in
 * double, activations.h) on each anchor's x, y, objectness and class rows;
 * w and h stay raw. Rows of one plane each, shared out between the threads.
 * Darknet's forward also zeroes l.delta, for training: gc_hooks_backprop
 * zeroes it when the layer is on a path. */
typedef struct yolo_args {
    const layer *l;
    const float *in;
} yolo_args;

static void yolo_body(void *raw, size_t r0, size_t r1)
{
    const yolo_args *q = raw;
    size_t plane = (size_t)q->l->w * q->l->h, per_anchor = 4 + 1 + (size_t)q->l->classes;
    for (size_t r = r0; r < r1; ++r) {
        const float *src = q->in + r * plane;
        float *dst = q->l->output + r * plane;
        size_t entry = r % per_anchor;
        if (entry == 2 || entry == 3) memcpy(dst, src, plane * sizeof *dst);
        else
            for (size_t j = 0; j < plane; ++j) dst[j] = (float)(1. / (1. + exp(-(double)src[j])));
    }
}

static void yolo_forward(const layer *l, const float *in, gc_pool *pool)
{
    yolo_args q = {l, in};
    size_t plane = (size_t)l->w * l->h;
    gc_pool_for(pool, (size_t)l->outputs / plane, plane * 16, yolo_body, &q);
}

/* Layer j's output for the image being computed: the network's own, or a
 * batch image's (gc_forward_batch_run). */
typedef const float *(*layer_output_fn)(const void *ctx, int j);

static const float *net_output_of(const void *ctx, int j)
{
    return ((const network *)ctx)->layers[j].output;
}

/* Layer i of one image through the plugin's kernels, but Winograd (its
 * caller's): l a copy whose output (and a max pool's indexes) are that
 * image's, in its input, out(ctx, j) layer j's output for the same image
 * (a shortcut's and a route's other inputs). */
static void forward_kernel(gc_fwd *f, int i, const layer *l, const float *in, layer_output_fn out, const void *ctx,
                           float *workspace)
{
    switch (l->type) {
    case CONVOLUTIONAL:
        assert(f->scales[i] && f->biases[i]);
        conv_forward(l, in, workspace, f->scales[i], f->biases[i], &f->pool);
        break;
    case MAXPOOL:
        gc_forward_maxpool(l->output, l->indexes, in, l->c, l->h, l->w, l->size, l->stride, l->pad, l->out_h,
                           l->out_w, &f->pool);
        break;
    case SHORTCUT:
        shortcut_forward(l, in, out(ctx, l->index), &f->pool);
        break;
    case UPSAMPLE:
        upsample_forward(l, in, &f->pool);
        break;
    case ROUTE: {
        size_t offset = 0;
        for (int r = 0; r < l->n; ++r) {
            route_copy(l->output + offset, out(ctx, l->input_layers[r]), (size_t)l->input_sizes[r], &f->pool);
            offset += (size_t)l->input_sizes[r];
        }
        break;
    }
    case YOLO:
        yolo_forward(l, in, &f->pool);
        break;
    default:
        assert(!"forward_kernel: layer type not handled");
    }
}

void gc_forward_layer(layer l, network net)
{
    gc_fwd *f = find_active(net.layers);
    assert(f && "gc_forward_layer called on a network without an installed gc_fwd");
    int i = net.index;
    assert(i >= 0 && i < f->n && net.batch == 1);
    if (l.type == CONVOLUTIONAL && f->wino && f->wino[i]) {
        const float *in = net.input;
        wino_forward(&l, &in, &l.output, 1, net.workspace, f->wino[i], f->wino_m, f->scales[i], f->biases[i],
                     &f->pool);
    } else if (l.type == YOLO && net.train) {
        f->saved[i](l, net); /* its loss, for training: Darknet's own */
    } else {
        forward_kernel(f, i, &l, net.input, net_output_of, &net, net.workspace);
    }
}

/* ---- context -------------------------------------------------------------- */

/* Frozen batch norm as one affine map per output channel (see the header):
 * s = scale / (sqrt(var) + .000001f), b' = bias - mean s; s = 1, b' = bias
 * without batch norm. */
static void fold_conv(const layer *l, float *s, float *b)
{
    for (int o = 0; o < l->n; ++o) {
        if (l->batch_normalize) {
            double so = (double)l->scales[o] / (sqrt((double)l->rolling_variance[o]) + .000001f);
            s[o] = (float)so;
            b[o] = (float)((double)l->biases[o] - (double)l->rolling_mean[o] * so);
        } else {
            s[o] = 1.f;
            b[o] = l->biases[o];
        }
    }
}

int gc_forward_init(gc_fwd *f, network *net, gc_err *e)
{
    memset(f, 0, sizeof *f);
    if (!net || net->n <= 0) return gc_fail(e, "network has no layers");
    if (net->batch != 1)
        return gc_fail(e, "network batch is %d; the forward needs batch 1 (set_batch_network)", net->batch);
    f->net = net;
    f->n = net->n;
    f->saved = calloc((size_t)f->n, sizeof *f->saved);
    f->scales = calloc((size_t)f->n, sizeof *f->scales);
    f->biases = calloc((size_t)f->n, sizeof *f->biases);
    if (!f->saved || !f->scales || !f->biases) goto oom;
    gc_err pe;
    (void)gc_pool_init(&f->pool, 0, &pe); /* a failure leaves one thread: slower, not wrong */
    f->pool_ready = 1;
    const char *no_wino = getenv("GC_NO_WINOGRAD");
    if (!(no_wino && *no_wino && strcmp(no_wino, "0"))) {
        f->wino = calloc((size_t)f->n, sizeof *f->wino);
        if (!f->wino) goto oom;
    }
    size_t wino_m = 0, weights = 0;
    for (int i = 0; i < f->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL || !gc_forward_handles(l)) continue;
        f->scales[i] = malloc((size_t)l->n * sizeof(float));
        f->biases[i] = malloc((size_t)l->n * sizeof(float));
        if (!f->scales[i] || !f->biases[i]) goto oom;
        weights += (size_t)l->nweights;
    }
    /* The transformed weights take 16/9 of a layer's own. Kept for every
     * eligible layer, darknet19's peak RSS went from 0.77x to 1.47x stock's;
     * made per forward instead, the transform cost more than the GEMMs saved
     * on 13x13 and 8x8 maps. So they are kept, within as many floats as the
     * network has convolution weights, for the layers with the most tiles
     * first (the most work saved per byte). */
    size_t budget = weights;
    while (f->wino) {
        int best = -1;
        size_t best_tiles = 0;
        for (int i = 0; i < f->n; ++i) {
            const layer *l = &net->layers[i];
            if (f->wino[i] || !gc_forward_winograd(l) || !net->workspace) continue;
            size_t tiles = (size_t)((l->out_h + 1) / 2) * ((l->out_w + 1) / 2);
            size_t u = 16 * (size_t)l->n * l->c;
            /* V [16][c][tiles] goes into net.workspace: this layer's share
             * of it is l->workspace_size bytes */
            if (u > budget || wino_floats((size_t)l->c, tiles) * sizeof(float) > l->workspace_size) continue;
            if (best < 0 || tiles > best_tiles) best = i, best_tiles = tiles;
        }
        if (best < 0) break;
        const layer *l = &net->layers[best];
        size_t u = 16 * (size_t)l->n * l->c;
        if (!(f->wino[best] = malloc(u * sizeof(float)))) goto oom;
        budget -= u;
        if (wino_floats((size_t)l->n, best_tiles) > wino_m) wino_m = wino_floats((size_t)l->n, best_tiles);
    }
    if (wino_m && !(f->wino_m = malloc(wino_m * sizeof(float)))) goto oom;
    return 0;
oom:
    gc_forward_free(f);
    return gc_fail(e, "out of memory for the folded batch norm of %d layers", net->n);
}

void gc_forward_free(gc_fwd *f)
{
    if (f->installed) gc_forward_remove(f);
    for (int i = 0; i < f->n; ++i) {
        if (f->scales) free(f->scales[i]);
        if (f->biases) free(f->biases[i]);
        if (f->wino) free(f->wino[i]);
    }
    free(f->wino);
    free(f->wino_m);
    free(f->scales);
    free(f->biases);
    free(f->saved);
    if (f->pool_ready) gc_pool_free(&f->pool);
    memset(f, 0, sizeof *f);
}

/* OpenBLAS's pthreads build starts its worker threads when the library
 * loads, and an idle worker polls its queue in sched_yield for about 2^28
 * cycles before it sleeps: at the start of every run, a core's worth of
 * spinning that competes with our pool (issue #13's profile: ~4% of a
 * gradcam run). blas_thread_shutdown_ (exported for OpenBLAS's own fork
 * handler) stops them; a later multi-threaded call starts them again. Weak:
 * the serial and OpenMP builds do not have it. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void gc_forward_blas_park(void)
{
    if (blas_thread_shutdown_) blas_thread_shutdown_();
    blas_woken = 0;
}

void gc_forward_blas_settle(void)
{
    if (blas_woken) gc_forward_blas_park();
}

/* openblas_set_num_threads(n), its workers left stopped. OpenBLAS 0.3.21's
 * call restarts the workers gc_forward_blas_park stopped, whatever n, and
 * they poll in sched_yield: measured on one demo scene, 50-85 thousand
 * sched_yield calls and 1.7 CPUs busy for a 40 ms run. A later
 * multi-threaded call starts them again. */
static void blas_set_threads_parked(int n)
{
    openblas_set_num_threads(n);
    gc_forward_blas_park();
}

void gc_forward_install(gc_fwd *f)
{
    assert(f->net && !f->installed);
    assert(!find_active(f->net->layers) && "one gc_fwd per network");
    int slot = -1;
    for (int i = 0; i < GC_FWD_MAX_ACTIVE && slot < 0; ++i)
        if (!active[i]) slot = i;
    assert(slot >= 0 && "too many networks with the plugin's forward at once");
    if (n_active() == 0) {
        blas_threads_before = openblas_get_num_threads();
        blas_set_threads_parked(1); /* the products run single-threaded from here */
    }
    active[slot] = f;
    for (int i = 0; i < f->n; ++i) {
        layer *l = &f->net->layers[i];
        f->saved[i] = l->forward;
        if (!gc_forward_handles(l)) continue;
        /* Folded here, not at init: the weights are final once the hooks go in. */
        if (l->type == CONVOLUTIONAL) fold_conv(l, f->scales[i], f->biases[i]);
        if (f->wino && f->wino[i]) wino_weights(l, f->wino[i]);
        l->forward = gc_forward_layer;
    }
    f->installed = 1;
}

void gc_forward_refold(gc_fwd *f)
{
    assert(f->installed);
    for (int i = 0; i < f->n; ++i) {
        layer *l = &f->net->layers[i];
        if (gc_forward_handles(l) && l->type == CONVOLUTIONAL) fold_conv(l, f->scales[i], f->biases[i]);
        if (f->wino && f->wino[i]) wino_weights(l, f->wino[i]);
    }
}

void gc_forward_remove(gc_fwd *f)
{
    assert(f->installed);
    for (int i = 0; i < f->n; ++i) f->net->layers[i].forward = f->saved[i];
    for (int i = 0; i < GC_FWD_MAX_ACTIVE; ++i)
        if (active[i] == f) active[i] = NULL;
    if (n_active() == 0) blas_set_threads_parked(blas_threads_before);
    f->installed = 0;
}

/* ---- several images in one pass ------------------------------------------- */

/* Darknet layers without a plugin forward whose inference forward writes only
 * l.output (so that running it per image into that image's buffer is the
 * whole of it). */
static int batch_fallback_ok(const layer *l)
{
    return l->type == AVGPOOL || l->type == SOFTMAX || l->type == DROPOUT || l->type == COST;
}

int gc_forward_batch_supported(const network *net, char *why, size_t n)
{
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (gc_forward_handles(l) || batch_fallback_ok(l)) continue;
        if (why) snprintf(why, n, "layer %d (%s) has no batched forward", i, gc_darknet_type_name(l->type));
        return 0;
    }
    return 1;
}

/* A convolution whose images go into one im2col GEMM. */
static int batch_gemm(const gc_fwd *f, int i, const layer *l)
{
    return l->type == CONVOLUTIONAL && gc_forward_handles(l) && !(f->wino && f->wino[i]) && l->groups == 1 &&
           !(l->c == 1 && l->n == 1) && l->out_w * l->out_h <= GC_FWD_BATCH_COLUMNS;
}

/* The buffer layer i's output shares with an earlier layer's (Darknet
 * aliases a [dropout]'s output to its input's), or -1. */
static int first_owner(const network *net, int i)
{
    for (int j = 0; j < i; ++j)
        if (net->layers[j].output == net->layers[i].output) return j;
    return -1;
}

size_t gc_forward_batch_bytes(const network *net, int cap)
{
    size_t bytes = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->output && first_owner(net, i) < 0) bytes += (size_t)l->outputs * sizeof(float);
        if (l->type == MAXPOOL) bytes += (size_t)l->outputs * sizeof(int);
    }
    return bytes * (size_t)cap;
}

void gc_forward_batch_free(gc_fwd_batch *b)
{
    if (!b->net) return;
    gc_forward_batch_restore(b);
    for (int j = 0; j < b->nbuf; ++j) free(b->buf[j]);
    for (int i = 0; b->idx && i < b->net->n; ++i) free(b->idx[i]);
    free(b->buf);
    free(b->stride);
    free(b->buf_of);
    free(b->idx);
    free(b->own_out);
    free(b->own_idx);
    free(b->work);
    free(b->wino_m);
    free(b->cols);
    free(b->in);
    free(b->out);
    memset(b, 0, sizeof *b);
}

int gc_forward_batch_init(gc_fwd_batch *b, gc_fwd *f, int cap, gc_err *e)
{
    memset(b, 0, sizeof *b);
    network *net = f->net;
    char why[256];
    if (cap < 1) return gc_fail(e, "a batch needs at least one image");
    if (!gc_forward_batch_supported(net, why, sizeof why)) return gc_fail(e, "%s", why);
    int n = net->n;
    b->f = f;
    b->net = net;
    b->cap = cap;
    b->viewing = -1;
    b->net_out_layer = -1;
    b->buf = calloc((size_t)n, sizeof *b->buf);
    b->stride = calloc((size_t)n, sizeof *b->stride);
    b->buf_of = malloc((size_t)n * sizeof *b->buf_of);
    b->idx = calloc((size_t)n, sizeof *b->idx);
    b->own_out = malloc((size_t)n * sizeof *b->own_out);
    b->own_idx = malloc((size_t)n * sizeof *b->own_idx);
    b->in = malloc((size_t)cap * sizeof *b->in);
    b->out = malloc((size_t)cap * sizeof *b->out);
    if (!b->buf || !b->stride || !b->buf_of || !b->idx || !b->own_out || !b->own_idx || !b->in || !b->out) goto oom;
    size_t work = 0, wino_m = 0, cols = 0;
    for (int i = 0; i < n; ++i) {
        layer *l = &net->layers[i];
        b->own_out[i] = l->output;
        b->own_idx[i] = l->indexes;
        if (l->output == net->output && b->net_out_layer < 0) b->net_out_layer = i;
        int j = first_owner(net, i);
        if (!l->output) {
            b->buf_of[i] = -1;
        } else if (j >= 0) {
            b->buf_of[i] = b->buf_of[j];
        } else {
            b->stride[b->nbuf] = (size_t)l->outputs;
            /* calloc: a [cost] layer writes nothing at inference; its output stays 0, as Darknet's does */
            if (!(b->buf[b->nbuf] = calloc((size_t)l->outputs * (size_t)cap, sizeof(float)))) goto oom;
            b->buf_of[i] = b->nbuf++;
        }
        if (l->type == MAXPOOL && !(b->idx[i] = malloc((size_t)l->outputs * (size_t)cap * sizeof(int)))) goto oom;
        size_t pos = (size_t)l->out_w * l->out_h * (size_t)cap;
        if (f->wino && f->wino[i]) {
            size_t tiles = (size_t)((l->out_h + 1) / 2) * ((l->out_w + 1) / 2) * (size_t)cap;
            if (wino_floats((size_t)l->c, tiles) > work) work = wino_floats((size_t)l->c, tiles);
            if (wino_floats((size_t)l->n, tiles) > wino_m) wino_m = wino_floats((size_t)l->n, tiles);
        } else if (batch_gemm(f, i, l)) {
            size_t k = (size_t)l->size * l->size * l->c;
            if (k * pos > work) work = k * pos;
            if ((size_t)l->n * pos > cols) cols = (size_t)l->n * pos;
        }
    }
    b->own_net_out = net->output;
    if ((work && !(b->work = malloc(work * sizeof(float)))) || (wino_m && !(b->wino_m = malloc(wino_m * sizeof(float)))) ||
        (cols && !(b->cols = malloc(cols * sizeof(float)))))
        goto oom;
    return 0;
oom:
    gc_forward_batch_free(b);
    return gc_fail(e, "out of memory for a batch of %d images' activations (%.1f MiB)", cap,
                   (double)gc_forward_batch_bytes(net, cap) / (1 << 20));
}

static float *slice(const gc_fwd_batch *b, int layer_index, int k)
{
    int j = b->buf_of[layer_index];
    return j < 0 ? NULL : b->buf[j] + (size_t)k * b->stride[j];
}

/* One GEMM over every image's im2col columns (side by side, nimg P wide),
 * then each image's planes copied out of it. Whether OpenBLAS's threads
 * take it is decided per image (GC_BLAS_SHARED_MACS times nimg), as for
 * one image's forward: at 3e7 for the whole product, 8 demo scenes' layers
 * went to OpenBLAS, whose workers were started and stopped again for every
 * batch and spun in sched_yield in between (perf, 150 scenes at -batch 8:
 * 20 such threads, 11% of the run's samples, two thirds of them in
 * sched_yield; system time 0.47-0.62 s against 0.25-0.43 s per 500 scenes
 * after, alternating runs). */
static void batch_conv_gemm(gc_fwd_batch *b, int i, const layer *l)
{
    gc_fwd *f = b->f;
    int nimg = b->nimg, P = l->out_w * l->out_h, K = l->size * l->size * l->c;
    size_t NP = (size_t)nimg * P;
    for (int k = 0; k < nimg; ++k) {
        if (l->size != 1) {
            im2col_ld(b->work + (size_t)k * P, NP, b->in[k], l->c, l->h, l->w, l->size, l->stride, l->pad, &f->pool);
        } else {
            /* Darknet multiplies a 1x1 convolution's input as it is: c rows of P */
            for (int ch = 0; ch < l->c; ++ch)
                memcpy(b->work + ch * NP + (size_t)k * P, b->in[k] + (size_t)ch * P, (size_t)P * sizeof(float));
        }
    }
    gemm_bias_act(b->cols, l->weights, b->work, l->n, (int)NP, K, f->scales[i], f->biases[i], l->activation, &f->pool,
                  GC_BLAS_SHARED_MACS * nimg);
    for (int k = 0; k < nimg; ++k)
        for (int m = 0; m < l->n; ++m)
            memcpy(b->out[k] + (size_t)m * P, b->cols + m * NP + (size_t)k * P, (size_t)P * sizeof(float));
}

/* Whether layer i runs batched (every image in one product). */
static int batched(const gc_fwd_batch *b, int i)
{
    const layer *l = &b->net->layers[i];
    return (l->type == CONVOLUTIONAL && b->f->wino && b->f->wino[i]) || batch_gemm(b->f, i, l);
}

/* Batch image k's layer outputs, for forward_kernel. */
typedef struct batch_image {
    const gc_fwd_batch *b;
    int k;
} batch_image;

static const float *batch_output_of(const void *ctx, int j)
{
    const batch_image *bi = ctx;
    return slice(bi->b, j, bi->k);
}

/* Layer i for image k alone, into its own buffers: the kernels of a single
 * forward, or Darknet's slot (batch_fallback_ok). */
static void batch_one(gc_fwd_batch *b, int i, int k, const float *in)
{
    network *net = b->net;
    layer *L = &net->layers[i];
    layer l = *L;
    l.output = slice(b, i, k);
    if (b->idx[i]) l.indexes = b->idx[i] + (size_t)k * l.outputs;
    if (gc_forward_handles(L)) {
        batch_image bi = {b, k};
        forward_kernel(b->f, i, &l, in, batch_output_of, &bi, net->workspace);
        return;
    }
    /* Darknet's own slot (batch_fallback_ok) */
    network sub = *net;
    sub.input = (float *)in;
    sub.index = i;
    sub.train = 0;
    sub.truth = 0;
    sub.delta = 0;
    L->forward(l, sub);
}

/* Layers in order; a run of layers between batched ones goes image by image
 * (image k through the whole run, then image k + 1), so that a layer's
 * output is still in cache for the next, as in a single forward: layer by
 * layer over 8 images, Yolo-Fastest's forward took 1.1x-1.2x a single one
 * per image. */
void gc_forward_batch_run(gc_fwd_batch *b, const float *const *in, int nimg)
{
    gc_fwd *f = b->f;
    network *net = b->net;
    assert(f->installed && nimg >= 1 && nimg <= b->cap);
    gc_forward_batch_restore(b);
    b->nimg = nimg;
    for (int i = 0; i < net->n;) {
        layer *L = &net->layers[i];
        if (batched(b, i)) {
            for (int k = 0; k < nimg; ++k) {
                b->in[k] = i == 0 ? in[k] : slice(b, i - 1, k);
                b->out[k] = slice(b, i, k);
            }
            if (L->type == CONVOLUTIONAL && f->wino && f->wino[i])
                wino_forward(L, b->in, b->out, nimg, b->work, f->wino[i], b->wino_m, f->scales[i], f->biases[i],
                             &f->pool);
            else
                batch_conv_gemm(b, i, L);
            ++i;
            continue;
        }
        int end = i + 1;
        while (end < net->n && !batched(b, end)) ++end;
        for (int k = 0; k < nimg; ++k)
            for (int j = i; j < end; ++j) batch_one(b, j, k, j == 0 ? in[k] : slice(b, j - 1, k));
        i = end;
    }
    gc_forward_blas_settle();
}

void gc_forward_batch_view(gc_fwd_batch *b, int k)
{
    assert(k >= 0 && k < b->nimg);
    network *net = b->net;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (b->buf_of[i] >= 0) l->output = slice(b, i, k);
        if (b->idx[i]) l->indexes = b->idx[i] + (size_t)k * l->outputs;
    }
    if (b->net_out_layer >= 0) net->output = slice(b, b->net_out_layer, k);
    b->viewing = k;
}

void gc_forward_batch_restore(gc_fwd_batch *b)
{
    if (b->viewing < 0 || !b->net) return; /* nothing viewed, or never set up (its init failed) */
    network *net = b->net;
    for (int i = 0; i < net->n; ++i) {
        net->layers[i].output = b->own_out[i];
        net->layers[i].indexes = b->own_idx[i];
    }
    net->output = b->own_net_out;
    b->viewing = -1;
}
