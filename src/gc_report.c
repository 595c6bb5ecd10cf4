#include "gc_report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_image.h"
#include "gc_json.h"

static void layer_list(const gc_result *x, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int j = 0; j < x->nlayers; ++j) {
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%d", j ? "," : "", x->layers[j]);
    }
}

void gc_report_print(FILE *f, const gc_report *r, const gc_results *rs)
{
    for (int i = 0; i < rs->n; ++i) {
        const gc_result *x = &rs->r[i];
        /* an all-zero map has no peak: its "max 0 at (0,0)" (the first pixel
         * of a tie) had stood beside "(all-zero map)" */
        char peak[96];
        if (x->all_zero) snprintf(peak, sizeof peak, "no peak (all-zero map)");
        else if (!r->detector) snprintf(peak, sizeof peak, "max %.6g at (%d,%d)", x->peak, x->peak_x, x->peak_y);
        else snprintf(peak, sizeof peak, "peak (%d,%d)", x->peak_x, x->peak_y);
        if (!r->detector) {
            /* "class 3:" without names, "class 3 three:" with them (the name whole) */
            char lbuf[256];
            /* Guided Backprop's map is the input gradient: "layer input 28x28x3" */
            size_t len = x->nlayers ? (size_t)snprintf(lbuf, sizeof lbuf, "%d %s %dx%dx%d", x->layers[0],
                                                       x->layer_type ? x->layer_type : "?", x->layer_w,
                                                       x->layer_h, x->layer_c)
                                    : (size_t)snprintf(lbuf, sizeof lbuf, "input %dx%dx%d", x->layer_w,
                                                       x->layer_h, x->layer_c);
            for (int j = 1; j < x->nlayers && len < sizeof lbuf; ++j)
                len += (size_t)snprintf(lbuf + len, sizeof lbuf - len, "%s%d", j == 1 ? " fused with " : ",",
                                        x->layers[j]);
            gc_print_line(f, "class %d%s%s: %s %.4f, layer %s, %s%s%s %s, %s", x->cls, x->name ? " " : "",
                    x->name ? x->name : "",
                    r->prob_is_score ? "score" : "probability", x->prob, lbuf, gc_cam_method_name(r->method),
                    r->counterfactual ? " counterfactual" : "", gc_explain_smooth_suffix((gc_smooth)r->smooth), x->png[0] ? x->png : "(no overlay: -save)",
                    peak);
            if (x->npy[0]) gc_print_line(f, "  map %s", x->npy);
        } else {
            char lbuf[256], nbuf[32];
            layer_list(x, lbuf, sizeof lbuf);
            if (!x->nlayers) snprintf(lbuf, sizeof lbuf, "input"); /* Guided Backprop */
            gc_print_line(f,
                    "box %d %s: %.0f%% [%d %d %d %d] head %d anchor %d cell %d,%d, layer %s, %s %s%s%s, in-box %.2f, "
                    "%s -> %s",
                    x->index, gc_result_name(x, nbuf, sizeof nbuf), x->prob * 100, x->box[0], x->box[1], x->box[2], x->box[3], x->head, x->anchor,
                    x->cell_row, x->cell_col, lbuf, gc_cam_method_name(r->method), gc_detect_target_name(r->target),
                    r->counterfactual ? " counterfactual" : "", gc_explain_smooth_suffix((gc_smooth)r->smooth), x->energy_in_box, peak,
                    x->png[0] ? x->png : "(no overlay: -save)");
        }
        if (x->sheet[0]) gc_print_line(f, "  sheet %s", x->sheet);
    }
    if (r->detector && r->summary) gc_print_line(f, "summary %s", r->summary);
}

