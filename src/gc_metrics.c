#include "gc_metrics.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(GC_METRICS_NO_SSE2)
#include <emmintrin.h>
#endif

/* One axis of gc_metrics_pbox_cover: pixels i with lo <= i + 0.5 <= hi.
 * Edges beyond the image are first brought to within a pixel of it (a
 * decoded box's edge can be Inf, or past INT_MAX, and converting such a
 * value to int is undefined; NaN counts as the image's edge): that keeps
 * every pixel that was covered, and the pixel under the centre of a box too
 * thin to cover one (it lies beyond the image on the same side). */
static void cover_axis(double lo, double hi, int n, int *first, int *last)
{
    if (!(lo >= -1)) lo = -1;
    if (lo > n + 1) lo = n + 1;
    if (!(hi <= n + 1)) hi = n + 1;
    if (hi < -1) hi = -1;
    double c = (lo + hi) / 2;
    int a = (int)ceil(lo - 0.5), b = (int)floor(hi - 0.5);
    if (b < a) a = b = (int)floor(c);
    *first = a < 0 ? 0 : a > n - 1 ? n - 1 : a;
    *last = b > n - 1 ? n - 1 : b < 0 ? 0 : b;
}

gc_pbox gc_metrics_pbox_cover_edges(double x0, double y0, double x1, double y1, int w, int h)
{
    gc_pbox p;
    cover_axis(x0, x1, w, &p.l, &p.r);
    cover_axis(y0, y1, h, &p.t, &p.b);
    return p;
}

gc_pbox gc_metrics_pbox_cover(gc_rbox b, int w, int h)
{
    return gc_metrics_pbox_cover_edges(((double)b.x - b.w / 2.) * w, ((double)b.y - b.h / 2.) * h,
                                       ((double)b.x + b.w / 2.) * w, ((double)b.y + b.h / 2.) * h, w, h);
}

static double pbox_area(gc_pbox a)
{
    if (a.r < a.l || a.b < a.t) return 0;
    return (double)(a.r - a.l + 1) * (double)(a.b - a.t + 1);
}

double gc_metrics_pbox_iou(gc_pbox a, gc_pbox b)
{
    gc_pbox i = {a.l > b.l ? a.l : b.l, a.t > b.t ? a.t : b.t, a.r < b.r ? a.r : b.r, a.b < b.b ? a.b : b.b};
    double inter = pbox_area(i), uni = pbox_area(a) + pbox_area(b) - inter;
    return uni > 0 ? inter / uni : 0;
}

static double overlap(double x1, double w1, double x2, double w2)
{
    double l1 = x1 - w1 / 2, l2 = x2 - w2 / 2, r1 = x1 + w1 / 2, r2 = x2 + w2 / 2;
    double l = l1 > l2 ? l1 : l2, r = r1 < r2 ? r1 : r2;
    return r - l;
}

double gc_metrics_rbox_iou(gc_rbox a, gc_rbox b)
{
    double w = overlap(a.x, a.w, b.x, b.w), h = overlap(a.y, a.h, b.y, b.h);
    double inter = w < 0 || h < 0 ? 0 : w * h;
    double uni = (double)a.w * a.h + (double)b.w * b.h - inter;
    return uni > 0 ? inter / uni : 0;
}

static int inside(gc_pbox b, int x, int y) { return x >= b.l && x <= b.r && y >= b.t && y <= b.b; }

int gc_metrics_pointing(const float *map, int w, int h, gc_pbox box)
{
    size_t n = (size_t)w * (size_t)h, best = 0;
    float mx = 0;
    for (size_t i = 0; i < n; ++i)
        if (map[i] > mx) mx = map[i], best = i;
    if (!(mx > 0)) return 0;
    return inside(box, (int)(best % (size_t)w), (int)(best / (size_t)w));
}

/* Sum of p[0, n) in double precision: four lanes (two per SSE2 register)
 * over blocks of 4, then the rest in order; plain C keeps the same lanes. */
