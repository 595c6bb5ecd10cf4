#include "gc_draw.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gc_draw {
    atomic_int refs; /* the caller's hold and one per queued job */
    gc_session *s;   /* calling thread only */
    int w, h;
    /* the image the pictures are drawn on: s->orig_rgb, with an output
     * thread held through hold (taken for the first job) so that it outlives
     * the session's move to the next image (a copy had been made) */
    const unsigned char *img;
    struct gc_shared_image *hold;
    gc_summary sum; /* sum.n == 0: none; with an output thread, that thread's alone once begun */
};

static size_t image_floats(const gc_draw *d)
{
    return (size_t)d->w * (size_t)d->h * 3;
}

/* The bytes a shared image adds to the output queue: counted as the float
 * image it was (4 per value) although its bytes are 1 per value, so that the
 * queue's limit paces the explaining thread as it did. */
static long long shared_image_bytes(const gc_draw *d)
{
    return (long long)(image_floats(d) * sizeof(float));
}

static void release(gc_draw *d)
{
    if (!d || atomic_fetch_sub(&d->refs, 1) != 1) return;
    gc_figure_summary_free(&d->sum);
    gc_explain_unshare_image(d->hold);
    free(d);
}

gc_draw *gc_draw_begin(gc_session *s, int nsum, gc_err *e)
{
    gc_draw *d = calloc(1, sizeof *d);
    if (!d) return gc_fail(e, "out of memory for the pictures"), NULL;
    atomic_init(&d->refs, 1);
    d->s = s;
    d->w = s->orig.w;
    d->h = s->orig.h;
    d->img = s->orig_rgb;
    if (nsum > 0 && gc_figure_summary_init(&d->sum, nsum, d->w, d->h, e)) {
        free(d);
        return NULL;
    }
    return d;
}

void gc_draw_end(gc_draw *d)
{
    release(d);
}

/* The image for a job on the output thread: held, once. Returns the bytes
 * it adds to the queue (counted by the first job, as when it was a copy: the
 * queue's limit then paces the explaining thread as before), or -1. */
static long long share_image(gc_draw *d, gc_err *e)
{
    if (d->hold) return 0;
    if (!(d->img = gc_explain_share_image(d->s, &d->hold))) return gc_fail(e, "out of memory for the pictures"), -1;
    return shared_image_bytes(d);
}

/* Panel of v, its thumbnail in slot k, then the overlay into *fig when
 * wanted (fig NULL: not). Runs on either thread. */
static int draw(gc_draw *d, const gc_draw_spec *v, int k, const gc_png_par *par, gc_picture *fig, gc_err *e)
{
    if (!fig) { /* the thumbnail alone */
        gc_picture panel = {0};
        if (gc_figure_panel_par(&panel, v->img, d->w, d->h, v->heat, v->alpha, v->box, par, e)) return -1;
        if (k >= 0) gc_figure_summary_set(&d->sum, k, &panel, v->box, v->label ? v->label : "");
        gc_figure_picture_free(&panel);
        return 0;
    }
    /* the panel drawn in the overlay's own rows: a full-size copy less (an
     * 8000x6000 photo's panel is 144 MB) */
    if (gc_figure_overlay_begin(fig, d->w, d->h, v->title, v->lo, v->hi, v->all_zero, v->gradient, e)) return -1;
    int f = gc_render_display_scale(d->w, d->h);
    gc_picture top = {fig->rgb, fig->w, d->h * f};
    gc_figure_panel_into(&top, v->img, d->w, d->h, v->heat, v->alpha, v->box, par);
    if (k >= 0) gc_figure_summary_set(&d->sum, k, &top, v->box, v->label ? v->label : "");
    gc_figure_overlay_finish(fig, d->w, d->h, v->box, v->label, v->title, v->lo, v->hi, v->all_zero, v->gradient);
    return 0;
}

/* A target's picture drawn on the output thread: its spec with everything
 * it points to copied (the image shared through d). */
typedef struct overlay_job {
    gc_draw *d;
    gc_draw_spec v;
    gc_fig_box box;
    float *heat, *img; /* copies, or NULL */
    char label[192], title[384];
    int k, png;
} overlay_job;

