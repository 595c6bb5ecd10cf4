/* Tests for gc_render: letterbox geometry against Darknet's own
 * letterbox_image(), the inverse mapping of maps onto the original image,
 * resampling, normalisation, colormap, overlay and clipped drawing. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "darknet.h"
#include "gc_dnimage.h"
#include "gc_figure.h"
#include "gc_render.h"
#include "gc_sheet.h"
#include "gc_rng.h"
#include "gc_tests.h"

/* ---- letterbox ----------------------------------------------------------- */

static void assert_lb(gc_letterbox lb, int new_w, int new_h, int dx, int dy)
{
    ck_assert_int_eq(lb.new_w, new_w);
    ck_assert_int_eq(lb.new_h, new_h);
    ck_assert_int_eq(lb.dx, dx);
    ck_assert_int_eq(lb.dy, dy);
}

/* By hand from letterbox_image():
 * 768x576 -> 416x416: 416/768 < 416/576, new_w = 416, new_h = 576*416/768 = 312, dy = 52.
 * 480x640 -> 416x416: portrait, new_h = 416, new_w = 480*416/640 = 312, dx = 52.
 * 333x500 -> 320x320: new_h = 320, new_w = 106560/500 = 213 (213.12), dx = 107/2 = 53.
 * 640x480 -> 608x320: 608/640 >= 320/480, new_h = 320, new_w = 204800/480 = 426, dx = 91.
 * 100x100 -> 416x416: upscale, no padding. */
START_TEST(letterbox_geometry_by_hand)
{
    gc_letterbox lb = gc_render_letterbox(768, 576, 416, 416);
    ck_assert(lb.orig_w == 768 && lb.orig_h == 576 && lb.net_w == 416 && lb.net_h == 416);
    assert_lb(lb, 416, 312, 0, 52);
    assert_lb(gc_render_letterbox(480, 640, 416, 416), 312, 416, 52, 0);
    assert_lb(gc_render_letterbox(333, 500, 320, 320), 213, 320, 53, 0);
    assert_lb(gc_render_letterbox(640, 480, 608, 320), 426, 320, 91, 0);
    assert_lb(gc_render_letterbox(100, 100, 416, 416), 416, 416, 0, 0);
    /* 467*416/700 = 277.53: truncated, not rounded; dy = 139/2 = 69 */
    assert_lb(gc_render_letterbox(700, 467, 416, 416), 416, 277, 0, 69);
    /* Darknet would make a 0-pixel-high image; we keep one row */
    assert_lb(gc_render_letterbox(2000, 1, 416, 416), 416, 1, 0, 207);
}
END_TEST

/* An image of the network's size letterboxes to itself, bit for bit, in
 * Darknet's letterbox_image (what gc_explain_next relies on to skip it):
 * random values over [0, 1], exact 0 and 1 among them, square and not. */
START_TEST(letterbox_of_a_net_sized_image_is_the_image)
{
    const int sizes[][2] = {{128, 128}, {20, 16}, {7, 33}, {2, 2}};
    uint64_t st = 99;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; ++k) {
        int w = sizes[k][0], h = sizes[k][1];
        image im = make_image(w, h, 3);
        for (int i = 0; i < w * h * 3; ++i) im.data[i] = gc_rng_unit(&st);
        im.data[0] = 0, im.data[w * h * 3 - 1] = 1, im.data[w] = 1;
        image lb = letterbox_image(im, w, h);
        ck_assert(lb.w == w && lb.h == h && lb.c == 3);
        int bad = 0, first = 0; /* one assertion, not 50,000 marks in Check's pipe */
        for (int i = 0; i < w * h * 3; ++i)
            if (memcmp(&lb.data[i], &im.data[i], sizeof(float)) && !bad++) first = i;
        ck_assert_msg(!bad, "%dx%d: %d values differ, first %d: %a vs %a", w, h, bad, first, lb.data[first],
                      im.data[first]);
        free_image(lb);
        free_image(im);
    }
}
END_TEST

/* Runs Darknet's letterbox_image() on a synthetic image whose channel 0 is
 * the horizontal ramp x/(w-1), channel 1 the vertical ramp y/(h-1) and
 * channel 2 is 1: the non-grey area gives new_w, new_h, dx, dy, and since
 * Darknet's resize is linear interpolation, the ramps give the original
 * coordinate every network pixel was sampled from, which must be
 * gc_render_letterbox_to_orig() of that pixel's centre. */
static void check_against_darknet(int w, int h, int nw, int nh)
{
    image im = make_image(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            im.data[0 * w * h + y * w + x] = w > 1 ? (float)x / (w - 1) : 0;
            im.data[1 * w * h + y * w + x] = h > 1 ? (float)y / (h - 1) : 0;
            im.data[2 * w * h + y * w + x] = 1;
        }
    image boxed = letterbox_image(im, nw, nh);
    int x0 = nw, y0 = nh, x1 = -1, y1 = -1;
    for (int y = 0; y < nh; ++y)
        for (int x = 0; x < nw; ++x)
            if (boxed.data[2 * nw * nh + y * nw + x] != 0.5f) {
                if (x < x0) x0 = x;
                if (y < y0) y0 = y;
                if (x > x1) x1 = x;
                if (y > y1) y1 = y;
            }
    gc_letterbox lb = gc_render_letterbox(w, h, nw, nh);
    ck_assert_msg(lb.dx == x0 && lb.dy == y0 && lb.new_w == x1 - x0 + 1 && lb.new_h == y1 - y0 + 1,
                  "%dx%d -> %dx%d: darknet box (%d,%d) %dx%d, ours (%d,%d) %dx%d", w, h, nw, nh, x0, y0,
                  x1 - x0 + 1, y1 - y0 + 1, lb.dx, lb.dy, lb.new_w, lb.new_h);
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
            float ox, oy;
            gc_render_letterbox_to_orig(&lb, x + 0.5f, y + 0.5f, &ox, &oy);
            float rx = boxed.data[0 * nw * nh + y * nw + x] * (w - 1) + 0.5f;
            float ry = boxed.data[1 * nw * nh + y * nw + x] * (h - 1) + 0.5f;
            ck_assert_msg(fabsf(ox - rx) < 1e-3f && fabsf(oy - ry) < 1e-3f,
                          "%dx%d -> %dx%d net (%d,%d): darknet samples (%g,%g), we say (%g,%g)", w, h, nw,
                          nh, x, y, rx, ry, ox, oy);
        }
    free_image(boxed);
    free_image(im);
}

START_TEST(letterbox_matches_darknet)
{
    check_against_darknet(77, 58, 52, 52);   /* landscape, downscale */
    check_against_darknet(77, 59, 52, 52);   /* new_h = 39.84 truncated */
    check_against_darknet(30, 41, 64, 64);   /* portrait, upscale */
    check_against_darknet(33, 50, 32, 32);   /* odd padding, fractional new_w */
    check_against_darknet(64, 48, 60, 32);   /* non-square network */
    check_against_darknet(40, 40, 24, 24);   /* same aspect: no padding */
}
END_TEST

/* A 13x13 map over a 416x416 input of a 768x576 image (new 416x312 at dy=52),
 * one hot cell at column 3, row 8: its centre is net (112, 272), which is
 * orig x = (112 - .5)*767/415 + .5 = 206.57, y = (272 - 52 - .5)*575/311 + .5
 * = 406.33, i.e. pixel (206, 406). */
START_TEST(inverse_letterbox_places_hot_cell)
{
    enum { MW = 13, MH = 13, OW = 768, OH = 576 };
    float map[MW * MH] = {0};
    float *out = malloc(sizeof(float) * OW * OH);
    ck_assert_ptr_nonnull(out);
    gc_letterbox lb = gc_render_letterbox(OW, OH, 416, 416);
    map[8 * MW + 3] = 1;
    gc_render_map_to_image(map, MW, MH, &lb, out);
    size_t best = 0;
    for (size_t i = 1; i < (size_t)OW * OH; ++i)
        if (out[i] > out[best]) best = i;
    ck_assert_int_eq((int)(best % OW), 206);
    ck_assert_int_eq((int)(best / OW), 406);
    ck_assert(out[best] > 0.99f && out[best] <= 1.0f);
    /* the bilinear tent reaches one cell (32 net px, ~59 orig px) each way */
    ck_assert_float_eq(out[406 * OW + 140], 0);
    ck_assert_float_eq(out[300 * OW + 206], 0);
    ck_assert(out[406 * OW + 206 + 40] > 0.2f);

    /* Row 0 of the map covers net y < 32, inside the top padding (52 px): its
     * tent ends at net y = 48, so it must not show on the image at all. */
    memset(map, 0, sizeof map);
    for (int x = 0; x < MW; ++x) map[x] = 1;
    gc_render_map_to_image(map, MW, MH, &lb, out);
    /* one assertion per loop, not per pixel: a passing ck_assert writes a
     * mark to Check's pipe, and 442,368 of them took past the timeout on a
     * loaded machine */
    size_t bad = 0;
    while (bad < (size_t)OW * OH && out[bad] == 0) ++bad;
    ck_assert_msg(bad == (size_t)OW * OH, "pixel %zu: %g", bad, bad < (size_t)OW * OH ? out[bad] : 0.0f);

    /* A constant map stays constant (clamped edges, weights sum to 1). */
    for (int i = 0; i < MW * MH; ++i) map[i] = 0.25f;
    gc_render_map_to_image(map, MW, MH, &lb, out);
    for (bad = 0; bad < (size_t)OW * OH && fabsf(out[bad] - 0.25f) <= 1e-6f; ++bad) continue;
    ck_assert_msg(bad == (size_t)OW * OH, "pixel %zu: %g", bad, bad < (size_t)OW * OH ? out[bad] : 0.0f);
    free(out);
}
END_TEST

/* A [crop] net's window: an 8x8 image on an 8x8 input (pixel i is net
 * i + .5), the layers seeing the 4x4 window at (2, 1). A 2x2 map {1, 2; 3, 4}
 * covers it: cell coordinate (n - 2) * 2/4 - .5 per column, so columns 2..5
 * sample at -.25, .25, .75, 1.25 (clamped: 0, .25, .75, 1), rows 1..4 alike,
 * value 1 + fx + 2 fy; 0 outside the window. gc_render_resize of the map to
 * 4x4 takes the same coordinates, so the map on the network input is the same
 * array, and cropping it gives that 4x4 back. */
START_TEST(map_covers_the_crop_window)
{
    enum { N = 8 };
    static const float f[4] = {0, .25f, .75f, 1};
    float map[4] = {1, 2, 3, 4}, want[N * N] = {0}, out[N * N], in[N * N];
    for (int j = 0; j < 4; ++j)
        for (int i = 0; i < 4; ++i) want[(1 + j) * N + 2 + i] = 1 + f[i] + 2 * f[j];
    ck_assert_float_eq(want[1 * N + 2], 1);
    ck_assert_float_eq(want[2 * N + 3], 1.75f);
    ck_assert_float_eq(want[3 * N + 4], 3.25f);
    ck_assert_float_eq(want[4 * N + 5], 4);
    gc_letterbox lb = gc_render_letterbox(N, N, N, N);
    gc_render_letterbox_window(&lb, 2, 1, 4, 4);
    gc_render_map_to_image(map, 2, 2, &lb, out);
    for (int p = 0; p < N * N; ++p)
        ck_assert_msg(fabsf(out[p] - want[p]) < 1e-6f, "image (%d, %d): %g, want %g", p % N, p / N, out[p], want[p]);
    for (int p = 0; p < N * N; ++p) in[p] = -1;
    gc_render_map_to_input(map, 2, 2, &lb, in);
    for (int p = 0; p < N * N; ++p)
        ck_assert_msg(fabsf(in[p] - want[p]) < 1e-6f, "input (%d, %d): %g, want %g", p % N, p / N, in[p], want[p]);
    gc_render_window_crop(in, &lb);
    for (int p = 0; p < 16; ++p) ck_assert_float_eq(in[p], want[(1 + p / 4) * N + 2 + p % 4]);
    /* a plane of the whole input ignores the window */
    for (int p = 0; p < N * N; ++p) in[p] = (float)p;
    gc_render_input_to_image(in, &lb, out);
    for (int p = 0; p < N * N; ++p) ck_assert_float_eq_tol(out[p], (float)p, 1e-4f);
}
END_TEST

