/* gc_render: the display pipeline of Grad-CAM (seed 004: normalise, resize,
 * colour, add) plus the geometry that puts a map computed on the letterboxed
 * network input back onto the original image. */
#include "gc_render.h"

#if defined(__SSE2__) && !defined(GC_RENDER_NO_SSE2)
#include <emmintrin.h>
#endif

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gc_common.h"

/* ---- letterbox ----------------------------------------------------------- */

/* Same integer arithmetic as Darknet's letterbox_image() (src/image.c):
 *   if ((float)w/im.w < (float)h/im.h) { new_w = w; new_h = (im.h*w)/im.w; }
 *   else                               { new_h = h; new_w = (im.w*h)/im.h; }
 *   embed at ((w-new_w)/2, (h-new_h)/2)
 * For aspect ratios so extreme that Darknet's new size rounds to 0 (Darknet
 * then produces an all-grey input), we keep 1 pixel so the mapping below
 * stays defined. */
gc_letterbox gc_render_letterbox(int orig_w, int orig_h, int net_w, int net_h)
{
    gc_letterbox lb;
    assert(orig_w > 0 && orig_h > 0 && net_w > 0 && net_h > 0);
    lb.orig_w = orig_w;
    lb.orig_h = orig_h;
    lb.net_w = net_w;
    lb.net_h = net_h;
    if (((float)net_w / orig_w) < ((float)net_h / orig_h)) {
        lb.new_w = net_w;
        lb.new_h = (int)(((long long)orig_h * net_w) / orig_w);
    } else {
        lb.new_h = net_h;
        lb.new_w = (int)(((long long)orig_w * net_h) / orig_h);
    }
    if (lb.new_w < 1) lb.new_w = 1;
    if (lb.new_h < 1) lb.new_h = 1;
    lb.dx = (net_w - lb.new_w) / 2;
    lb.dy = (net_h - lb.new_h) / 2;
    gc_render_letterbox_window(&lb, 0, 0, net_w, net_h);
    return lb;
}

void gc_render_letterbox_window(gc_letterbox *lb, int x, int y, int w, int h)
{
    assert(x >= 0 && y >= 0 && w > 0 && h > 0 && w <= lb->net_w - x && h <= lb->net_h - y);
    lb->win_x = x;
    lb->win_y = y;
    lb->win_w = w;
    lb->win_h = h;
}

static int gc_lb_whole(const gc_letterbox *lb)
{
    return lb->win_x == 0 && lb->win_y == 0 && lb->win_w == lb->net_w && lb->win_h == lb->net_h;
}

/* One axis of the letterbox. Darknet's resize_image() samples resized pixel
 * c at original pixel index c * (orig-1)/(new-1) (corners aligned), so in
 * continuous coordinates with pixel centres at +0.5:
 *   o = (n - d - 0.5) * (orig-1)/(new-1) + 0.5.
 * When orig or new is 1 that mapping degenerates (Darknet then copies the
 * last pixel); we fall back to plain proportional scaling o = (n - d) *
 * orig/new, which is invertible. */
static void gc_lb_axis(int orig, int newsz, double *scale, double *centre)
{
    if (orig > 1 && newsz > 1) {
        *scale = (double)(orig - 1) / (double)(newsz - 1);
        *centre = 0.5;
    } else {
        *scale = (double)orig / (double)newsz;
        *centre = 0.0;
    }
}

static void gc_lb_to_orig_d(const gc_letterbox *lb, double nx, double ny, double *ox, double *oy)
{
    double sx, cx, sy, cy;
    gc_lb_axis(lb->orig_w, lb->new_w, &sx, &cx);
    gc_lb_axis(lb->orig_h, lb->new_h, &sy, &cy);
    *ox = (nx - lb->dx - cx) * sx + cx;
    *oy = (ny - lb->dy - cy) * sy + cy;
}

static void gc_lb_to_net_d(const gc_letterbox *lb, double ox, double oy, double *nx, double *ny)
{
    double sx, cx, sy, cy;
    gc_lb_axis(lb->orig_w, lb->new_w, &sx, &cx);
    gc_lb_axis(lb->orig_h, lb->new_h, &sy, &cy);
    *nx = (ox - cx) / sx + cx + lb->dx;
    *ny = (oy - cy) / sy + cy + lb->dy;
}

void gc_render_letterbox_to_orig(const gc_letterbox *lb, float net_x, float net_y, float *ox, float *oy)
{
    double x, y;
    gc_lb_to_orig_d(lb, net_x, net_y, &x, &y);
    *ox = (float)x;
    *oy = (float)y;
}

void gc_render_letterbox_to_net(const gc_letterbox *lb, float ox, float oy, float *net_x, float *net_y)
{
    double x, y;
    gc_lb_to_net_d(lb, ox, oy, &x, &y);
    *net_x = (float)x;
    *net_y = (float)y;
}

/* ---- resampling ---------------------------------------------------------- */

/* Bilinear sampling at continuous cell coordinates (cell i centred at i),
 * clamped at the edges: per axis, the two cells and the second's weight f;
 * a sample is (1 - fy) * ((1 - fx) m00 + fx m01) + fy * ((1 - fx) m10 + fx m11)
 * in double. This is one axis's tap at coordinate c. */
typedef struct gc_tap {
    int i0, i1;
    double f;
} gc_tap;

static gc_tap gc_tap_at(double c, int n)
{
    if (c < 0) c = 0;
    if (c > n - 1) c = n - 1;
    int i0 = (int)c;
    gc_tap t = {i0, i0 + 1 < n ? i0 + 1 : i0, c - i0};
    return t;
}

/* Cell coordinate of output column (or row) i along one axis. */
typedef struct gc_axis_map {
    int letterbox;  /* 1: through the inverse letterbox; 0: a plain resize */
    /* letterbox: network coordinate n = (i + .5 - c) / s + c + d; the map
     * covers the window [w0, w1) of it: cell coordinate (n - w0) * cell - .5 */
    double s, c, d, cell, w0, w1;
    int clip; /* letterbox: the window is not the whole input: 0 where n is outside it */
} gc_axis_map;

static double gc_axis_net(const gc_axis_map *a, int i)
{
    return (i + 0.5 - a->c) / a->s + a->c + a->d;
}

static double gc_axis_coord(const gc_axis_map *a, int i)
{
    if (a->letterbox) return (gc_axis_net(a, i) - a->w0) * a->cell - 0.5;
    return (i + 0.5) * a->s - 0.5; /* s: input cells per output pixel */
}

static int gc_axis_inside(const gc_axis_map *a, int i)
{
    if (!a->clip) return 1;
    double n = gc_axis_net(a, i);
    return n >= a->w0 && n < a->w1;
}

#define GC_RS_TILE 256

GC_OPT_O3 static void gc_resample_rows(const float *m, int mw, int mh, const gc_axis_map *ax, const gc_axis_map *ay, float *out,
                             int ow, int y0, int y1);

/* out (ow x oh) = m (mw x mh) sampled bilinearly at the cell coordinates
 * ax(column), ay(row), bit for bit as the per-pixel formula above, but
 * separably: per tile of columns, a pair of map rows is interpolated along x
 * once and shared by every output row that falls between the same two rows
 * (a 20x20 map on a 768x576 image: ~30 output rows per pair). No heap. */
