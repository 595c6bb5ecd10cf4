#include "gc_detect_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_backward.h"
#include "gc_image.h"
#include "gc_json.h"
#include "gc_render.h"

int gc_detect_default_layer(const network *net, int head)
{
    /* Skip the head's linear 1x1 score convolution (Grad-CAM there is one
     * channel of its output) and take the feature layer that feeds it. */
    int score = head - 1;
    while (score > 0 && net->layers[score].type == DROPOUT) --score;
    int li = score - 1;
    while (li > 0 && net->layers[li].type == DROPOUT) --li;
    return li < 0 ? 0 : li;
}

int gc_detect_resolve_layer(const network *net, int requested, int head, int *out, gc_err *e)
{
    int idx = requested < 0 ? head + requested : requested;
    if (idx < 0 || idx >= head)
        return gc_fail(e, "-layer %d is out of range for head layer %d: explainable layers are 0..%d", requested,
                       head, head - 1);
    *out = idx;
    return 0;
}

static void class_color(int cls, unsigned char rgb[3])
{
    /* Evenly spread hues, bright enough for black label text. */
    static const unsigned char pal[8][3] = {{255, 64, 64}, {64, 200, 64}, {64, 128, 255}, {255, 200, 0},
                                            {255, 0, 255}, {0, 220, 220}, {255, 128, 0}, {160, 96, 255}};
    memcpy(rgb, pal[cls % 8], 3);
}

/* The class's name, or "classN" without a names file. */
static const char *class_label(const gc_det_opts *o, int cls, char *buf, size_t n)
{
    if (o->names && cls < o->nnames) return o->names[cls];
    snprintf(buf, n, "class%d", cls);
    return buf;
}

/* Nearest-neighbour downscale of interleaved RGB (thumbnails). */
static void resize_rgb(const unsigned char *in, int iw, int ih, unsigned char *out, int ow, int oh)
{
    for (int y = 0; y < oh; ++y) {
        int sy = (int)(((long)y * ih + ih / 2) / oh);
        if (sy >= ih) sy = ih - 1;
        for (int x = 0; x < ow; ++x) {
            int sx = (int)(((long)x * iw + iw / 2) / ow);
            if (sx >= iw) sx = iw - 1;
            memcpy(out + ((size_t)y * ow + x) * 3, in + ((size_t)sy * iw + sx) * 3, 3);
        }
    }
}

/* Draws box k with its label on an image of w x h pixels, keeping the label
 * inside the first img_w columns (the summary draws on a wider canvas). */
static void label_box(unsigned char *rgb, int w, int h, int img_w, const gc_det *d, int k, const char *name, int l,
                      int t, int r, int b)
{
    unsigned char col[3], black[3] = {0, 0, 0};
    class_color(d->cls, col);
    int thick = w / 300 > 2 ? w / 300 : 2;
    gc_draw_box(rgb, w, h, l, t, r, b, thick, col);
    char text[256];
    snprintf(text, sizeof text, "%d %s %.0f%%", k, name, d->prob * 100);
    int scale = img_w >= 1200 ? 3 : 2;
    int ty = t - GC_FONT_CELL_H * scale - 2 > 0 ? t - GC_FONT_CELL_H * scale - 2 : t;
    int tw = (int)strlen(text) * GC_FONT_CELL_W * scale, tx = l;
    if (tx + tw > img_w) tx = img_w - tw > 0 ? img_w - tw : 0;
    gc_draw_text(rgb, w, h, tx, ty, text, scale, black, col);
}