static double sum_row(const float *p, size_t n)
{
    size_t i = 0;
    double s;
#if defined(__SSE2__) && !defined(GC_METRICS_NO_SSE2)
    __m128d a = _mm_setzero_pd(), b = _mm_setzero_pd();
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(p + i);
        a = _mm_add_pd(a, _mm_cvtps_pd(x));
        b = _mm_add_pd(b, _mm_cvtps_pd(_mm_movehl_ps(x, x)));
    }
    double la[2], lb[2];
    _mm_storeu_pd(la, a);
    _mm_storeu_pd(lb, b);
    s = (la[0] + lb[0]) + (la[1] + lb[1]);
#else
    double l[4] = {0, 0, 0, 0};
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; ++k) l[k] += p[i + k];
    s = (l[0] + l[2]) + (l[1] + l[3]);
#endif
    for (; i < n; ++i) s += p[i];
    return s;
}

/* The largest value of p[0, n) above lo, NaN ignored; lo if none. */
static float max_row(const float *p, size_t n, float lo)
{
    size_t i = 0;
    float m = lo;
#if defined(__SSE2__) && !defined(GC_METRICS_NO_SSE2)
    __m128 v = _mm_set1_ps(lo);
    for (; i + 4 <= n; i += 4) v = _mm_max_ps(_mm_loadu_ps(p + i), v); /* a NaN in p gives v's lane */
    float l[4];
    _mm_storeu_ps(l, v);
    for (int k = 0; k < 4; ++k)
        if (l[k] > m) m = l[k];
#endif
    for (; i < n; ++i)
        if (p[i] > m) m = p[i];
    return m;
}

/* The plain loop (a branch per pixel for the box, double adds in one
 * chain) took 0.41 ms on a 768x576 map (best of 100, alone), once per box
 * on the explaining thread. Per row now: the row's sum and maximum in SIMD
 * lanes, the box's part of the row summed again, and the first position of
 * the maximum searched only in a row that raises it: 0.17 ms. */
gc_heat_stats gc_metrics_heat_stats(const float *map, int w, int h, gc_pbox box)
{
    gc_heat_stats s = {0, 0, -1, 0, 0};
    int l = box.l > 0 ? box.l : 0, r = box.r < w - 1 ? box.r : w - 1;
    for (int y = 0; y < h; ++y) {
        const float *row = map + (size_t)y * (size_t)w;
        s.total += sum_row(row, (size_t)w);
        if (y >= box.t && y <= box.b && l <= r) s.inside += sum_row(row + l, (size_t)(r - l + 1));
        float m = max_row(row, (size_t)w, s.best);
        if (m > s.best) {
            int x = 0;
            while (!(row[x] == m)) ++x;
            s.best = m;
            s.best_x = x;
            s.best_y = y;
        }
    }
    return s;
}

double gc_metrics_energy(const float *map, int w, int h, gc_pbox box)
{
    double total = 0, in = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            double v = map[(size_t)y * w + x];
            if (!(v > 0)) continue;
            total += v;
            if (inside(box, x, y)) in += v;
        }
    return total > 0 ? in / total : 0;
}

size_t gc_metrics_largest_region(const float *map, int w, int h, float frac, int *labels, int *stack,
                                gc_pbox *out)
{
    size_t n = (size_t)w * (size_t)h;
    gc_pbox none = {0, 0, -1, -1};
    *out = none;
    float mx = 0;
    for (size_t i = 0; i < n; ++i)
        if (map[i] > mx) mx = map[i];
    if (!(mx > 0)) return 0;
    float thr = frac * mx;
    /* labels: 0 = not yet visited, -1 = below the threshold, k >= 1 region k */
    for (size_t i = 0; i < n; ++i) labels[i] = map[i] > thr ? 0 : -1;
    size_t best = 0;
    int region = 0;
    for (size_t s = 0; s < n; ++s) {
        if (labels[s] != 0) continue;
        ++region;
        gc_pbox bb = {w, h, -1, -1};
        size_t count = 0, top = 0;
        labels[s] = region;
        stack[top++] = (int)s;
        while (top) {
            int p = stack[--top], px = p % w, py = p / w;
            ++count;
            if (px < bb.l) bb.l = px;
            if (px > bb.r) bb.r = px;
            if (py < bb.t) bb.t = py;
            if (py > bb.b) bb.b = py;
            for (int dy = -1; dy <= 1; ++dy)
                for (int dx = -1; dx <= 1; ++dx) {
                    int qx = px + dx, qy = py + dy;
                    if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
                    size_t q = (size_t)qy * w + qx;
                    if (labels[q] != 0) continue;
                    labels[q] = region; /* marked when pushed: each pixel enters the stack once */
                    stack[top++] = (int)q;
                }
        }
        if (count > best) best = count, *out = bb;
    }
    return best;
}

