#include "gc_classify_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_backward.h"
#include "gc_classify.h"
#include "gc_draw.h"
#include "gc_figure.h"
#include "gc_image.h"
#include "gc_model.h"
#include "gc_render.h"
#include "gc_report.h"
#include "gc_sheet.h"

/* Explains class c: its map (in m) and what is measured on it, into x. The
 * map's heat on the image is left in s->heat, scaled for display. */
static int explain_class(gc_session *s, network *net, const gc_cls_opts *o, int c, float prob, gc_map *m,
                         gc_result *x, gc_err *e)
{
    gc_subject subj = {c, NULL};
    if (gc_explain_target(s, &subj, &o->ex, m, e)) return -1;
    int W = s->orig.w, H = s->orig.h;
    gc_explain_heat_raw(s, m->data, m->w, m->h);
    size_t am = 0;
    gc_cam_map_max(s->heat, (size_t)W * H, &am);
    memset(x, 0, sizeof *x);
    *x = (gc_result){.index = c, .cls = c, .prob = prob, .box = {-1, -1, -1, -1}, .head = -1, .anchor = -1,
                     .cell_row = -1, .cell_col = -1, .map_w = m->w, .map_h = m->h,
                     .peak = m->max, .peak_x = (int)(am % (size_t)W), .peak_y = (int)(am / (size_t)W),
                     .energy_in_box = -1, .all_zero = m->all_zero, .objectness = -1};
    gc_explain_result_layers(net, m, o->ex.method, x);
    x->name = gc_model_class_name(o->names, o->nnames, c);
    /* the scaled heat is drawn only in the overlay */
    x->all_zero |= gc_render_heat_scale(s->heat, (size_t)W * H, o->ex.nosave & GC_NOSAVE_PNG ? NULL : s->heat,
                                        &x->map_lo, &x->map_hi);
    if ((!(o->ex.nosave & GC_NOSAVE_PNG) && gc_out_path(x->png, sizeof x->png, e, "%s_%d.png", o->out, c)) ||
        (!(o->ex.nosave & GC_NOSAVE_NPY) && gc_out_path(x->npy, sizeof x->npy, e, "%s_%d.npy", o->out, c)))
        return -1;
    return 0;
}

/* Class x's overlay from s->heat (the class, its name and probability in
 * the footer; drawn and written through d), and its raw map. */
static int render_class(gc_session *s, const gc_cls_opts *o, const gc_map *m, const gc_result *x, int prob_is_score,
                        gc_draw *d, gc_err *e)
{
    char title[384], lbuf[128] = "", pbuf[32];
    for (int j = 0; j < x->nlayers; ++j) {
        size_t len = strlen(lbuf);
        snprintf(lbuf + len, sizeof lbuf - len, "%s%d", j ? "," : "", x->layers[j]);
    }
    if (prob_is_score) snprintf(pbuf, sizeof pbuf, "score %.3g", x->prob);
    else snprintf(pbuf, sizeof pbuf, "%.1f%%", x->prob * 100);
    const gc_method_info *mi = gc_cam_method_get(o->ex.method);
    int layered = mi->weights || mi->map; /* Guided Backprop's picture is the input gradient: no layer */
    char name[96] = ""; /* a long name is cut, not the probability after it */
    if (x->name) gc_utf8_fit(name, sizeof name, x->name);
    snprintf(title, sizeof title, "class %d%s%s %s - %s%s%s%s%s", x->cls, x->name ? " " : "", name, pbuf, mi->name, o->ex.counterfactual ? " counterfactual" : "",
             gc_explain_smooth_suffix(o->ex.smooth), layered ? ", layer " : "", layered ? lbuf : "");
    if (x->png[0]) {
        /* a map that reaches the input is shown as its gradient image, not a heat */
        const float *grad = gc_explain_gradient_image(s, m);
        gc_draw_spec v = {grad ? gc_pixels_float(grad) : gc_pixels_bytes(s->orig_rgb), grad ? NULL : s->heat, o->ex.alpha, NULL, NULL, title,
                          x->map_lo, x->map_hi, x->all_zero, grad != NULL};
        if (gc_draw_overlay(d, x->png, &v, -1, e)) return -1;
    }
    if (x->npy[0] && gc_explain_write_npy(s, x->npy, m, e)) return -1;
    return 0;
}