static void gc_resample(const float *m, int mw, int mh, const gc_axis_map *ax, const gc_axis_map *ay, float *out,
                        int ow, int oh)
{
    gc_resample_rows(m, mw, mh, ax, ay, out, ow, 0, oh);
}

/* One tile's taps along x, as arrays: the cells and their weights 1 - f, f. */
typedef struct gc_taps {
    int i0[GC_RS_TILE], i1[GC_RS_TILE];
    double w0[GC_RS_TILE], w1[GC_RS_TILE];
} gc_taps;

/* One map row a sampled at the taps tx[0..nt) along x, in double. */
GC_OPT_O3 static void gc_resample_along_x(const float *a, const gc_taps *tx, int nt, double *out)
{
    for (int i = 0; i < nt; ++i) out[i] = tx->w0[i] * a[tx->i0[i]] + tx->w1[i] * a[tx->i1[i]];
}

/* Only output rows [y0, y1), into out's rows 0 .. y1 - y0 - 1. */
GC_OPT_O3 static void gc_resample_rows(const float *m, int mw, int mh, const gc_axis_map *ax, const gc_axis_map *ay, float *out,
                             int ow, int y0, int y1)
{
    gc_taps tx;
    double rows[2][GC_RS_TILE], *top = rows[0], *bot = rows[1];
    for (int x0 = 0; x0 < ow; x0 += GC_RS_TILE) {
        int nt = ow - x0 < GC_RS_TILE ? ow - x0 : GC_RS_TILE;
        for (int i = 0; i < nt; ++i) {
            gc_tap t = gc_tap_at(gc_axis_coord(ax, x0 + i), mw);
            tx.i0[i] = t.i0;
            tx.i1[i] = t.i1;
            tx.w0[i] = 1 - t.f;
            tx.w1[i] = t.f;
        }
        int r0 = -1, r1 = -1;
        for (int y = y0; y < y1; ++y) {
            if (!gc_axis_inside(ay, y)) {
                memset(out + (size_t)(y - y0) * ow + x0, 0, (size_t)nt * sizeof *out);
                continue;
            }
            gc_tap ty = gc_tap_at(gc_axis_coord(ay, y), mh);
            if (ty.i0 != r0 || ty.i1 != r1) {
                /* moving down one map row (a map enlarged), the old bottom
                 * row is the new top: only the new bottom is interpolated
                 * (these gathers were most of an enlarged overlay's heat) */
                if (ty.i0 == r1 && r1 >= 0) {
                    double *t = top;
                    top = bot;
                    bot = t;
                } else {
                    gc_resample_along_x(m + (size_t)ty.i0 * mw, &tx, nt, top);
                }
                if (ty.i1 == ty.i0) memcpy(bot, top, (size_t)nt * sizeof *bot);
                else gc_resample_along_x(m + (size_t)ty.i1 * mw, &tx, nt, bot);
                r0 = ty.i0;
                r1 = ty.i1;
            }
            float *o = out + (size_t)(y - y0) * ow + x0;
            for (int i = 0; i < nt; ++i) o[i] = (float)((1 - ty.f) * top[i] + ty.f * bot[i]);
            if (ax->clip)
                for (int i = 0; i < nt; ++i)
                    if (!gc_axis_inside(ax, x0 + i)) o[i] = 0;
        }
    }
}

/* Each output pixel centre goes to the original image's coordinates ((i +
 * .5) orig / out, the same point when out is the original size), through
 * the inverse letterbox to network coordinates n, then to map cell
 * coordinates (cell i covers win + [i, i+1) * win/m, centre aligned), and is
 * sampled there; outside the window, 0. No network-size buffer. Per axis,
 * gc_axis_net's n = (i + .5 - c) / s + c + d for the original image becomes,
 * with k = orig / out, (i + .5 - c/k) / (s/k) + c/k + (d + c - c/k). */
static void map_to(const float *map, int mw, int mh, const gc_letterbox *lb, int ow, int oh, float *out)
{
    assert(map && out && lb && mw > 0 && mh > 0 && ow > 0 && oh > 0);
    assert(lb->win_w > 0 && lb->win_h > 0);
    gc_axis_map ax = {1, 0, 0, lb->dx, (double)mw / lb->win_w, lb->win_x, lb->win_x + lb->win_w,
                      lb->win_x != 0 || lb->win_w != lb->net_w},
                ay = {1, 0, 0, lb->dy, (double)mh / lb->win_h, lb->win_y, lb->win_y + lb->win_h,
                      lb->win_y != 0 || lb->win_h != lb->net_h};
    gc_lb_axis(lb->orig_w, lb->new_w, &ax.s, &ax.c);
    gc_lb_axis(lb->orig_h, lb->new_h, &ay.s, &ay.c);
    if (ow != lb->orig_w) { /* (the original size keeps its arithmetic, bit for bit) */
        double k = (double)lb->orig_w / ow, c = ax.c / k;
        ax.s /= k;
        ax.d += ax.c - c;
        ax.c = c;
    }
    if (oh != lb->orig_h) {
        double k = (double)lb->orig_h / oh, c = ay.c / k;
        ay.s /= k;
        ay.d += ay.c - c;
        ay.c = c;
    }
    gc_resample(map, mw, mh, &ax, &ay, out, ow, oh);
}

void gc_render_map_to_image(const float *map, int mw, int mh, const gc_letterbox *lb, float *out)
{
    map_to(map, mw, mh, lb, lb->orig_w, lb->orig_h, out);
}

void gc_render_map_to_display(const float *map, int mw, int mh, const gc_letterbox *lb, int dw, int dh, float *out)
{
    map_to(map, mw, mh, lb, dw, dh, out);
}

void gc_render_input_to_display(const float *plane, const gc_letterbox *lb, int dw, int dh, float *out)
{
    gc_letterbox whole = *lb;
    gc_render_letterbox_window(&whole, 0, 0, lb->net_w, lb->net_h);
    map_to(plane, lb->net_w, lb->net_h, &whole, dw, dh, out);
}

void gc_render_input_to_image(const float *plane, const gc_letterbox *lb, float *out)
{
    gc_render_input_to_display(plane, lb, lb->orig_w, lb->orig_h, out);
}

void gc_render_map_to_input(const float *map, int mw, int mh, const gc_letterbox *lb, float *out)
{
    gc_render_resize(map, mw, mh, out, lb->win_w, lb->win_h);
    gc_render_window_expand(out, lb);
}

/* Row y of the window lies at (win_y + y) * net_w + win_x of the plane and
 * at y * win_w of the front: never before it, so expanding from the last row
 * up (and cropping from the first down) reads each row before it is
 * overwritten. */
void gc_render_window_expand(float *plane, const gc_letterbox *lb)
{
    assert(plane && lb);
    if (gc_lb_whole(lb)) return;
    size_t W = (size_t)lb->net_w, ww = (size_t)lb->win_w;
    for (int y = lb->win_h - 1; y >= 0; --y)
        memmove(plane + ((size_t)lb->win_y + (size_t)y) * W + (size_t)lb->win_x, plane + (size_t)y * ww,
                ww * sizeof *plane);
    for (size_t y = 0; y < (size_t)lb->net_h; ++y) {
        float *r = plane + y * W;
        if (y < (size_t)lb->win_y || y >= (size_t)lb->win_y + (size_t)lb->win_h) {
            memset(r, 0, W * sizeof *r);
            continue;
        }
        memset(r, 0, (size_t)lb->win_x * sizeof *r);
        memset(r + lb->win_x + ww, 0, (W - (size_t)lb->win_x - ww) * sizeof *r);
    }
}

