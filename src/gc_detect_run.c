#include "gc_detect_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_backward.h"
#include "gc_draw.h"
#include "gc_figure.h"
#include "gc_image.h"
#include "gc_model.h"
#include "gc_metrics.h"
#include "gc_render.h"
#include "gc_sheet.h"
#include "gc_report.h"

/* Explains box k: its map (in s) and everything measured on it, into x. The
 * map's heat on the image is left in s->heat, scaled for display. */
static int explain_box(gc_session *s, network *net, const gc_det_opts *o, const gc_det *d, int k, gc_map *m,
                       gc_result *x, gc_err *e)
{
    gc_subject subj = {d->cls, d};
    if (gc_explain_target(s, &subj, &o->ex, m, e)) return -1;
    int W = s->orig.w, H = s->orig.h, l, t, r, b;
    gc_detect_pixels(d, W, H, &l, &t, &r, &b);
    /* energy inside the box and the peak, on the map resampled to the image */
    gc_explain_heat_raw(s, m->data, m->w, m->h);
    gc_heat_stats hs = gc_metrics_heat_stats(s->heat, W, H, (gc_pbox){l, t, r, b});
    double total = hs.total, inside = hs.inside;
    int px = hs.best_x, py = hs.best_y;
    const layer *hl = &net->layers[d->head];
    memset(x, 0, sizeof *x);
    *x = (gc_result){.index = k, .cls = d->cls, .prob = d->prob, .box = {l, t, r, b}, .head = d->head,
                     /* one numbering everywhere: the index into the head's anchors= list */
                     .anchor = hl->type == YOLO ? hl->mask[d->anchor] : d->anchor, .cell_row = d->cell / hl->w,
                     .cell_col = d->cell % hl->w, .map_w = m->w, .map_h = m->h,
                     .peak = m->max, .peak_x = px, .peak_y = py, .energy_in_box = total > 0 ? inside / total : 0,
                     .all_zero = m->all_zero, .objectness = d->objectness, .bx = d->bbox.x * W, .by = d->bbox.y * H,
                     .bw = d->bbox.w * W, .bh = d->bbox.h * H, .head_type = gc_darknet_type_name(hl->type)};
    gc_explain_result_layers(net, m, o->ex.method, x);
    x->name = gc_model_class_name(o->names, o->nnames, d->cls);
    /* the scaled heat is drawn only in the overlay and the summary */
    int drawn = !(o->ex.nosave & GC_NOSAVE_PNG) || !(o->ex.nosave & GC_NOSAVE_SUMMARY);
    int zero = gc_render_heat_scale(s->heat, (size_t)W * H, drawn ? s->heat : NULL, &x->map_lo, &x->map_hi);
    x->all_zero |= zero;
    if ((!(o->ex.nosave & GC_NOSAVE_PNG) && gc_out_path(x->png, sizeof x->png, e, "%s_%d.png", o->out, k)) ||
        (!(o->ex.nosave & GC_NOSAVE_NPY) && gc_out_path(x->npy, sizeof x->npy, e, "%s_%d.npy", o->out, k)))
        return -1;
    return 0;
}

/* Box x's overlay from s->heat (drawn and written through d, which also
 * takes its thumbnail for the summary), and its raw map. */
static int render_box(gc_session *s, const gc_det_opts *o, const gc_map *m, const gc_result *x, gc_draw *d,
                      int want_summary, gc_err *e)
{
    gc_fig_box fb = {x->box[0], x->box[1], x->box[2], x->box[3], x->cls};
    char label[192], title[384], lbuf[128] = "";
    for (int j = 0; j < x->nlayers; ++j) {
        size_t len = strlen(lbuf);
        snprintf(lbuf + len, sizeof lbuf - len, "%s%d", j ? "," : "", x->layers[j]);
    }
    char nbuf[32], name[96]; /* a long name is cut, not the probability after it (the summary's captions hold 128
                              * bytes: a 129-byte label had lost its "21%", cut inside a character) */
    gc_utf8_fit(name, sizeof name, gc_result_name(x, nbuf, sizeof nbuf));
    snprintf(label, sizeof label, "%d %s %.0f%%", x->index, name, x->prob * 100);
    const gc_method_info *mi = gc_cam_method_get(o->ex.method);
    snprintf(title, sizeof title, "box %s - %s%s%s%s%s", label, mi->name, o->ex.counterfactual ? " counterfactual" : "",
             gc_explain_smooth_suffix(o->ex.smooth), mi->weights || mi->map ? ", layer " : "",
             mi->weights || mi->map ? lbuf : ""); /* Guided Backprop's picture is the input gradient: no layer */
    if (x->png[0] || want_summary) {
        /* a map that reaches the input is shown as its gradient image, not a heat */
        const float *grad = gc_explain_gradient_image(s, m);
        gc_draw_spec v = {grad ? gc_pixels_float(grad) : gc_pixels_bytes(s->orig_rgb), grad ? NULL : s->heat, o->ex.alpha, &fb, label, title,
                          x->map_lo, x->map_hi, x->all_zero, grad != NULL};
        if (gc_draw_overlay(d, x->png[0] ? x->png : NULL, &v, want_summary ? x->index : -1, e)) return -1;
    }
    gc_map raw = {.data = m->data, .w = m->w, .h = m->h, .image = m->image, .image_c = m->image_c};
    if (x->npy[0] && gc_explain_write_npy(s, x->npy, &raw, e)) return -1;
    return 0;
}

