#include "gc_figure.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char BLACK[3] = {0, 0, 0}, WHITE[3] = {255, 255, 255}, DARK[3] = {32, 32, 32},
                           YELLOW[3] = {255, 230, 0};

unsigned char *gc_figure_picture_take(gc_picture *p)
{
    unsigned char *rgb = p->rgb;
    p->rgb = NULL;
    return rgb;
}

void gc_figure_picture_free(gc_picture *p)
{
    free(p->rgb);
    memset(p, 0, sizeof *p);
}

/* A w x h picture whose rows [from, h) are filled with fill; the caller
 * draws every pixel of the rows above (a panel's overlay, or a panel blitted
 * whole over them: filling them first had been a second write of each). */
static int picture_alloc_from(gc_picture *p, int w, int h, int from, const unsigned char fill[3], gc_err *e)
{
    size_t n;
    memset(p, 0, sizeof *p);
    if (w <= 0 || h <= 0 || gc_size_mul((size_t)w, (size_t)h, &n) || gc_size_mul(n, 3, &n))
        return gc_fail(e, "picture of %dx%d pixels: too large", w, h);
    if (!(p->rgb = malloc(n))) return gc_fail(e, "out of memory for a %dx%d picture", w, h);
    p->w = w;
    p->h = h;
    if (from >= h) return 0;
    unsigned char *q = p->rgb + (size_t)from * (size_t)w * 3;
    n -= (size_t)from * (size_t)w * 3;
    if (fill[0] == fill[1] && fill[1] == fill[2]) {
        memset(q, fill[0], n);
        return 0;
    }
    /* one pixel, then doubling copies: a few memcpy calls, not one per pixel */
    memcpy(q, fill, 3);
    for (size_t done = 3; done < n;) {
        size_t k = done < n - done ? done : n - done;
        memcpy(q + done, q, k);
        done += k;
    }
    return 0;
}

/* Copies src (sw x sh) into dst at (x, y), clipped: one memcpy per row. */
static void blit(gc_picture *dst, int x, int y, const unsigned char *src, int sw, int sh)
{
    int c0 = x < 0 ? -x : 0, c1 = x + sw > dst->w ? dst->w - x : sw; /* source columns [c0, c1) */
    if (c1 <= c0) return;
    for (int r = 0; r < sh; ++r) {
        int dy = y + r;
        if (dy < 0 || dy >= dst->h) continue;
        memcpy(dst->rgb + ((size_t)dy * dst->w + x + c0) * 3, src + ((size_t)r * sw + c0) * 3, (size_t)(c1 - c0) * 3);
    }
}

void gc_figure_class_color(int cls, unsigned char rgb[3])
{
    /* evenly spread hues, bright enough for black text */
    static const unsigned char pal[8][3] = {{255, 96, 96}, {96, 220, 96}, {110, 160, 255}, {255, 200, 0},
                                            {255, 96, 255}, {0, 225, 225}, {255, 150, 40}, {180, 140, 255}};
    memcpy(rgb, pal[(cls < 0 ? -cls : cls) % 8], 3);
}

int gc_figure_fit_text(const char *text, int max_w, int max_scale, char *buf, size_t n)
{
    assert(n >= 4);
    snprintf(buf, n, "%s", text);
    for (int sc = max_scale; sc >= 1; --sc)
        if (gc_render_text_width(buf, sc) <= max_w) return sc;
    size_t len = strlen(buf);
    while (len > 0 && gc_render_text_width(buf, 1) > max_w) {
        --len;
        buf[len] = '\0';
        if (len >= 2) {
            buf[len - 2] = buf[len - 1] = '.';
        }
    }
    return 1;
}

/* The box in display pixels (factor f). */
static gc_rect display_box(const gc_fig_box *b, int f)
{
    gc_rect r = {b->l * f, b->t * f, (b->r - b->l + 1) * f, (b->b - b->t + 1) * f};
    return r;
}

typedef struct overlay_job {
    gc_pixels img;
    const float *heat;
    int w, h, f;
    float alpha;
    unsigned char *rgb;
} overlay_job;

static void overlay_rows(void *arg, size_t y0, size_t y1)
{
    const overlay_job *j = arg;
    if (j->f == 1) gc_render_overlay_scaled_rows_px(j->img, j->w, j->h, 1, j->heat, j->alpha, j->rgb, y0, y1);
    else gc_render_overlay_scaled_up_rows_px(j->img, j->w, j->h, j->f, j->heat, j->alpha, j->rgb, y0, y1);
}