void gc_render_window_crop(float *plane, const gc_letterbox *lb)
{
    assert(plane && lb);
    if (gc_lb_whole(lb)) return;
    size_t W = (size_t)lb->net_w, ww = (size_t)lb->win_w;
    for (int y = 0; y < lb->win_h; ++y)
        memmove(plane + (size_t)y * ww, plane + ((size_t)lb->win_y + (size_t)y) * W + (size_t)lb->win_x,
                ww * sizeof *plane);
}

void gc_render_resize(const float *in, int iw, int ih, float *out, int ow, int oh)
{
    assert(in && out && iw > 0 && ih > 0 && ow >= 0 && oh >= 0);
    gc_axis_map ax = {0, (double)iw / (ow ? ow : 1), 0, 0, 0, 0, 0, 0}, ay = {0, (double)ih / (oh ? oh : 1), 0, 0, 0, 0, 0, 0};
    gc_resample(in, iw, ih, &ax, &ay, out, ow, oh);
}

/* Seed 004: x = x - min(x); x = x / max(x). A constant (or all-zero) array
 * has nothing to show and becomes all zero instead of 0/0 = NaN. */
float gc_render_normalize(float *x, size_t n)
{
    if (n == 0) return 0;
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < n; ++i) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    float range = hi - lo;
    if (!(range > 0) || !isfinite(range)) {
        memset(x, 0, n * sizeof *x);
        return isfinite(range) ? range : 0;
    }
    for (size_t i = 0; i < n; ++i) x[i] = (float)(((double)x[i] - lo) / range);
    return range;
}

/* ---- colour ---------------------------------------------------------------- */

static unsigned char gc_to_byte(double v)
{
    if (!(v > 0)) return 0;
    if (v >= 1) return 255;
    return (unsigned char)(v * 255.0 + 0.5);
}

static double gc_clamp01(double v)
{
    if (!(v > 0)) return 0; /* also NaN */
    return v > 1 ? 1 : v;
}

/* The classic piecewise-linear jet (MATLAB / matplotlib): dark blue (0,0,.5)
 * at 0, through blue, cyan, green, yellow and red, to dark red (.5,0,0) at 1. */
void gc_render_jet(float v, unsigned char rgb[3])
{
    double t = gc_clamp01(v);
    rgb[0] = gc_to_byte(1.5 - fabs(4 * t - 3));
    rgb[1] = gc_to_byte(1.5 - fabs(4 * t - 2));
    rgb[2] = gc_to_byte(1.5 - fabs(4 * t - 1));
}

/* out = (1 - a) * img + a * jet(heat) per channel, a = alpha * heat: the
 * tint fades out with the heat, so a zero of the map leaves the image as it
 * is (with a constant alpha, the whole image took the colormap's dark blue
 * for 0). Rounded to 8 bits; alpha and heat clamped to [0, 1]. The blend
 * itself is gc_render_overlay_scaled's, at factor 1. */
void gc_render_overlay(const float *img, int w, int h, const float *heat, float alpha, unsigned char *rgb_out)
{
    gc_render_overlay_px(gc_pixels_float(img), w, h, heat, alpha, rgb_out);
}

void gc_render_overlay_px(gc_pixels img, int w, int h, const float *heat, float alpha, unsigned char *rgb_out)
{
    assert((img.f || img.rgb) && heat && rgb_out && w >= 0 && h >= 0);
    gc_render_overlay_scaled_rows_px(img, w, h, 1, heat, alpha, rgb_out, 0, (size_t)h);
}

/* gc_render_overlay of img scaled up f times by nearest neighbour (each
 * source pixel an f x f block), without the scaled-up copy.
 * A row is drawn in chunks of at most OV_COLS columns. First each source
 * pixel's clamped value (times 255, per channel) and its untinted pixel are
 * worked out and spread over its f columns; then the chunk's columns are
 * blended four at a time (SSE2, every x86-64), eight where the CPU has AVX2
 * (plain C elsewhere; the same operations in the same order in all three),
 * each pixel packed into 32 bits, which are written 3 bytes apart. Where the heat is not above 0 (NaN included), the
 * untinted pixel is taken. The blend is in single precision: the double
 * precision loop before it took 15% of a list run's CPU with every output.
 * Its bytes differ by at most 1 where a value lies within a float's
 * rounding of a half; the untinted pixel is rounded in double precision,
 * exactly the image's own bytes. */
#define OV_COLS 256
#define OV_LD (OV_COLS + 4) /* a channel's row in the chunk's arrays, with room for spread's excess */

#if !defined(__SSE2__) || defined(GC_RENDER_NO_SSE2)
/* One channel's byte at heat h (v = min(h, 1), a = alpha v) over image
 * value m (times 255), with jet offset k (3, 2, 1 for red, green, blue): the
 * jet byte of v (gc_render_jet), then the blend on 0..255, rounded. */
static inline uint32_t overlay_byte(float v, float a, float m, float k)
{
    float jc = 1.5f - fabsf(4 * v - k);
    jc = jc > 0 ? jc : 0;
    jc = jc < 1 ? jc : 1;
    float j = (float)(int)(jc * 255.0f + 0.5f);
    float o = (1 - a) * m + a * j;
    o = o > 0 ? o : 0;
    o = o < 255 ? o : 255;
    return (uint32_t)(int)(o + 0.5f);
}
#endif

/* Source pixels [0, n) of one row (channel planes n0 apart), n rounded up
 * to 4 (src readable that far, see overlay_row): m[c] the clamped value
 * times 255, px the untinted pixel r | g << 8 | b << 16. */
static void overlay_source(const float *src, size_t n0, size_t n, float (*m)[OV_LD], uint32_t *px)
{
#if defined(__SSE2__) && !defined(GC_RENDER_NO_SSE2)
    const __m128 zero = _mm_setzero_ps(), one = _mm_set1_ps(1), c255 = _mm_set1_ps(255);
    const __m128d d255 = _mm_set1_pd(255), dhalf = _mm_set1_pd(0.5);
    for (size_t i = 0; i < n; i += 4) {
        __m128i p = _mm_setzero_si128();
#pragma GCC unroll 3
        for (int c = 0; c < 3; ++c) {
            __m128 v = _mm_min_ps(_mm_max_ps(_mm_loadu_ps(src + (size_t)c * n0 + i), zero), one); /* NaN -> 0 */
            _mm_storeu_ps(m[c] + i, _mm_mul_ps(v, c255));
            __m128i lo = _mm_cvttpd_epi32(_mm_add_pd(_mm_mul_pd(_mm_cvtps_pd(v), d255), dhalf));
            __m128i hi = _mm_cvttpd_epi32(_mm_add_pd(_mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(v, v)), d255), dhalf));
            p = _mm_or_si128(p, _mm_slli_epi32(_mm_unpacklo_epi64(lo, hi), 8 * c));
        }
        _mm_storeu_si128((__m128i *)(px + i), p);
    }
#else
    for (size_t i = 0; i < n; ++i) {
        uint32_t p = 0;
        for (int c = 0; c < 3; ++c) {
            float v = src[(size_t)c * n0 + i];
            v = v > 0 ? v : 0;
            v = v < 1 ? v : 1;
            m[c][i] = v * 255.0f;
            p |= (uint32_t)(int)((double)v * 255.0 + 0.5) << (8 * c);
        }
        px[i] = p;
    }