/* A map drawn at another size than the image's (the sheet's panels) lies
 * where the image, resized to that size, shows the same point. By hand: an
 * 8 x 8 image on a 64 x 64 input (no bars), drawn 4 x 4: display pixel x is
 * centred on original x (x + .5) 2, network n = (2x + .5) 63 / 7 + .5, and
 * a 64-cell ramp m = column reads n - .5 = 18x + 4.5. A letterbox made for
 * the 4 x 4 picture (the sheet's before) read 21x: 0, 21, 42, 63. */
START_TEST(map_to_display_is_the_resized_image_map)
{
    enum { M = 64 };
    static float ramp[M * M];
    for (int p = 0; p < M * M; ++p) ramp[p] = (float)(p % M);
    gc_letterbox lb = gc_render_letterbox(8, 8, M, M);
    float out[16];
    gc_render_map_to_display(ramp, M, M, &lb, 4, 4, out);
    for (int p = 0; p < 16; ++p)
        ck_assert_msg(fabsf(out[p] - (18.f * (p % 4) + 4.5f)) < 1e-4f, "(%d, %d): %g", p % 4, p / 4, out[p]);
    gc_letterbox small = gc_render_letterbox(4, 4, M, M);
    gc_render_map_to_image(ramp, M, M, &small, out);
    ck_assert_float_eq_tol(out[1], 21.f, 1e-4f); /* the old panel's: 3 network pixels off */

    /* In general: the map at the image's size, area-resized by 2 (the
     * sheet's resize of the image), equals the map drawn at half size, for
     * a map linear in x and y (away from the clamped edge cells), through a
     * letterbox with bars (30 x 20 on 64 x 48: new 64 x 42, dy 3) and a
     * window. Both ways through a map of 16 x 12 cells and the whole input. */
    enum { W = 30, H = 20, DW = 15, DH = 10 };
    gc_letterbox b = gc_render_letterbox(W, H, M, 48);
    ck_assert(b.new_w == 64 && b.new_h == 42 && b.dy == 3);
    float lin[16 * 12], plane[M * 48], full[W * H], want[DW * DH], got[DW * DH];
    for (int y = 0; y < 12; ++y)
        for (int x = 0; x < 16; ++x) lin[y * 16 + x] = 3.f * x - 2.f * y;
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < M; ++x) plane[y * M + x] = .5f * x + y;
    for (int round = 0; round < 2; ++round) {
        if (round == 0) {
            gc_render_map_to_image(lin, 16, 12, &b, full);
            gc_render_map_to_display(lin, 16, 12, &b, DW, DH, got);
        } else {
            gc_render_input_to_image(plane, &b, full);
            gc_render_input_to_display(plane, &b, DW, DH, got);
        }
        gc_sheet_resize_planar(full, W, H, 1, want, DW, DH);
        for (int y = 1; y < DH - 1; ++y)
            for (int x = 1; x < DW - 1; ++x)
                ck_assert_msg(fabsf(got[y * DW + x] - want[y * DW + x]) < 1e-3f, "round %d (%d, %d): %g, want %g", round,
                              x, y, got[y * DW + x], want[y * DW + x]);
    }
    /* a window: the map covers part of the input, 0 outside it, alike */
    for (int p = 0; p < 16 * 12; ++p) lin[p] += 100; /* nowhere 0 inside */
    gc_render_letterbox_window(&b, 8, 6, 40, 30);
    gc_render_map_to_image(lin, 16, 12, &b, full);
    gc_render_map_to_display(lin, 16, 12, &b, DW, DH, got);
    gc_sheet_resize_planar(full, W, H, 1, want, DW, DH);
    int inside = 0;
    for (int y = 0; y < DH; ++y)
        for (int x = 0; x < DW; ++x) {
            if (x == 0 || y == 0 || x == DW - 1 || y == DH - 1) continue;
            int all_in = 1; /* the pixels resized and one more around them: away from the clamped edge cells */
            for (int j = 2 * y - 1; j <= 2 * y + 2; ++j)
                for (int i = 2 * x - 1; i <= 2 * x + 2; ++i) all_in &= full[j * W + i] != 0;
            if (!all_in) continue;
            ++inside;
            ck_assert_msg(fabsf(got[y * DW + x] - want[y * DW + x]) < 1e-3f, "window (%d, %d): %g, want %g", x, y,
                          got[y * DW + x], want[y * DW + x]);
        }
    ck_assert_int_gt(inside, 10);
    /* the image's own size is gc_render_map_to_image, bit for bit */
    float same[W * H];
    gc_render_map_to_display(lin, 16, 12, &b, W, H, same);
    ck_assert(!memcmp(same, full, sizeof same));
}
END_TEST

START_TEST(letterbox_round_trip)
{
    const int sizes[][4] = {{768, 576, 416, 416}, {480, 640, 416, 416}, {333, 500, 320, 320},
                            {640, 480, 608, 320}, {1, 50, 32, 32}, {50, 1, 32, 32}};
    uint64_t s = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
        gc_letterbox lb = gc_render_letterbox(sizes[i][0], sizes[i][1], sizes[i][2], sizes[i][3]);
        for (int t = 0; t < 200; ++t) {
            float px = gc_rng_unit(&s) * lb.orig_w;
            float py = gc_rng_unit(&s) * lb.orig_h;
            float nx, ny, ox, oy;
            gc_render_letterbox_to_net(&lb, px, py, &nx, &ny);
            gc_render_letterbox_to_orig(&lb, nx, ny, &ox, &oy);
            ck_assert_float_eq_tol(ox, px, 1e-3f);
            ck_assert_float_eq_tol(oy, py, 1e-3f);
        }
    }
    /* corners of the resized area are the outer pixel centres */
    gc_letterbox lb = gc_render_letterbox(768, 576, 416, 416);
    float ox, oy;
    gc_render_letterbox_to_orig(&lb, 0.5f, 52.5f, &ox, &oy);
    ck_assert_float_eq_tol(ox, 0.5f, 1e-5f);
    ck_assert_float_eq_tol(oy, 0.5f, 1e-5f);
    gc_render_letterbox_to_orig(&lb, 415.5f, 363.5f, &ox, &oy);
    ck_assert_float_eq_tol(ox, 767.5f, 1e-4f);
    ck_assert_float_eq_tol(oy, 575.5f, 1e-4f);
}
END_TEST

/* ---- resampling and normalisation ------------------------------------------ */

START_TEST(resize_constant_and_ramp_exact)
{
    float in[5 * 4], out[13 * 9];
    for (int i = 0; i < 20; ++i) in[i] = 3.5f;
    gc_render_resize(in, 5, 4, out, 13, 9);
    for (int i = 0; i < 13 * 9; ++i) ck_assert_float_eq_tol(out[i], 3.5f, 1e-6f);

    /* horizontal ramp in = x, 4 -> 10 columns: out = clamp((x+.5)*.4 - .5, 0, 3) */
    float ramp[4 * 2], up[10 * 3];
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 4; ++x) ramp[y * 4 + x] = (float)x;
    gc_render_resize(ramp, 4, 2, up, 10, 3);
    for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 10; ++x) {
            double want = (x + 0.5) * 0.4 - 0.5;
            want = want < 0 ? 0 : want > 3 ? 3 : want;
            ck_assert_float_eq_tol(up[y * 10 + x], want, 1e-6);
        }

    /* vertical ramp, 8 -> 4 rows: samples at 2y + .5, no clamping */
    float vr[3 * 8], down[3 * 4];
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 3; ++x) vr[y * 3 + x] = (float)y;
    gc_render_resize(vr, 3, 8, down, 3, 4);
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 3; ++x) ck_assert_float_eq_tol(down[y * 3 + x], 2 * y + 0.5f, 1e-6f);

    /* same size is the identity */
    float id[20];
    for (int i = 0; i < 20; ++i) in[i] = (float)(i * i % 7);
    gc_render_resize(in, 5, 4, id, 5, 4);
    for (int i = 0; i < 20; ++i) ck_assert_float_eq(id[i], in[i]);
}
END_TEST

/* The per-pixel bilinear sample gc_render used before its separable
 * resampler (kept here as the reference): clamp, two cells per axis,
 * interpolate along x then y, in double. */
static float ref_sample(const float *m, int mw, int mh, double mx, double my)
{
    if (mx < 0) mx = 0;
    if (my < 0) my = 0;
    if (mx > mw - 1) mx = mw - 1;
    if (my > mh - 1) my = mh - 1;
    int x0 = (int)mx, y0 = (int)my, x1 = x0 + 1 < mw ? x0 + 1 : x0, y1 = y0 + 1 < mh ? y0 + 1 : y0;
    double fx = mx - x0, fy = my - y0;
    double top = (1 - fx) * m[(size_t)y0 * mw + x0] + fx * m[(size_t)y0 * mw + x1];
    double bot = (1 - fx) * m[(size_t)y1 * mw + x0] + fx * m[(size_t)y1 * mw + x1];
    return (float)((1 - fy) * top + fy * bot);
}

/* The separable resampler equals the per-pixel formula bit for bit: through
 * the inverse letterbox (the per-box heat) and as a plain resize, up and
 * down, wider than one tile of columns, with and without padding. */
START_TEST(separable_resampling_equals_per_pixel)
{
    const int cases[][6] = {/* mw, mh, orig_w, orig_h, net_w, net_h */
                            {20, 20, 768, 576, 320, 320}, {13, 13, 333, 500, 416, 416}, {10, 7, 1000, 90, 320, 224},
                            {1, 1, 50, 40, 32, 32},       {40, 40, 17, 600, 320, 320},  {7, 9, 3, 2, 64, 48}};
    uint32_t s = 99;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
        int mw = cases[c][0], mh = cases[c][1], ow = cases[c][2], oh = cases[c][3];
        float *map = malloc(sizeof(float) * mw * mh), *out = malloc(sizeof(float) * ow * oh);
        ck_assert(map && out);
        for (int i = 0; i < mw * mh; ++i) {
            s = s * 1664525u + 1013904223u;
            map[i] = (float)(s >> 8) / 16777216.0f * 3 - 1;
        }
        gc_letterbox lb = gc_render_letterbox(ow, oh, cases[c][4], cases[c][5]);
        gc_render_map_to_image(map, mw, mh, &lb, out);
        long bad = 0, bad_coord = 0;
        for (int y = 0; y < oh; ++y)
            for (int x = 0; x < ow; ++x) {
                float nx, ny;
                /* the letterbox inverse in double, as gc_render_map_to_image documents it */
                double sx = lb.orig_w > 1 && lb.new_w > 1 ? (double)(lb.orig_w - 1) / (lb.new_w - 1)
                                                          : (double)lb.orig_w / lb.new_w;
                double sy = lb.orig_h > 1 && lb.new_h > 1 ? (double)(lb.orig_h - 1) / (lb.new_h - 1)
                                                          : (double)lb.orig_h / lb.new_h;
                double cx = lb.orig_w > 1 && lb.new_w > 1 ? 0.5 : 0, cy = lb.orig_h > 1 && lb.new_h > 1 ? 0.5 : 0;
                double dnx = (x + 0.5 - cx) / sx + cx + lb.dx, dny = (y + 0.5 - cy) / sy + cy + lb.dy;
                gc_render_letterbox_to_net(&lb, x + 0.5f, y + 0.5f, &nx, &ny);
                if (fabs(nx - dnx) > 1e-3 || fabs(ny - dny) > 1e-3) ++bad_coord;
                float want = ref_sample(map, mw, mh, dnx * ((double)mw / lb.net_w) - 0.5,
                                        dny * ((double)mh / lb.net_h) - 0.5);
                if (out[(size_t)y * ow + x] != want) ++bad; /* counted: one check per pixel is slow in fork mode */
            }
        ck_assert_msg(bad_coord == 0 && bad == 0, "case %zu: %ld coordinates, %ld samples differ", c, bad_coord, bad);
        /* plain resize of the map to the image's size */
        gc_render_resize(map, mw, mh, out, ow, oh);
        double rx = (double)mw / ow, ry = (double)mh / oh;
        for (int y = 0; y < oh; ++y)
            for (int x = 0; x < ow; ++x)
                bad += out[(size_t)y * ow + x] != ref_sample(map, mw, mh, (x + 0.5) * rx - 0.5, (y + 0.5) * ry - 0.5);
        ck_assert_msg(bad == 0, "case %zu: %ld resized samples differ", c, bad);
        free(map);
        free(out);
    }
}
END_TEST

