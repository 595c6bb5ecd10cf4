#include "gc_sheet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_render.h"

void gc_sheet_gradient_rgb(const float *planar, int w, int h, unsigned char *rgb)
{
    size_t npx = (size_t)w * (size_t)h, n = 3 * npx;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; ++i) sum += planar[i];
    double mean = n ? sum / (double)n : 0;
    for (size_t i = 0; i < n; ++i) sq += (planar[i] - mean) * (planar[i] - mean);
    double sd = n ? sqrt(sq / (double)n) : 0;
    for (size_t p = 0; p < npx; ++p)
        for (int c = 0; c < 3; ++c) {
            double v = (planar[(size_t)c * npx + p] - mean) / (sd + 1e-5) * 0.1 + 0.5;
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            rgb[p * 3 + (size_t)c] = (unsigned char)(v * 255 + .5);
        }
}

void gc_sheet_panel_size(int w, int h, int *pw, int *ph)
{
    int big = w > h ? w : h;
    double sc = (double)GC_SHEET_PANEL / (big > 0 ? big : 1);
    if (sc >= 1) sc = floor(sc); /* crisp integer upscale for small scenes */
    *pw = (int)lround(w * sc);
    *ph = (int)lround(h * sc);
    if (*pw < 1) *pw = 1;
    if (*ph < 1) *ph = 1;
}

/* Source span [lo, hi) of output index o along an axis of n -> m pixels. */
static void span(int o, int n, int m, int *lo, int *hi)
{
    *lo = (int)((long)o * n / m);
    *hi = (int)((long)(o + 1) * n / m);
    if (*hi <= *lo) { /* enlarging: the pixel under the centre */
        *lo = (int)(((long)o * 2 + 1) * n / (2L * m));
        if (*lo >= n) *lo = n - 1;
        *hi = *lo + 1;
    }
}

void gc_sheet_resize_planar(const float *in, int iw, int ih, int c, float *out, int ow, int oh)
{
    for (int y = 0; y < oh; ++y) {
        int y0, y1;
        span(y, ih, oh, &y0, &y1);
        for (int x = 0; x < ow; ++x) {
            int x0, x1;
            span(x, iw, ow, &x0, &x1);
            for (int k = 0; k < c; ++k) {
                double acc = 0;
                for (int yy = y0; yy < y1; ++yy)
                    for (int xx = x0; xx < x1; ++xx) acc += in[((size_t)k * ih + yy) * iw + xx];
                out[((size_t)k * oh + y) * ow + x] = (float)(acc / ((double)(y1 - y0) * (x1 - x0)));
            }
        }
    }
}

void gc_sheet_resize_rgb(const unsigned char *in, int iw, int ih, float *out, int ow, int oh)
{
    size_t op = (size_t)ow * (size_t)oh;
    for (int y = 0; y < oh; ++y) {
        int y0, y1;
        span(y, ih, oh, &y0, &y1);
        for (int x = 0; x < ow; ++x) {
            int x0, x1;
            span(x, iw, ow, &x0, &x1);
            for (int k = 0; k < 3; ++k) {
                double acc = 0;
                for (int yy = y0; yy < y1; ++yy)
                    for (int xx = x0; xx < x1; ++xx) acc += gc_byte_value[in[((size_t)yy * iw + xx) * 3 + (size_t)k]];
                out[(size_t)k * op + (size_t)y * ow + x] = (float)(acc / ((double)(y1 - y0) * (x1 - x0)));
            }
        }
    }
}

#define NPANELS 5
#define MARGIN 8
#define TEXT_SCALE 2

static void to_rgb(const float *img, int w, int h, unsigned char *rgb)
{
    size_t npx = (size_t)w * h;
    for (size_t p = 0; p < npx; ++p)
        for (int c = 0; c < 3; ++c) {
            float v = img[(size_t)c * npx + p];
            rgb[p * 3 + (size_t)c] = (unsigned char)(v <= 0 ? 0 : v >= 1 ? 255 : v * 255 + .5f);
        }
}