#endif
}

#if defined(__SSE2__) && !defined(GC_RENDER_NO_SSE2) && defined(__GNUC__) && defined(__x86_64__)
#define GC_RENDER_AVX2 1
#include <immintrin.h>

/* overlay_cols' SSE2 loop eight columns at a time where the CPU has AVX2:
 * the same operations on each lane (no FMA), so the same bytes. Returns
 * how many columns it did (a multiple of 8). */
__attribute__((target("avx2"))) static size_t overlay_cols_avx2(const float *hv, size_t n, float al,
                                                               const float *const *m, const uint32_t *plain,
                                                               uint32_t *out)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1), c255 = _mm256_set1_ps(255),
                 half = _mm256_set1_ps(0.5f), k15 = _mm256_set1_ps(1.5f), four = _mm256_set1_ps(4),
                 alv = _mm256_set1_ps(al), sign = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 h = _mm256_loadu_ps(hv + i);
        __m256i hot = _mm256_castps_si256(_mm256_cmp_ps(h, zero, _CMP_GT_OS)), p = _mm256_setzero_si256();
        if (_mm256_testz_si256(hot, hot)) { /* no heat: the untinted pixels (see overlay_cols) */
            _mm256_storeu_si256((__m256i *)(out + i), _mm256_loadu_si256((const __m256i *)(plain + i)));
            continue;
        }
        __m256 v = _mm256_min_ps(h, one), a = _mm256_mul_ps(alv, v), b = _mm256_sub_ps(one, a);
#pragma GCC unroll 3
        for (int c = 0; c < 3; ++c) {
            __m256 d = _mm256_sub_ps(_mm256_mul_ps(four, v), _mm256_set1_ps((float)(3 - c)));
            __m256 jc = _mm256_sub_ps(k15, _mm256_andnot_ps(sign, d));
            jc = _mm256_min_ps(_mm256_max_ps(jc, zero), one);
            __m256 j = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(jc, c255), half)));
            __m256 o = _mm256_add_ps(_mm256_mul_ps(b, _mm256_loadu_ps(m[c] + i)), _mm256_mul_ps(a, j));
            o = _mm256_min_ps(_mm256_max_ps(o, zero), c255);
            p = _mm256_or_si256(p, _mm256_slli_epi32(_mm256_cvttps_epi32(_mm256_add_ps(o, half)), 8 * c));
        }
        __m256i q = _mm256_loadu_si256((const __m256i *)(plain + i));
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_or_si256(_mm256_and_si256(hot, p), _mm256_andnot_si256(hot, q)));
    }
    return i;
}

/* -1 until first asked; read by every thread that draws rows (atomically:
 * the first callers may race to store the same value) */
static int avx2_state = -1;

int gc_render_avx2(int set)
{
    int v = set >= 0 ? set && __builtin_cpu_supports("avx2") : __atomic_load_n(&avx2_state, __ATOMIC_RELAXED);
    if (v >= 0 && set < 0) return v; /* the usual case: asked before */
    if (v < 0) v = __builtin_cpu_supports("avx2") ? 1 : 0;
    __atomic_store_n(&avx2_state, v, __ATOMIC_RELAXED);
    return v;
}
#else
int gc_render_avx2(int set)
{
    (void)set;
    return 0;
}
#endif

/* Columns [0, n) of a chunk, n a multiple of 4: out[i] the pixel at heat
 * hv[i] over m[.][i], or plain[i]. A group of columns with no heat above 0
 * (about half of a demo scene's overlay, in runs) is copied from plain
 * without the blend, whose lanes would all be discarded. */
static void overlay_cols(const float *hv, size_t n, float al, const float *const *m, const uint32_t *plain,
                         uint32_t *out)
{
#if defined(__SSE2__) && !defined(GC_RENDER_NO_SSE2)
    size_t i0 = 0;
#ifdef GC_RENDER_AVX2
    if (gc_render_avx2(-1)) i0 = overlay_cols_avx2(hv, n, al, m, plain, out);
#endif
    const __m128 zero = _mm_setzero_ps(), one = _mm_set1_ps(1), c255 = _mm_set1_ps(255), half = _mm_set1_ps(0.5f),
                 k15 = _mm_set1_ps(1.5f), four = _mm_set1_ps(4), alv = _mm_set1_ps(al), sign = _mm_set1_ps(-0.0f);
    for (size_t i = i0; i < n; i += 4) {
        __m128 h = _mm_loadu_ps(hv + i);
        __m128i hot = _mm_castps_si128(_mm_cmpgt_ps(h, zero)), p = _mm_setzero_si128();
        if (!_mm_movemask_epi8(hot)) {
            _mm_storeu_si128((__m128i *)(out + i), _mm_loadu_si128((const __m128i *)(plain + i)));
            continue;
        }
        __m128 v = _mm_min_ps(h, one), a = _mm_mul_ps(alv, v), b = _mm_sub_ps(one, a);
#pragma GCC unroll 3
        for (int c = 0; c < 3; ++c) {
            __m128 d = _mm_sub_ps(_mm_mul_ps(four, v), _mm_set1_ps((float)(3 - c)));
            __m128 jc = _mm_sub_ps(k15, _mm_andnot_ps(sign, d));
            jc = _mm_min_ps(_mm_max_ps(jc, zero), one);
            __m128 j = _mm_cvtepi32_ps(_mm_cvttps_epi32(_mm_add_ps(_mm_mul_ps(jc, c255), half)));
            __m128 o = _mm_add_ps(_mm_mul_ps(b, _mm_loadu_ps(m[c] + i)), _mm_mul_ps(a, j));
            o = _mm_min_ps(_mm_max_ps(o, zero), c255);
            p = _mm_or_si128(p, _mm_slli_epi32(_mm_cvttps_epi32(_mm_add_ps(o, half)), 8 * c));
        }
        __m128i q = _mm_loadu_si128((const __m128i *)(plain + i));
        _mm_storeu_si128((__m128i *)(out + i), _mm_or_si128(_mm_and_si128(hot, p), _mm_andnot_si128(hot, q)));
    }
#else
    for (size_t i = 0; i < n; ++i) {
        float h = hv[i], v = h < 1 ? h : 1, a = al * v;
        uint32_t p = 0;
        for (int c = 0; c < 3; ++c) p |= overlay_byte(v, a, m[c][i], (float)(3 - c)) << (8 * c);
        out[i] = h > 0 ? p : plain[i];
    }
#endif
}

/* Spreads n values over f columns each into out (f n of them), writing up
 * to 3 past them (4 at a time, each group overwriting the last one's
 * excess). */
static void spread(const void *in, size_t n, int f, void *out)
{
    const uint32_t *a = in;
    uint32_t *o = out;
    for (size_t s = 0; s < n; ++s, o += f) {
        uint32_t q[4] = {a[s], a[s], a[s], a[s]};
        for (int r = 0; r < f; r += 4) memcpy(o + r, q, sizeof q);
    }
}

#ifdef GC_RENDER_AVX2
/* pack_rgb's first pixels, eight at a time: each 128-bit half's four
 * pixels shuffled to 12 bytes, the halves' 24 bytes joined and stored with
 * one 32-byte store (its last 8 overwritten by the next). Stops while 11
 * pixels are left, so that no store reaches past px + 3 n. Returns the
 * pixels done. */