double gc_metrics_auc(const double *x, const double *y, int n)
{
    double a = 0;
    for (int i = 1; i < n; ++i) a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    return a;
}

/* qsort context: C has no qsort_r everywhere, so the key array travels in a
 * file-local pointer set right before each sort (single-threaded use). */
static const float *sort_key;

static int by_key_desc(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    float x = sort_key[i], y = sort_key[j];
    if (x > y) return -1;
    if (x < y) return 1;
    return (i > j) - (i < j);
}

static void rank_desc(const float *key, int n, int *order)
{
    for (int i = 0; i < n; ++i) order[i] = i;
    sort_key = key;
    qsort(order, (size_t)n, sizeof *order, by_key_desc);
    sort_key = NULL;
}

double gc_metrics_ap(const float *score, const unsigned char *tp, int n, int npos, int *order)
{
    if (npos <= 0) return 0;
    rank_desc(score, n, order);
    /* one pass from the right gives the monotone precision envelope; AP sums
     * envelope x recall step over the ranks where a true positive raises recall */
    double ap = 0, env = 0;
    int ctp = 0;
    for (int k = 0; k < n; ++k) ctp += tp[order[k]] != 0;
    for (int k = n - 1; k >= 0; --k) {
        double p = (double)ctp / (k + 1);
        if (p > env) env = p;
        if (tp[order[k]]) {
            ap += env / npos;
            --ctp;
        }
    }
    return ap;
}

void gc_metrics_match_voc(const int *det_image, const gc_rbox *det_box, const float *det_score, int ndet,
                  const int *gt_image, const gc_rbox *gt_box, int ngt, float iou_thresh, unsigned char *tp,
                  int *order, unsigned char *used)
{
    rank_desc(det_score, ndet, order);
    memset(used, 0, (size_t)ngt);
    for (int k = 0; k < ndet; ++k) {
        int i = order[k], best = -1;
        double ov = -1;
        for (int j = 0; j < ngt; ++j) {
            if (gt_image[j] != det_image[i]) continue;
            double o = gc_metrics_rbox_iou(det_box[i], gt_box[j]);
            if (o > ov) ov = o, best = j;
        }
        tp[i] = 0;
        if (best >= 0 && ov >= iou_thresh && !used[best]) {
            tp[i] = 1;
            used[best] = 1;
        }
    }
}

int gc_metrics_match_greedy(const gc_rbox *det_box, const int *det_cls, const float *det_prob, int ndet,
                    const gc_rbox *gt_box, const int *gt_cls, int ngt, float iou_thresh, int *gt_det,
                    int *order)
{
    for (int j = 0; j < ngt; ++j) gt_det[j] = -1;
    rank_desc(det_prob, ndet, order);
    int matched = 0;
    for (int k = 0; k < ndet; ++k) {
        int i = order[k], best = -1;
        double ov = iou_thresh;
        for (int j = 0; j < ngt; ++j) {
            if (gt_det[j] >= 0 || gt_cls[j] != det_cls[i]) continue;
            double o = gc_metrics_rbox_iou(det_box[i], gt_box[j]);
            if (o >= ov && (best < 0 || o > ov)) ov = o, best = j;
        }
        if (best >= 0) gt_det[best] = i, ++matched;
    }
    return matched;
}

void gc_metrics_order_by_value(const float *map, size_t n, int *order)
{
    assert(n <= (size_t)0x7fffffff);
    rank_desc(map, (int)n, order);
}