void gc_report_json(FILE *f, const gc_report *r, const gc_results *rs)
{
    fprintf(f, "{\n  \"image\": ");
    gc_json_string(f, r->image);
    fprintf(f, ",\n  \"width\": %d,\n  \"height\": %d,\n  \"mode\": \"%s\",\n  \"method\": \"%s\",\n", r->width,
            r->height, r->detector ? "detector" : "classifier", gc_cam_method_name(r->method));
    if (r->detector)
        fprintf(f, "  \"target\": \"%s\",\n  \"thresh\": %g,\n  \"nms\": %g,\n", gc_detect_target_name(r->target),
                (double)r->thresh, (double)r->nms);
    fprintf(f, "  \"counterfactual\": %s,\n", r->counterfactual ? "true" : "false");
    if (r->smooth) fprintf(f, "  \"smooth\": \"%s\",\n", gc_explain_smooth_name((gc_smooth)r->smooth));
    else fprintf(f, "  \"smooth\": null,\n");
    if (r->detector) { /* null when none is written (-save without summary, or no box), as the overlays' */
        fprintf(f, "  \"summary\": ");
        if (r->summary) gc_json_string(f, r->summary);
        else fputs("null", f);
        fprintf(f, ",\n");
    }
    fprintf(f, "  \"%s\": [\n", r->detector ? "detections" : "classes");
    for (int i = 0; i < rs->n; ++i) {
        const gc_result *x = &rs->r[i];
        char lbuf[256];
        layer_list(x, lbuf, sizeof lbuf);
        fprintf(f, "    {\"index\": %d, \"class\": %d, \"name\": ", x->index, x->cls);
        /* a class the names file does not name: null, as in a -list index
         * and eval's report, not the "class N" the text shows */
        if (x->name) gc_json_string(f, x->name);
        else fputs("null", f);
        fprintf(f, ", \"%s\": ", r->prob_is_score ? "score" : "probability");
        gc_json_number(f, x->prob);
        if (r->detector) {
            fprintf(f, ", \"objectness\": ");
            gc_json_number(f, x->objectness);
            /* the box as the head decodes it: exp() of a large finite
             * width logit is inf (null here; left..bottom are clamped) */
            fprintf(f, ",\n     \"box\": {\"left\": %d, \"top\": %d, \"right\": %d, \"bottom\": %d", x->box[0],
                    x->box[1], x->box[2], x->box[3]);
            const char *key[4] = {"x", "y", "w", "h"};
            const float val[4] = {x->bx, x->by, x->bw, x->bh};
            for (int k = 0; k < 4; ++k) {
                fprintf(f, ", \"%s\": ", key[k]);
                gc_json_fixed(f, val[k], 3);
            }
            fprintf(f, "},\n     \"head\": %d, \"head_type\": \"%s\", \"anchor\": %d, \"cell\": {\"row\": %d, \"col\": %d}",
                    x->head, x->head_type ? x->head_type : "?", x->anchor, x->cell_row, x->cell_col);
        }
        fprintf(f, ",\n     \"layers\": [%s], \"layer_type\": \"%s\", \"map_size\": [%d, %d], "
                   "\"peak\": {\"x\": %d, \"y\": %d, \"value\": ",
                lbuf, x->layer_type ? x->layer_type : "?", x->map_h, x->map_w, x->peak_x, x->peak_y);
        gc_json_number(f, x->peak);
        fprintf(f, "},\n     ");
        if (r->detector) {
            fprintf(f, "\"energy_in_box\": ");
            gc_json_number(f, x->energy_in_box);
            fprintf(f, ", ");
        }
        fprintf(f, "\"map_range\": [");
        gc_json_number(f, x->map_lo);
        fprintf(f, ", ");
        gc_json_number(f, x->map_hi);
        fprintf(f, "], \"all_zero\": %s,\n     \"overlay\": ", x->all_zero ? "true" : "false");
        if (x->png[0]) gc_json_string(f, x->png);
        else fputs("null", f);
        fprintf(f, ", \"map\": ");
        if (x->npy[0]) gc_json_string(f, x->npy);
        else fputs("null", f);
        fprintf(f, ", \"sheet\": ");
        if (x->sheet[0]) gc_json_string(f, x->sheet);
        else fputs("null", f);
        fprintf(f, "}%s\n", i + 1 < rs->n ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
}

int gc_report_write_json(const char *path, const gc_report *r, const gc_results *rs, gc_err *e)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return gc_fail(e, "out of memory for the JSON report %s", path);
    gc_report_json(f, r, rs);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return gc_fail(e, "out of memory for the JSON report %s", path);
    }
    int rc = gc_image_write_file(path, buf, len, e);
    free(buf);
    return rc;
}

int gc_report_finish(const gc_report *r, const gc_results *rs, const char *json, gc_results *out, gc_err *e)
{
    if (json && gc_report_write_json(json, r, rs, e)) return -1;
    for (int k = 0; out && k < rs->n; ++k) {
        gc_result *x = gc_explain_results_add(out);
        if (!x) {
            if (json) gc_image_remove_output(json);
            return gc_fail(e, "out of memory");
        }
        *x = rs->r[k];
    }
    gc_report_print(stdout, r, rs);
    if (json) gc_print_line(stdout, "json %s", r->json_name ? r->json_name : json);
    return 0;
}