/* gc_render_resize_rgb as it was written per pixel (the reference): the mean of the
 * source box each output pixel covers, rounded. */
static void ref_resize_rgb(const unsigned char *in, int iw, int ih, unsigned char *out, int ow, int oh)
{
    for (int y = 0; y < oh; ++y) {
        int y0 = (int)((long)y * ih / oh), y1 = (int)((long)(y + 1) * ih / oh);
        if (y1 <= y0) y1 = y0 + 1;
        for (int x = 0; x < ow; ++x) {
            int x0 = (int)((long)x * iw / ow), x1 = (int)((long)(x + 1) * iw / ow);
            if (x1 <= x0) x1 = x0 + 1;
            unsigned long sum[3] = {0, 0, 0}, cnt = 0;
            for (int sy = y0; sy < y1; ++sy)
                for (int sx = x0; sx < x1; ++sx) {
                    for (int c = 0; c < 3; ++c) sum[c] += in[((size_t)sy * iw + sx) * 3 + c];
                    ++cnt;
                }
            for (int c = 0; c < 3; ++c) out[((size_t)y * ow + x) * 3 + c] = (unsigned char)((sum[c] + cnt / 2) / cnt);
        }
    }
}

/* The tiled gc_render_resize_rgb equals the per-pixel reference byte for byte:
 * shrinking (thumbnails, also by non-integer factors), enlarging, wider
 * than one tile of columns. */
START_TEST(resize_rgb_equals_per_pixel)
{
    const int sizes[][4] = {{384, 446, 190, 220}, {768, 618, 300, 241}, {700, 20, 513, 7},
                            {5, 3, 17, 11},       {1, 1, 3, 2},         {600, 2, 600, 1}};
    uint32_t s = 7;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
        int iw = sizes[k][0], ih = sizes[k][1], ow = sizes[k][2], oh = sizes[k][3];
        unsigned char *in = malloc((size_t)iw * ih * 3), *a = malloc((size_t)ow * oh * 3), *b = malloc((size_t)ow * oh * 3);
        ck_assert(in && a && b);
        for (size_t i = 0; i < (size_t)iw * ih * 3; ++i) {
            s = s * 1664525u + 1013904223u;
            in[i] = (unsigned char)(s >> 24);
        }
        gc_render_resize_rgb(in, iw, ih, a, ow, oh);
        ref_resize_rgb(in, iw, ih, b, ow, oh);
        ck_assert_msg(!memcmp(a, b, (size_t)ow * oh * 3), "%dx%d -> %dx%d differs", iw, ih, ow, oh);
        free(in);
        free(a);
        free(b);
    }
}
END_TEST

START_TEST(normalize_minmax)
{
    float x[4] = {2, 4, 6, 3};
    ck_assert_float_eq(gc_render_normalize(x, 4), 4);
    ck_assert_float_eq(x[0], 0);
    ck_assert_float_eq(x[1], .5f);
    ck_assert_float_eq(x[2], 1);
    ck_assert_float_eq(x[3], .25f);

    float c[5] = {7, 7, 7, 7, 7};
    ck_assert_float_eq(gc_render_normalize(c, 5), 0);
    for (int i = 0; i < 5; ++i) {
        ck_assert(!isnan(c[i]));
        ck_assert_float_eq(c[i], 0);
    }
    float z[3] = {0, 0, 0};
    ck_assert_float_eq(gc_render_normalize(z, 3), 0);
    for (int i = 0; i < 3; ++i) ck_assert_float_eq(z[i], 0);
    ck_assert_float_eq(gc_render_normalize(z, 0), 0);
}
END_TEST

/* ---- colour ---------------------------------------------------------------- */

static double hue_deg(const unsigned char *c)
{
    double r = c[0] / 255.0, g = c[1] / 255.0, b = c[2] / 255.0;
    double mx = fmax(r, fmax(g, b)), mn = fmin(r, fmin(g, b)), d = mx - mn;
    if (d == 0) return -1;
    double h;
    if (mx == r) h = fmod((g - b) / d, 6.0);
    else if (mx == g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
    h *= 60;
    return h < 0 ? h + 360 : h;
}

START_TEST(colormap_jet_endpoints_and_hue)
{
    unsigned char c[3];
    gc_render_jet(0, c);
    ck_assert(c[0] == 0 && c[1] == 0 && c[2] == 128); /* dark blue */
    gc_render_jet(1, c);
    ck_assert(c[0] == 128 && c[1] == 0 && c[2] == 0); /* dark red */
    gc_render_jet(.5f, c);
    ck_assert(c[0] == 128 && c[1] == 255 && c[2] == 128);
    unsigned char d[3];
    gc_render_jet(-3, d);
    gc_render_jet(0, c);
    ck_assert(memcmp(c, d, 3) == 0);
    gc_render_jet(NAN, d);
    ck_assert(memcmp(c, d, 3) == 0);
    gc_render_jet(7, d);
    gc_render_jet(1, c);
    ck_assert(memcmp(c, d, 3) == 0);

    /* hue falls monotonically from blue (240) to red (0) */
    double prev = 361;
    for (int i = 0; i <= 256; ++i) {
        gc_render_jet(i / 256.0f, c);
        double h = hue_deg(c);
        ck_assert_msg(h >= 0 && h <= prev + 1e-9, "v=%g: hue %g after %g", i / 256.0, h, prev);
        prev = h;
    }
    gc_render_jet(0, c);
    ck_assert_double_eq_tol(hue_deg(c), 240, 1e-9);
    gc_render_jet(1, c);
    ck_assert_double_eq_tol(hue_deg(c), 0, 1e-9);
}
END_TEST

/* The tint's opacity is alpha * heat: zero heat leaves the image exactly as
 * it is, whatever alpha; heat 1 at alpha 1 is the colormap alone. */
START_TEST(overlay_blend)
{
    enum { W = 3, H = 2, N = W * H };
    float img[3 * N], heat[N];
    unsigned char out[3 * N], jet[3];
    for (int i = 0; i < 3 * N; ++i) img[i] = (float)((i * 37) % 256) / 255.0f;
    for (int i = 0; i < N; ++i) heat[i] = (float)i / (N - 1);

    gc_render_overlay(img, W, H, heat, 0, out);
    for (int i = 0; i < N; ++i)
        for (int c = 0; c < 3; ++c) ck_assert_int_eq(out[i * 3 + c], ((i + c * N) * 37) % 256);

    /* alpha 1: pixel i blends with a = heat_i; pixel 0 (heat 0) is the
     * image, pixel N-1 (heat 1) the colormap */
    gc_render_overlay(img, W, H, heat, 1, out);
    for (int i = 0; i < N; ++i) {
        gc_render_jet(heat[i], jet);
        for (int c = 0; c < 3; ++c) {
            double im = img[c * N + i], a = heat[i];
            int want = (int)floor(255 * ((1 - a) * im + a * jet[c] / 255.0) + 0.5);
            ck_assert_msg(abs(out[i * 3 + c] - want) <= 1, "pixel %d channel %d: %d, want %d", i, c, out[i * 3 + c], want);
        }
    }
    for (int c = 0; c < 3; ++c) ck_assert_int_eq(out[c], ((0 + c * N) * 37) % 256);
    gc_render_jet(1, jet);
    ck_assert(memcmp(out + (N - 1) * 3, jet, 3) == 0);

    /* alpha .5 on img (.8, .4, 0) with heat 1 (jet = (128,0,0)):
     * (.5*204 + .5*128, .5*102, 0) = (166, 51, 0); heat .5 (jet green
     * (127,255,128) at .5): a = .25 */
    float one[3] = {.8f, .4f, 0};
    float h1 = 1;
    unsigned char px[3];
    gc_render_overlay(one, 1, 1, &h1, .5f, px);
    ck_assert(px[0] == 166 && px[1] == 51 && px[2] == 0);
    h1 = 0;
    gc_render_overlay(one, 1, 1, &h1, .5f, px);
    ck_assert(px[0] == 204 && px[1] == 102 && px[2] == 0);
}
END_TEST

/* The scaled overlay equals the plain one on the scaled-up image, byte for
 * byte: every factor 1..4, on an image with values outside [0, 1] and NaN,
 * a heat with zeros, negatives, values above 1 and NaN, and several alphas. */
START_TEST(overlay_scaled_equals_overlay_of_scaled_up)
{
    enum { W = 7, H = 5, N = W * H };
    float img[3 * N];
    uint32_t s = 7;
    for (int i = 0; i < 3 * N; ++i) {
        s = s * 1664525u + 1013904223u;
        img[i] = (float)(s >> 8) / (float)(1u << 24) * 1.4f - 0.2f; /* -0.2 .. 1.2 */
    }
    img[5] = NAN;
    img[N + 9] = 1.0f;
    img[2 * N + 3] = 0.0f;
    for (int f = 1; f <= 4; ++f) {
        int w = W * f, h = H * f, n = w * h;
        float *big = malloc(3 * (size_t)n * sizeof *big), *heat = malloc((size_t)n * sizeof *heat);
        unsigned char *a = malloc(3 * (size_t)n), *b = malloc(3 * (size_t)n);
        ck_assert(big && heat && a && b);
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) big[c * n + y * w + x] = img[c * N + (y / f) * W + x / f];
        for (int i = 0; i < n; ++i) {
            s = s * 1664525u + 1013904223u;
            int r = (int)(s >> 28);
            heat[i] = r < 6 ? 0.0f : r < 7 ? -0.3f : r < 8 ? 1.5f : r < 9 ? NAN : (float)(s >> 8 & 0xffff) / 65535.0f;
        }
        const float alphas[] = {0.0f, 0.45f, 1.0f, 2.0f};
        for (size_t k = 0; k < sizeof alphas / sizeof alphas[0]; ++k) {
            memset(a, 1, 3 * (size_t)n);
            memset(b, 2, 3 * (size_t)n);
            gc_render_overlay(big, w, h, heat, alphas[k], a);
            gc_render_overlay_scaled(img, W, H, f, heat, alphas[k], b);
            ck_assert_msg(!memcmp(a, b, 3 * (size_t)n), "factor %d, alpha %g", f, alphas[k]);
        }
        free(big);
        free(heat);
        free(a);
        free(b);
    }
}
END_TEST

/* The overlay that scales its heat up row by row equals gc_render_resize
 * then the scaled overlay, byte for byte, whole or drawn in row ranges, on
 * odd sizes with NaN, negative and above-1 heat. */