/* Text that fits in width px: cut with "..." when it does not. */
static void fit_text(const char *in, int width, int scale, char *out, size_t n)
{
    int maxc = width / (GC_FONT_CELL_W * scale);
    snprintf(out, n, "%s", in);
    if (maxc >= 4 && (int)strlen(out) > maxc) {
        out[maxc - 3] = '.', out[maxc - 2] = '.', out[maxc - 1] = '.';
        out[maxc] = '\0';
    } else if (maxc < 4 && (int)strlen(out) > maxc) {
        out[maxc > 0 ? maxc : 0] = '\0';
    }
}

/* One explanation drawn at the display size: a heat overlay, or the
 * normalised input-level result. */
static int panel(gc_session *s, const gc_subject *t, const gc_explain_opts *o, int dw, int dh, const float *img,
                 float *heat, float *grad, unsigned char *rgb, gc_err *e)
{
    gc_map m;
    if (gc_explain_target(s, t, o, &m, e)) return -1;
    size_t dpx = (size_t)dw * dh, npx = (size_t)s->net->w * s->net->h;
    if (m.image) {
        for (int c = 0; c < 3 && c < m.image_c; ++c)
            gc_render_input_to_display(m.image + c * npx, &s->lb, dw, dh, grad + c * dpx);
        for (int c = m.image_c; c < 3; ++c) memcpy(grad + c * dpx, grad, dpx * sizeof *grad);
        gc_sheet_gradient_rgb(grad, dw, dh, rgb);
    } else {
        gc_render_map_to_display(m.data, m.w, m.h, &s->lb, dw, dh, heat);
        gc_render_normalize(heat, dpx);
        gc_render_overlay(img, dw, dh, heat, o->alpha > 0 ? o->alpha : .5f, rgb);
    }
    return 0;
}