int gc_figure_panel(gc_picture *out, gc_pixels img, int w, int h, const float *heat, float alpha,
                    const gc_fig_box *box, gc_err *e)
{
    return gc_figure_panel_par(out, img, w, h, heat, alpha, box, NULL, e);
}

int gc_figure_panel_par(gc_picture *out, gc_pixels img, int w, int h, const float *heat, float alpha,
                        const gc_fig_box *box, const gc_png_par *par, gc_err *e)
{
    int f = gc_render_display_scale(w, h);
    if (picture_alloc_from(out, w * f, h * f, h * f, BLACK, e)) return -1; /* every pixel drawn below */
    gc_figure_panel_into(out, img, w, h, heat, alpha, box, par);
    return 0;
}

/* An image value (0..1) as a byte, rounded. */
static inline unsigned char panel_byte(float v)
{
    return (unsigned char)(v <= 0 ? 0 : v >= 1 ? 255 : v * 255 + .5f);
}

void gc_figure_panel_into(gc_picture *out, gc_pixels img, int w, int h, const float *heat, float alpha,
                          const gc_fig_box *box, const gc_png_par *par)
{
    int f = gc_render_display_scale(w, h), W = w * f, H = h * f;
    assert(out->w == W && out->h >= H);
    size_t n0 = (size_t)w * h;
    if (heat) {
        /* the heat scaled up bilinearly row by row, the image by nearest
         * neighbour, in the overlay (no scaled-up copy of either); rows
         * shared out through par (the forward's threads, idle between
         * passes): each row's bytes are the same whoever draws it */
        overlay_job j = {img, heat, w, h, f, alpha, out->rgb};
        if (par && par->run) par->run(par->ctx, (size_t)H, (size_t)W * 20, overlay_rows, &j);
        else overlay_rows(&j, 0, (size_t)H);
    } else {
        /* each source pixel's bytes, worked out once and repeated f x f: the
         * first row of each f written pixel by pixel, the others copied.
         * A pixel is one 4-byte store whose 4th byte the next pixel
         * overwrites, but the row's last (3-byte copies had been most of
         * a summary's image panel) */
        size_t last = (size_t)W - 1;
        unsigned char bytes[256]; /* panel_byte of each 8-bit pixel's value */
        if (img.rgb)
            for (int b = 0; b < 256; ++b) bytes[b] = panel_byte(gc_byte_value[b]);
        for (size_t sy = 0; sy < (size_t)h; ++sy) {
            const float *src = img.f ? img.f + sy * (size_t)w : NULL;
            const unsigned char *bsrc = img.rgb ? img.rgb + sy * (size_t)w * 3 : NULL;
            unsigned char *o = out->rgb + sy * (size_t)f * (size_t)W * 3;
            for (size_t sx = 0; sx < (size_t)w; ++sx) {
                unsigned char px[4] = {0};
                if (src) {
                    px[0] = panel_byte(src[sx]), px[1] = panel_byte(src[n0 + sx]), px[2] = panel_byte(src[2 * n0 + sx]);
                } else {
                    const unsigned char *b = bsrc + 3 * sx;
                    px[0] = bytes[b[0]], px[1] = bytes[b[1]], px[2] = bytes[b[2]];
                }
                uint32_t p; /* px in a register: byte stores read back as a word stall the load */
                memcpy(&p, px, 4);
                size_t x = sx * (size_t)f, x1 = x + (size_t)f;
                for (; x < x1 && x < last; ++x) memcpy(o + x * 3, &p, 4);
                if (x < x1) memcpy(o + x * 3, &p, 3);
            }
            for (int r = 1; r < f; ++r) memcpy(o + (size_t)r * W * 3, o, (size_t)W * 3);
        }
    }
    if (box) {
        unsigned char col[3];
        gc_figure_class_color(box->cls, col);
        gc_rect r = display_box(box, f);
        gc_render_box(out->rgb, W, H, r.x, r.y, r.x + r.w - 1, r.y + r.h - 1, gc_render_line_width(W, H), col);
    }
}

/* The overlay's footer below a panel of W x H display pixels, laid out
 * once (for the picture's height and for drawing): rows of text items and
 * the colour bar. The title takes one row, or two (split after " - ") when
 * one row would need a smaller text; then the colour bar "lo [bar] hi", the
 * all-zero note or the gradient's key. A line too wide for the picture even
 * at scale 1 (a narrow, tall image, which is not enlarged) is wrapped at its
 * spaces onto more rows rather than cut, so that a 60-px-wide overlay still
 * shows its class's probability; where the bar leaves no room for its
 * labels beside it, they take a row below it. */