START_TEST(overlay_scaled_up_rows_equal_resize_then_overlay)
{
    const int sizes[][2] = {{1, 1}, {7, 5}, {13, 31}, {128, 128}};
    uint32_t s = 11;
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; ++z) {
        int W = sizes[z][0], H = sizes[z][1], N = W * H;
        float *img = malloc(3 * (size_t)N * sizeof *img), *heat = malloc((size_t)N * sizeof *heat);
        ck_assert(img && heat);
        for (int i = 0; i < 3 * N; ++i) {
            s = s * 1664525u + 1013904223u;
            img[i] = (float)(s >> 8) / (float)(1u << 24) * 1.4f - 0.2f;
        }
        for (int i = 0; i < N; ++i) {
            s = s * 1664525u + 1013904223u;
            int r = (int)(s >> 28);
            heat[i] = r < 4 ? 0.0f : r < 5 ? -0.3f : r < 6 ? 1.5f : r < 7 ? NAN : (float)(s >> 8 & 0xffff) / 65535.0f;
        }
        for (int f = 2; f <= 4; ++f) {
            int w = W * f, h = H * f, n = w * h;
            float *up = malloc((size_t)n * sizeof *up);
            unsigned char *a = malloc(3 * (size_t)n), *b = malloc(3 * (size_t)n);
            ck_assert(up && a && b);
            gc_render_resize(heat, W, H, up, w, h);
            memset(a, 1, 3 * (size_t)n);
            memset(b, 2, 3 * (size_t)n);
            gc_render_overlay_scaled(img, W, H, f, up, 0.45f, a);
            /* in three uneven row ranges, the last first: a range that
             * wrote past its last row (as threads drawing neighbouring
             * ranges would race on) would spoil the one drawn before it */
            size_t cut1 = (size_t)h / 3, cut2 = (size_t)h - 1;
            gc_render_overlay_scaled_up_rows(img, W, H, f, heat, 0.45f, b, cut2, (size_t)h);
            gc_render_overlay_scaled_up_rows(img, W, H, f, heat, 0.45f, b, cut1, cut2);
            gc_render_overlay_scaled_up_rows(img, W, H, f, heat, 0.45f, b, 0, cut1);
            ck_assert_msg(!memcmp(a, b, 3 * (size_t)n), "%dx%d, factor %d", W, H, f);
            free(up);
            free(a);
            free(b);
        }
        free(img);
        free(heat);
    }
}
END_TEST

/* An image (3 n values, some outside [0, 1] and NaN) and a heat (nh values:
 * 0, negative, above 1, NaN, values a rounding step either side of the
 * jet's corners, and others in [0, 1]) for the overlay tests; s is the LCG's
 * state. */
static void awkward_overlay_input(float *img, int n, float *heat, int nh, uint32_t *s)
{
    for (int i = 0; i < 3 * n; ++i) {
        *s = *s * 1664525u + 1013904223u;
        img[i] = (*s >> 28) == 0 ? NAN : (float)(*s >> 8) / (float)(1u << 24) * 1.4f - 0.2f;
    }
    for (int i = 0; i < nh; ++i) {
        *s = *s * 1664525u + 1013904223u;
        int r = (int)(*s >> 28);
        float corner = (float)(1 + (int)(*s >> 8 & 3)) / 8; /* 1/8 .. 1/2: jet's corners at odd eighths */
        heat[i] = r < 4 ? 0.0f : r < 5 ? -0.3f : r < 6 ? 1.5f : r < 7 ? NAN
                : r < 9 ? nextafterf(corner, r < 8 ? 0.0f : 1.0f)
                        : (float)(*s >> 8 & 0xffff) / 65535.0f;
    }
}

/* The overlay against its definition worked in double precision, pixel by
 * pixel: within 1 of each byte where the heat is above 0, exactly the
 * image's bytes elsewhere. On rows long enough for several chunks of the
 * blend and a ragged end (w 7, 301, 1031; factors 1, 3, 8), with the
 * awkward values of awkward_overlay_input. */
START_TEST(overlay_within_one_of_the_double_formula)
{
    const int widths[] = {7, 301, 1031}, factors[] = {1, 3, 8};
    const float alphas[] = {0.45f, 1.0f};
    uint32_t s = 5;
    for (size_t iw = 0; iw < 3; ++iw)
        for (size_t jf = 0; jf < 3; ++jf) {
            int w = widths[iw], h = 2, f = factors[jf], W = w * f, H = h * f, n = w * h;
            float *img = malloc(3 * (size_t)n * sizeof *img), *heat = malloc((size_t)W * H * sizeof *heat);
            unsigned char *out = malloc(3 * (size_t)W * H);
            ck_assert(img && heat && out);
            awkward_overlay_input(img, n, heat, W * H, &s);
            for (size_t k = 0; k < 2; ++k) {
                gc_render_overlay_scaled(img, w, h, f, heat, alphas[k], out);
                for (int y = 0; y < H; ++y)
                    for (int x = 0; x < W; ++x) {
                        double hv = heat[y * W + x], v = hv < 1 ? hv : 1, a = alphas[k] * v;
                        unsigned char jet[3];
                        gc_render_jet((float)v, jet);
                        for (int c = 0; c < 3; ++c) {
                            double im = img[c * n + (y / f) * w + x / f];
                            im = im > 0 ? (im < 1 ? im : 1) : 0; /* NaN: 0 */
                            int plain = (int)floor(im * 255 + 0.5);
                            int got = out[((size_t)y * W + x) * 3 + c];
                            /* ck_abort_msg on a failure only: a passing ck_assert
                             * writes a mark to Check's pipe, 800,000 of them here,
                             * which took past the timeout on a loaded machine */
                            if (!(hv > 0)) {
                                if (got != plain)
                                    ck_abort_msg("w %d f %d (%d,%d) c %d: %d, the image's %d", w, f, x, y, c, got,
                                                 plain);
                                continue;
                            }
                            double o = (1 - a) * im + a * jet[c] / 255.0;
                            int want = (int)floor(255 * (o > 0 ? (o < 1 ? o : 1) : 0) + 0.5);
                            if (abs(got - want) > 1)
                                ck_abort_msg("w %d f %d (%d,%d) c %d heat %g: %d, want %d", w, f, x, y, c, hv, got,
                                             want);
                        }
                    }
            }
            free(img);
            free(heat);
            free(out);
        }
}
END_TEST

/* The overlay's AVX2 loop (eight pixels at a time) gives the SSE2 loop's
 * bytes, on rows whose chunks end on 4 but not 8 columns and on the
 * awkward values above. Where the CPU has no AVX2 both runs take SSE2
 * (said on stderr). */
START_TEST(overlay_avx2_equals_sse2)
{
    int had = gc_render_avx2(-1);
    if (!gc_render_avx2(1)) fprintf(stderr, "overlay_avx2_equals_sse2: this CPU has no AVX2; SSE2 against itself\n");
    const int sizes[][3] = {{301, 3, 3}, {1031, 2, 1}, {13, 5, 8}};
    uint32_t s = 21;
    for (size_t z = 0; z < 3; ++z) {
        int w = sizes[z][0], h = sizes[z][1], f = sizes[z][2], W = w * f, H = h * f, n = w * h;
        float *img = malloc(3 * (size_t)n * sizeof *img), *heat = malloc((size_t)W * H * sizeof *heat);
        unsigned char *a = malloc(3 * (size_t)W * H), *b = malloc(3 * (size_t)W * H);
        ck_assert(img && heat && a && b);
        awkward_overlay_input(img, n, heat, W * H, &s);
        gc_render_avx2(1);
        gc_render_overlay_scaled(img, w, h, f, heat, 0.45f, a);
        gc_render_avx2(0);
        ck_assert_int_eq(gc_render_avx2(-1), 0);
        gc_render_overlay_scaled(img, w, h, f, heat, 0.45f, b);
        ck_assert_msg(!memcmp(a, b, 3 * (size_t)W * H), "%dx%d drawn %dx", w, h, f);
        free(img);
        free(heat);
        free(a);
        free(b);
    }
    gc_render_avx2(had);
}
END_TEST

/* An overlay of a map that is zero on most of the image: every pixel where
 * the heat is zero is the image's own colour. */
START_TEST(overlay_untinted_where_map_is_zero)
{
    enum { W = 40, H = 30, N = W * H };
    float *img = malloc(3 * N * sizeof *img), *map = calloc(N, sizeof *map), *heat = malloc(N * sizeof *heat);
    unsigned char *out = malloc(3 * N);
    for (int i = 0; i < 3 * N; ++i) img[i] = (float)((i * 53) % 251) / 250.0f;
    for (int y = 10; y < 20; ++y)
        for (int x = 5; x < 15; ++x) map[y * W + x] = (float)(x + y);
    float lo, hi;
    ck_assert_int_eq(gc_render_heat_scale(map, N, heat, &lo, &hi), 0);
    ck_assert(lo == 0 && hi == 33);
    gc_render_overlay(img, W, H, heat, .7f, out);
    int tinted = 0;
    for (int i = 0; i < N; ++i) {
        int same = 1;
        for (int c = 0; c < 3; ++c)
            same &= out[i * 3 + c] == (unsigned char)floor((double)img[c * N + i] * 255 + 0.5);
        if (map[i] == 0) ck_assert_msg(same, "pixel %d tinted where the map is 0", i);
        else tinted += !same;
    }
    ck_assert_int_gt(tinted, 90); /* the hot square is coloured */
    free(img);
    free(map);
    free(heat);
    free(out);
}
END_TEST

START_TEST(heat_scale_keeps_zero_and_flags_all_zero)
{
    float m[4] = {0, 2, 4, 1}, h[4], lo, hi;
    ck_assert_int_eq(gc_render_heat_scale(m, 4, h, &lo, &hi), 0);
    ck_assert(lo == 0 && hi == 4);
    ck_assert(h[0] == 0 && h[1] == .5f && h[2] == 1 && h[3] == .25f);
    /* all positive: zero is still the bottom of the scale, not the minimum */
    float p[2] = {2, 4};
    ck_assert_int_eq(gc_render_heat_scale(p, 2, h, &lo, &hi), 0);
    ck_assert(lo == 0 && h[0] == .5f && h[1] == 1);
    /* all zero, constant negative, NaN: flagged, all zero, never NaN */
    float z[3] = {0, 0, 0}, c[2] = {-1, -1}, n[2] = {NAN, 1};
    ck_assert_int_eq(gc_render_heat_scale(z, 3, h, &lo, &hi), 1);
    ck_assert(h[0] == 0 && h[1] == 0 && h[2] == 0);
    ck_assert_int_eq(gc_render_heat_scale(c, 2, h, &lo, &hi), 1);
    ck_assert(h[0] == 0 && h[1] == 0);
    ck_assert_int_eq(gc_render_heat_scale(n, 2, h, &lo, &hi), 1);
    ck_assert(h[0] == 0 && h[1] == 0);
    /* without out: the same range and flag, the map untouched */
    lo = hi = -7;
    ck_assert_int_eq(gc_render_heat_scale(m, 4, NULL, &lo, &hi), 0);
    ck_assert(lo == 0 && hi == 4 && m[2] == 4);
    ck_assert_int_eq(gc_render_heat_scale(c, 2, NULL, &lo, &hi), 1);
    ck_assert(lo == -1 && c[0] == -1);
    ck_assert_int_eq(gc_render_heat_scale(n, 2, NULL, &lo, &hi), 1);
    /* in place */
    ck_assert_int_eq(gc_render_heat_scale(m, 4, m, &lo, &hi), 0);
    ck_assert(m[2] == 1 && m[0] == 0);
    /* -0 is not below 0: the range starts at +0 (its label is "0", not "-0") */
    float nz[8] = {-0.0f, -0.0f, 1, -0.0f, 2, -0.0f, -0.0f, -0.0f};
    ck_assert_int_eq(gc_render_heat_scale(nz, 8, NULL, &lo, &hi), 0);
    ck_assert(lo == 0 && !signbit(lo) && hi == 2);
    /* lengths 1..67 (four at a time, then the rest), an infinity or a NaN
     * in either part: the range and flag of the plain loop over finite
     * values, and the same scaled values */
    uint64_t rng = 3;
    float v[67], out[67];
    for (int len = 1; len <= 67; ++len)
        for (int rep = 0; rep < 8; ++rep) {
            for (int i = 0; i < len; ++i) v[i] = (float)(gc_rng_next(&rng) >> 48) / 4096.0f - 3.0f;
            if (rep >= 4)
                v[gc_rng_next(&rng) % (unsigned)len] = rep == 4   ? NAN
                                                      : rep == 5 ? INFINITY
                                                      : rep == 6 ? -INFINITY
                                                                 : -1e30f;
            float rlo = 0, rhi = 0;
            int fin = 1;
            for (int i = 0; i < len; ++i) {
                if (!isfinite(v[i])) fin = 0;
                else if (v[i] < rlo) rlo = v[i];
                else if (v[i] > rhi) rhi = v[i];
            }
            int flat = !fin || !(rhi > rlo) || !(rhi > 0);
            ck_assert_int_eq(gc_render_heat_scale(v, (size_t)len, out, &lo, &hi), flat);
            ck_assert_msg(lo == rlo && hi == rhi, "length %d, case %d: %g %g against %g %g", len, rep, lo, hi, rlo, rhi);
            for (int i = 0; i < len; ++i)
                ck_assert(out[i] == (flat ? 0.0f : (float)(((double)v[i] - rlo) / ((double)rhi - rlo))));
        }
}
END_TEST