static int run_overlay(void *arg, int *w, int *h, unsigned char **rgb, gc_err *e)
{
    overlay_job *j = arg;
    int rc = -1;
    if (rgb) {
        gc_picture fig = {0};
        j->v.img = j->img ? gc_pixels_float(j->img) : gc_pixels_bytes(j->d->img);
        rc = draw(j->d, &j->v, j->k, NULL, j->png ? &fig : NULL, e);
        *w = fig.w;
        *h = fig.h;
        *rgb = gc_figure_picture_take(&fig);
    }
    release(j->d);
    free(j->heat);
    free(j->img);
    free(j);
    return rc;
}

int gc_draw_overlay(gc_draw *d, const char *png, const gc_draw_spec *v, int k, gc_err *e)
{
    if (k >= d->sum.n) k = -1;
    gc_session *s = d->s;
    if (!s->writer) {
        gc_png_par par = gc_explain_par(s);
        gc_picture fig = {0};
        int rc = draw(d, v, k, &par, png ? &fig : NULL, e);
        if (rc == 0 && png) rc = gc_explain_write_png_owned(s, png, fig.w, fig.h, gc_figure_picture_take(&fig), e);
        gc_figure_picture_free(&fig);
        return rc;
    }
    size_t px = (size_t)d->w * (size_t)d->h;
    int own_img = v->img.rgb != s->orig_rgb;
    long long shared = own_img ? 0 : share_image(d, e); /* held by d, let go with d */
    if (shared < 0) return -1;
    overlay_job *j = calloc(1, sizeof *j);
    if (j && v->heat) j->heat = malloc(px * sizeof *j->heat);
    if (j && own_img) j->img = malloc(3 * px * sizeof *j->img);
    if (!j || (v->heat && !j->heat) || (own_img && !j->img)) {
        if (j) {
            free(j->heat);
            free(j->img);
        }
        free(j);
        return gc_fail(e, "out of memory for the pictures");
    }
    if (j->heat) memcpy(j->heat, v->heat, px * sizeof *j->heat);
    if (j->img) memcpy(j->img, v->img.f, 3 * px * sizeof *j->img);
    j->d = d;
    atomic_fetch_add(&d->refs, 1);
    j->v = *v;
    j->v.heat = j->heat;
    if (v->box) {
        j->box = *v->box;
        j->v.box = &j->box;
    }
    snprintf(j->label, sizeof j->label, "%s", v->label ? v->label : "");
    snprintf(j->title, sizeof j->title, "%s", v->title ? v->title : "");
    j->v.label = v->label ? j->label : NULL;
    j->v.title = j->title;
    j->k = k;
    j->png = png != NULL;
    /* what the job holds, and the panel and overlay it draws */
    int f = gc_render_display_scale(d->w, d->h);
    size_t bytes = (size_t)shared + (j->heat ? px * sizeof *j->heat : 0) + (j->img ? 3 * px * sizeof *j->img : 0) +
                   px * (size_t)f * (size_t)f * 3;
    return gc_explain_write_drawn(s, png, run_overlay, j, bytes, e);
}

/* The summary drawn on the output thread, after the overlay jobs filled it. */
static int run_summary(void *arg, int *w, int *h, unsigned char **rgb, gc_err *e)
{
    gc_draw *d = arg;
    int rc = -1;
    if (rgb) {
        gc_picture pic = {0};
        rc = gc_figure_summary_render(&d->sum, gc_pixels_bytes(d->img), &pic, e);
        *w = pic.w;
        *h = pic.h;
        *rgb = gc_figure_picture_take(&pic);
    }
    release(d);
    return rc;
}

int gc_draw_summary(gc_draw *d, const char *path, gc_err *e)
{
    gc_session *s = d->s;
    if (!s->writer) {
        gc_picture pic = {0};
        int rc = gc_figure_summary_render(&d->sum, gc_pixels_bytes(d->img), &pic, e);
        if (rc == 0) rc = gc_explain_write_png_owned(s, path, pic.w, pic.h, gc_figure_picture_take(&pic), e);
        gc_figure_picture_free(&pic);
        return rc;
    }
    long long shared = share_image(d, e);
    if (shared < 0) return -1;
    atomic_fetch_add(&d->refs, 1);
    return gc_explain_write_drawn(s, path, run_summary, d, (size_t)shared + image_floats(d) / 3 * 4, e);
}