enum { FOOT_ROWS = 32, FOOT_ITEMS = 40, WRAP_ROWS = 8 };

typedef struct foot_item {
    int row, x, sc, bar, bar_w; /* bar: the colour bar, bar_w px wide (none at 0 or less), no text */
    const unsigned char *fg, *bg;
    char text[256];
} foot_item;

typedef struct footer {
    int ts, pad, th, rows, h, n;
    foot_item it[FOOT_ITEMS];
} footer;

static void foot_add(footer *ft, int row, int x, const char *text, int sc, int bar, int bar_w,
                     const unsigned char *fg, const unsigned char *bg)
{
    if (ft->n == FOOT_ITEMS || row >= FOOT_ROWS) return;
    foot_item *t = &ft->it[ft->n++];
    *t = (foot_item){row, x, sc, bar, bar_w, fg, bg, ""};
    snprintf(t->text, sizeof t->text, "%s", text ? text : "");
    if (row + 1 > ft->rows) ft->rows = row + 1;
}

/* text on the next rows, within max_w: at the largest scale up to max_sc
 * that fits on one row, else wrapped at scale 1 onto at most WRAP_ROWS rows
 * (a word wider than a row cut, ending in ".."; past the last row, the rest
 * cut). Rows of under 4 characters are not worth wrapping onto: there the
 * text is cut on one row. */
static void foot_text(footer *ft, const char *text, int max_w, int max_sc, const unsigned char *fg,
                      const unsigned char *bg)
{
    char buf[256];
    int sc = gc_figure_fit_text(text, max_w, max_sc, buf, sizeof buf);
    int per_row = max_w > 1 ? (max_w - 1) / GC_FONT_CELL_W : 0; /* characters a row holds at scale 1 */
    if (!strcmp(buf, text) || per_row < 4) {
        foot_add(ft, ft->rows, ft->pad, buf, sc, 0, 0, fg, bg);
        return;
    }
    const char *p = text;
    while (*p == ' ') ++p;
    for (int r = 0; *p; ++r) {
        int row = ft->rows;
        size_t take = 0, n = strlen(p);
        while (n > 0 && p[n - 1] == ' ') --n; /* trailing spaces are no text to cut */
        if (n <= (size_t)per_row) take = n;
        else {
            for (size_t i = 1; i <= (size_t)per_row; ++i)
                if (p[i] == ' ') take = i; /* the last space a row can end at */
            if (!take) take = (size_t)per_row; /* one word wider than the row: cut it */
        }
        int last = (r + 1 == WRAP_ROWS || row + 1 == FOOT_ROWS) && take < n;
        snprintf(buf, sizeof buf, "%.*s", (int)(take < sizeof buf - 1 ? take : sizeof buf - 1), p);
        if ((take < n && p[take] != ' ') || last) { /* cut: say so */
            size_t k = strlen(buf);
            if (take < n && p[take] == ' ' && k + 3 <= (size_t)per_row)
                snprintf(buf + k, sizeof buf - k, " .."); /* after whole words, where they leave room */
            else if (k >= 2) buf[k - 2] = buf[k - 1] = '.';
            if (take < n && p[take] != ' ')
                while (p[take] && p[take] != ' ') ++take; /* the rest of the cut word goes */
        }
        foot_add(ft, row, ft->pad, buf, 1, 0, 0, fg, bg);
        if (last) break;
        p += take;
        while (*p == ' ') ++p;
    }
}