__attribute__((target("avx2"))) static size_t pack_rgb_avx2(const uint32_t *in, size_t n, unsigned char *px)
{
    const __m256i bytes = _mm256_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, 0, 1, 2, 4, 5, 6,
                                           8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    const __m256i join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
    size_t i = 0;
    for (; i + 11 <= n; i += 8) {
        __m256i v = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(in + i)), bytes);
        _mm256_storeu_si256((__m256i *)(px + 3 * i), _mm256_permutevar8x32_epi32(v, join));
    }
    return i;
}
#endif

/* Pixels in[0, n) (r | g << 8 | b << 16) as n RGB triples at px, nothing
 * written past px + 3 n: eight at a time where the CPU has AVX2, then two
 * (6 bytes with one 8-byte store, the next store overwriting its last 2),
 * then byte by byte. */
static void pack_rgb(const uint32_t *in, size_t n, unsigned char *px)
{
    size_t i = 0;
#ifdef GC_RENDER_AVX2
    if (gc_render_avx2(-1)) i = pack_rgb_avx2(in, n, px);
#endif
    for (; i + 3 < n; i += 2) {
        uint64_t v = (uint64_t)in[i] | (uint64_t)in[i + 1] << 24;
        memcpy(px + 3 * i, &v, 8);
    }
    for (; i < n; ++i) {
        px[3 * i] = (unsigned char)in[i];
        px[3 * i + 1] = (unsigned char)(in[i] >> 8);
        px[3 * i + 2] = (unsigned char)(in[i] >> 16);
    }
}

/* overlay_source for ns pixels of a row (planes n0 apart): through a copy
 * padded with zeros when ns is not a multiple of 4. */
static void overlay_source_any(const float *src, size_t n0, size_t ns, float (*m)[OV_LD], uint32_t *px)
{
    size_t ns4 = (ns + 3) & ~(size_t)3;
    if (ns4 == ns) {
        overlay_source(src, n0, ns, m, px);
        return;
    }
    float tail[3][OV_LD];
    for (int c = 0; c < 3; ++c) {
        memcpy(tail[c], src + (size_t)c * n0, ns * sizeof(float));
        memset(tail[c] + ns, 0, (ns4 - ns) * sizeof(float));
    }
    overlay_source(tail[0], OV_LD, ns4, m, px);
}

/* overlay_source_any for ns pixels of img from pixel p0 (p0 + ns within
 * one row): 8-bit pixels through a chunk of their float values
 * (gc_byte_value), the same floats as Darknet's image of them, so the same
 * bytes out. */
static void overlay_source_px(gc_pixels img, size_t n0, size_t p0, size_t ns, float (*m)[OV_LD], uint32_t *px)
{
    if (img.f) {
        overlay_source_any(img.f + p0, n0, ns, m, px);
        return;
    }
    size_t ns4 = (ns + 3) & ~(size_t)3;
    float vals[3][OV_LD];
    const unsigned char *b = img.rgb + 3 * p0;
    for (size_t i = 0; i < ns; ++i)
        for (int c = 0; c < 3; ++c) vals[c][i] = gc_byte_value[b[3 * i + (size_t)c]];
    for (int c = 0; c < 3; ++c) memset(vals[c] + ns, 0, (ns4 - ns) * sizeof(float));
    overlay_source(vals[0], OV_LD, ns4, m, px);
}

/* Output row y of the scaled overlay, its heat row hrow (W = w f values). */
static void overlay_row(gc_pixels img, int w, int h, int f, const float *hrow, float al, unsigned char *rgb_out,
                        size_t y)
{
    assert(f >= 1 && f <= OV_COLS / 4);
    size_t per = OV_COLS / (size_t)f & ~(size_t)3, n0 = (size_t)w * (size_t)h, W = (size_t)w * (size_t)f;
    size_t row = (y / (size_t)f) * (size_t)w;
    unsigned char *o = rgb_out + y * W * 3;
    float hh[OV_LD], ms[3][OV_LD], m[3][OV_LD];
    uint32_t ps[OV_LD], plain[OV_LD], out[OV_LD];
    for (size_t s0 = 0; s0 < (size_t)w; s0 += per) {
        size_t ns = (size_t)w - s0 < per ? (size_t)w - s0 : per, n = ns * (size_t)f;
        size_t n4 = (n + 3) & ~(size_t)3;
        overlay_source_px(img, n0, row + s0, ns, ms, ps);
        const float *mc[3] = {ms[0], ms[1], ms[2]};
        const uint32_t *pc = ps;
        if (f > 1) {
            for (int c = 0; c < 3; ++c) spread(ms[c], ns, f, m[c]);
            spread(ps, ns, f, plain);
            for (size_t x = n; x < n4; ++x) m[0][x] = m[1][x] = m[2][x] = 0, plain[x] = 0;
            for (int c = 0; c < 3; ++c) mc[c] = m[c];
            pc = plain;
        }
        memcpy(hh, hrow + s0 * (size_t)f, n * sizeof *hh);
        for (size_t x = n; x < n4; ++x) hh[x] = 0;
        overlay_cols(hh, n4, al, mc, pc, out);
        pack_rgb(out, n, o + s0 * (size_t)f * 3);
    }
}

void gc_render_overlay_scaled_rows(const float *img, int w, int h, int f, const float *heat, float alpha,
                                   unsigned char *rgb_out, size_t y0, size_t y1)
{
    gc_render_overlay_scaled_rows_px(gc_pixels_float(img), w, h, f, heat, alpha, rgb_out, y0, y1);
}

void gc_render_overlay_scaled_rows_px(gc_pixels img, int w, int h, int f, const float *heat, float alpha,
                                      unsigned char *rgb_out, size_t y0, size_t y1)
{
    assert((img.f || img.rgb) && heat && rgb_out && w >= 0 && h >= 0 && f >= 1 && y1 <= (size_t)h * (size_t)f);
    float al = alpha > 0 ? (alpha < 1 ? alpha : 1) : 0;
    size_t W = (size_t)w * (size_t)f;
    for (size_t y = y0; y < y1; ++y) overlay_row(img, w, h, f, heat + y * W, al, rgb_out, y);
}

/* The blend's inputs for the f output rows drawn from one source row, made
 * once for them: each source pixel's clamped values (times 255) and its
 * untinted pixel, spread over its f columns; zero from W to W rounded up to
 * 4 (and spread's excess beyond). */
typedef struct ov_source_row {
    float m[3][GC_RENDER_MAX_ROW + 8];
    uint32_t plain[GC_RENDER_MAX_ROW + 8];
} ov_source_row;

static void ov_source_row_make(gc_pixels img, int w, int h, int f, size_t sy, ov_source_row *r)
{
    size_t n0 = (size_t)w * (size_t)h, W = (size_t)w * (size_t)f, row = sy * (size_t)w;
    float ms[3][OV_LD];
    uint32_t ps[OV_LD];
    for (size_t s0 = 0; s0 < (size_t)w; s0 += OV_COLS) {
        size_t ns = (size_t)w - s0 < OV_COLS ? (size_t)w - s0 : OV_COLS;
        overlay_source_px(img, n0, row + s0, ns, ms, ps);
        for (int c = 0; c < 3; ++c) spread(ms[c], ns, f, r->m[c] + s0 * (size_t)f);
        spread(ps, ns, f, r->plain + s0 * (size_t)f);
    }
    for (size_t x = W; x < ((W + 3) & ~(size_t)3); ++x) r->m[0][x] = r->m[1][x] = r->m[2][x] = 0, r->plain[x] = 0;
}