/* 96x96 scenes are shown at 384 px, 128x128 at 384, a 20x16 image at 8x,
 * photos at their own size; text grows with the picture. */
START_TEST(display_scale_rule)
{
    ck_assert_int_eq(gc_render_display_scale(96, 96), 4);
    ck_assert_int_eq(gc_render_display_scale(128, 128), 3);
    ck_assert_int_eq(gc_render_display_scale(20, 16), 8);
    ck_assert_int_eq(gc_render_display_scale(768, 576), 1);
    ck_assert_int_eq(gc_render_display_scale(4000, 3000), 1);
    ck_assert_int_eq(gc_render_display_scale(383, 1000), 2);
    /* a strip: the long side stays <= 4096 */
    ck_assert_int_eq(gc_render_display_scale(2000, 10), 2);
    ck_assert_int_eq(gc_render_display_scale(5000, 10), 1);
    for (int w = 1; w < 600; w += 7)
        for (int h = 1; h < 600; h += 11) {
            int f = gc_render_display_scale(w, h), lo = w < h ? w : h, big = w > h ? w : h;
            ck_assert(f >= 1 && f <= 8 && (f == 1 || (long)big * f <= 4096));
            if (f < 8 && (long)big * (f + 1) <= 4096) ck_assert_msg(lo * f >= GC_DISPLAY_MIN, "%dx%d: %d", w, h, f);
        }
    ck_assert_int_eq(gc_render_text_scale(384, 384), 2);
    ck_assert_int_eq(gc_render_text_scale(768, 576), 2);
    ck_assert_int_eq(gc_render_text_scale(4000, 3000), 9);
    /* text on a 3000 px photo is 81 px high: legible, under 3% of the side */
    ck_assert_int_eq(gc_render_text_height(gc_render_text_scale(4000, 3000)), 81);
}
END_TEST

START_TEST(resize_rgb_mean_and_nearest)
{
    unsigned char in[2 * 2 * 3] = {0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40}, out[4 * 4 * 3], one[3];
    gc_render_resize_rgb(in, 2, 2, one, 1, 1);
    ck_assert(one[0] == 85 && one[1] == 85 && one[2] == 85); /* (0+100+200+40)/4 = 85 */
    gc_render_resize_rgb(in, 2, 2, out, 4, 4);
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 4; ++x)
            ck_assert_int_eq(out[(y * 4 + x) * 3], in[((y / 2) * 2 + x / 2) * 3]);
}
END_TEST

/* Every shrink, whole ratios (the fast path) and others, equals the box mean
 * worked out here: output pixel (x, y) the rounded mean of source columns
 * [x iw / ow, (x + 1) iw / ow) and the rows likewise (at least one each). */
START_TEST(resize_rgb_equals_the_box_mean)
{
    const int shapes[][4] = {{384, 384, 192, 192}, {384, 384, 128, 128}, {200, 120, 50, 30}, {16, 8, 2, 1},
                             {385, 384, 192, 192}, {384, 446, 192, 223}, {300, 200, 128, 85}, {7, 7, 3, 2},
                             /* halved in chunks of 256 output columns: two whole ones and one of a pixel */
                             {1026, 4, 513, 2}, {2, 2, 1, 1}};
    uint32_t st = 3;
    for (size_t z = 0; z < sizeof shapes / sizeof *shapes; ++z) {
        int iw = shapes[z][0], ih = shapes[z][1], ow = shapes[z][2], oh = shapes[z][3];
        unsigned char *in = malloc((size_t)iw * ih * 3), *out = malloc((size_t)ow * oh * 3);
        ck_assert(in && out);
        for (size_t i = 0; i < (size_t)iw * ih * 3; ++i) {
            st = st * 1664525u + 1013904223u;
            in[i] = (unsigned char)(st >> 24);
        }
        if (z == 0) memset(in, 255, (size_t)iw * 3 * 5); /* saturated rows */
        gc_render_resize_rgb(in, iw, ih, out, ow, oh);
        /* one assertion per shape, not per value: a passing ck_assert writes
         * a mark to Check's pipe, and these 439,000 took 2.6-3.1 s of the 4 s
         * timeout on a loaded 2-core machine (one run past it) */
        size_t bad = 0;
        int bx = 0, by = 0, bc = 0, got = 0;
        unsigned long mean = 0;
        for (int y = 0; y < oh; ++y)
            for (int x = 0; x < ow; ++x) {
                int x0 = x * iw / ow, x1 = (x + 1) * iw / ow, y0 = y * ih / oh, y1 = (y + 1) * ih / oh;
                if (x1 <= x0) x1 = x0 + 1;
                if (y1 <= y0) y1 = y0 + 1;
                for (int c = 0; c < 3; ++c) {
                    unsigned long sum = 0, cnt = (unsigned long)(x1 - x0) * (unsigned long)(y1 - y0);
                    for (int sy = y0; sy < y1; ++sy)
                        for (int sx = x0; sx < x1; ++sx) sum += in[((size_t)sy * iw + sx) * 3 + c];
                    int o = out[((size_t)y * ow + x) * 3 + c];
                    if ((unsigned long)o != (sum + cnt / 2) / cnt && !bad++)
                        bx = x, by = y, bc = c, got = o, mean = (sum + cnt / 2) / cnt;
                }
            }
        ck_assert_msg(!bad, "%dx%d -> %dx%d: %zu values differ, first pixel (%d, %d) channel %d is %d, the mean %lu", iw,
                      ih, ow, oh, bad, bx, by, bc, got, mean);
        free(in);
        free(out);
    }
}
END_TEST

static int rect_inside(const gc_rect *r, int w, int h)
{
    return r->x >= 0 && r->y >= 0 && r->w > 0 && r->h > 0 && r->x + r->w <= w && r->y + r->h <= h;
}

/* Many boxes, labels long and short: every placed label inside the image,
 * no two overlapping, none over the fixed tag, each one's size what its
 * scale gives; a pseudo-random layout per round. */
START_TEST(labels_inside_and_disjoint)
{
    enum { N = 50 };
    static const char *names[] = {"trouser", "ankle boot", "bag", "t-shirt/top", "person", "baseball glove"};
    unsigned s = 12345;
    for (int round = 0; round < 20; ++round) {
        int w = round % 2 ? 128 : 384, h = round % 3 ? 96 : 384, n = 1 + (round * 7) % N;
        gc_rect boxes[N], out[N];
        int scales[N];
        char texts[N][64];
        const char *tp[N];
        for (int i = 0; i < n; ++i) {
            s = s * 1103515245u + 12345u;
            int bw = 8 + (int)((s >> 8) % (unsigned)(w / 2)), bh = 8 + (int)((s >> 16) % (unsigned)(h / 2));
            s = s * 1103515245u + 12345u;
            boxes[i] = (gc_rect){(int)((s >> 8) % (unsigned)(w - bw + 1)), (int)((s >> 16) % (unsigned)(h - bh + 1)), bw, bh};
            snprintf(texts[i], sizeof texts[i], "%d %s %d%%", i, names[i % 6], (int)(s % 100));
            tp[i] = texts[i];
        }
        gc_rect fixed = {0, 0, 40, 12};
        int placed = gc_render_place_labels(boxes, tp, n, w, h, 2, 1, &fixed, 1, out, scales);
        int count = 0;
        for (int i = 0; i < n; ++i) {
            if (!scales[i]) {
                ck_assert_int_eq(out[i].w, 0);
                continue;
            }
            ++count;
            ck_assert_msg(rect_inside(&out[i], w, h), "round %d label %d (%d,%d %dx%d) outside %dx%d", round, i,
                          out[i].x, out[i].y, out[i].w, out[i].h, w, h);
            ck_assert_int_eq(out[i].w, gc_render_text_width(tp[i], scales[i]));
            ck_assert_int_eq(out[i].h, gc_render_text_height(scales[i]));
            ck_assert(!gc_render_rect_overlap(&out[i], &fixed));
            for (int j = 0; j < i; ++j)
                ck_assert_msg(!gc_render_rect_overlap(&out[i], &out[j]), "round %d: labels %d and %d overlap", round, i, j);
        }
        ck_assert_int_eq(count, placed);
        ck_assert_int_gt(placed, 0);
    }
}
END_TEST

/* The cases: a label whose box touches the right or top edge stays
 * inside (moved, not cut), and two garments side by side get labels that
 * cover neither each other nor the other garment. */
START_TEST(labels_at_edges_and_beside_other_boxes)
{
    const char *t[2] = {"3 trouser 72%", "0 ankle boot 91%"};
    gc_rect edge[1] = {{100, 0, 28, 60}}, out[2];
    int sc[2];
    ck_assert_int_eq(gc_render_place_labels(edge, t, 1, 128, 128, 2, 1, NULL, 0, out, sc), 1);
    ck_assert(rect_inside(&out[0], 128, 128));
    ck_assert_int_eq(sc[0], 1); /* 13 characters at scale 2 (158 px) do not fit 128 px: shrunk */

    gc_rect two[2] = {{40, 150, 100, 120}, {150, 150, 100, 120}};
    ck_assert_int_eq(gc_render_place_labels(two, t, 2, 384, 384, 2, 1, NULL, 0, out, sc), 2);
    for (int i = 0; i < 2; ++i) {
        ck_assert(rect_inside(&out[i], 384, 384));
        ck_assert_int_eq(sc[i], 2);
        gc_rect other = {two[1 - i].x + 1, two[1 - i].y + 1, two[1 - i].w - 2, two[1 - i].h - 2};
        ck_assert_msg(!gc_render_rect_overlap(&out[i], &other), "label %d covers the other box", i);
    }
    ck_assert(!gc_render_rect_overlap(&out[0], &out[1]));
    /* a label wider than the image at every scale is not placed */
    const char *wide[1] = {"a label far too wide for a tiny picture"};
    ck_assert_int_eq(gc_render_place_labels(edge, wide, 1, 64, 64, 2, 1, NULL, 0, out, sc), 0);
    ck_assert_int_eq(sc[0], 0);
}
END_TEST