static void footer_layout(footer *ft, int W, int H, const char *title, float lo, float hi, int all_zero, int gradient)
{
    memset(ft, 0, offsetof(footer, it));
    ft->ts = gc_render_text_scale(W, H);
    ft->pad = ft->ts;
    ft->th = gc_render_text_height(ft->ts);
    int ts = ft->ts, pad = ft->pad, aw = W - 2 * pad; /* the width text may take */
    if (!title) title = "";
    const char *dash = strstr(title, " - ");
    if (gc_render_text_width(title, ts) <= aw || !dash) foot_text(ft, title, aw, ts, WHITE, DARK);
    else {
        char l1[256];
        snprintf(l1, sizeof l1, "%.*s", (int)(dash - title), title);
        foot_text(ft, l1, aw, ts, WHITE, DARK);
        foot_text(ft, dash + 3, aw, ts, WHITE, DARK);
    }
    if (all_zero) /* a gradient picture of zeros is a grey field, not the image */
        foot_text(ft,
                  gradient ? "all-zero input gradient: a grey field, nothing to show"
                           : "all-zero map: nothing positive, the plain image",
                  aw, ts, BLACK, YELLOW);
    else if (gradient) /* no heat, so no colour bar: what the gradient's colours mean */
        foot_text(ft, "input gradient: grey none, colours its sign per channel", aw, ts, WHITE, DARK);
    else {
        char slo[32], shi[32];
        snprintf(slo, sizeof slo, "%.3g", (double)lo);
        snprintf(shi, sizeof shi, "%.3g", (double)hi);
        int wl = gc_render_text_width(slo, ts), wh = gc_render_text_width(shi, ts);
        int bw = aw - wl - wh - 2 * pad, row = ft->rows;
        if (bw >= 8) {
            foot_add(ft, row, pad, slo, ts, 0, 0, WHITE, DARK);
            foot_add(ft, row, pad + wl + pad, "", 0, 1, bw, NULL, NULL);
            foot_add(ft, row, W - pad - wh, shi, ts, 0, 0, WHITE, DARK);
        } else { /* too narrow for the labels beside the bar: below it */
            foot_add(ft, row, pad, "", 0, 1, aw, NULL, NULL);
            int sc = ts;
            while (sc > 1 && gc_render_text_width(slo, sc) + pad + gc_render_text_width(shi, sc) > aw) --sc;
            wl = gc_render_text_width(slo, sc);
            wh = gc_render_text_width(shi, sc);
            if (wl + pad + wh <= aw) {
                foot_add(ft, row + 1, pad, slo, sc, 0, 0, WHITE, DARK);
                foot_add(ft, row + 1, W - pad - wh, shi, sc, 0, 0, WHITE, DARK);
            } else if (aw >= gc_render_text_width("0", 1)) { /* one a row, each as it fits */
                foot_text(ft, slo, aw, 1, WHITE, DARK);
                foot_text(ft, shi, aw, 1, WHITE, DARK);
            }
        }
    }
    ft->h = pad + ft->rows * (ft->th + pad);
}

int gc_figure_overlay_begin(gc_picture *out, int img_w, int img_h, const char *title, float lo, float hi,
                            int all_zero, int gradient, gc_err *e)
{
    int f = gc_render_display_scale(img_w, img_h), W = img_w * f, H = img_h * f;
    footer ft;
    footer_layout(&ft, W, H, title, lo, hi, all_zero, gradient);
    return picture_alloc_from(out, W, H + ft.h, H, DARK, e);
}

int gc_figure_overlay(gc_picture *out, const gc_picture *panel, int img_w, int img_h, const gc_fig_box *box,
                   const char *label, const char *title, float lo, float hi, int all_zero, int gradient, gc_err *e)
{
    if (gc_figure_overlay_begin(out, img_w, img_h, title, lo, hi, all_zero, gradient, e)) return -1;
    assert(panel->w == out->w);
    blit(out, 0, 0, panel->rgb, panel->w, panel->h); /* the rows above the footer, whole */
    gc_figure_overlay_finish(out, img_w, img_h, box, label, title, lo, hi, all_zero, gradient);
    return 0;
}

