#include "gc_classify_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_backward.h"
#include "gc_classify.h"
#include "gc_sheet.h"

static void layers_label(const network *net, const gc_map *m, char *buf, size_t n)
{
    const layer *l = &net->layers[m->layer];
    size_t len = (size_t)snprintf(buf, n, "%d %s %dx%dx%d", m->layer, gc_layer_type_name(l->type), l->out_w, l->out_h,
                                  l->out_c);
    for (int j = 1; j < m->nlayers && len < n; ++j)
        len += (size_t)snprintf(buf + len, n - len, "%s%d", j == 1 ? " fused with " : ",", m->layers[j]);
}

int gc_run_classifier(network *net, const gc_cls_opts *o, gc_results *out, gc_err *e)
{
    int rc = -1;
    int *targets = NULL;
    float *probs = NULL;
    gc_session s;
    memset(&s, 0, sizeof s);
    if (gc_check_out_prefix(o->out, e)) return -1;
    if (gc_session_open(&s, net, o->image, e)) goto done;
    const gc_classifier *cl = &s.cl;
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
    gc_classifier_probs(net, cl, probs);
    if (o->cls >= 0) targets[0] = o->cls;
    else gc_top_k(probs, cl->classes, ntargets, targets);
    /* every target's layers checked before the first file is written */
    for (int t = 0; t < ntargets; ++t) {
        gc_subject subj = {targets[t], NULL};
        if (gc_session_prepare(&s, &subj, &o->ex, e)) goto done;
    }

    for (int t = 0; t < ntargets; ++t) {
        int c = targets[t];
        gc_subject subj = {c, NULL};
        gc_map m;
        if (gc_session_explain_target(&s, &subj, &o->ex, &m, e)) goto fail;
        gc_session_heat(&s, &m);
        unsigned char *rgb = gc_session_overlay(&s, &o->ex);
        char png[4096], npy[4096], lbuf[256];
        snprintf(png, sizeof png, "%s_%d.png", o->out, c);
        snprintf(npy, sizeof npy, "%s_%d.npy", o->out, c);
        if (gc_session_write_png(&s, png, s.orig.w, s.orig.h, rgb, e)) goto fail;
        if (gc_session_write_npy(&s, npy, &m, e)) goto fail;
        layers_label(net, &m, lbuf, sizeof lbuf);
        if (out) {
            size_t am = 0;
            gc_map_max(s.heat, (size_t)s.orig.w * (size_t)s.orig.h, &am);
            gc_result *res = gc_results_add(out);
            if (!res) {
                gc_fail(e, "out of memory");
                goto fail;
            }
            *res = (gc_result){.index = c, .cls = c, .prob = probs[c], .box = {-1, -1, -1, -1}, .head = -1,
                               .anchor = -1, .cell_row = -1, .cell_col = -1, .nlayers = m.nlayers, .map_w = m.w,
                               .map_h = m.h, .peak = m.max, .peak_x = (int)(am % (size_t)s.orig.w),
                               .peak_y = (int)(am / (size_t)s.orig.w), .energy_in_box = -1, .all_zero = m.all_zero};
            memcpy(res->layers, m.layers, sizeof res->layers);
            snprintf(res->png, sizeof res->png, "%s", png);
            snprintf(res->npy, sizeof res->npy, "%s", npy);
        }
        printf("class %d %s: %s %.4f, layer %s, %s%s %s, max %.6g at (%d,%d)%s\n", c,
               o->names && c < o->nnames ? o->names[c] : "-", cl->prob_layer >= 0 ? "probability" : "score", probs[c],
               lbuf, gc_method_name(o->ex.method), o->ex.counterfactual ? " counterfactual" : "", png, m.max,
               m.argmax_x, m.argmax_y, m.all_zero ? " (all-zero map)" : "");
        printf("  map %s\n", npy);
        if (o->ex.sheet) {
            char sheet[4096], lab[512];
            snprintf(sheet, sizeof sheet, "%s_%d_sheet.png", o->out, c);
            snprintf(lab, sizeof lab, "class %d %s %.1f%%", c, o->names && c < o->nnames ? o->names[c] : "", probs[c] * 100);
            if (gc_sheet_write(&s, &subj, &o->ex, lab, NULL, sheet, e)) goto fail;
            printf("  sheet %s\n", sheet);
        }
    }
    rc = 0;
    goto done;
fail:
    gc_session_rollback(&s);
done:
    gc_session_close(&s);
    free(targets);
    free(probs);
    return rc;
}