void gc_metrics_blur_gaussian(const float *in, int w, int h, int c, float sigma, float *tmp, float *out)
{
    size_t hw = (size_t)w * (size_t)h;
    if (!(sigma > 0)) {
        memcpy(out, in, hw * (size_t)c * sizeof *out);
        return;
    }
    int r = (int)ceilf(3 * sigma);
    if (r > 64) r = 64;
    float k[129], sum = 0;
    for (int i = -r; i <= r; ++i) sum += k[i + r] = expf(-(float)(i * i) / (2 * sigma * sigma));
    for (int i = 0; i <= 2 * r; ++i) k[i] /= sum;
    for (int ch = 0; ch < c; ++ch) {
        const float *src = in + (size_t)ch * hw;
        float *dst = out + (size_t)ch * hw;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                float acc = 0;
                for (int i = -r; i <= r; ++i) {
                    int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
                    acc += k[i + r] * src[(size_t)y * w + xx];
                }
                tmp[(size_t)y * w + x] = acc;
            }
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                float acc = 0;
                for (int i = -r; i <= r; ++i) {
                    int yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
                    acc += k[i + r] * tmp[(size_t)yy * w + x];
                }
                dst[(size_t)y * w + x] = acc;
            }
    }
}

float gc_metrics_center_prior(int w, int h, float x, float y)
{
    double s = (w < h ? w : h) / 4.0, dx = x - w / 2.0, dy = y - h / 2.0;
    if (!(s > 0)) return 0;
    return (float)exp(-(dx * dx + dy * dy) / (2 * s * s));
}

/* ---- agreement and complexity of maps ---------------------------------------- */

typedef struct keyed {
    float v;
    unsigned idx;
} keyed;

static int by_value_asc(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->v < b->v) return -1;
    if (a->v > b->v) return 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

size_t gc_metrics_rank_scratch_size(size_t n) { return (n ? n : 1) * sizeof(keyed); }

void gc_metrics_ranks(const float *x, size_t n, double *rank, void *scratch)
{
    assert(n <= 0xffffffffu);
    keyed *k = scratch;
    for (size_t i = 0; i < n; ++i) k[i] = (keyed){x[i], (unsigned)i};
    qsort(k, n, sizeof *k, by_value_asc);
    /* a run of equal values at sorted positions i..j-1 shares the average of
     * ranks i+1..j */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && k[j].v == k[i].v) ++j;
        double r = (double)(i + 1 + j) / 2.0;
        for (size_t q = i; q < j; ++q) rank[k[q].idx] = r;
        i = j;
    }
}