/* The pictures: an all-zero map's panel is the plain image, its overlay
 * carries the tag and no colour bar; a real map's overlay has the colour
 * bar's colours in its footer; small images are enlarged. */
/* Whether text, drawn at scale 1 in fg on bg, appears whole somewhere in
 * rows [y0, h) of pic. */
static int picture_shows(const gc_picture *pic, int y0, const char *text, const unsigned char fg[3],
                         const unsigned char bg[3])
{
    int tw = gc_render_text_width(text, 1), th = gc_render_text_height(1);
    unsigned char *t = malloc((size_t)tw * th * 3);
    ck_assert_ptr_nonnull(t);
    gc_render_text(t, tw, th, 0, 0, text, 1, fg, bg);
    int found = 0;
    for (int y = y0; !found && y + th <= pic->h; ++y)
        for (int x = 0; !found && x + tw <= pic->w; ++x) {
            int same = 1;
            for (int r = 0; same && r < th; ++r)
                same = !memcmp(pic->rgb + ((size_t)(y + r) * pic->w + x) * 3, t + (size_t)r * tw * 3, (size_t)tw * 3);
            found = same;
        }
    free(t);
    return found;
}

/* A narrow, tall image is not enlarged (its height caps the factor), and
 * its overlay's footer is too narrow for the title even at scale 1: the
 * title is wrapped at its spaces onto more rows, so the class and its
 * probability show whole (they had been cut to "box 4 k.."), and the colour
 * bar's labels take a row below the bar (they had been left out). Wide
 * pictures keep their one-row footer. */
START_TEST(narrow_overlay_wraps_its_footer)
{
    static const unsigned char white[3] = {255, 255, 255}, dark[3] = {32, 32, 32}, black[3] = {0, 0, 0},
                               yellow[3] = {255, 230, 0};
    enum { W = 60, H = 3000, N = W * H };
    ck_assert_int_eq(gc_render_display_scale(W, H), 1);
    float *img = malloc(3 * N * sizeof *img);
    ck_assert_ptr_nonnull(img);
    for (int i = 0; i < 3 * N; ++i) img[i] = (float)((i * 29) % 200) / 255.0f;
    gc_err e;
    gc_picture plain = {0}, fig = {0}, zero = {0};
    ck_assert_int_eq(gc_figure_panel(&plain, gc_pixels_float(img), W, H, NULL, .5f, NULL, &e), 0);
    const char *title = "box 4 kite 1% - layercam, layer 125,124";
    ck_assert_int_eq(gc_figure_overlay(&fig, &plain, W, H, NULL, NULL, title, 0, 0.817f, 0, 0, &e), 0);
    ck_assert_int_eq(fig.w, W);
    static const char *const words[] = {"box 4", "kite 1%", "layercam,", "layer", "125,124", "0", "0.817"};
    for (size_t k = 0; k < sizeof words / sizeof *words; ++k)
        ck_assert_msg(picture_shows(&fig, H, words[k], white, dark), "\"%s\" not in the footer", words[k]);
    ck_assert(!picture_shows(&fig, H, "kite 1%", black, yellow));
    /* nothing was cut */
    ck_assert(!picture_shows(&fig, H, "..", white, dark));
    /* the all-zero note, wrapped the same way, black on yellow */
    ck_assert_int_eq(gc_figure_overlay(&zero, &plain, W, H, NULL, NULL, title, 0, 0, 1, 0, &e), 0);
    static const char *const note[] = {"all-zero", "nothing", "the plain"};
    for (size_t k = 0; k < sizeof note / sizeof *note; ++k)
        ck_assert_msg(picture_shows(&zero, H, note[k], black, yellow), "\"%s\" not in the footer", note[k]);
    /* the same title on a wide image: one row each for title and bar */
    gc_picture wide_panel = {0}, wide = {0};
    enum { WW = 400, WH = 300 };
    float *wimg = calloc(3 * WW * WH, sizeof *wimg);
    ck_assert_ptr_nonnull(wimg);
    ck_assert_int_eq(gc_figure_panel(&wide_panel, gc_pixels_float(wimg), WW, WH, NULL, .5f, NULL, &e), 0);
    ck_assert_int_eq(gc_figure_overlay(&wide, &wide_panel, WW, WH, NULL, NULL, title, 0, 0.817f, 0, 0, &e), 0);
    int f = gc_render_display_scale(WW, WH), ts = gc_render_text_scale(WW * f, WH * f), th = gc_render_text_height(ts);
    ck_assert_int_eq(wide.h, WH * f + ts + 2 * (th + ts));
    /* the narrow one: five title rows, the bar's, its labels' */
    int nts = gc_render_text_scale(W, H), nth = gc_render_text_height(nts);
    ck_assert_int_eq(fig.h, H + nts + 7 * (nth + nts));
    /* a title longer than the rows it may take (8): its last row says it
     * is cut, even where that row is a one-letter word (it had been "l"
     * alone, the words after it gone without a mark) */
    {
        enum { NW = 40 }; /* 36 px of text: 5 characters a row */
        gc_picture p1 = {0}, o1 = {0};
        ck_assert_int_eq(gc_figure_panel(&p1, gc_pixels_float(img), NW, H, NULL, .5f, NULL, &e), 0);
        ck_assert_int_eq(gc_figure_overlay(&o1, &p1, NW, H, NULL, NULL, "aaaa aaaa aaaa aaaa aaaa aaaa aaaa l bbbbb ccc",
                                           0, 0.817f, 0, 0, &e),
                         0);
        ck_assert(picture_shows(&o1, H, "aaaa", white, dark));
        ck_assert(picture_shows(&o1, H, "l ..", white, dark));
        ck_assert(!picture_shows(&o1, H, "bbbbb", white, dark));
        gc_figure_picture_free(&p1);
        gc_figure_picture_free(&o1);
    }
    /* 1 to 4 px wide: no room for text or a bar, yet a footer of the
     * same layout (the bar's row had been drawn as text: an abort) */
    for (int w = 1; w <= 4; ++w) {
        gc_picture p1 = {0}, o1 = {0}, o2 = {0};
        ck_assert_int_eq(gc_figure_panel(&p1, gc_pixels_float(img), w, H, NULL, .5f, NULL, &e), 0);
        ck_assert_int_eq(gc_figure_overlay(&o1, &p1, w, H, NULL, NULL, title, 0, 0.817f, 0, 0, &e), 0);
        ck_assert_int_eq(o1.w, w);
        ck_assert_int_gt(o1.h, H);
        ck_assert_int_eq(gc_figure_overlay_begin(&o2, w, H, title, 0, 0.817f, 0, 0, &e), 0);
        ck_assert_int_eq(o2.h, o1.h);
        gc_figure_picture_free(&p1);
        gc_figure_picture_free(&o1);
        gc_figure_picture_free(&o2);
    }
    free(wimg);
    free(img);
    gc_figure_picture_free(&wide_panel);
    gc_figure_picture_free(&wide);
    gc_figure_picture_free(&plain);
    gc_figure_picture_free(&fig);
    gc_figure_picture_free(&zero);
}
END_TEST

START_TEST(figure_overlay_all_zero_and_colour_bar)
{
    enum { W = 96, H = 96, N = W * H };
    float *img = malloc(3 * N * sizeof *img), *heat = calloc(N, sizeof *heat);
    for (int i = 0; i < 3 * N; ++i) img[i] = (float)((i * 29) % 200) / 255.0f;
    gc_err e;
    gc_picture plain = {0}, zero = {0}, fig = {0}, hot = {0}, fig2 = {0};
    gc_fig_box box = {10, 20, 50, 70, 1};
    ck_assert_int_eq(gc_figure_panel(&plain, gc_pixels_float(img), W, H, NULL, .5f, &box, &e), 0);
    ck_assert_int_eq(gc_figure_panel(&zero, gc_pixels_float(img), W, H, heat, .5f, &box, &e), 0);
    ck_assert_int_eq(plain.w, 384); /* 96 px: shown 4x */
    ck_assert_int_eq(plain.h, 384);
    ck_assert(memcmp(plain.rgb, zero.rgb, (size_t)384 * 384 * 3) == 0);
    /* nearest enlargement: display pixel (x, y) is image pixel (x/4, y/4) */
    int x = 300, y = 5;
    for (int c = 0; c < 3; ++c)
        ck_assert_int_eq(plain.rgb[(y * 384 + x) * 3 + c], (int)floor((double)img[c * N + (y / 4) * W + x / 4] * 255 + .5));

    ck_assert_int_eq(gc_figure_overlay(&fig, &zero, W, H, &box, "0 bag 81%", "box 0 bag 81%", 0, 0, 1, 0, &e), 0);
    ck_assert_int_eq(fig.w, 384);
    ck_assert_int_gt(fig.h, 384);
    /* the tag at the top-left is yellow; the footer has no pure jet red */
    const unsigned char *p = fig.rgb;
    ck_assert(p[0] == 255 && p[1] == 230 && p[2] == 0);
    int red = 0;
    for (int i = 384 * 384; i < fig.w * fig.h; ++i) red += fig.rgb[i * 3] >= 128 && fig.rgb[i * 3 + 1] == 0 && fig.rgb[i * 3 + 2] == 0;
    ck_assert_int_eq(red, 0);

    for (int i = 0; i < N; ++i) heat[i] = (float)(i % W) / (W - 1);
    ck_assert_int_eq(gc_figure_panel(&hot, gc_pixels_float(img), W, H, heat, .5f, NULL, &e), 0);
    ck_assert_int_eq(gc_figure_overlay(&fig2, &hot, W, H, NULL, NULL, "class 3 - gradcam", 0, 2.5f, 0, 0, &e), 0);
    ck_assert_int_eq(fig2.h, fig.h);
    /* the colour bar: dark blue at its left end, dark red at its right, in one footer row */
    int found_blue = 0, found_red = 0;
    for (int yy = 384; yy < fig2.h; ++yy)
        for (int xx = 0; xx < fig2.w; ++xx) {
            const unsigned char *q = fig2.rgb + ((size_t)yy * fig2.w + xx) * 3;
            found_blue |= q[0] == 0 && q[1] == 0 && q[2] >= 128;
            found_red |= q[0] >= 128 && q[1] == 0 && q[2] == 0;
        }
    ck_assert(found_blue && found_red);
    /* no tag: the top-left is the image (heat 0 in column 0) */
    for (int c = 0; c < 3; ++c) ck_assert_int_eq(fig2.rgb[c], (int)floor((double)img[c * N] * 255 + .5));
    /* a gradient picture (Guided Backprop's): the same footer height, its
     * key in white text, and no colour bar (no dark blue, no dark red) */
    gc_picture fig3 = {0};
    ck_assert_int_eq(gc_figure_overlay(&fig3, &plain, W, H, NULL, NULL, "class 3 - guidedbackprop", 0, 2.5f, 0, 1, &e), 0);
    ck_assert_int_eq(fig3.h, fig.h);
    int blue3 = 0, red3 = 0, white3 = 0;
    for (int yy = 384; yy < fig3.h; ++yy)
        for (int xx = 0; xx < fig3.w; ++xx) {
            const unsigned char *q = fig3.rgb + ((size_t)yy * fig3.w + xx) * 3;
            blue3 += q[0] == 0 && q[1] == 0 && q[2] >= 128;
            red3 += q[0] >= 128 && q[1] == 0 && q[2] == 0;
            white3 += q[0] == 255 && q[1] == 255 && q[2] == 255;
        }
    ck_assert_int_eq(blue3 + red3, 0);
    ck_assert_int_gt(white3, 100);
    /* an all-zero gradient picture is a grey field: its yellow caption says
     * so, not "the plain image" as a map's does (the two footers differ
     * only in that caption) */
    gc_picture fig4 = {0}, fig5 = {0};
    ck_assert_int_eq(gc_figure_overlay(&fig4, &plain, W, H, NULL, NULL, "class 3 - guidedbackprop", 0, 0, 1, 1, &e), 0);
    ck_assert_int_eq(gc_figure_overlay(&fig5, &plain, W, H, NULL, NULL, "class 3 - guidedbackprop", 0, 0, 1, 0, &e), 0);
    ck_assert_int_eq(fig4.h, fig5.h);
    int yellow4 = 0, yellow5 = 0;
    for (int i = 384 * 384; i < fig4.w * fig4.h; ++i) {
        yellow4 += fig4.rgb[i * 3] == 255 && fig4.rgb[i * 3 + 1] == 230 && fig4.rgb[i * 3 + 2] == 0;
        yellow5 += fig5.rgb[i * 3] == 255 && fig5.rgb[i * 3 + 1] == 230 && fig5.rgb[i * 3 + 2] == 0;
    }
    ck_assert_int_gt(yellow4, 100);
    ck_assert_int_gt(yellow5, 100);
    ck_assert(memcmp(fig4.rgb + (size_t)384 * 384 * 3, fig5.rgb + (size_t)384 * 384 * 3,
                     (size_t)(fig4.h - 384) * fig4.w * 3) != 0);
    gc_figure_picture_free(&fig4);
    gc_figure_picture_free(&fig5);
    gc_figure_picture_free(&fig3);
    gc_figure_picture_free(&plain);
    gc_figure_picture_free(&zero);
    gc_figure_picture_free(&fig);
    gc_figure_picture_free(&hot);
    gc_figure_picture_free(&fig2);
    free(img);
    free(heat);
}
END_TEST