void gc_figure_overlay_finish(gc_picture *out, int img_w, int img_h, const gc_fig_box *box, const char *label,
                              const char *title, float lo, float hi, int all_zero, int gradient)
{
    int f = gc_render_display_scale(img_w, img_h), W = img_w * f, H = img_h * f;
    footer ft;
    footer_layout(&ft, W, H, title, lo, hi, all_zero, gradient);
    assert(out->w == W && out->h == H + ft.h);
    int ts = ft.ts;

    /* on the picture: the all-zero tag (top-left), then the box's label */
    gc_rect fixed[1];
    int nfixed = 0;
    char buf[256];
    if (all_zero) {
        int sc = gc_figure_fit_text("all-zero map", W, ts, buf, sizeof buf);
        gc_render_text(out->rgb, W, H, 0, 0, buf, sc, BLACK, YELLOW);
        fixed[nfixed++] = (gc_rect){0, 0, gc_render_text_width(buf, sc), gc_render_text_height(sc)};
    }
    if (box && label) {
        gc_rect b = display_box(box, f), r;
        int sc;
        const char *t = label;
        if (gc_render_text_width(label, 1) > W) {
            gc_figure_fit_text(label, W, 1, buf, sizeof buf);
            t = buf;
        }
        if (gc_render_place_labels(&b, &t, 1, W, H, ts, 1, fixed, nfixed, &r, &sc)) {
            unsigned char col[3];
            gc_figure_class_color(box->cls, col);
            gc_render_text(out->rgb, W, H, r.x, r.y, t, sc, BLACK, col);
        }
    }

    /* the footer's rows: the title, and the colour bar with the map's range */
    for (int i = 0; i < ft.n; ++i) {
        const foot_item *t = &ft.it[i];
        int y = H + ft.pad + t->row * (ft.th + ft.pad);
        if (!t->bar) gc_render_text(out->rgb, out->w, out->h, t->x, y, t->text, t->sc, t->fg, t->bg);
        else if (t->bar_w > 0) gc_render_colorbar(out->rgb, out->w, out->h, t->x, y, t->bar_w, ft.th);
    }
}

/* ---- summary ---------------------------------------------------------------- */

enum { GAP = 8 };

int gc_figure_summary_init(gc_summary *s, int n, int img_w, int img_h, gc_err *e)
{
    memset(s, 0, sizeof *s);
    assert(n > 0 && img_w > 0 && img_h > 0);
    int f = gc_render_display_scale(img_w, img_h), W = img_w * f, H = img_h * f;
    s->n = n;
    s->img_w = img_w;
    s->img_h = img_h;
    /* a near-square grid; thumbnails' longer side between 128 px and half
     * the picture's longer side (the width's rule for a portrait image had
     * made a 40 x 40000 image's thumbnails 128 x 128000) */
    int cols = 1;
    while (cols * cols < n) ++cols;
    int L = W >= H ? W : H, S = W >= H ? H : W;
    int tl = L / cols, cap = L / 2 > 128 ? L / 2 : 128;
    if (tl < 128) tl = 128;
    if (tl > cap) tl = cap;
    int ts = (int)((long)tl * S / L) > 0 ? (int)((long)tl * S / L) : 1;
    s->cols = cols;
    s->tw = W >= H ? tl : ts;
    s->th = W >= H ? ts : tl;
    size_t sz;
    if (gc_size_mul((size_t)n * s->tw, (size_t)s->th * 3, &sz)) return gc_fail(e, "summary too large");
    s->thumbs = calloc(sz, 1);
    s->boxes = calloc((size_t)n, sizeof *s->boxes);
    s->captions = calloc((size_t)n, sizeof *s->captions);
    if (!s->thumbs || !s->boxes || !s->captions) {
        gc_figure_summary_free(s);
        return gc_fail(e, "out of memory for the summary image");
    }
    return 0;
}

void gc_figure_summary_set(gc_summary *s, int k, const gc_picture *panel, const gc_fig_box *box, const char *caption)
{
    assert(k >= 0 && k < s->n);
    unsigned char *th = s->thumbs + (size_t)k * s->tw * s->th * 3, col[3];
    gc_render_resize_rgb(panel->rgb, panel->w, panel->h, th, s->tw, s->th);
    /* the box again at the thumbnail's scale: shrinking fades the outline */
    double sx = (double)s->tw / s->img_w, sy = (double)s->th / s->img_h;
    gc_figure_class_color(box->cls, col);
    gc_render_box(th, s->tw, s->th, (int)(box->l * sx), (int)(box->t * sy), (int)((box->r + 1) * sx) - 1,
                (int)((box->b + 1) * sy) - 1, 2, col);
    s->boxes[k] = *box;
    snprintf(s->captions[k], sizeof s->captions[k], "%s", caption);
}