/* Output row o (W pixels) from its source row's inputs r and its heat row. */
static void overlay_row_from(const ov_source_row *r, size_t W, const float *hrow, float al, unsigned char *o)
{
    float hh[OV_LD];
    uint32_t out[OV_LD];
    for (size_t x0 = 0; x0 < W; x0 += OV_COLS) {
        size_t n = W - x0 < OV_COLS ? W - x0 : OV_COLS, n4 = (n + 3) & ~(size_t)3;
        const float *hv = hrow + x0;
        if (n4 > n) { /* the row's last pixels: the heat padded with zeros */
            memcpy(hh, hv, n * sizeof *hh);
            for (size_t x = n; x < n4; ++x) hh[x] = 0;
            hv = hh;
        }
        const float *m[3] = {r->m[0] + x0, r->m[1] + x0, r->m[2] + x0};
        overlay_cols(hv, n4, al, m, r->plain + x0, out);
        pack_rgb(out, n, o + x0 * 3);
    }
}

/* Rows [y0, y1) of the overlay of gc_render_resize(heat, w, h, ., W, H):
 * the heat made by gc_resample_rows a band of rows at a time, on the stack
 * (as many rows of W as GC_RENDER_BAND of the widest fill: each band makes
 * its column taps and first map rows again); with f > 1 each source row's
 * blend inputs made once for its f rows (they were a third of a demo
 * overlay's time, made anew for every row). */
#define GC_RENDER_BAND 16
void gc_render_overlay_scaled_up_rows(const float *img, int w, int h, int f, const float *heat, float alpha,
                                      unsigned char *rgb_out, size_t y0, size_t y1)
{
    gc_render_overlay_scaled_up_rows_px(gc_pixels_float(img), w, h, f, heat, alpha, rgb_out, y0, y1);
}

void gc_render_overlay_scaled_up_rows_px(gc_pixels img, int w, int h, int f, const float *heat, float alpha,
                                         unsigned char *rgb_out, size_t y0, size_t y1)
{
    assert((img.f || img.rgb) && heat && rgb_out && w > 0 && h > 0 && f >= 1 && y1 <= (size_t)h * (size_t)f);
    int W = w * f, H = h * f;
    assert(W <= GC_RENDER_MAX_ROW);
    float al = alpha > 0 ? (alpha < 1 ? alpha : 1) : 0;
    gc_axis_map ax = {0, (double)w / W, 0, 0, 0, 0, 0, 0}, ay = {0, (double)h / H, 0, 0, 0, 0, 0, 0}; /* gc_render_resize's */
    float band[GC_RENDER_BAND * GC_RENDER_MAX_ROW];
    ov_source_row src;
    size_t made = (size_t)-1; /* the source row src holds */
    size_t rows = GC_RENDER_BAND * (size_t)GC_RENDER_MAX_ROW / (size_t)W;
    for (size_t b0 = y0; b0 < y1; b0 += rows) {
        size_t b1 = b0 + rows < y1 ? b0 + rows : y1;
        gc_resample_rows(heat, w, h, &ax, &ay, band, W, (int)b0, (int)b1);
        for (size_t y = b0; y < b1; ++y) {
            const float *hrow = band + (y - b0) * (size_t)W;
            if (f == 1) {
                overlay_row(img, w, h, f, hrow, al, rgb_out, y);
                continue;
            }
            if (y / (size_t)f != made) ov_source_row_make(img, w, h, f, made = y / (size_t)f, &src);
            overlay_row_from(&src, (size_t)W, hrow, al, rgb_out + y * (size_t)W * 3);
        }
    }
}

void gc_render_overlay_scaled(const float *img, int w, int h, int f, const float *heat, float alpha,
                              unsigned char *rgb_out)
{
    gc_render_overlay_scaled_rows(img, w, h, f, heat, alpha, rgb_out, 0, (size_t)h * (size_t)f);
}

/* At -O3 the loop is vectorised (the same IEEE divisions, several at a
 * time): a 768x576 map took ~2 ms a box at -O2. in may be out. */
GC_OPT_O3 static void scale_heat(const float *in, size_t n, float *out, float mn, double range)
{
    for (size_t i = 0; i < n; ++i) out[i] = (float)(((double)in[i] - mn) / range);
}

int gc_render_heat_scale(const float *in, size_t n, float *out, float *lo, float *hi)
{
    float mn = 0, mx = 0;
    int finite = 1;
    size_t i = 0;
#if defined(__SSE2__) && !defined(GC_RENDER_NO_SSE2)
    /* four at a time (0.07 against the scalar loop's 0.31 ms on a 768x576
     * map, best of 100): a value that is not finite (exponent all ones)
     * counts as 0, which leaves the minimum (<= 0) and the maximum (>= 0)
     * as the loop below has them, and marks the map. minps / maxps with the
     * new value first keep the old one on a tie, as the loop's strict
     * comparisons do (a -0 never replaces the starting +0). */
    const __m128i expo = _mm_set1_epi32(0x7f800000);
    __m128 vmn = _mm_setzero_ps(), vmx = _mm_setzero_ps();
    __m128i bad = _mm_setzero_si128();
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(in + i);
        __m128i nf = _mm_cmpeq_epi32(_mm_and_si128(_mm_castps_si128(x), expo), expo);
        bad = _mm_or_si128(bad, nf);
        x = _mm_andnot_ps(_mm_castsi128_ps(nf), x);
        vmn = _mm_min_ps(x, vmn);
        vmx = _mm_max_ps(x, vmx);
    }
    float a[4], b[4];
    _mm_storeu_ps(a, vmn);
    _mm_storeu_ps(b, vmx);
    for (int k = 0; k < 4; ++k) {
        if (a[k] < mn) mn = a[k];
        if (b[k] > mx) mx = b[k];
    }
    finite = _mm_movemask_epi8(bad) == 0;
#endif
    for (; i < n; ++i) {
        if (!isfinite(in[i])) finite = 0;
        else if (in[i] < mn) mn = in[i];
        else if (in[i] > mx) mx = in[i];
    }
    *lo = mn;
    *hi = mx;
    double range = (double)mx - mn;
    if (!finite || !(range > 0) || !(mx > 0)) {
        if (out) memset(out, 0, n * sizeof *out);
        return 1;
    }
    if (out) scale_heat(in, n, out, mn, range);
    return 0;
}

/* ---- display --------------------------------------------------------------- */

int gc_render_display_scale(int w, int h)
{
    assert(w > 0 && h > 0);
    int lo = w < h ? w : h, hi = w > h ? w : h;
    if (lo >= GC_DISPLAY_MIN) return 1;
    int f = (GC_DISPLAY_MIN + lo - 1) / lo;
    if (f > 8) f = 8;
    while (f > 1 && (long)hi * f > 4096) --f;
    return f;
}

int gc_render_text_scale(int w, int h)
{
    int lo = w < h ? w : h;
    return lo < 720 ? 2 : lo / 360 + 1;
}

int gc_render_line_width(int w, int h)
{
    int lo = w < h ? w : h;
    return lo / 200 > 2 ? lo / 200 : 2;
}

