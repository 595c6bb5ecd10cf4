#include "gc_explain.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_image.h"

int gc_check_out_prefix(const char *prefix, gc_err *e)
{
    if (!prefix || !*prefix) return gc_fail(e, "-out needs a non-empty prefix");
    char dir[4096];
    const char *slash = strrchr(prefix, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == prefix) {
        snprintf(dir, sizeof dir, "/");
    } else {
        size_t len = (size_t)(slash - prefix);
        if (len >= sizeof dir) return gc_fail(e, "-out %s: path too long", prefix);
        memcpy(dir, prefix, len);
        dir[len] = '\0';
    }
    if (access(dir, W_OK | X_OK) != 0)
        return gc_fail(e, "-out %s: directory %s is not writable (%s)", prefix, dir, strerror(errno));
    return 0;
}

int gc_session_open(gc_session *s, network *net, const char *image_path, gc_err *e)
{
    memset(s, 0, sizeof *s);
    s->net = net;
    if (gc_ctx_init(&s->ctx, net, e)) return -1;
    gc_hooks_install(&s->ctx);
    return gc_session_next(s, image_path, e);
}

int gc_session_next(gc_session *s, const char *image_path, gc_err *e)
{
    int w = 0, h = 0;
    if (gc_image_check(image_path, &w, &h, e)) return -1;
    if (gc_image_fits_net(image_path, w, h, s->net->w, s->net->h, s->net->c, e)) return -1;
    if (s->input.data && s->input.data != s->orig.data) free_image(s->input);
    if (s->orig.data) free_image(s->orig);
    memset(&s->input, 0, sizeof s->input);
    memset(&s->orig, 0, sizeof s->orig);
    s->orig = load_image_color((char *)image_path, 0, 0);
    s->input = letterbox_image(s->orig, s->net->w, s->net->h);
    s->lb = gc_letterbox_make(s->orig.w, s->orig.h, s->net->w, s->net->h);
    size_t npx = (size_t)s->orig.w * (size_t)s->orig.h;
    if (npx > s->cap_px) {
        float *heat = realloc(s->heat, npx * sizeof *s->heat);
        if (heat) s->heat = heat;
        unsigned char *rgb = heat ? realloc(s->rgb, npx * 3) : NULL;
        if (rgb) s->rgb = rgb;
        if (!heat || !rgb) return gc_fail(e, "out of memory for a %dx%d image", s->orig.w, s->orig.h);
        s->cap_px = npx;
    }
    gc_forward(&s->ctx, s->input.data);
    return 0;
}

int gc_session_reserve(gc_session *s, int li, gc_method method, gc_err *e)
{
    const layer *l = &s->net->layers[li];
    size_t hw = (size_t)l->out_w * (size_t)l->out_h, k = (size_t)l->out_c;
    size_t work = gc_cam_work_size(method, k, (size_t)l->out_h, (size_t)l->out_w);
    if (hw > s->cap_hw) {
        float *p = realloc(s->map, hw * sizeof *p);
        if (!p) return gc_fail(e, "out of memory for a %zu-cell map", hw);
        s->map = p;
        s->cap_hw = hw;
    }
    if (k > s->cap_k) {
        float *p = realloc(s->weights, k * sizeof *p);
        if (!p) return gc_fail(e, "out of memory for %zu channel weights", k);
        s->weights = p;
        s->cap_k = k;
    }
    if (work > s->cap_work) {
        float *p = realloc(s->work, work * sizeof *p);
        if (!p) return gc_fail(e, "out of memory for method scratch (%zu floats)", work);
        s->work = p;
        s->cap_work = work;
    }
    return 0;
}

int gc_session_explain(gc_session *s, int score_layer, const float *seed, size_t index, int li,
                       const gc_explain_opts *o, gc_map *out, gc_err *e)
{
    network *net = s->net;
    const layer *l = &net->layers[li];
    if (gc_session_reserve(s, li, o->method, e)) return -1;
    /* A counterfactual map uses -dy^c/dA (the paper negates the gradients);
     * the backward pass is linear in its seed, so seeding -1 does exactly that. */
    float sign = o->counterfactual ? -1.0f : 1.0f;
    if (gc_backprop(&s->ctx, score_layer, seed, index, sign, li, e)) return -1;
    size_t K = (size_t)l->out_c, H = (size_t)l->out_h, W = (size_t)l->out_w;
    if (gc_cam_compute(o->method, l->output, l->delta, K, H, W, s->weights, s->map, s->work))
        return gc_fail(e, "layer %d: activations or gradients are not finite (NaN/Inf): check the weights",
                       li);
    size_t am = 0;
    out->data = s->map;
    out->layer = li;
    out->w = (int)W;
    out->h = (int)H;
    out->k = (int)K;
    out->max = gc_map_max(s->map, H * W, &am);
    out->all_zero = !(out->max > 0.0f);
    out->argmax_x = (int)(am % W);
    out->argmax_y = (int)(am / W);
    return 0;
}

void gc_session_heat_raw(gc_session *s, const float *map, int w, int h)
{
    gc_map_to_image(map, w, h, &s->lb, s->heat);
}

void gc_session_heat(gc_session *s, const gc_map *m)
{
    gc_session_heat_raw(s, m->data, m->w, m->h);
    gc_normalize_minmax(s->heat, (size_t)s->orig.w * (size_t)s->orig.h);
}

unsigned char *gc_session_overlay(gc_session *s, const gc_explain_opts *o)
{
    gc_overlay(s->orig.data, s->orig.w, s->orig.h, s->heat, o->alpha, s->rgb);
    return s->rgb;
}

static int remember(gc_session *s, const char *path, gc_err *e)
{
    if (s->nwritten == s->cap_written) {
        int cap = s->cap_written ? 2 * s->cap_written : 16;
        char **p = realloc(s->written, (size_t)cap * sizeof *p);
        if (!p) return gc_fail(e, "out of memory before writing %s", path);
        s->written = p;
        s->cap_written = cap;
    }
    if (!(s->written[s->nwritten] = strdup(path))) return gc_fail(e, "out of memory before writing %s", path);
    ++s->nwritten;
    return 0;
}

/* The path is remembered before the file exists, so a failure to remember
 * can never leave a file that the rollback does not know. */
int gc_session_write_png(gc_session *s, const char *path, int w, int h, const unsigned char *rgb, gc_err *e)
{
    if (remember(s, path, e)) return -1;
    if (gc_write_png(path, w, h, rgb, e)) return free(s->written[--s->nwritten]), -1;
    return 0;
}

int gc_session_write_npy(gc_session *s, const char *path, const gc_map *m, gc_err *e)
{
    if (remember(s, path, e)) return -1;
    if (gc_write_npy(path, m->data, (size_t)m->h, (size_t)m->w, e)) return free(s->written[--s->nwritten]), -1;
    return 0;
}

void gc_session_rollback(gc_session *s)
{
    for (int i = 0; i < s->nwritten; ++i) {
        unlink(s->written[i]);
        free(s->written[i]);
    }
    s->nwritten = 0;
}

void gc_session_close(gc_session *s)
{
    if (s->ctx.net) gc_ctx_free(&s->ctx);
    if (s->input.data && s->input.data != s->orig.data) free_image(s->input);
    if (s->orig.data) free_image(s->orig);
    for (int i = 0; i < s->nwritten; ++i) free(s->written[i]);
    free(s->written);
    free(s->map);
    free(s->weights);
    free(s->work);
    free(s->heat);
    free(s->rgb);
    memset(s, 0, sizeof *s);
}