/* The summary for 1 and for 50 boxes: the picture fits everything (image,
 * legend, grid), and its legend rows carry every box's colour. */
START_TEST(summary_for_one_to_fifty_boxes)
{
    enum { W = 128, H = 128, N = W * H };
    float *img = calloc(3 * N, sizeof *img);
    gc_err e;
    for (int n = 1; n <= 50; n += 49) {
        gc_summary s;
        ck_assert_int_eq(gc_figure_summary_init(&s, n, W, H, &e), 0);
        gc_picture panel = {0}, out = {0};
        ck_assert_int_eq(gc_figure_panel(&panel, gc_pixels_float(img), W, H, NULL, .5f, NULL, &e), 0);
        for (int k = 0; k < n; ++k) {
            gc_fig_box b = {(k * 13) % 100, (k * 29) % 100, (k * 13) % 100 + 20, (k * 29) % 100 + 25, k % 10};
            char cap[64];
            snprintf(cap, sizeof cap, "%d class %d %d%%", k, k % 10, 50 + k);
            gc_figure_summary_set(&s, k, &panel, &b, cap);
        }
        ck_assert_int_eq(gc_figure_summary_render(&s, gc_pixels_float(img), &out, &e), 0);
        ck_assert_int_ge(out.w, 384);
        /* thumbnails at least 128 px wide, so the grid is readable */
        ck_assert_int_ge(s.tw, 128);
        ck_assert_int_ge(out.h, 384 + s.th);
        /* every box's colour appears in the legend area right of the image */
        for (int k = 0; k < (n < 8 ? n : 8); ++k) {
            unsigned char col[3];
            gc_figure_class_color(k, col);
            int seen = 0;
            for (int yy = 0; yy < 384 && !seen; ++yy)
                for (int xx = 384; xx < out.w && !seen; ++xx) seen = !memcmp(out.rgb + ((size_t)yy * out.w + xx) * 3, col, 3);
            ck_assert_msg(seen || n == 1, "n %d: colour of class %d not in the legend", n, k);
        }
        gc_figure_picture_free(&panel);
        gc_figure_picture_free(&out);
        gc_figure_summary_free(&s);
    }
    free(img);
}
END_TEST

/* A portrait image's thumbnails follow its longer side, as a landscape
 * image's follow its width: 128 px at least, half the picture at most. By
 * the width alone an 8 x 2000 image's were 128 x 32000, and its summary of
 * nine boxes 96000 px tall (a 10 x 40000 one's passed the PNG limit). */
START_TEST(summary_of_a_tall_narrow_image)
{
    enum { W = 8, H = 2000, N = W * H, BOXES = 9 };
    float *img = calloc(3 * N, sizeof *img);
    ck_assert_ptr_nonnull(img);
    gc_err e;
    gc_summary s;
    ck_assert_int_eq(gc_figure_summary_init(&s, BOXES, W, H, &e), 0);
    gc_picture panel = {0}, out = {0};
    ck_assert_int_eq(gc_figure_panel(&panel, gc_pixels_float(img), W, H, NULL, .5f, NULL, &e), 0);
    for (int k = 0; k < BOXES; ++k) {
        gc_fig_box b = {0, k * 200, 7, k * 200 + 150, k};
        gc_figure_summary_set(&s, k, &panel, &b, "box");
    }
    ck_assert_int_eq(gc_figure_summary_render(&s, gc_pixels_float(img), &out, &e), 0);
    ck_assert_int_ge(s.th, 128);
    ck_assert_int_le(s.th, panel.h / 2);
    ck_assert_int_ge(s.tw, 1);
    ck_assert_int_eq(s.th, panel.h / 3); /* three rows of three */
    /* the image, and the grid below it about as tall (three rows and their captions) */
    ck_assert_msg(out.h <= 2 * panel.h + 3 * 64, "summary %d x %d for a %d x %d panel", out.w, out.h, panel.w, panel.h);
    gc_figure_picture_free(&panel);
    gc_figure_picture_free(&out);
    gc_figure_summary_free(&s);
    /* a landscape image keeps the width's rule */
    ck_assert_int_eq(gc_figure_summary_init(&s, BOXES, H, W, &e), 0);
    ck_assert_int_eq(s.th, s.tw * W / H > 0 ? s.tw * W / H : 1);
    ck_assert_int_ge(s.tw, 128);
    gc_figure_summary_free(&s);
    free(img);
}
END_TEST

/* ---- drawing ----------------------------------------------------------------- */

enum { CW = 20, CH = 10, GUARD = 256 };

/* A canvas with sentinel bytes on both sides to catch writes outside it. */
typedef struct canvas {
    unsigned char *mem, *px;
} canvas;

static canvas canvas_new(void)
{
    canvas c;
    c.mem = malloc(CW * CH * 3 + 2 * GUARD);
    ck_assert_ptr_nonnull(c.mem);
    memset(c.mem, 0xAA, CW * CH * 3 + 2 * GUARD);
    c.px = c.mem + GUARD;
    memset(c.px, 0, CW * CH * 3);
    return c;
}

static void canvas_check_free(canvas c)
{
    for (int i = 0; i < GUARD; ++i) {
        ck_assert_int_eq(c.mem[i], 0xAA);
        ck_assert_int_eq(c.px[CW * CH * 3 + i], 0xAA);
    }
    free(c.mem);
}

static int painted(canvas c, int x, int y)
{
    return c.px[(y * CW + x) * 3] != 0;
}

static const unsigned char RED[3] = {255, 0, 0}, WHITE[3] = {255, 255, 255}, BLUE[3] = {0, 0, 200};

START_TEST(draw_box_inside_and_clipped)
{
    canvas c = canvas_new();
    gc_render_box(c.px, CW, CH, 2, 1, 8, 6, 1, RED);
    int n = 0;
    for (int y = 0; y < CH; ++y)
        for (int x = 0; x < CW; ++x) {
            int edge = (x >= 2 && x <= 8 && y >= 1 && y <= 6) && (x == 2 || x == 8 || y == 1 || y == 6);
            ck_assert_msg(painted(c, x, y) == edge, "pixel (%d,%d)", x, y);
            n += edge;
        }
    ck_assert_int_eq(n, 22);
    ck_assert(c.px[(1 * CW + 2) * 3 + 0] == 255 && c.px[(1 * CW + 2) * 3 + 1] == 0);
    canvas_check_free(c);

    /* partly outside, corners given in reverse order, thickness 2: only the
     * bottom edge (rows 3-4, x 0..8) and right edge (cols 7-8, y 0..4) show */
    c = canvas_new();
    gc_render_box(c.px, CW, CH, 8, 4, -5, -5, 2, RED);
    for (int y = 0; y < CH; ++y)
        for (int x = 0; x < CW; ++x) {
            int want = (x <= 8 && y <= 4) && (y >= 3 || x >= 7);
            ck_assert_msg(painted(c, x, y) == want, "pixel (%d,%d)", x, y);
        }
    canvas_check_free(c);

    /* entirely outside, or enclosing the whole image: nothing inside drawn */
    c = canvas_new();
    gc_render_box(c.px, CW, CH, 30, 2, 40, 8, 3, RED);
    gc_render_box(c.px, CW, CH, -100, -100, 100, 100, 2, RED);
    gc_render_box(c.px, CW, CH, -7, -3, -1, 25, 1, RED);
    for (int y = 0; y < CH; ++y)
        for (int x = 0; x < CW; ++x) ck_assert(!painted(c, x, y));
    canvas_check_free(c);
}
END_TEST

START_TEST(draw_text_layout_and_clip)
{
    /* "1" at (2,1), scale 1: background 7x9 at (2..8, 1..9), glyph pixels at
     * (3 + col, 2 + row) exactly where the font has its bits */
    canvas c = canvas_new();
    ck_assert_int_eq(gc_render_text(c.px, CW, CH, 2, 1, "1", 1, WHITE, BLUE), 7);
    const unsigned char *g = gc_render_glyph('1');
    for (int y = 0; y < CH; ++y)
        for (int x = 0; x < CW; ++x) {
            const unsigned char *p = c.px + (y * CW + x) * 3;
            int in_bg = x >= 2 && x <= 8 && y >= 1 && y <= 9;
            int r = y - 2, col = x - 3;
            int fg = r >= 0 && r < 7 && col >= 0 && col < 5 && (g[r] & (0x10 >> col));
            if (fg) ck_assert(memcmp(p, WHITE, 3) == 0);
            else if (in_bg) ck_assert(memcmp(p, BLUE, 3) == 0);
            else ck_assert(p[0] == 0 && p[1] == 0 && p[2] == 0);
        }
    canvas_check_free(c);

    /* scaled and partly outside on every side: clipped, no stray writes */
    c = canvas_new();
    ck_assert_int_eq(gc_render_text(c.px, CW, CH, -4, -6, "dog 98.5%", 2, WHITE, BLUE), (6 * 9 + 1) * 2);
    gc_render_text(c.px, CW, CH, 15, 5, "(cat_1): a/b-c", 3, WHITE, BLUE);
    gc_render_text(c.px, CW, CH, 100, 100, "far away", 1, WHITE, BLUE);
    int fg = 0;
    for (int i = 0; i < CW * CH; ++i) fg += c.px[i * 3 + 1] == 255;
    ck_assert(fg > 0);
    canvas_check_free(c);

    /* non-printable characters are drawn as '?' */
    ck_assert_ptr_eq(gc_render_glyph('\t'), gc_render_glyph('?'));
    ck_assert_ptr_eq(gc_render_glyph(200), gc_render_glyph('?'));
    c = canvas_new();
    ck_assert_int_eq(gc_render_text(c.px, CW, CH, 0, 0, "", 1, WHITE, BLUE), 1);
    canvas_check_free(c);
    /* a UTF-8 character is one '?' (the font is ASCII; each byte had been
     * one): "caf\u00e9 \u72d7" is drawn as "caf? ?", 6 cells; bytes that
     * start no whole sequence (Latin-1 0xe9, a cut "\xe7\x8b") are a '?'
     * each */
    const char *utf8 = "caf\xc3\xa9 \xe7\x8b\x97", *latin1 = "caf\xe9 \xe7\x8b";
    ck_assert_int_eq(gc_render_text_width(utf8, 1), 6 * 6 + 1);
    ck_assert_int_eq(gc_render_text_width(latin1, 1), 6 * 7 + 1);
    canvas a = canvas_new(), b = canvas_new();
    ck_assert_int_eq(gc_render_text(a.px, CW, CH, 1, 1, utf8, 1, WHITE, BLUE), 6 * 6 + 1);
    gc_render_text(b.px, CW, CH, 1, 1, "caf? ?", 1, WHITE, BLUE);
    ck_assert(memcmp(a.px, b.px, (size_t)CW * CH * 3) == 0);
    canvas_check_free(a);
    canvas_check_free(b);
    a = canvas_new(), b = canvas_new();
    ck_assert_int_eq(gc_render_text(a.px, CW, CH, 1, 1, latin1, 1, WHITE, BLUE), 6 * 7 + 1);
    gc_render_text(b.px, CW, CH, 1, 1, "caf? ??", 1, WHITE, BLUE);
    ck_assert(memcmp(a.px, b.px, (size_t)CW * CH * 3) == 0);
    canvas_check_free(a);
    canvas_check_free(b);
}
END_TEST