/* gc_render_resize_rgb's box filter where every box is 2x2 (a summary's
 * thumbnail of a scene drawn 3x, for up to 4 boxes: 384 px -> 192): the
 * same rounded means, (sum + 2) / 4, without the general loops (0.10
 * against 0.37 ms for a 384x446 panel, best of 300). Per chunk of columns,
 * in three loops of one stride each, so that the first two vectorise: the
 * two rows' bytes summed, each sum with the one 3 bytes on (the same
 * channel of the pixel to the right), every other pixel of that kept (2.4%
 * of a list run's CPU as one loop over pixels and channels; 0.04 against
 * 0.08 ms a panel, means of 300). */
#define HALVE_COLS 256
GC_OPT_O3 static void halve_rgb(const unsigned char *in, int iw, unsigned char *out, int ow, int oh)
{
    uint16_t v[6 * HALVE_COLS];
    unsigned char u[6 * HALVE_COLS];
    for (int y = 0; y < oh; ++y)
        for (int x0 = 0; x0 < ow; x0 += HALVE_COLS) {
            int nx = ow - x0 < HALVE_COLS ? ow - x0 : HALVE_COLS;
            size_t n = (size_t)nx * 6;
            const unsigned char *a = in + ((size_t)(2 * y) * iw + 2 * (size_t)x0) * 3, *b = a + (size_t)iw * 3;
            unsigned char *o = out + ((size_t)y * ow + (size_t)x0) * 3;
            for (size_t j = 0; j < n; ++j) v[j] = (uint16_t)(a[j] + b[j]);
            for (size_t j = 0; j + 3 < n; ++j) u[j] = (unsigned char)((v[j] + v[j + 3] + 2) >> 2);
            /* 4 bytes a pixel, the 4th overwritten by the next pixel's */
            int x = 0;
            for (; x + 1 < nx; ++x) memcpy(o + 3 * x, u + 6 * x, 4);
            memcpy(o + 3 * x, u + 6 * x, 3);
        }
}

void gc_render_resize_rgb(const unsigned char *in, int iw, int ih, unsigned char *out, int ow, int oh)
{
    assert(in && out && iw > 0 && ih > 0 && ow > 0 && oh > 0);
    if (iw == 2 * ow && ih == 2 * oh) {
        halve_rgb(in, iw, out, ow, oh);
        return;
    }
    /* per tile of output columns, their source column ranges computed once
     * (two divisions per output pixel were most of a thumbnail's cost) */
    int cx0[GC_RS_TILE], cx1[GC_RS_TILE];
    for (int t0 = 0; t0 < ow; t0 += GC_RS_TILE) {
        int nt = ow - t0 < GC_RS_TILE ? ow - t0 : GC_RS_TILE;
        for (int i = 0; i < nt; ++i) {
            int x = t0 + i;
            cx0[i] = (int)((long)x * iw / ow);
            cx1[i] = (int)((long)(x + 1) * iw / ow);
            if (cx1[i] <= cx0[i]) cx1[i] = cx0[i] + 1;
        }
        for (int y = 0; y < oh; ++y) {
            /* source rows [y0, y1) covered by this output row; at least one */
            int y0 = (int)((long)y * ih / oh), y1 = (int)((long)(y + 1) * ih / oh);
            if (y1 <= y0) y1 = y0 + 1;
            for (int i = 0; i < nt; ++i) {
                int x0 = cx0[i], x1 = cx1[i];
                unsigned long sum[3] = {0, 0, 0}, cnt = (unsigned long)(y1 - y0) * (unsigned long)(x1 - x0);
                for (int sy = y0; sy < y1; ++sy)
                    for (int sx = x0; sx < x1; ++sx) {
                        const unsigned char *p = in + ((size_t)sy * iw + sx) * 3;
                        sum[0] += p[0], sum[1] += p[1], sum[2] += p[2];
                    }
                unsigned char *o = out + ((size_t)y * ow + t0 + i) * 3;
                for (int c = 0; c < 3; ++c) o[c] = (unsigned char)((sum[c] + cnt / 2) / cnt);
            }
        }
    }
}

/* ---- drawing --------------------------------------------------------------- */

static void gc_fill_rect(unsigned char *rgb, int w, int h, int x0, int y0, int x1, int y1,
                         const unsigned char color[3])
{
    /* inclusive corners, clipped to the image */
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > w - 1) x1 = w - 1;
    if (y1 > h - 1) y1 = h - 1;
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) memcpy(rgb + ((size_t)y * w + x) * 3, color, 3);
}

/* Corners (x0, y0), (x1, y1) are inclusive, in any order; the outline grows
 * inwards by t pixels (t < 1 is taken as 1). Pixels outside the image are
 * skipped. */
void gc_render_box(unsigned char *rgb, int w, int h, int x0, int y0, int x1, int y1, int t,
                 const unsigned char color[3])
{
    assert(rgb && color);
    if (x0 > x1) { int s = x0; x0 = x1; x1 = s; }
    if (y0 > y1) { int s = y0; y0 = y1; y1 = s; }
    if (t < 1) t = 1;
    gc_fill_rect(rgb, w, h, x0, y0, x1, y0 + t - 1, color);         /* top    */
    gc_fill_rect(rgb, w, h, x0, y1 - t + 1, x1, y1, color);         /* bottom */
    gc_fill_rect(rgb, w, h, x0, y0, x0 + t - 1, y1, color);         /* left   */
    gc_fill_rect(rgb, w, h, x1 - t + 1, y0, x1, y1, color);         /* right  */
}

/* 5x7 font for printable ASCII 32..126: 7 rows per glyph, top to bottom; bit 4
 * of each row is the leftmost column. */
static const unsigned char gc_font5x7[95][7] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* ' ' */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04}, /* !  */
    {0x0A, 0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00}, /* "  */
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}, /* #  */
    {0x04, 0x0F, 0x14, 0x0E, 0x05, 0x1E, 0x04}, /* $  */
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, /* %  */
    {0x0C, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0D}, /* &  */
    {0x0C, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00}, /* '  */
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, /* (  */
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, /* )  */
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00}, /* *  */
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}, /* +  */
    {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}, /* ,  */
    {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}, /* -  */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}, /* .  */
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}, /* /  */
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, /* 0  */
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}, /* 1  */
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, /* 2  */
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}, /* 3  */
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, /* 4  */
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}, /* 5  */
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, /* 6  */
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7  */
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, /* 8  */
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}, /* 9  */
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}, /* :  */
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x04, 0x08}, /* ;  */
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, /* <  */
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}, /* =  */
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, /* >  */
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}, /* ?  */
    {0x0E, 0x11, 0x01, 0x0D, 0x15, 0x15, 0x0E}, /* @  */
    {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}, /* A  */
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}, /* B  */
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, /* C  */
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}, /* D  */
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, /* E  */
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}, /* F  */
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, /* G  */
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, /* H  */
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, /* I  */
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}, /* J  */
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, /* K  */
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}, /* L  */
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, /* M  */
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, /* N  */
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, /* O  */
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}, /* P  */
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, /* Q  */
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}, /* R  */
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, /* S  */
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* T  */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, /* U  */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}, /* V  */
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, /* W  */
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}, /* X  */
    {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, /* Y  */
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}, /* Z  */
    {0x0E, 0x08, 0x08, 0x08, 0x08, 0x08, 0x0E}, /* [  */
    {0x00, 0x10, 0x08, 0x04, 0x02, 0x01, 0x00}, /* \  */
    {0x0E, 0x02, 0x02, 0x02, 0x02, 0x02, 0x0E}, /* ]  */
    {0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00}, /* ^  */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}, /* _  */
    {0x08, 0x04, 0x02, 0x00, 0x00, 0x00, 0x00}, /* `  */
    {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F}, /* a  */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E}, /* b  */
    {0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E}, /* c  */
    {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F}, /* d  */
    {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}, /* e  */
    {0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08}, /* f  */
    {0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E}, /* g  */
    {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}, /* h  */
    {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E}, /* i  */
    {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C}, /* j  */
    {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}, /* k  */
    {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, /* l  */
    {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11}, /* m  */
    {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}, /* n  */
    {0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E}, /* o  */
    {0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10}, /* p  */
    {0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01}, /* q  */
    {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}, /* r  */
    {0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E}, /* s  */
    {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06}, /* t  */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D}, /* u  */
    {0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04}, /* v  */
    {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A}, /* w  */
    {0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11}, /* x  */
    {0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E}, /* y  */
    {0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F}, /* z  */
    {0x02, 0x04, 0x04, 0x08, 0x04, 0x04, 0x02}, /* {  */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* |  */
    {0x08, 0x04, 0x04, 0x02, 0x04, 0x04, 0x08}, /* }  */
    {0x00, 0x00, 0x08, 0x15, 0x02, 0x00, 0x00}, /* ~  */
};