int gc_detect_run(network *net, const gc_det_opts *o, gc_results *out, gc_err *e)
{
    gc_session own, *sp = o->session ? o->session : &own;
    gc_boxes boxes;
    gc_draw *draw = NULL;
    gc_results rs = {0};
    gc_det *dets = NULL;
    int ndets = 0, rc = -1;
    char summary[4096] = "";
    int want_summary = !(o->ex.nosave & GC_NOSAVE_SUMMARY);
    memset(&own, 0, sizeof own);
    memset(&boxes, 0, sizeof boxes);

    if (gc_detect_check(net, e)) return -1;
    if (want_summary && gc_out_path(summary, sizeof summary, e, "%s_summary.png", o->out)) return -1;
    if (gc_explain_begin(sp, net, o->image, e)) goto done;
    /* output folders only once the image has loaded: a bad image leaves none;
     * -out's only once there is a box to write there, and a file (not under
     * -save none; with an output thread, the folder is that thread's to make:
     * list mode) */
    if (o->json && (gc_image_make_parent_dirs("-json", o->json, e) || gc_image_check_out_path("-json", o->json, e)))
        goto done;
    if (gc_detect_decode(net, sp->orig.w, sp->orig.h, o->thresh, o->hier, &boxes, e)) goto done;
    size_t above = 0;
    if (gc_detect_boxes_top(&boxes, o->thresh, o->nms, o->maxboxes, &dets, &ndets, &above, e)) goto done;
    if (above > (size_t)ndets) /* the image named: a -list run prints one a cut image */
        gc_print_line(stderr, "gradcam: warning: %s: %zu detections above -thresh %g; explaining the %d most probable "
                              "(-maxboxes %d)", o->image, above, o->thresh, ndets, o->maxboxes);
    if (ndets == 0) { /* no picture; the report (an empty "detections") all the same */
        gc_print_line(stdout, "no detections above -thresh %g in %s: no pictures written", o->thresh, o->image);
        gc_report rep = {.image = o->image, .width = sp->orig.w, .height = sp->orig.h, .detector = 1,
                         .method = o->ex.method, .target = o->ex.target, .counterfactual = o->ex.counterfactual,
                         .smooth = o->ex.smooth, .thresh = o->thresh, .nms = o->nms, .json_name = o->json_name};
        if (gc_report_finish(&rep, &rs, o->json, out, e)) goto fail;
        rc = 0;
        goto done;
    }
    if (!sp->writer && gc_explain_writes_files(&o->ex, 1) &&
        (gc_image_make_parent_dirs("-out", o->out, e) || gc_image_check_out_prefix(o->out, e)))
        goto done;
    /* every box's layers checked and buffers reserved before a file is written */
    for (int k = 0; k < ndets; ++k) {
        gc_subject t = {dets[k].cls, &dets[k]};
        gc_err pe;
        if (gc_explain_prepare(sp, &t, &o->ex, &pe)) {
            gc_fail(e, "box %d: %s", k, pe.msg);
            goto done;
        }
    }
    if (!(draw = gc_draw_begin(sp, want_summary ? ndets : 0, e))) goto done;

    for (int k = 0; k < ndets; ++k) {
        if (o->box_progress && ndets > 20 && k % 10 == 0) fprintf(stderr, "explain: %d/%d boxes\n", k, ndets); /* progress */
        gc_map m;
        gc_result *x = gc_explain_results_add(&rs);
        if (!x) {
            gc_fail(e, "out of memory");
            goto fail;
        }
        if (explain_box(sp, net, o, &dets[k], k, &m, x, e)) goto fail;
        if (render_box(sp, o, &m, x, draw, want_summary, e)) goto fail;
        if (o->ex.sheet) {
            /* after the box's own outputs: the sheet explains it again with other methods */
            gc_subject subj = {dets[k].cls, &dets[k]};
            char lab[512], nbuf[32], name[96];
            gc_utf8_fit(name, sizeof name, gc_result_name(x, nbuf, sizeof nbuf));
            snprintf(lab, sizeof lab, "box %d %s %.0f%%", k, name, x->prob * 100);
            if (gc_out_path(x->sheet, sizeof x->sheet, e, "%s_%d_sheet.png", o->out, k) ||
                gc_sheet_write(sp, &subj, &o->ex, lab, x->box, x->sheet, e))
                goto fail;
        }
    }
    if (want_summary && gc_draw_summary(draw, summary, e)) goto fail;
    gc_report rep = {.image = o->image, .width = sp->orig.w, .height = sp->orig.h, .detector = 1,
                     .method = o->ex.method, .target = o->ex.target, .counterfactual = o->ex.counterfactual,
                     .smooth = o->ex.smooth,
                     .thresh = o->thresh, .nms = o->nms, .summary = want_summary ? summary : NULL,
                     .json_name = o->json_name};
    if (gc_report_finish(&rep, &rs, o->json, out, e)) goto fail;
    rc = 0;
    goto done;
fail:
    gc_explain_rollback(sp);
done:
    if (o->session) gc_explain_keep(sp);
    else gc_explain_close(sp);
    gc_detect_boxes_free(&boxes);
    gc_draw_end(draw);
    gc_explain_results_free(&rs);
    free(dets);
    return rc;
}