int gc_classify_run(network *net, const gc_cls_opts *o, gc_results *out, gc_err *e)
{
    int rc = -1;
    int *targets = NULL;
    float *probs = NULL;
    gc_results rs = {0};
    gc_draw *draw = NULL;
    gc_session own, *sp = o->session ? o->session : &own;
    memset(&own, 0, sizeof own);
    if (gc_explain_begin(sp, net, o->image, e)) goto done;
    /* output folders only once the image has loaded: a bad image leaves none,
     * nor does -save none (with an output thread, the folder is that thread's
     * to make: list mode) */
    if (!sp->writer && gc_explain_writes_files(&o->ex, 0) &&
        (gc_image_make_parent_dirs("-out", o->out, e) || gc_image_check_out_prefix(o->out, e)))
        goto done;
    if (o->json && (gc_image_make_parent_dirs("-json", o->json, e) || gc_image_check_out_path("-json", o->json, e)))
        goto done;
    const gc_classifier *cl = &sp->cl;
    if (o->cls >= cl->classes) {
        gc_fail(e, "-class %d is out of range: the network has %d classes (0..%d)", o->cls, cl->classes,
                cl->classes - 1);
        goto done;
    }
    if (o->cls < 0 && o->top > cl->classes) {
        gc_fail(e, "-top %d is more than the network's %d classes", o->top, cl->classes);
        goto done;
    }
    int ntargets = o->cls >= 0 ? 1 : o->top;
    targets = malloc((size_t)ntargets * sizeof *targets);
    probs = malloc((size_t)cl->classes * sizeof *probs);
    if (!targets || !probs) {
        gc_fail(e, "out of memory");
        goto done;
    }
    gc_classify_probs(net, cl, probs);
    if (gc_classify_check_finite(cl, probs, e)) goto done;
    if (o->cls >= 0) targets[0] = o->cls;
    else gc_classify_top_k(probs, cl->classes, ntargets, targets);
    /* every target's layers checked before the first file is written */
    for (int t = 0; t < ntargets; ++t) {
        gc_subject subj = {targets[t], NULL};
        if (gc_explain_prepare(sp, &subj, &o->ex, e)) goto done;
    }
    int prob_is_score = cl->prob_layer < 0;
    if (!(draw = gc_draw_begin(sp, 0, e))) goto done;
    for (int t = 0; t < ntargets; ++t) {
        gc_map m;
        gc_result *x = gc_explain_results_add(&rs);
        if (!x) {
            gc_fail(e, "out of memory");
            goto fail;
        }
        if (explain_class(sp, net, o, targets[t], probs[targets[t]], &m, x, e)) goto fail;
        if (render_class(sp, o, &m, x, prob_is_score, draw, e)) goto fail;
        if (o->ex.sheet) {
            /* after the class's own outputs: the sheet explains it again with other methods */
            gc_subject subj = {targets[t], NULL};
            char lab[512], name[96], pbuf[32];
            /* a network without a [softmax] gives a score, not a probability
             * (as the overlay's footer says it) */
            if (prob_is_score) snprintf(pbuf, sizeof pbuf, "score %.3g", x->prob);
            else snprintf(pbuf, sizeof pbuf, "%.1f%%", x->prob * 100);
            if (x->name) gc_utf8_fit(name, sizeof name, x->name);
            if (x->name) snprintf(lab, sizeof lab, "class %d %s %s", x->cls, name, pbuf);
            else snprintf(lab, sizeof lab, "class %d %s", x->cls, pbuf); /* no names: not "class 5 class 5" */
            if (gc_out_path(x->sheet, sizeof x->sheet, e, "%s_%d_sheet.png", o->out, x->cls) ||
                gc_sheet_write(sp, &subj, &o->ex, lab, NULL, x->sheet, e))
                goto fail;
        }
    }
    gc_report rep = {.image = o->image, .width = sp->orig.w, .height = sp->orig.h, .detector = 0,
                     .method = o->ex.method, .counterfactual = o->ex.counterfactual, .smooth = o->ex.smooth,
                     .prob_is_score = prob_is_score, .json_name = o->json_name};
    if (gc_report_finish(&rep, &rs, o->json, out, e)) goto fail;
    rc = 0;
    goto done;
fail:
    gc_explain_rollback(sp);
done:
    if (o->session) gc_explain_keep(sp);
    else gc_explain_close(sp);
    gc_draw_end(draw);
    gc_explain_results_free(&rs);
    free(targets);
    free(probs);
    return rc;
}