const unsigned char *gc_render_glyph(int ch)
{
    if (ch < 32 || ch > 126) ch = '?';
    return gc_font5x7[ch - 32];
}

/* Bytes in the character at s (s non-empty): a whole UTF-8 sequence of 2
 * to 4 bytes (drawn as one '?': the font is ASCII; a class name in Chinese
 * had been three '?' a character), else 1 (ASCII, or a byte that starts no
 * whole sequence: Latin-1, a name cut mid-character). */
static int char_len(const unsigned char *s)
{
    int n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 1;
    for (int k = 1; k < n; ++k)
        if ((s[k] & 0xc0) != 0x80) return 1;
    return n;
}

/* Characters drawn for text: one cell each (char_len). */
static int text_cells(const char *text)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p += char_len(p)) ++n;
    return n;
}

/* Layout: each character takes a 6 x 8 cell (glyph + 1 column / row of
 * spacing), the label has a 1-cell-pixel margin: width (6n + 1) * scale,
 * height 9 * scale. */
int gc_render_text(unsigned char *rgb, int w, int h, int x, int y, const char *text, int scale,
                 const unsigned char fg[3], const unsigned char bg[3])
{
    assert(rgb && text && fg && bg);
    if (scale < 1) scale = 1;
    int n = text_cells(text);
    int tw = (GC_FONT_CELL_W * n + 1) * scale, th = (GC_FONT_CELL_H + 1) * scale;
    gc_fill_rect(rgb, w, h, x, y, x + tw - 1, y + th - 1, bg);
    const unsigned char *p = (const unsigned char *)text;
    for (int i = 0; i < n; p += char_len(p), ++i) {
        const unsigned char *g = gc_render_glyph(char_len(p) > 1 ? '?' : *p);
        int cx = x + (1 + GC_FONT_CELL_W * i) * scale, cy = y + scale;
        for (int r = 0; r < 7; ++r)
            for (int c = 0; c < 5; ++c)
                if (g[r] & (0x10 >> c))
                    gc_fill_rect(rgb, w, h, cx + c * scale, cy + r * scale,
                                 cx + (c + 1) * scale - 1, cy + (r + 1) * scale - 1, fg);
    }
    return tw;
}


void gc_render_colorbar(unsigned char *rgb, int w, int h, int x, int y, int bw, int bh)
{
    assert(rgb);
    for (int i = 0; i < bw; ++i) {
        unsigned char c[3];
        gc_render_jet(bw > 1 ? (float)i / (float)(bw - 1) : 1.0f, c);
        gc_fill_rect(rgb, w, h, x + i, y, x + i, y + bh - 1, c);
    }
}

int gc_render_text_width(const char *text, int scale)
{
    if (scale < 1) scale = 1;
    return (GC_FONT_CELL_W * text_cells(text) + 1) * scale;
}

int gc_render_text_height(int scale)
{
    if (scale < 1) scale = 1;
    return (GC_FONT_CELL_H + 1) * scale;
}

/* ---- label placement ------------------------------------------------------ */

int gc_render_rect_overlap(const gc_rect *a, const gc_rect *b)
{
    if (a->w <= 0 || a->h <= 0 || b->w <= 0 || b->h <= 0) return 0;
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

/* Candidate k (0..7) for a label of lw x lh at box bx, moved inside the image. */
static gc_rect gc_label_candidate(const gc_rect *bx, int lw, int lh, int k, int w, int h)
{
    gc_rect r = {0, 0, lw, lh};
    int right = k >= 4;
    r.x = right ? bx->x + bx->w - lw : bx->x;
    switch (k % 4) {
    case 0: r.y = bx->y - lh; break;          /* above the box */
    case 1: r.y = bx->y; break;               /* inside, at its top */
    case 2: r.y = bx->y + bx->h; break;       /* below the box */
    default: r.y = bx->y + bx->h - lh; break; /* inside, at its bottom */
    }
    if (r.x + lw > w) r.x = w - lw;
    if (r.y + lh > h) r.y = h - lh;
    if (r.x < 0) r.x = 0;
    if (r.y < 0) r.y = 0;
    return r;
}

int gc_render_place_labels(const gc_rect *boxes, const char *const *texts, int n, int w, int h, int max_scale,
                    int min_scale, const gc_rect *fixed, int nfixed, gc_rect *out, int *scales)
{
    assert(n >= 0 && (n == 0 || (boxes && texts && out && scales)));
    if (min_scale < 1) min_scale = 1;
    if (max_scale < min_scale) max_scale = min_scale;
    int placed = 0;
    for (int i = 0; i < n; ++i) {
        out[i] = (gc_rect){0, 0, 0, 0};
        scales[i] = 0;
        for (int pass = 0; pass < 2 && !scales[i]; ++pass) /* pass 0 also keeps off other boxes */
            for (int sc = max_scale; sc >= min_scale && !scales[i]; --sc) {
                int lw = gc_render_text_width(texts[i], sc), lh = gc_render_text_height(sc);
                if (lw > w || lh > h) continue;
                for (int k = 0; k < 8; ++k) {
                    gc_rect r = gc_label_candidate(&boxes[i], lw, lh, k, w, h);
                    int ok = 1;
                    for (int j = 0; j < nfixed && ok; ++j) ok = !gc_render_rect_overlap(&r, &fixed[j]);
                    for (int j = 0; j < i && ok; ++j) ok = !gc_render_rect_overlap(&r, &out[j]);
                    for (int j = 0; pass == 0 && j < n && ok; ++j) {
                        if (j == i) continue;
                        /* another box's inside (its outline may be crossed) */
                        gc_rect in = {boxes[j].x + 1, boxes[j].y + 1, boxes[j].w - 2, boxes[j].h - 2};
                        ok = !gc_render_rect_overlap(&r, &in);
                    }
                    if (ok) {
                        out[i] = r;
                        scales[i] = sc;
                        ++placed;
                        break;
                    }
                }
            }
    }
    return placed;
}