double gc_metrics_spearman(const float *a, const float *b, size_t n, double *ra, double *rb, void *scratch)
{
    if (n < 2) return 0;
    gc_metrics_ranks(a, n, ra, scratch);
    gc_metrics_ranks(b, n, rb, scratch);
    /* both rank vectors have mean (n + 1) / 2 */
    double mean = (double)(n + 1) / 2.0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; ++i) {
        double da = ra[i] - mean, db = rb[i] - mean;
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    int ca = !(saa > 0), cb = !(sbb > 0);
    if (ca || cb) return ca && cb ? 1.0 : 0.0;
    double r = sab / sqrt(saa * sbb);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

static int by_float_asc(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

double gc_metrics_gini(const float *map, size_t n, float *sorted)
{
    if (n == 0) return 0;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
        sorted[i] = map[i] > 0 ? map[i] : 0;
        sum += sorted[i];
    }
    if (!(sum > 0)) return 0;
    qsort(sorted, n, sizeof *sorted, by_float_asc);
    double acc = 0;
    for (size_t i = 0; i < n; ++i) acc += (2.0 * (double)(i + 1) - (double)n - 1.0) * sorted[i];
    double g = acc / ((double)n * sum);
    return g < 0 ? 0 : g;
}

size_t gc_metrics_box_gather(const float *map, int w, int h, gc_pbox box, float *out)
{
    int l = box.l < 0 ? 0 : box.l, t = box.t < 0 ? 0 : box.t;
    int r = box.r > w - 1 ? w - 1 : box.r, b = box.b > h - 1 ? h - 1 : box.b;
    size_t n = 0;
    for (int y = t; y <= b; ++y)
        for (int x = l; x <= r; ++x) out[n++] = map[(size_t)y * (size_t)w + (size_t)x];
    return n;
}

long gc_metrics_peak(const float *map, size_t n)
{
    long best = -1;
    float mx = 0;
    for (size_t i = 0; i < n; ++i)
        if (map[i] > mx) mx = map[i], best = (long)i;
    return best;
}

int gc_metrics_peaks_near(const float *a, const float *b, int w, int h, float cell_w, float cell_h)
{
    size_t n = (size_t)w * (size_t)h;
    long pa = gc_metrics_peak(a, n), pb = gc_metrics_peak(b, n);
    if (pa < 0 || pb < 0) return 0;
    float dx = fabsf((float)(pa % w) - (float)(pb % w)), dy = fabsf((float)(pa / w) - (float)(pb / w));
    return dx <= cell_w && dy <= cell_h;
}

/* ---- box priors ---------------------------------------------------------- */

void gc_metrics_box_gaussian(int w, int h, float cx, float cy, float bw, float bh, float *out)
{
    double sx = bw / 4.0, sy = bh / 4.0;
    if (!(sx >= 0.5)) sx = 0.5;
    if (!(sy >= 0.5)) sy = 0.5;
    for (int y = 0; y < h; ++y) {
        double dy = y + 0.5 - cy, ey = dy * dy / (2 * sy * sy);
        for (int x = 0; x < w; ++x) {
            double dx = x + 0.5 - cx;
            out[(size_t)y * (size_t)w + (size_t)x] = (float)exp(-(dx * dx / (2 * sx * sx) + ey));
        }
    }
}

void gc_metrics_cell_map(int gw, int gh, int col, int row, float *out)
{
    assert(col >= 0 && col < gw && row >= 0 && row < gh);
    memset(out, 0, (size_t)gw * (size_t)gh * sizeof *out);
    out[(size_t)row * (size_t)gw + (size_t)col] = 1.0f;
}

/* ---- RISE ------------------------------------------------------------------ */

void gc_metrics_rise_grid(int gs, float p, uint64_t *state, float *grid)
{
    for (int i = 0; i < gs * gs; ++i) grid[i] = gc_rng_unit(state) < p ? 1.0f : 0.0f;
}

/* One axis of the bilinear sample: the up-pixel u of an axis of `up` pixels
 * covering gs cells falls between cells *i0 and *i1 with weight *f on i1. */
static void axis_sample(int u, int up, int gs, int *i0, int *i1, float *f)
{
    double g = ((double)u + 0.5) * gs / up - 0.5;
    if (g < 0) g = 0;
    if (g > gs - 1) g = gs - 1;
    int a = (int)g;
    *i0 = a;
    *i1 = a + 1 < gs ? a + 1 : a;
    *f = (float)(g - a);
}

void gc_metrics_rise_upsample(const float *grid, int gs, int w, int h, int ox, int oy, float *mask)
{
    int cw = (w + gs - 1) / gs, ch = (h + gs - 1) / gs;
    int upw = (gs + 1) * cw, uph = (gs + 1) * ch;
    assert(ox >= 0 && oy >= 0 && ox + w <= upw && oy + h <= uph);
    for (int y = 0; y < h; ++y) {
        int y0, y1;
        float fy;
        axis_sample(y + oy, uph, gs, &y0, &y1, &fy);
        for (int x = 0; x < w; ++x) {
            int x0, x1;
            float fx;
            axis_sample(x + ox, upw, gs, &x0, &x1, &fx);
            float top = grid[y0 * gs + x0] * (1 - fx) + grid[y0 * gs + x1] * fx;
            float bot = grid[y1 * gs + x0] * (1 - fx) + grid[y1 * gs + x1] * fx;
            mask[(size_t)y * (size_t)w + (size_t)x] = top * (1 - fy) + bot * fy;
        }
    }
}

void gc_metrics_rise_mask(int w, int h, int gs, float p, uint64_t *state, float *grid, float *mask)
{
    int cw = (w + gs - 1) / gs, ch = (h + gs - 1) / gs;
    gc_metrics_rise_grid(gs, p, state, grid);
    int ox = (int)(gc_rng_unit(state) * (float)cw), oy = (int)(gc_rng_unit(state) * (float)ch);
    if (ox >= cw) ox = cw - 1;
    if (oy >= ch) oy = ch - 1;
    gc_metrics_rise_upsample(grid, gs, w, h, ox, oy, mask);
}

void gc_metrics_rise_accumulate(float *sal, const float *mask, size_t n, float score)
{
    for (size_t i = 0; i < n; ++i) sal[i] += score * mask[i];
}

void gc_metrics_rise_finish(float *sal, size_t n, int nmasks, float p)
{
    float d = (float)nmasks * p;
    if (!(d > 0)) return;
    for (size_t i = 0; i < n; ++i) sal[i] /= d;
}