int gc_figure_summary_render(gc_summary *s, gc_pixels img, gc_picture *out, gc_err *e)
{
    int rc = -1, n = s->n;
    gc_rect *boxes = calloc((size_t)n, sizeof *boxes), *tags = calloc((size_t)n, sizeof *tags);
    int *scales = calloc((size_t)n, sizeof *scales);
    char (*nums)[16] = calloc((size_t)n, sizeof *nums);
    const char **texts = calloc((size_t)n, sizeof *texts);
    if (!boxes || !tags || !scales || !nums || !texts) {
        gc_fail(e, "out of memory for the summary image");
        goto done;
    }
    int f = gc_render_display_scale(s->img_w, s->img_h), W = s->img_w * f, H = s->img_h * f;
    int ts = gc_render_text_scale(W, H);
    for (int k = 0; k < n; ++k) {
        boxes[k] = display_box(&s->boxes[k], f);
        snprintf(nums[k], sizeof nums[k], "%d", k);
        texts[k] = nums[k];
    }
    /* numbers on the picture; the legend beside it names every box */
    gc_render_place_labels(boxes, texts, n, W, H, ts, 1, NULL, 0, tags, scales);

    /* legend: one row per box, in columns no taller than the picture */
    int row_h = gc_render_text_height(ts) + ts, per_col = (H - GAP) / row_h > 0 ? (H - GAP) / row_h : 1;
    int lcols = (n + per_col - 1) / per_col, colw = 0;
    for (int k = 0; k < n; ++k) {
        int tw = gc_render_text_width(s->captions[k], ts);
        if (tw > colw) colw = tw;
    }
    int legend_w = lcols * (colw + GAP) + GAP;
    int legend_h = (n < per_col ? n : per_col) * row_h + GAP;
    int top_h = H > legend_h ? H : legend_h;
    int cs = ts > 1 ? ts - 1 : 1, cap_h = gc_render_text_height(cs) + 4;
    int rows = (n + s->cols - 1) / s->cols;
    int grid_w = s->cols * (s->tw + GAP) + GAP, grid_h = rows * (s->th + cap_h + GAP) + GAP;
    int CW = W + legend_w > grid_w ? W + legend_w : grid_w, CH = top_h + grid_h;
    /* the panel drawn into the picture's first rows, W apart, then moved
     * to CW apart (from the last row up: each lands at or after where it
     * was, beyond the rows still to move) and the rest of those rows
     * filled: no panel of its own beside the picture (an 8000x6000 photo's
     * is 144 MB, and the summary was a run's peak) */
    if (picture_alloc_from(out, CW, CH, H, DARK, e)) goto done;
    gc_picture top = {out->rgb, W, H};
    gc_figure_panel_into(&top, img, s->img_w, s->img_h, NULL, 0, NULL, NULL);
    int lw = gc_render_line_width(W, H);
    for (int k = 0; k < n; ++k) {
        unsigned char col[3];
        gc_figure_class_color(s->boxes[k].cls, col);
        gc_render_box(top.rgb, W, H, boxes[k].x, boxes[k].y, boxes[k].x + boxes[k].w - 1, boxes[k].y + boxes[k].h - 1,
                      lw, col);
    }
    for (size_t y = (size_t)H; CW > W && y-- > 0;) {
        unsigned char *row = out->rgb + y * (size_t)CW * 3;
        memmove(row, out->rgb + y * (size_t)W * 3, (size_t)W * 3);
        for (size_t x = (size_t)W; x < (size_t)CW; ++x) memcpy(row + x * 3, DARK, 3);
    }
    for (int k = 0; k < n; ++k) {
        if (!scales[k]) continue;
        unsigned char col[3];
        gc_figure_class_color(s->boxes[k].cls, col);
        gc_render_text(out->rgb, CW, CH, tags[k].x, tags[k].y, texts[k], scales[k], BLACK, col);
    }
    for (int k = 0; k < n; ++k) {
        unsigned char col[3];
        gc_figure_class_color(s->boxes[k].cls, col);
        int x = W + GAP + (k / per_col) * (colw + GAP), y = GAP / 2 + (k % per_col) * row_h;
        gc_render_text(out->rgb, CW, CH, x, y, s->captions[k], ts, BLACK, col);
    }
    for (int k = 0; k < n; ++k) {
        int x = GAP + (k % s->cols) * (s->tw + GAP), y = top_h + GAP + (k / s->cols) * (s->th + cap_h + GAP);
        blit(out, x, y, s->thumbs + (size_t)k * s->tw * s->th * 3, s->tw, s->th);
        char buf[128];
        int sc = gc_figure_fit_text(s->captions[k], s->tw, cs, buf, sizeof buf);
        gc_render_text(out->rgb, CW, CH, x, y + s->th + 2, buf, sc, WHITE, DARK);
    }
    rc = 0;
done:
    free(boxes);
    free(tags);
    free(scales);
    free(nums);
    free(texts);
    return rc;
}

void gc_figure_summary_free(gc_summary *s)
{
    free(s->thumbs);
    free(s->boxes);
    free(s->captions);
    memset(s, 0, sizeof *s);
}