/* Legibility proxies for the glyph table: blank space, every other glyph has
 * ink, bits only in the 5 columns, and no two characters look the same. */
START_TEST(font_glyphs_distinct)
{
    for (int ch = 32; ch <= 126; ++ch) {
        const unsigned char *g = gc_render_glyph(ch);
        int ink = 0;
        for (int r = 0; r < 7; ++r) {
            ck_assert_int_eq(g[r] & ~0x1F, 0);
            ink += g[r] != 0;
        }
        if (ch == ' ') ck_assert_int_eq(ink, 0);
        else ck_assert_msg(ink > 0, "glyph '%c' is empty", ch);
        for (int o = 32; o < ch; ++o)
            ck_assert_msg(memcmp(g, gc_render_glyph(o), 7) != 0, "'%c' looks like '%c'", ch, o);
    }
    /* spot-check shapes: '1' has a vertical stem, '-' one full row, '_' the
     * bottom row, '.' only the bottom rows */
    const unsigned char *one = gc_render_glyph('1');
    for (int r = 0; r < 6; ++r) ck_assert(one[r] & 0x04);
    ck_assert_int_eq(gc_render_glyph('-')[3], 0x1F);
    ck_assert_int_eq(gc_render_glyph('_')[6], 0x1F);
    for (int r = 0; r < 5; ++r) ck_assert_int_eq(gc_render_glyph('.')[r], 0);
}
END_TEST

/* An overlay drawn in place (the panel in its own top rows) is the same
 * picture as a panel made apart and copied in. */
START_TEST(overlay_in_place_is_the_same_picture)
{
    const int W = 37, H = 23;
    float *img = malloc(3 * W * H * sizeof *img), *heat = malloc(W * H * sizeof *heat);
    for (int i = 0; i < 3 * W * H; ++i) img[i] = (float)((i * 37) % 101) / 100.0f;
    for (int i = 0; i < W * H; ++i) heat[i] = (float)((i * 13) % 17) / 16.0f;
    gc_fig_box box = {3, 4, 30, 20, 2};
    for (int v = 0; v < 4; ++v) {
        const gc_fig_box *b = v & 1 ? &box : NULL;
        const float *ht = v == 3 ? NULL : heat;
        gc_err e;
        gc_picture panel, ref, fig;
        ck_assert_int_eq(gc_figure_panel(&panel, gc_pixels_float(img), W, H, ht, .5f, b, &e), 0);
        ck_assert_int_eq(gc_figure_overlay(&ref, &panel, W, H, b, "0 bag 81%", "box 0 bag 81% - gradcam", 0.1f, 2.5f,
                                           v == 2, v == 3, &e), 0);
        ck_assert_int_eq(gc_figure_overlay_begin(&fig, W, H, "box 0 bag 81% - gradcam", 0.1f, 2.5f, v == 2, v == 3, &e), 0);
        gc_picture top = {fig.rgb, fig.w, panel.h};
        gc_figure_panel_into(&top, gc_pixels_float(img), W, H, ht, .5f, b, NULL);
        gc_figure_overlay_finish(&fig, W, H, b, "0 bag 81%", "box 0 bag 81% - gradcam", 0.1f, 2.5f, v == 2, v == 3);
        ck_assert_int_eq(fig.w, ref.w);
        ck_assert_int_eq(fig.h, ref.h);
        ck_assert_msg(!memcmp(fig.rgb, ref.rgb, (size_t)fig.w * fig.h * 3), "variant %d", v);
        gc_figure_picture_free(&panel);
        gc_figure_picture_free(&ref);
        gc_figure_picture_free(&fig);
    }
    free(img);
    free(heat);
}
END_TEST

/* An image's 8-bit bytes draw the same pictures as Darknet's float image of
 * them (gc_dnimage_from_rgb's): overlays at scale 1 and scaled up (the heat
 * at the image's size, blended a row at a time, and over every f), panels
 * with and without a heat, a summary, and the sheet's resize. */
START_TEST(bytes_draw_what_their_floats_draw)
{
    static const int sizes[][2] = {{37, 23}, {5, 3}, {130, 61}, {1, 1}};
    uint64_t r = 23;
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; ++t) {
        int w = sizes[t][0], h = sizes[t][1];
        size_t px = (size_t)w * h;
        unsigned char *b = malloc(3 * px);
        float *heat = malloc(px * sizeof *heat);
        ck_assert(b && heat);
        for (size_t i = 0; i < 3 * px; ++i) b[i] = (unsigned char)(gc_rng_unit(&r) * 256);
        for (size_t i = 0; i < px; ++i) heat[i] = i % 7 ? gc_rng_unit(&r) : 0;
        image f;
        ck_assert_int_eq(gc_dnimage_from_rgb(b, w, h, &f), 1);
        gc_pixels pb = gc_pixels_bytes(b), pf = gc_pixels_float(f.data);
        unsigned char *o1 = malloc(3 * px * 64 * 64), *o2 = malloc(3 * px * 64 * 64);
        ck_assert(o1 && o2);
        gc_render_overlay_px(pb, w, h, heat, .6f, o1);
        gc_render_overlay(f.data, w, h, heat, .6f, o2);
        ck_assert(!memcmp(o1, o2, 3 * px));
        for (int k = 2; k <= 5; k += 3) {
            size_t n = 3 * px * (size_t)k * k;
            gc_render_overlay_scaled_up_rows_px(pb, w, h, k, heat, .45f, o1, 0, (size_t)h * k);
            gc_render_overlay_scaled_up_rows(f.data, w, h, k, heat, .45f, o2, 0, (size_t)h * k);
            ck_assert_msg(!memcmp(o1, o2, n), "%dx%d, f %d", w, h, k);
        }
        gc_err e = {0};
        gc_fig_box box = {0, 0, w - 1, h - 1, 3};
        for (int hot = 0; hot < 2; ++hot) {
            gc_picture a = {0}, c = {0};
            ck_assert_int_eq(gc_figure_panel(&a, pb, w, h, hot ? heat : NULL, .5f, &box, &e), 0);
            ck_assert_int_eq(gc_figure_panel(&c, pf, w, h, hot ? heat : NULL, .5f, &box, &e), 0);
            ck_assert(a.w == c.w && a.h == c.h && !memcmp(a.rgb, c.rgb, (size_t)a.w * a.h * 3));
            gc_figure_picture_free(&a);
            gc_figure_picture_free(&c);
        }
        gc_summary s1, s2;
        ck_assert_int_eq(gc_figure_summary_init(&s1, 1, w, h, &e), 0);
        ck_assert_int_eq(gc_figure_summary_init(&s2, 1, w, h, &e), 0);
        gc_picture th = {0}, a = {0}, c = {0};
        ck_assert_int_eq(gc_figure_panel(&th, pf, w, h, heat, .5f, &box, &e), 0);
        gc_figure_summary_set(&s1, 0, &th, &box, "0 dog 91%");
        gc_figure_summary_set(&s2, 0, &th, &box, "0 dog 91%");
        ck_assert_int_eq(gc_figure_summary_render(&s1, pb, &a, &e), 0);
        ck_assert_int_eq(gc_figure_summary_render(&s2, pf, &c, &e), 0);
        ck_assert(a.w == c.w && a.h == c.h && !memcmp(a.rgb, c.rgb, (size_t)a.w * a.h * 3));
        gc_figure_picture_free(&th);
        gc_figure_picture_free(&a);
        gc_figure_picture_free(&c);
        gc_figure_summary_free(&s1);
        gc_figure_summary_free(&s2);
        const int out[][2] = {{3, 2}, {w * 3, h * 2}, {(w + 1) / 2, (h + 1) / 2}};
        for (int k = 0; k < 3; ++k) {
            size_t n = 3 * (size_t)out[k][0] * out[k][1];
            float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
            ck_assert(x && y);
            gc_sheet_resize_rgb(b, w, h, x, out[k][0], out[k][1]);
            gc_sheet_resize_planar(f.data, w, h, 3, y, out[k][0], out[k][1]);
            ck_assert(!memcmp(x, y, n * sizeof *x));
            free(x);
            free(y);
        }
        free(o1);
        free(o2);
        free_image(f);
        free(b);
        free(heat);
    }
}
END_TEST

Suite *suite_render(void)
{
    Suite *s = suite_create("render");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, letterbox_geometry_by_hand);
    tcase_add_test(tc, overlay_in_place_is_the_same_picture);
    tcase_add_test(tc, bytes_draw_what_their_floats_draw);
    tcase_add_test(tc, letterbox_matches_darknet);
    tcase_add_test(tc, letterbox_of_a_net_sized_image_is_the_image);
    tcase_add_test(tc, inverse_letterbox_places_hot_cell);
    tcase_add_test(tc, letterbox_round_trip);
    tcase_add_test(tc, map_covers_the_crop_window);
    tcase_add_test(tc, map_to_display_is_the_resized_image_map);
    tcase_add_test(tc, resize_constant_and_ramp_exact);
    tcase_add_test(tc, separable_resampling_equals_per_pixel);
    tcase_add_test(tc, resize_rgb_equals_per_pixel);
    tcase_add_test(tc, normalize_minmax);
    tcase_add_test(tc, colormap_jet_endpoints_and_hue);
    tcase_add_test(tc, overlay_blend);
    tcase_add_test(tc, overlay_scaled_equals_overlay_of_scaled_up);
    tcase_add_test(tc, overlay_scaled_up_rows_equal_resize_then_overlay);
    tcase_add_test(tc, draw_box_inside_and_clipped);
    tcase_add_test(tc, summary_of_a_tall_narrow_image);
    tcase_add_test(tc, draw_text_layout_and_clip);
    tcase_add_test(tc, font_glyphs_distinct);
    tcase_add_test(tc, overlay_untinted_where_map_is_zero);
    tcase_add_test(tc, overlay_within_one_of_the_double_formula);
    tcase_add_test(tc, overlay_avx2_equals_sse2);
    tcase_add_test(tc, heat_scale_keeps_zero_and_flags_all_zero);
    tcase_add_test(tc, display_scale_rule);
    tcase_add_test(tc, resize_rgb_mean_and_nearest);
    tcase_add_test(tc, resize_rgb_equals_the_box_mean);
    tcase_add_test(tc, labels_inside_and_disjoint);
    tcase_add_test(tc, labels_at_edges_and_beside_other_boxes);
    tcase_add_test(tc, figure_overlay_all_zero_and_colour_bar);
    tcase_add_test(tc, narrow_overlay_wraps_its_footer);
    tcase_add_test(tc, summary_for_one_to_fifty_boxes);
    suite_add_tcase(s, tc);
    return s;
}