int gc_run_detector(network *net, const gc_det_opts *o, gc_err *e)
{
    gc_session s;
    gc_boxes boxes;
    gc_det *dets = NULL;
    int ndets = 0, rc = -1;
    int *layer_of = NULL; /* ndets * nl resolved layers */
    float *seed = NULL, *fused = NULL, *tmp_net = NULL, *tmp_layer = NULL;
    unsigned char *thumbs = NULL, *canvas = NULL;
    char *jbuf = NULL;
    size_t jlen = 0;
    FILE *js = NULL;
    memset(&s, 0, sizeof s);
    memset(&boxes, 0, sizeof boxes);

    if (gc_detect_check(net, e)) return -1;
    if (gc_check_out_prefix(o->out, e)) return -1;
    if (gc_session_open(&s, net, o->image, e)) goto done;
    if (gc_boxes_decode(net, s.orig.w, s.orig.h, o->thresh, o->hier, &boxes, e)) goto done;
    if (gc_detections(&boxes, o->thresh, o->nms, &dets, &ndets, e)) goto done;
    int cut = o->maxboxes > 0 ? gc_detections_cap(dets, &ndets, o->maxboxes) : 0;
    if (cut)
        fprintf(stderr, "gradcam: warning: %d detections above -thresh %g; explaining the %d most probable "
                        "(-maxboxes %d)\n", ndets + cut, o->thresh, ndets, o->maxboxes);
    if (ndets == 0) {
        printf("no detections above -thresh %g in %s: nothing written\n", o->thresh, o->image);
        rc = 0;
        goto done;
    }

    /* Resolve and check every box's layers before anything is written. */
    int nl = o->nlayers ? o->nlayers : 1;
    layer_of = malloc((size_t)ndets * (size_t)nl * sizeof *layer_of);
    size_t max_seed = 0, max_hw = 0;
    if (!layer_of) {
        gc_fail(e, "out of memory");
        goto done;
    }
    for (int k = 0; k < ndets; ++k) {
        int head = dets[k].head;
        if ((size_t)net->layers[head].outputs > max_seed) max_seed = (size_t)net->layers[head].outputs;
        for (int j = 0; j < nl; ++j) {
            int li = -1;
            if (!o->nlayers) li = gc_detect_default_layer(net, head);
            else if (gc_detect_resolve_layer(net, o->layers[j], head, &li, e)) goto done;
            gc_err pe;
            if (gc_path(&s.ctx, li, head, &pe)) {
                gc_fail(e, "box %d (head layer %d): -layer %d: %s", k, head, li, pe.msg);
                goto done;
            }
            if (gc_session_reserve(&s, li, o->ex.method, e)) goto done;
            size_t hw = (size_t)net->layers[li].out_w * (size_t)net->layers[li].out_h;
            if (hw > max_hw) max_hw = hw;
            layer_of[(size_t)k * nl + j] = li;
        }
    }
    size_t net_px = (size_t)net->w * (size_t)net->h;
    int W = s.orig.w, H = s.orig.h;
    int cols = (int)ceil(sqrt((double)ndets)), rows = (ndets + cols - 1) / cols;
    int tw = W / cols > 1 ? W / cols : 1, th = H / cols > 1 ? H / cols : 1;
    seed = calloc(max_seed, sizeof *seed);
    fused = malloc(net_px * sizeof *fused);
    tmp_net = malloc(net_px * sizeof *tmp_net);
    tmp_layer = malloc(max_hw * sizeof *tmp_layer);
    thumbs = malloc((size_t)ndets * (size_t)tw * (size_t)th * 3);
    if (!seed || !fused || !tmp_net || !tmp_layer || !thumbs) {
        gc_fail(e, "out of memory");
        goto done;
    }

    if (!(js = open_memstream(&jbuf, &jlen))) {
        gc_fail(e, "out of memory for the JSON report");
        goto done;
    }
    fprintf(js, "{\n  \"image\": ");
    gc_json_string(js, o->image);
    fprintf(js, ",\n  \"width\": %d,\n  \"height\": %d,\n  \"method\": \"%s\",\n  \"target\": \"%s\",\n"
                   "  \"counterfactual\": %s,\n  \"thresh\": %g,\n  \"nms\": %g,\n  \"detections\": [\n",
              W, H, gc_method_name(o->ex.method), gc_target_name(o->target), o->ex.counterfactual ? "true" : "false",
              o->thresh, o->nms);

    int idx[1024];
    for (int k = 0; k < ndets; ++k) {
        const gc_det *d = &dets[k];
        if (ndets > 20 && k % 10 == 0) fprintf(stderr, "explain: %d/%d boxes\n", k, ndets); /* progress */
        int nnz = (int)(sizeof idx / sizeof idx[0]);
        if (gc_det_seed(net, d, o->target, seed, idx, &nnz, e)) goto fail;
        if (o->ex.counterfactual)
            for (int q = 0; q < nnz; ++q) seed[idx[q]] = -seed[idx[q]];
        gc_map m = {0};
        float peak = 0;
        int all_zero = 1;
        const float *map;
        int mw, mh;
        if (nl == 1) {
            if (gc_session_explain(&s, d->head, seed, 0, layer_of[(size_t)k * nl], &o->ex, &m, e)) goto fail;
            map = m.data;
            mw = m.w;
            mh = m.h;
            peak = m.max;
            all_zero = m.all_zero;
        } else {
            /* each map rectified (already), normalised, upsampled to the input, averaged */
            memset(fused, 0, net_px * sizeof *fused);
            for (int j = 0; j < nl; ++j) {
                if (gc_session_explain(&s, d->head, seed, 0, layer_of[(size_t)k * nl + j], &o->ex, &m, e)) goto fail;
                memcpy(tmp_layer, m.data, (size_t)m.w * m.h * sizeof *tmp_layer);
                gc_normalize_minmax(tmp_layer, (size_t)m.w * m.h);
                gc_resize_bilinear(tmp_layer, m.w, m.h, tmp_net, net->w, net->h);
                for (size_t p = 0; p < net_px; ++p) fused[p] += tmp_net[p] / (float)nl;
            }
            map = fused;
            mw = net->w;
            mh = net->h;
            size_t am;
            peak = gc_map_max(fused, net_px, &am);
            all_zero = !(peak > 0);
        }
        for (int q = 0; q < nnz; ++q) seed[idx[q]] = 0;

        /* energy inside the box and the peak, on the map resampled to the image */
        int l, t, r, b;
        gc_det_pixels(d, W, H, &l, &t, &r, &b);
        gc_session_heat_raw(&s, map, mw, mh);
        double total = 0, inside = 0, best = -1;
        int px = 0, py = 0;
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x) {
                double v = s.heat[(size_t)y * W + x];
                total += v;
                if (x >= l && x <= r && y >= t && y <= b) inside += v;
                if (v > best) best = v, px = x, py = y;
            }
        double share = total > 0 ? inside / total : 0;
        gc_normalize_minmax(s.heat, (size_t)W * H);
        unsigned char *rgb = gc_session_overlay(&s, &o->ex);
        char cname[32];
        const char *name = class_label(o, d->cls, cname, sizeof cname);
        label_box(rgb, W, H, W, d, k, name, l, t, r, b);
        resize_rgb(rgb, W, H, thumbs + (size_t)k * tw * th * 3, tw, th);

        char png[4096], npy[4096];
        snprintf(png, sizeof png, "%s_%d.png", o->out, k);
        snprintf(npy, sizeof npy, "%s_%d.npy", o->out, k);
        if (gc_session_write_png(&s, png, W, H, rgb, e)) goto fail;
        gc_map raw = {.data = map, .w = mw, .h = mh};
        if (gc_session_write_npy(&s, npy, &raw, e)) goto fail;

        char lbuf[256] = "";
        for (int j = 0; j < nl; ++j) {
            size_t len = strlen(lbuf);
            snprintf(lbuf + len, sizeof lbuf - len, "%s%d", j ? "," : "", layer_of[(size_t)k * nl + j]);
        }
        printf("box %d %s: %.0f%% [%d %d %d %d] head %d anchor %d cell %d,%d, layer %s, %s %s%s, in-box %.2f -> %s%s\n",
               k, name, d->prob * 100, l, t, r, b, d->head, d->anchor, d->cell / net->layers[d->head].w,
               d->cell % net->layers[d->head].w, lbuf, gc_method_name(o->ex.method), gc_target_name(o->target),
               o->ex.counterfactual ? " counterfactual" : "", share, png, all_zero ? " (all-zero map)" : "");

        const layer *hl = &net->layers[d->head];
        fprintf(js, "    {\"index\": %d, \"class\": %d, \"name\": ", k, d->cls);
        gc_json_string(js, name);
        fprintf(js,
                  ", \"probability\": %.6f, \"objectness\": %.6f,\n     \"box\": {\"left\": %d, \"top\": %d, "
                  "\"right\": %d, \"bottom\": %d, \"x\": %.3f, \"y\": %.3f, \"w\": %.3f, \"h\": %.3f},\n"
                  "     \"head\": %d, \"head_type\": \"%s\", \"anchor\": %d, \"cell\": {\"row\": %d, \"col\": %d},\n"
                  "     \"layers\": [%s], \"map_size\": [%d, %d], \"peak\": {\"x\": %d, \"y\": %d, \"value\": %.6g},\n"
                  "     \"energy_in_box\": %.6f, \"all_zero\": %s,\n     \"overlay\": ",
                  d->prob, d->objectness, l, t, r, b, d->bbox.x * W, d->bbox.y * H, d->bbox.w * W, d->bbox.h * H,
                  d->head, gc_layer_type_name(hl->type), hl->type == YOLO ? hl->mask[d->anchor] : d->anchor,
                  d->cell / hl->w, d->cell % hl->w, lbuf, mh, mw, px, py, peak, share, all_zero ? "true" : "false");
        gc_json_string(js, png);
        fprintf(js, ", \"map\": ");
        gc_json_string(js, npy);
        fprintf(js, "}%s\n", k + 1 < ndets ? "," : "");
    }

    /* Summary: the image with every box labelled, beside the grid of maps. */
    {
        int cw = W + tw * cols, ch = H > th * rows ? H : th * rows;
        canvas = malloc((size_t)cw * ch * 3);
        if (!canvas) {
            gc_fail(e, "out of memory for the summary image");
            goto fail;
        }
        memset(canvas, 32, (size_t)cw * ch * 3);
        for (int y = 0; y < H; ++y)
            for (int x = 0; x < W; ++x)
                for (int c = 0; c < 3; ++c) {
                    float v = s.orig.data[(size_t)c * W * H + (size_t)y * W + x];
                    canvas[((size_t)y * cw + x) * 3 + c] = (unsigned char)(v <= 0 ? 0 : v >= 1 ? 255 : v * 255 + .5f);
                }
        /* draw on a W-wide view: boxes on the left part only */
        for (int k = 0; k < ndets; ++k) {
            int l, t, r, b;
            gc_det_pixels(&dets[k], W, H, &l, &t, &r, &b);
            char cname[32];
            const char *name = class_label(o, dets[k].cls, cname, sizeof cname);
            label_box(canvas, cw, ch, W, &dets[k], k, name, l, t, r, b);
        }
        for (int k = 0; k < ndets; ++k) {
            int gx = W + (k % cols) * tw, gy = (k / cols) * th;
            const unsigned char *src = thumbs + (size_t)k * tw * th * 3;
            for (int y = 0; y < th; ++y) memcpy(canvas + ((size_t)(gy + y) * cw + gx) * 3, src + (size_t)y * tw * 3, (size_t)tw * 3);
        }
        char png[4096];
        snprintf(png, sizeof png, "%s_summary.png", o->out);
        if (gc_session_write_png(&s, png, cw, ch, canvas, e)) goto fail;
        printf("summary %s\n", png);
    }
    if (o->json) {
        fprintf(js, "  ]\n}\n");
        int bad = fclose(js) != 0 || !jbuf;
        js = NULL;
        if (bad) {
            gc_fail(e, "out of memory for the JSON report");
            goto fail;
        }
        if (gc_write_file(o->json, jbuf, jlen, e)) goto fail;
        printf("json %s\n", o->json);
    }
    rc = 0;
    goto done;
fail:
    gc_session_rollback(&s);
done:
    gc_session_close(&s);
    gc_boxes_free(&boxes);
    free(dets);
    free(layer_of);
    free(seed);
    free(fused);
    free(tmp_net);
    free(tmp_layer);
    free(thumbs);
    free(canvas);
    if (js) fclose(js);
    free(jbuf);
    return rc;
}