int gc_sheet_write(gc_session *s, const gc_subject *t, const gc_explain_opts *o, const char *label, const int *box,
                   const char *path, gc_err *e)
{
    int W = s->orig.w, H = s->orig.h, dw, dh;
    gc_sheet_panel_size(W, H, &dw, &dh);
    size_t dpx = (size_t)dw * dh;

    int title_h = (GC_FONT_CELL_H + 1) * TEXT_SCALE + 6, head_h = (GC_FONT_CELL_H + 1) * TEXT_SCALE + 10;
    int bar_h = 14, foot_h = bar_h + (GC_FONT_CELL_H + 1) * TEXT_SCALE + 12;
    int SW = NPANELS * dw + (NPANELS + 1) * MARGIN, SH = head_h + title_h + dh + foot_h + MARGIN;
    float *img = malloc(3 * dpx * sizeof *img), *heat = malloc(dpx * sizeof *heat), *grad = malloc(3 * dpx * sizeof *grad);
    unsigned char *pan = malloc(3 * dpx), *sheet = malloc((size_t)SW * SH * 3);
    int rc = -1;
    if (!img || !heat || !grad || !pan || !sheet) {
        gc_fail(e, "out of memory for the sheet %s", path);
        goto done;
    }
    memset(sheet, 24, (size_t)SW * SH * 3);
    gc_sheet_resize_rgb(s->orig_rgb, W, H, img, dw, dh);

    static const char *const titles[NPANELS] = {"Image", "Grad-CAM", "Guided Backprop", "Guided Grad-CAM",
                                                "Counterfactual"};
    const gc_method methods[NPANELS] = {GC_METHOD_COUNT, GC_METHOD_GRADCAM, GC_METHOD_GUIDEDBACKPROP,
                                        GC_METHOD_GUIDEDGRADCAM, GC_METHOD_GRADCAM};
    const unsigned char white[3] = {235, 235, 235}, bg[3] = {24, 24, 24}, yellow[3] = {255, 220, 0};
    char text[512], fitted[512];
    for (int k = 0; k < NPANELS; ++k) {
        if (k == 0) {
            to_rgb(img, dw, dh, pan);
            if (box) {
                /* box[] names the first and the last pixel inside the box,
                 * as the overlay and the summary draw it: the outline ends at
                 * the far side of pixels r and b (r * dw / W is their near
                 * side: a small image's box, scaled up f times, had been
                 * drawn f - 1 display pixels short on the right and below) */
                int l = (int)((long)box[0] * dw / W), tp = (int)((long)box[1] * dh / H);
                int r = (int)(((long)box[2] + 1) * dw / W) - 1, b = (int)(((long)box[3] + 1) * dh / H) - 1;
                if (r < l) r = l;
                if (b < tp) b = tp;
                gc_render_box(pan, dw, dh, l, tp, r, b, dw >= 200 ? 2 : 1, yellow);
            }
        } else {
            gc_explain_opts one = *o;
            one.method = methods[k];
            one.counterfactual = k == 4;
            one.sheet = 0;
            if (panel(s, t, &one, dw, dh, img, heat, grad, pan, e)) goto done;
        }
        int x0 = MARGIN + k * (dw + MARGIN), y0 = head_h + title_h;
        for (int y = 0; y < dh; ++y)
            memcpy(sheet + ((size_t)(y0 + y) * SW + x0) * 3, pan + (size_t)y * dw * 3, (size_t)dw * 3);
        fit_text(titles[k], dw, TEXT_SCALE, fitted, sizeof fitted);
        gc_render_text(sheet, SW, SH, x0, head_h + 2, fitted, TEXT_SCALE, white, bg);
    }
    /* header: the target, the layers, the score explained */
    {
        int layers[GC_MAX_LAYERS], n = gc_explain_layers(s, t, o, layers, e);
        if (n < 0) goto done;
        int len = snprintf(text, sizeof text, "%s | layer", label ? label : "");
        for (int j = 0; j < n && len < (int)sizeof text; ++j)
            len += snprintf(text + len, sizeof text - (size_t)len, "%s%d", j ? "," : " ", layers[j]);
        if (t->det && len < (int)sizeof text)
            snprintf(text + len, sizeof text - (size_t)len, " | target %s", gc_detect_target_name(o->target));
        fit_text(text, SW - 2 * MARGIN, TEXT_SCALE, fitted, sizeof fitted);
        gc_render_text(sheet, SW, SH, MARGIN, 6, fitted, TEXT_SCALE, yellow, bg);
    }
    /* colour bar for the two heat panels, and the gradient panels' key */
    {
        int by = head_h + title_h + dh + 8, bx = MARGIN + dw + MARGIN, bw = dw;
        for (int x = 0; x < bw; ++x) {
            unsigned char c[3];
            gc_render_jet((float)x / (float)(bw > 1 ? bw - 1 : 1), c);
            for (int y = 0; y < bar_h; ++y) memcpy(sheet + ((size_t)(by + y) * SW + bx + x) * 3, c, 3);
        }
        int ty = by + bar_h + 3;
        gc_render_text(sheet, SW, SH, bx, ty, "0", TEXT_SCALE, white, bg);
        if (bw >= 3 * GC_FONT_CELL_W * TEXT_SCALE) /* a bar too narrow for both ends' labels has its 0 alone */
            gc_render_text(sheet, SW, SH, bx + bw - GC_FONT_CELL_W * TEXT_SCALE - 2, ty, "1", TEXT_SCALE, white, bg);
        fit_text("normalised", dw - 4 * GC_FONT_CELL_W * TEXT_SCALE, TEXT_SCALE, fitted, sizeof fitted);
        gc_render_text(sheet, SW, SH, bx + 2 * GC_FONT_CELL_W * TEXT_SCALE, ty, fitted, TEXT_SCALE, white, bg);
        fit_text("grey: zero gradient", 2 * dw, TEXT_SCALE, fitted, sizeof fitted);
        gc_render_text(sheet, SW, SH, MARGIN + 2 * (dw + MARGIN), by, fitted, TEXT_SCALE, white, bg);
        /* within the sheet (a narrow sheet had cut it mid-letter at its edge) */
        fit_text("opposes the target", SW - MARGIN - (MARGIN + 4 * (dw + MARGIN)), TEXT_SCALE, fitted, sizeof fitted);
        gc_render_text(sheet, SW, SH, MARGIN + 4 * (dw + MARGIN), by, fitted, TEXT_SCALE, white, bg);
    }
    rc = gc_explain_write_png(s, path, SW, SH, sheet, e);
done:
    free(img);
    free(heat);
    free(grad);
    free(pan);
    free(sheet);
    return rc;
}
