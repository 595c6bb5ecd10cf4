#include "gc_cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "gc_backward.h"
#include "gc_batch.h"
#include "gc_blas.h"
#include "gc_cam.h"
#include "gc_classify.h"
#include "gc_classify_run.h"
#include "gc_common.h"
#include "gc_detect.h"
#include "gc_detect_run.h"
#include "gc_eval.h"
#include "gc_explain.h"
#include "gc_forward.h"
#include "gc_image.h"
#include "gc_index.h"
#include "gc_interrupt.h"
#include "gc_labels.h"
#include "gc_model.h"
#include "gc_scenes.h"
#include "gc_stop.h"

#define GC_OPTIONS_MAX 64 /* more than any subcommand has: an option seen twice is caught */

static const char usage_text[] =
    "usage: darknet gradcam <cfg> <weights> <image> [options]\n"
    "       darknet gradcam init <cfg> <out.weights> [-seed N]\n"
    "                       (seeded random weights, for trials; a new file,\n"
    "                       never over an existing one)\n"
    "       darknet gradcam scenes <cls|pair|det|same> <train|test> <count> <outdir>\n"
    "                       [-seed N] [-fmnist DIR]\n"
    "                       (<count> labelled Fashion-MNIST scenes, at most\n"
    "                       10000000; see README)\n"
    "       darknet gradcam eval <cfg> <weights> <list.txt> [options]\n"
    "                       (metrics over a labeled list)\n"
    "       darknet gradcam <cfg> <weights> -list FILE|DIR -outdir DIR [options]\n"
    "                       (many images, see below)\n"
    "       darknet gradcam merge DIR... [-o FILE]\n"
    "                       (join the indexes of -shard runs; -o -: stdout)\n"
    "Explains a classifier's class scores (a map per class) or a YOLO detector's\n"
    "boxes (a map per box) with Grad-CAM. Common options:\n"
    "  -class K         class to explain: index, or name when -names/-data is given\n"
    "                   (default: top-1)\n"
    "  -top N           explain the N best classes, from one forward pass\n"
    "                   (default: -data's top=, as classifier predict; else 1;\n"
    "                   at most 1000)\n"
    "  -layer L[,L...]  layer(s) to explain at: index, or negative counting back\n"
    "                   from the logit layer (default: the last layer before the\n"
    "                   logits with a spatial output); several are fused (each\n"
    "                   normalised, upsampled to the input, averaged)\n"
    "  -method M        explanation method, see Methods below\n"
    "                   (default: gradcam for classifiers, layercam for detectors)\n"
    "  -counterfactual  negate the gradients: regions that argue against the class\n"
    "  -names FILE      class names, one per line\n"
    "  -data FILE       Darknet .data file; its names= key (else labels=) gives the\n"
    "                   class names\n"
    "  -out PREFIX      output prefix (default: out/gradcam; missing folders are\n"
    "                   created): PREFIX_<class>.png overlay, PREFIX_<class>.npy map\n"
    "                   (not -: files cannot go to stdout; ./- is a prefix)\n"
    "  -json FILE       the report: per class or box, name, probability, layers,\n"
    "                   peak, files (-json -: on stdout, and the usual stdout lines\n"
    "                   on stderr)\n"
    "  -save S          outputs to write: png, npy, summary (comma-separated), all\n"
    "                   (default) or none; the report, -json and a -list index are\n"
    "                   always written\n"
    "  -alpha A         heat opacity at the map's maximum, 0..1, fading to none\n"
    "                   where the map is 0 (default 0.5)\n"
    "  -smooth S        aug (mean over a horizontal flip x intensities 0.9, 1, 1.1,\n"
    "                   maps flipped back) or eigen (first principal component of\n"
    "                   the weighted activations)\n"
    "  -scorecam-channels N  with -method scorecam: the N channels with the\n"
    "                   largest mean activation (default 32, at most 1000000)\n"
    "  -sheet           also PREFIX_<target>_sheet.png: image, Grad-CAM, Guided\n"
    "                   Backprop, Guided Grad-CAM, counterfactual Grad-CAM side by\n"
    "                   side (the Grad-CAM paper's figure)\n"
    "Detectors ([yolo], [region], [detection] heads), one map per box that\n"
    "`darknet detect` reports:\n"
    "  -thresh T        detection threshold, above 0, at most 1 (default 0.5, as\n"
    "                   darknet detect)\n"
    "  -hier H          hierarchy threshold, 0..1 (default 0.5)\n"
    "  -nms N           NMS IoU threshold, 0..1 (default 0.45; 0 disables)\n"
    "  -maxboxes N      explain at most the N most probable boxes (default 100, at\n"
    "                   most 10000)\n"
    "  -target T        logit (default: the class logit), score (objectness x class\n"
    "                   probability), obj (the objectness logit)\n"
    "  -layer L[,L...]  layer(s) to explain at: index, or negative counting back\n"
    "                   from the box's head; several are fused (each normalised,\n"
    "                   upsampled to the input, averaged) (default: two layers\n"
    "                   where the box's gradient spreads over 5x5 and >= 9x9 cells,\n"
    "                   fused; see README)\n"
    "  -json FILE       also per box: box, head/anchor/cell, share of map energy\n"
    "                   inside the box\n"
    "  Outputs: PREFIX_<box>.png (overlay with the box), PREFIX_<box>.npy,\n"
    "           PREFIX_summary.png\n"
    "Evaluation (gradcam eval): list.txt names one image per line (- for\n"
    "standard input); labels as Darknet finds them (images -> labels,\n"
    "JPEGImages -> labels, extension -> .txt), lines `class cx cy w h`:\n"
    "  -method, -layer, -counterfactual, -smooth, -scorecam-channels, -names, -data\n"
    "                   as above; detectors also -target, -nms\n"
    "  -thresh T        detectors: detections matched to ground truth (default 0.25)\n"
    "  -mapthresh T     detectors: detections ranked for mAP@0.5 (default 0.005)\n"
    "  -steps N         deletion/insertion steps (default 16, at most 1000)\n"
    "  -limit N         only the first N images of the list\n"
    "  -baseline B      replaces the maps: center (Gaussian centre prior), random\n"
    "                   (with -seed N), box (Gaussian on the box, sigma a quarter\n"
    "                   of its size), cell (detectors: the box's head cell alone,\n"
    "                   upsampled)\n"
    "  -rise N          RISE / D-RISE reference maps from N random masks per image:\n"
    "                   Spearman with each map over the image and inside the box,\n"
    "                   peaks within one map cell (one forward pass per mask;\n"
    "                   above 1000, progress within each image on stderr)\n"
    "  -rise-weight W   detectors: a mask's weight, own (the box's own score at its\n"
    "                   head, anchor, cell; default) or iou (D-RISE: best IoU x\n"
    "                   class probability of any box)\n"
    "  -nosanity        skip the cascading weight randomisation and the random-logit\n"
    "                   test\n"
    "  -cascade N       cascade points below the randomisation point (0..1000,\n"
    "                   default 4; see README)\n"
    "  -seed N          seeds the random baseline, RISE's masks, the randomised\n"
    "                   weights and the random-logit classes (default 1)\n"
    "  -json FILE       the metrics and every map's record, written atomically\n"
    "                   (-: stdout)\n"
    "  -quiet           no progress on stderr\n"
    "Many images (-list): the network loaded once; the main options apply; per\n"
    "image a folder DIR/<path relative to the list's root>/ (gradcam_<k>.png/.npy,\n"
    "detectors gradcam_summary.png), moved into place complete, then its lines\n"
    "appended to DIR/index.jsonl (JSON Lines, one per target):\n"
    "  -list FILE|DIR   a Darknet image list (one path a line; - for standard\n"
    "                   input) or a folder (its images, any depth, sorted)\n"
    "  -outdir DIR      where the folders, index.jsonl and errors.jsonl go (created\n"
    "                   if missing)\n"
    "  -resume          go on with an interrupted run: skip the images index.jsonl\n"
    "                   holds\n"
    "  -shard I/N       every N-th image starting at I, 0 <= I < N <= 1000000\n"
    "                   (index.shard-I-of-N.jsonl); join with gradcam merge\n"
    "  -jobs N          N worker processes sharing the loaded network (local\n"
    "                   filesystem; 1..256, default 1)\n"
    "  -batch N         N images through one batched forward pass (1..64,\n"
    "                   default 1; see README)\n"
    "  -progress N      without a terminal, a progress line every N images\n"
    "                   (default 100)\n"
    "  -quiet           no progress on stderr\n";

/* The help's width: it reads in an 80-column terminal. */
#define GC_HELP_WIDTH 80

/* text, from column col of a line begun, wrapped at spaces to at most
 * GC_HELP_WIDTH columns, continuation lines indented to column indent. */
static void put_wrapped(FILE *f, int col, int indent, const char *text)
{
    int start = col;
    for (const char *p = text + strspn(text, " "); *p; p += strspn(p, " ")) {
        int w = (int)strcspn(p, " ");
        if (col > start && col + 1 + w > GC_HELP_WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = start = indent;
        } else if (col > start) {
            fputc(' ', f);
            ++col;
        }
        fwrite(p, 1, (size_t)w, f);
        col += w;
        p += w;
    }
    fputc('\n', f);
}

/* The usage text, then the methods from gc_cam's table. */
static void print_usage(FILE *f)
{
    fputs(usage_text, f);
    fputs("Methods (-method):\n", f);
    for (int m = 0; m < GC_METHOD_COUNT; ++m) {
        const gc_method_info *mi = gc_cam_method_get((gc_method)m);
        char text[512];
        snprintf(text, sizeof text, "%s%s", mi->summary, mi->needs_grad ? "" : " [no -counterfactual]");
        fprintf(f, "  %-16s ", mi->name);
        put_wrapped(f, 19, 19, text);
    }
}

/* The default method of a mode. Classifiers: Grad-CAM. Detectors: LayerCAM,
 * because Grad-CAM's spatially averaged weights make a box's map class-level:
 * measured pointing game on matched boxes, Grad-CAM vs LayerCAM at the
 * default layer, 0.41 vs 0.96 (cfg/fmnist-det, 100 held-out scenes); on
 * Yolo-Fastest, Grad-CAM 0.42 vs LayerCAM 0.76 one layer deeper; see README. */
static gc_method gc_default_method(int detector)
{
    return detector ? GC_METHOD_LAYERCAM : GC_METHOD_GRADCAM;
}

/* The options the main command and gradcam eval share: how the maps are
 * made, what a box's map explains, where the class names come from. One
 * reader (explain_args_read) and the checks on them (explain_args_check_*),
 * so that the two commands take and refuse them alike. */
typedef struct explain_args {
    gc_method method;
    int method_set; /* -method given; otherwise the mode's default (gc_default_method) */
    int layers[GC_MAX_LAYERS], nlayers;
    int counterfactual, scorecam_channels;
    gc_smooth smooth;
    gc_target target;
    const char *names, *data;
    int det_only; /* a detector-only option was given: -target, or one of the command's own */
    int target_set; /* -target given */
} explain_args;

/* Before any option: the checks read an unset -method as gradcam. */
static const explain_args explain_args_default = {.method = GC_METHOD_GRADCAM, .target = GC_TARGET_LOGIT};

typedef struct cli_args {
    explain_args x;
    const char *cfg, *weights, *image;
    const char *class_arg, *out, *json;
    const char *json_name; /* "-" for -json - (json is then /dev/stdout), or NULL */
    int top, top_set, maxboxes;
    float alpha, thresh, hier, nms;
    int sheet, nosave;
    const char *list, *outdir; /* -list mode (gc_batch) */
    int resume, quiet, shard, nshards, every, out_set, jobs, batch;
    int progress_set; /* bit 0: -progress given, bit 1: -shard given */
    int alpha_set;    /* -alpha given */
} cli_args;

static int unknown_method(const char *name, gc_err *e)
{
    char list[512];
    return gc_fail(e, "-method %s: unknown (%s)", name, gc_cam_method_list(list, sizeof list));
}

static int parse_layers(const char *s, explain_args *x, gc_err *e)
{
    const char *p = s;
    x->nlayers = 0;
    for (;;) {
        char *end = NULL;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || isspace((unsigned char)*p))
            return gc_fail(e, "-layer %s: expected a layer index or a comma-separated list", s);
        if (v < -1000000 || v > 1000000) /* an index all the same: said so, not as a malformed list */
            return gc_fail(e, "-layer %s: layer %ld is out of range: expected -1000000..1000000 (and within the network)",
                           s, v);
        if (v == 0 && memchr(p, '-', (size_t)(end - p))) /* -0 is 0, the first layer: not what counting back means */
            return gc_fail(e, "-layer %s: -0 names no layer: counting back starts at -1; the first layer is 0", s);
        if (x->nlayers == GC_MAX_LAYERS) return gc_fail(e, "-layer %s: at most %d layers", s, GC_MAX_LAYERS);
        for (int j = 0; j < x->nlayers; ++j)
            if (x->layers[j] == (int)v) return gc_fail(e, "-layer %s: layer %ld is given twice", s, v);
        x->layers[x->nlayers++] = (int)v;
        if (!*end) return 0;
        p = end + 1;
    }
}

static int parse_int(const char *flag, const char *s, long lo, long hi, int *out, gc_err *e)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi || isspace((unsigned char)*s)) /* " 3" as "3 ": refused */
        return gc_fail(e, "%s %s: expected an integer in %ld..%ld", flag, s, lo, hi);
    *out = (int)v;
    return 0;
}

static int parse_float(const char *flag, const char *s, float lo, float hi, float *out, gc_err *e)
{
    char *end = NULL;
    errno = 0;
    float v = strtof(s, &end);
    if (errno == ERANGE && fabsf(v) < 1.0f) errno = 0; /* an underflow (1e-40): the value is its nearest float */
    if (errno || end == s || *end || !(v >= lo && v <= hi) || isspace((unsigned char)*s))
        return gc_fail(e, "%s %s: expected a number in %g..%g", flag, s, lo, hi);
    *out = v;
    return 0;
}

/* -thresh (and eval's -mapthresh): a number above 0 and at most 1; one at
 * or below 0 is told so (parse_float's "in 0..1" had read as if 0 were
 * allowed). why follows "must be above 0". */
static int parse_thresh(const char *flag, const char *s, const char *why, float *out, gc_err *e)
{
    char *end = NULL;
    float v = strtof(s, &end);
    if (end != s && !*end && !isspace((unsigned char)*s) && v <= 0)
        return gc_fail(e, "%s %s: must be above 0%s", flag, s, why);
    if (parse_float(flag, s, 0.0f, 1.0f, out, e))
        return gc_fail(e, "%s %s: expected a number above 0 and at most 1", flag, s);
    if (!(*out > 0)) return gc_fail(e, "%s %s: must be above 0%s", flag, s, why); /* an underflow to 0 */
    return 0;
}

/* A file or folder option's value that starts with '-' is the next option,
 * the value forgotten (`-out -json r.json` had written -json_0.png); "-"
 * alone is standard output where an option allows it. A file whose name
 * starts with '-' is given as ./-name. */
static int path_value(const char *flag, const char *s, gc_err *e)
{
    if (s[0] == '-' && s[1])
        return gc_fail(e, "%s %s: looks like an option, not a file name (a name starting with '-': give it as ./%s)",
                       flag, s, s);
    return 0;
}

/* path_value for an option that names one file (-json, merge's -o): a
 * name ending in '/' is a folder's ("-json out/" had been refused only once
 * the folder was made, as "is a directory"). */
static int file_value(const char *flag, const char *s, gc_err *e)
{
    if (path_value(flag, s, e)) return -1;
    size_t n = strlen(s);
    if (n && s[n - 1] == '/') return gc_fail(e, "%s %s: ends in '/', a folder's name: give a file name", flag, s);
    return 0;
}

/* Whether the first line of the file at path that is not blank or a comment
 * is a .data key=value (data) or [net] / [network] (!data). Regular files
 * only: a pipe is not read. */
static int first_line_is(const char *path, int data)
{
    static const char *const keys[] = {"classes", "train", "valid", "names", "labels", "backup", "eval", "top", "results"};
    struct stat st;
    FILE *f = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? fopen(path, "rb") : NULL;
    if (!f) return 0;
    char line[512];
    int hit = 0;
    for (int n = 0; n < 1000 && fgets(line, sizeof line, f); ++n) { /* a binary file's NUL "lines": a bound */
        char *p = line;
        if (n == 0 && !strncmp(p, "\xef\xbb\xbf", 3)) p += 3; /* a UTF-8 BOM, which -data's reader skips too */
        p += strspn(p, " \t\r\n");
        if (!*p || *p == '#' || *p == ';') continue;
        if (!data) {
            hit = !strncmp(p, "[net]", 5) || !strncmp(p, "[network]", 9);
            break;
        }
        size_t k = strcspn(p, "= \t");
        for (size_t j = 0; j < sizeof keys / sizeof *keys && p[strspn(p + k, " \t") + k] == '='; ++j)
            if (strlen(keys[j]) == k && !strncmp(p, keys[j], k)) hit = 1;
        break; /* the first line decides */
    }
    fclose(f);
    return hit;
}

/* A Darknet .data file: its first line that is not blank or a comment is a
 * .data key (classes=, train=, names=, ...), where a cfg's is its [net] and
 * a names file's a class name. */
static int is_data_file(const char *path)
{
    return first_line_is(path, 1);
}

/* A cfg: its first line that is not blank or a comment is [net] or [network]. */
static int is_cfg_file(const char *path)
{
    return first_line_is(path, 0);
}

/* "JPEG" and the like where path starts as an image file does, else NULL:
 * the signatures a cfg's or a weights file's first bytes never are (a cfg
 * may begin with a "#?" comment, which is HDR's) */
static const char *image_kind(const char *path)
{
    unsigned char b[4];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    const char *kind = gc_image_signature(b, n);
    return kind && (!strcmp(kind, "PNG") || !strcmp(kind, "JPEG") || !strcmp(kind, "GIF") || !strcmp(kind, "BMP"))
               ? kind
               : NULL;
}

/* A .data file given as a positional (Darknet's `detector test DATA CFG
 * WEIGHTS IMAGE` order, typed out of habit) or as -names (its lines had
 * become class names), a cfg as the weights (swapped, or given twice): told
 * as such, not as a cfg that does not parse, weights of the
 * wrong size or an image that does not decode. */
static int data_file_misplaced(const char *const *pos, int npos, const char *names, const char *expected, gc_err *e)
{
    for (int i = 0; i < npos; ++i)
        if (is_data_file(pos[i]))
            return gc_fail(e, "%s is a Darknet .data file: gradcam takes %s (not `detector test`'s DATA CFG WEIGHTS); "
                              "give it as -data %s",
                           pos[i], expected, pos[i]);
    /* the image as the cfg or the weights (it had been "weights file dog.jpg
     * has 163759 bytes but cfg x.cfg needs 4185968 ...: do not match") */
    for (int i = 0; i < 2 && i < npos; ++i) {
        const char *kind = image_kind(pos[i]);
        if (kind)
            return gc_fail(e, "%s is a %s image, given as the %s: gradcam takes %s", pos[i], kind, i ? "weights" : "cfg",
                           expected);
    }
    if (npos > 1 && is_cfg_file(pos[1])) /* the cfg as the weights: swapped, or given twice */
        return gc_fail(e, "%s is a cfg file (it starts with [net]), given as the weights: gradcam takes %s", pos[1],
                       expected);
    if (names && is_data_file(names))
        return gc_fail(e, "-names %s is a Darknet .data file, not a names file: give it as -data %s", names, names);
    return 0;
}

/* An option with a value given a second time: refused, not the last one
 * winning (nor the first, as with Darknet's find_arg()): `-layer 3 -layer 5`
 * reads as fusing two layers and explained one. (A flag without a value,
 * -quiet twice, says the same thing twice.) seen: the options so far, at
 * most n. */
static int given_twice(const char **seen, int *nseen, int n, const char *s, gc_err *e)
{
    for (int j = 0; j < *nseen; ++j)
        if (!strcmp(seen[j], s))
            return gc_fail(e, "%s is given twice: give it once%s", s,
                           !strcmp(s, "-layer") ? " (several layers: -layer L1,L2)" : "");
    if (*nseen < n) seen[(*nseen)++] = s;
    return 0;
}

/* A command line read option by option, argv[i] the one in hand: the
 * positional arguments so far (cfg, weights, then image or list) and the
 * options given a value so far (given_twice). */
typedef struct arg_reader {
    int argc, i;
    char **argv;
    const char *pos[3], *seen[GC_OPTIONS_MAX];
    int npos, nseen;
} arg_reader;

/* The value after the option in hand, which r steps onto; NULL with e set
 * where none follows or the option was given before. */
static const char *arg_value(arg_reader *r, gc_err *e)
{
    const char *s = r->argv[r->i];
    if (r->i + 1 >= r->argc) {
        gc_fail(e, "%s needs a value", s);
        return NULL;
    }
    if (given_twice(r->seen, &r->nseen, GC_OPTIONS_MAX, s, e)) return NULL;
    return r->argv[++r->i];
}

/* The argument in hand as the next positional one. A fourth is refused:
 * as a misplaced .data file where one of the three is, else as unexpected.
 * expected: the command's positional arguments; third: the last one's name. */
static int arg_positional(arg_reader *r, const char *expected, const char *third, gc_err *e)
{
    const char *s = r->argv[r->i];
    if (r->npos == 3 && data_file_misplaced(r->pos, r->npos, NULL, expected, e)) return -1;
    if (r->npos == 3) return gc_fail(e, "unexpected argument %s (cfg, weights and %s already given)", s, third);
    if (!*s) /* a usage error, found from the arguments (it had been status 1, the image's after the load) */
        return gc_fail(e, "<%s> is an empty argument (\"\"): give a file name",
                       r->npos == 0 ? "cfg" : r->npos == 1 ? "weights" : third);
    r->pos[r->npos++] = s;
    return 0;
}

/* Reads the option in hand where it is one of explain_args': 1 read (its
 * value too), 0 not one of them, -1 refused (e set). */
static int explain_args_read(explain_args *x, arg_reader *r, gc_err *e)
{
    const char *s = r->argv[r->i], *v;
    if (!strcmp(s, "-method")) {
        if (!(v = arg_value(r, e))) return -1;
        if (gc_cam_method_parse(v, &x->method)) return unknown_method(v, e);
        x->method_set = 1;
    } else if (!strcmp(s, "-layer")) {
        if (!(v = arg_value(r, e)) || parse_layers(v, x, e)) return -1;
    } else if (!strcmp(s, "-counterfactual")) {
        x->counterfactual = 1;
    } else if (!strcmp(s, "-smooth")) {
        if (!(v = arg_value(r, e))) return -1;
        if (gc_explain_smooth_parse(v, &x->smooth)) return gc_fail(e, "-smooth %s: unknown (aug, eigen)", v);
    } else if (!strcmp(s, "-scorecam-channels")) {
        if (!(v = arg_value(r, e)) || parse_int(s, v, 1, 1000000, &x->scorecam_channels, e)) return -1;
    } else if (!strcmp(s, "-target")) {
        if (!(v = arg_value(r, e))) return -1;
        if (gc_detect_target_parse(v, &x->target)) return gc_fail(e, "-target %s: unknown (logit, score, obj)", v);
        x->det_only = 1;
        x->target_set = 1;
    } else if (!strcmp(s, "-names") || !strcmp(s, "-data")) {
        if (!(v = arg_value(r, e)) || path_value(s, v, e)) return -1;
        if (!*v) /* it had been "no names file given", status 1, once the network was loaded */
            return gc_fail(e, "%s needs a file name", s);
        if (!strcmp(v, "-")) /* it had been looked for as a file named "-" (No such file) */
            return gc_fail(e, "%s -: class names are read from a file (more than once), not from standard input: give "
                              "the %s file's path (./- for a file named -)", s, s[1] == 'n' ? "names" : ".data");
        *(s[1] == 'n' ? &x->names : &x->data) = v;
    } else {
        return 0;
    }
    return 1;
}

/* The checks on explain_args once the command line is read, in three parts
 * rather than one: each command checks its own options between them as it
 * always has, so a line with two mistakes is told the same one first. */

/* What the method must have for -counterfactual (gradients) and -smooth
 * eigen (a layer's map). */
static int explain_args_check_method(const explain_args *x, gc_err *e)
{
    const gc_method_info *mi = gc_cam_method_get(x->method);
    if (x->counterfactual && !mi->needs_grad)
        return gc_fail(e, "-counterfactual needs gradients; %s uses none", gc_cam_method_name(x->method));
    if (x->smooth == GC_SMOOTH_EIGEN && !mi->weights && !mi->map)
        return gc_fail(e, "-smooth eigen works on a layer's map; %s has none (it is the input gradient)",
                       gc_cam_method_name(x->method));
    /* The options below did nothing, and the report said they were used
     * (the same map byte for byte; "eigencam smooth eigen" in its line). */
    if (x->smooth == GC_SMOOTH_EIGEN && (x->method == GC_METHOD_EIGENCAM || x->method == GC_METHOD_EIGENGRADCAM))
        return gc_fail(e, "-smooth eigen with -method %s: the map already is that first principal component",
                       gc_cam_method_name(x->method));
    if (x->nlayers && mi->reaches_input && !mi->weights && !mi->map)
        return gc_fail(e, "-layer with -method %s: its map is the input gradient, at no layer", gc_cam_method_name(x->method));
    if (x->target_set && !mi->needs_grad && !mi->extra_forward)
        return gc_fail(e, "-target %s with -method %s: it reads no score (no gradient, no forward pass of its own), so "
                          "every target gives the same map",
                       gc_detect_target_name(x->target), gc_cam_method_name(x->method));
    return 0;
}

static int explain_args_check_scorecam(const explain_args *x, gc_err *e)
{
    if (x->scorecam_channels && (!x->method_set || x->method != GC_METHOD_SCORECAM)) /* it had been ignored without a word */
        return x->method_set ? gc_fail(e, "-scorecam-channels is for -method scorecam, not %s", gc_cam_method_name(x->method))
                             : gc_fail(e, "-scorecam-channels is for -method scorecam: give it too");
    return 0;
}

static int explain_args_check_names(const explain_args *x, gc_err *e)
{
    if (x->names && x->data)
        return gc_fail(e, "-names %s and -data %s both give the class names: give one", x->names, x->data);
    /* a pipe (-names /dev/stdin, -names <(...)), a device: the file is read
     * more than once (checked as text, loaded, and by -list's settings); it
     * had been "is not a regular file" (exit 1) once the model was loaded */
    const char *path = x->names ? x->names : x->data, *flag = x->names ? "-names" : "-data";
    struct stat st;
    if (path && stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return gc_fail(e, "%s %s is %s: class names are read from a file (more than once): give the %s file's path", flag,
                       path, S_ISFIFO(st.st_mode) ? "a pipe" : S_ISSOCK(st.st_mode) ? "a socket" : "a device",
                       x->names ? "names" : ".data");
    return 0;
}

static int parse_args(int argc, char **argv, cli_args *a, gc_err *e)
{
    memset(a, 0, sizeof *a);
    a->x = explain_args_default;
    a->top = 1;
    a->alpha = 0.5f;
    a->out = "out/gradcam";
    a->thresh = 0.5f;
    a->hier = 0.5f;
    a->nms = 0.45f;
    a->maxboxes = GC_MAXBOXES_DEFAULT;
    a->nshards = 1;
    a->every = 100;
    arg_reader r = {.argc = argc, .argv = argv};
    for (r.i = 2; r.i < argc; ++r.i) {
        const char *s = argv[r.i], *v;
        int got;
        if (s[0] != '-' || s[1] == '\0') {
            if (arg_positional(&r, "<cfg> <weights> <image>", "image", e)) return -1;
        } else if (!strcmp(s, "-class")) {
            if (!(v = arg_value(&r, e))) return -1;
            if (!*v) return gc_fail(e, "-class needs a class index or name"); /* it had been looked up as a name */
            a->class_arg = v;
            /* " 3" had been class 3 (strtol skips it) where -top ' 2' is refused; a
             * name's trailing spaces are not part of it (gc_model_names_load) */
            if (*v && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[strlen(v) - 1])))
                return gc_fail(e, "-class %s: expected a class index or name, without a space before or after it", v);
        } else if (!strcmp(s, "-top")) {
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 1, 1000, &a->top, e)) return -1;
            a->top_set = 1;
        } else if (!strcmp(s, "-thresh") || !strcmp(s, "-hier") || !strcmp(s, "-nms")) {
            if (!(v = arg_value(&r, e))) return -1;
            float *dst = s[1] == 't' ? &a->thresh : s[1] == 'h' ? &a->hier : &a->nms;
            if (dst == &a->thresh ? parse_thresh(s, v, " (every box would pass)", dst, e)
                                  : parse_float(s, v, 0.0f, 1.0f, dst, e))
                return -1;
            a->x.det_only = 1;
        } else if (!strcmp(s, "-maxboxes")) {
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 1, 10000, &a->maxboxes, e)) return -1;
            a->x.det_only = 1;
        } else if (!strcmp(s, "-json")) {
            if (!(v = arg_value(&r, e)) || file_value(s, v, e)) return -1;
            a->json = v;
        } else if (!strcmp(s, "-out")) {
            if (!(v = arg_value(&r, e)) || path_value(s, v, e)) return -1;
            if (!strcmp(v, "-")) /* as -json - is: it had written files named -_<k>.png */
                return gc_fail(e, "-out -: the overlays and maps (PREFIX_<k>.png, .npy) are files and cannot go to "
                                  "standard output: give a prefix (./- for files named -_<k>.png)");
            a->out = v;
            a->out_set = 1;
        } else if (!strcmp(s, "-list") || !strcmp(s, "-outdir")) {
            if (!(v = arg_value(&r, e)) || path_value(s, v, e)) return -1;
            if (s[1] == 'o' && !strcmp(v, "-"))
                return gc_fail(e, "-outdir -: the outputs are a folder of files and cannot go to standard output: "
                                  "give a folder (./- for one named -)");
            /* -list -: the list from standard input (gc_batch_list_path), named so in messages */
            *(s[1] == 'l' ? &a->list : &a->outdir) = v;
        } else if (!strcmp(s, "-resume")) {
            a->resume = 1;
        } else if (!strcmp(s, "-quiet")) {
            a->quiet = 1;
        } else if (!strcmp(s, "-shard")) {
            if (!(v = arg_value(&r, e)) || gc_batch_shard_parse(v, &a->shard, &a->nshards, e)) return -1;
            a->progress_set |= 2; /* -shard given (0/1 included): it goes with -list too */
        } else if (!strcmp(s, "-jobs")) {
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 1, 256, &a->jobs, e)) return -1;
        } else if (!strcmp(s, "-batch")) {
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 1, GC_BATCH_MAX, &a->batch, e)) return -1;
        } else if (!strcmp(s, "-progress")) {
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 1, INT_MAX, &a->every, e)) return -1;
            a->progress_set = 1;
        } else if (!strcmp(s, "-alpha")) {
            if (!(v = arg_value(&r, e)) || parse_float(s, v, 0.0f, 1.0f, &a->alpha, e)) return -1;
            a->alpha_set = 1;
        } else if (!strcmp(s, "-sheet")) {
            a->sheet = 1;
        } else if (!strcmp(s, "-save")) {
            if (!(v = arg_value(&r, e))) return -1;
            if (v[0] == '-' && isalpha((unsigned char)v[1])) /* -save -out x: the value forgotten */
                return gc_fail(e, "-save %s: looks like an option: -save needs a value (png, npy, summary, all or "
                                  "none)", v);
            if (gc_explain_save_parse(v, &a->nosave, e)) return -1;
        } else if ((got = explain_args_read(&a->x, &r, e)) < 0) {
            return -1;
        } else if (!got) {
            return gc_fail(e, "unknown option %s (see 'darknet gradcam help')", s);
        }
    }
    const char **pos = r.pos;
    int npos = r.npos;
    if (data_file_misplaced(pos, npos, a->x.names, a->list ? "<cfg> <weights> -list FILE|DIR" : "<cfg> <weights> <image>",
                            e))
        return -1;
    if (a->out_set && !*a->out) return gc_fail(e, "-out needs a non-empty prefix");
    const char *last = a->out_set ? strrchr(a->out, '/') : NULL;
    last = last ? last + 1 : a->out;
    /* a folder: the default name inside it (`-out .` had written hidden ._0.png, ...) */
    if (a->out_set && (!*last || !strcmp(last, ".") || !strcmp(last, ".."))) {
        static char in_folder[PATH_MAX];
        if (snprintf(in_folder, sizeof in_folder, "%s%sgradcam", a->out, *last ? "/" : "") >= (int)sizeof in_folder)
            return gc_fail_path(e, "-out", sizeof in_folder - 1, "%s%sgradcam", a->out, *last ? "/" : "");
        a->out = in_folder;
    }
    if (a->json && !*a->json) return gc_fail(e, "-json needs a file name");
    if (a->outdir && !*a->outdir) return gc_fail(e, "-outdir needs a folder name");
    if (a->list && !*a->list) return gc_fail(e, "-list needs a file or folder name");
    if (a->list) {
        if (npos == 3)
            return gc_fail(e, "-list %s and an image %s: give one or the other", gc_batch_list_name(a->list), pos[2]);
        if (npos < 2) return gc_fail(e, "missing %s", npos == 0 ? "cfg and weights" : "weights");
        if (!a->outdir) return gc_fail(e, "-list needs -outdir DIR");
        if (a->out_set || a->json)
            return gc_fail(e, "-out and -json are per image; with -list the outputs go to -outdir %s", a->outdir);
        npos = 3;
        pos[2] = NULL;
        if (a->quiet && (a->progress_set & 1)) /* its value had been ignored */
            return gc_fail(e, "-progress sets how often a progress line is printed, and -quiet prints none: give "
                              "one of them");
    } else if (a->outdir || a->resume || a->quiet || a->nshards > 1 || a->jobs || a->batch || a->progress_set) {
        return gc_fail(e, "-outdir, -resume, -shard, -jobs, -batch, -progress and -quiet go with -list FILE|DIR");
    }
    if (npos < 3) return gc_fail(e, "missing %s", npos == 0 ? "cfg, weights and image" : npos == 1 ? "weights and image" : "image");
    if (pos[2] && !strcmp(pos[2], "-")) /* looked for as a file named "-" (No such file); -list: NULL */
        return gc_fail(e, "image -: images are read from files, not from standard input: give the image's path "
                          "(./- for a file named -; many images: -list)");
    a->cfg = pos[0];
    a->weights = pos[1];
    a->image = pos[2];
    if (a->class_arg && a->top_set) return gc_fail(e, "-class and -top cannot be combined");
    if (explain_args_check_names(&a->x, e)) return -1;
    if (a->class_arg && !a->x.names && !a->x.data) {
        char *end = NULL;
        strtol(a->class_arg, &end, 10); /* a number too large for a long is an index, out of range (below) */
        if (end == a->class_arg || *end)
            return gc_fail(e, "-class %s: not a class index, and a class name needs -names or -data", a->class_arg);
    }
    if (explain_args_check_method(&a->x, e)) return -1;
    /* Guided Backprop's and Guided Grad-CAM's pictures are the gradient
     * itself, blended with nothing: -alpha applies only to -sheet's heat
     * panels (it had been ignored without a word) */
    if (a->alpha_set && !a->sheet && gc_cam_method_get(a->x.method)->reaches_input)
        return gc_fail(e, "-alpha sets the heat's opacity over the image, and -method %s draws no heat over it (its "
                          "picture is the gradient): drop -alpha, or add -sheet",
                       gc_cam_method_name(a->x.method));
    return explain_args_check_scorecam(&a->x, e);
}

/* The folder part of path (before its last '/') as an absolute path with
 * its empty, "." and ".." parts resolved by name ("a//./b/../c/x" ->
 * "CWD/a/c"), malloc'd; NULL when out of memory or the working folder is
 * unknown. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    char cwd[PATH_MAX] = "";
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) return NULL;
    size_t cl = strlen(cwd), o = 0;
    char *f = malloc(cl + len + 3);
    if (!f) return NULL;
    char *src = f + cl + 1; /* cwd, '/', then the path's folder, read left to right */
    memcpy(f, cwd, cl);
    f[cl] = '/';
    memcpy(src, path, len);
    size_t n = cl + 1 + len;
    for (size_t i = 0; i < n;) {
        while (i < n && f[i] == '/') ++i;
        size_t j = i;
        while (j < n && f[j] != '/') ++j;
        if (j - i == 2 && f[i] == '.' && f[i + 1] == '.') {
            while (o && f[o - 1] != '/') --o; /* up one: drop the last part */
            if (o) --o;
        } else if (j > i && !(j - i == 1 && f[i] == '.')) {
            f[o++] = '/';
            memmove(f + o, f + i, j - i);
            o += j - i;
        }
        i = j;
    }
    f[o] = '\0';
    return f;
}

/* Whether json names one of the run's own PNG/.npy outputs (PREFIX_*.png,
 * PREFIX_*.npy), however the folder is spelt: the same name in the same
 * folder, by its parts ("./out/x_0.npy", "out//x_0.npy", the absolute path
 * for -out out/x) or, where both exist, by the folder itself (a link). */
static int json_is_own_output(const char *json, const char *prefix)
{
    const char *jb = strrchr(json, '/'), *pb = strrchr(prefix, '/');
    jb = jb ? jb + 1 : json;
    pb = pb ? pb + 1 : prefix;
    size_t pl = strlen(pb), jl = strlen(jb);
    if (!pl || jl <= pl + 5 || strncmp(jb, pb, pl) || jb[pl] != '_' ||
        (strcmp(jb + jl - 4, ".png") && strcmp(jb + jl - 4, ".npy")))
        return 0;
    char *jf = folder_of(json), *pf = folder_of(prefix);
    int same = 1; /* out of memory: refused, as the same folder would be */
    if (jf && pf && strcmp(jf, pf)) {
        struct stat js, ps;
        same = stat(*jf ? jf : "/", &js) == 0 && stat(*pf ? pf : "/", &ps) == 0 && js.st_dev == ps.st_dev &&
               js.st_ino == ps.st_ino;
    }
    free(jf);
    free(pf);
    return same;
}

/* -json must not overwrite what the run reads (cfg, weights, image, list,
 * names) nor the run's own PNG/.npy outputs (PREFIX_*.png, PREFIX_*.npy). */
static char *data_names_path(const char *data_file, gc_err *e);

/* -json onto one of the inputs, the names file that data (a .data file, or
 * NULL) names among them (it had been refused only at the write, exit 1; in
 * eval after the whole evaluation), by its name or by its temporary name
 * (written, then renamed away), or onto one of the run's own outputs. */
static int check_json_target(const char *json, const char *const *inputs, int ninputs, const char *data,
                             const char *prefix, gc_err *e)
{
    gc_err de = {0};
    char *data_names = data ? data_names_path(data, &de) : NULL, tmp[4096];
    const char *as[2] = {json, strcmp(json, "-") && gc_tmp_path(tmp, sizeof tmp, json) == 0 ? tmp : NULL};
    struct stat js, st;
    int rc = 0;
    for (int k = 0; k < 2 && !rc; ++k)
        for (int i = 0; as[k] && i <= ninputs && !rc; ++i) {
            const char *in = i < ninputs ? inputs[i] : data_names;
            if (in && stat(as[k], &js) == 0 && stat(in, &st) == 0 && st.st_dev == js.st_dev && st.st_ino == js.st_ino)
                rc = k ? gc_fail(e, "-json %s: its temporary file %s is the input file %s: refusing to overwrite it",
                                 json, tmp, in)
                       : gc_fail(e, "-json %s is the input file %s: refusing to overwrite it", json, in);
        }
    free(data_names);
    if (rc) return rc;
    /* compared by its parts: "./out/x_0.npy" for -out out/x had replaced the map with the report */
    if (prefix && json_is_own_output(json, prefix))
        return gc_fail(e, "-json %s is one of this run's own outputs (-out %s): choose another name", json, prefix);
    return 0;
}

/* The names file a .data file names (names=, else labels=), malloc'd, or
 * NULL with e set. */
static char *data_names_path(const char *data_file, gc_err *e)
{
    gc_err de = {0};
    char *path = gc_model_data_value(data_file, "names", &de);
    if (!path && !de.msg[0]) path = gc_model_data_value(data_file, "labels", &de);
    if (!path && de.msg[0]) gc_fail(e, "%s", de.msg);
    else if (!path) gc_fail(e, "data file %s has no names= entry", data_file);
    return path;
}

static int load_names(const char *names_file, const char *data_file, char ***names, int *count, gc_err *e)
{
    *names = NULL;
    *count = 0;
    if (names_file) {
        *names = gc_model_names_load(names_file, count, e);
        return *names ? 0 : -1;
    }
    if (data_file) {
        char *path = data_names_path(data_file, e);
        if (!path) return -1;
        if (gc_image_protect(path)) { /* read by the run: no output replaces it */
            free(path);
            return gc_fail(e, "out of memory");
        }
        *names = gc_model_names_load(path, count, e);
        free(path);
        return *names ? 0 : -1;
    }
    return 0;
}

/* A names file that does not match the network is refused, naming the
 * option that gave it: every class would be shown with another model's
 * name (Tiny Darknet's malamute labelled "bird" with coco.data's names; it
 * had been a warning, and the pictures came out so labelled, exit 0).
 * A -data file whose classes= is the network's may name a longer list, whose
 * first names are the classes: Darknet's cfg/imagenet1k.data (classes=1000)
 * names the 21842 of data/imagenet.shortnames.list, the 1000 first; that is
 * taken. A -data file's classes= that differs from the network's while its
 * names fit is a warning: the sign of a .data file made for another model
 * (Darknet's own commands read classes= and trust it). Returns 0, or -1
 * with e set. */
static int check_names(const explain_args *x, char **names, int nnames, int classes, gc_err *e)
{
    long data_classes = -1; /* -data's classes=, when it is a number */
    char *v = NULL;
    if (!x->names && x->data) {
        gc_err de = {0};
        v = gc_model_data_string(x->data, "classes", &de); /* NULL: no classes= (or unreadable: said elsewhere) */
        char *end = NULL;
        errno = 0;
        long c = v ? strtol(v, &end, 10) : -1;
        if (v && !errno && end != v && !*end) data_classes = c;
    }
    if (names && nnames != classes && !(nnames > classes && data_classes == classes)) {
        free(v);
        return gc_fail(e, "%s %s: %d name%s for %d class%s: the names of another model? give this network's (or no "
                          "names: classes are then shown by their index)",
                       x->names ? "-names" : "-data", x->names ? x->names : x->data, nnames, gc_plural(nnames), classes,
                       classes == 1 ? "" : "es");
    }
    if (v && data_classes != classes)
        gc_print_line(stderr, "gradcam: warning: -data %s: classes=%s, but the network has %d classes", x->data, v,
                      classes);
    free(v);
    return 0;
}

/* A classifier given -save summary alone: it has no summary picture. */
static void warn_summary(int nosave)
{
    if ((nosave & GC_NOSAVE_PNG) && (nosave & GC_NOSAVE_NPY) && !(nosave & GC_NOSAVE_SUMMARY))
        fprintf(stderr, "gradcam: warning: -save summary: a classifier has no summary picture (it is a detector's); "
                        "only the report is written\n");
}

static int resolve_class(const cli_args *a, char **names, int nnames, int classes, int *out, gc_err *e)
{
    const char *s = a->class_arg;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end != s && *end == '\0') {
        if (v < 0 || v >= classes)
            return gc_fail(e, "-class %s is out of range: the network has %d classes (0..%d)", s, classes, classes - 1);
        *out = (int)v;
        /* a name that is a number: the index wins (README), said where another class bears it */
        for (int i = 0; names && i < nnames && i < classes; ++i)
            if (i != *out && !strcasecmp(names[i], s)) {
                gc_print_line(stderr, "gradcam: warning: -class %s is read as the index %d; class %d is named \"%s\"", s,
                        *out, i, names[i]);
                break;
            }
        return 0;
    }
    if (!names) return gc_fail(e, "-class %s: a class name needs -names or -data", s);
    /* The name as written first, then in any case: ImageNet's names have
     * "Cardigan" (the dog) and "cardigan" (the sweater), each named exactly
     * by its own spelling, and "crane" twice (the bird and the machine),
     * which only an index tells apart. */
    for (int pass = 0; pass < 2; ++pass) {
        int found = -1;
        for (int i = 0; i < nnames && i < classes; ++i)
            if (pass ? !strcasecmp(names[i], s) : !strcmp(names[i], s)) {
                if (found >= 0)
                    return gc_fail(e, "-class %s names classes %d (%s) and %d (%s): give the index", s, found,
                                   names[found], i, names[i]);
                found = i;
            }
        if (found >= 0) {
            *out = found;
            return 0;
        }
    }
    return gc_fail(e, "-class %s: no such class name in %s %s", s, a->x.names ? "-names" : "-data",
                   a->x.names ? a->x.names : a->x.data);
}

/* A classifier's number of classes without -top or -class: the .data file's
 * top=, as Darknet's `classifier predict` takes it when -t is not given
 * (Tiny Darknet's tiny.data: top=5), else -top's default 1. Sets *top; -1
 * with e set for a top= that is not a count of the network's classes. */
static int data_top(const cli_args *a, int classes, int *top, gc_err *e)
{
    *top = a->top;
    if (a->top_set || a->class_arg || !a->x.data) return 0;
    gc_err de = {0};
    char *v = gc_model_data_string(a->x.data, "top", &de);
    if (!v) return de.msg[0] ? gc_fail(e, "%s", de.msg) : 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    int rc = 0;
    if (end == v || *end || errno || n < 1 || n > 1000)
        rc = gc_fail(e, "data file %s: top=%s: expected an integer in 1..1000", a->x.data, v);
    else if (n > classes)
        rc = gc_fail(e, "data file %s: top=%ld is more than the network's %d classes (give -top)", a->x.data, n,
                     classes);
    else
        *top = (int)n;
    free(v);
    return rc;
}

/* The gc_explain_opts explain_args give in a mode: -method, else the mode's
 * default; the overlay at -alpha's default, which the main command's
 * -alpha replaces. */
static gc_explain_opts explain_opts_of(const explain_args *x, int detector)
{
    gc_explain_opts ex = {.method = x->method_set ? x->method : gc_default_method(detector),
                          .counterfactual = x->counterfactual,
                          .alpha = 0.5f,
                          .target = x->target,
                          .nlayers = x->nlayers,
                          .smooth = x->smooth,
                          .scorecam_channels = x->scorecam_channels};
    memcpy(ex.layers, x->layers, sizeof ex.layers);
    return ex;
}

/* -counterfactual with LayerCAM on a detector: ReLU(-gradient) x activation,
 * summed over channels, lies where ReLU(gradient) x activation does (no
 * channel's term cancels another's), so the map hardly changes: Spearman
 * 0.90-0.99 with the plain map inside each Yolo-Fastest box of dog.jpg,
 * against -0.92..-0.58 for Grad-CAM's and -0.50..0.13 for HiResCAM's. Said
 * once, before a -list run's workers start. */
static void warn_counterfactual(const gc_explain_opts *ex, int detector)
{
    if (detector && ex->counterfactual && ex->method == GC_METHOD_LAYERCAM)
        fprintf(stderr, "gradcam: warning: -counterfactual with layercam (a detector's default) gives nearly its plain "
                        "map: each channel's negative part is kept apart; for regions against a box use -method "
                        "hirescam or gradcam\n");
}

/* The explanation options the main command's flags give, for either mode:
 * one place for the classifier, the detector and -list runs. */
static gc_explain_opts cli_explain_opts(const cli_args *a, int detector)
{
    gc_explain_opts ex = explain_opts_of(&a->x, detector);
    ex.alpha = a->alpha;
    ex.sheet = a->sheet;
    ex.nosave = a->nosave;
    return ex;
}

/* explain_classifier / explain_detector: 0, -1 (bad input) or 2 (an option
 * of the other kind of network: a usage error), with e set. */
static int explain_classifier(const cli_args *a, network *net, gc_err *e)
{
    gc_classifier cl;
    if (gc_classify_find(net, &cl, e)) return -1;
    if (a->x.det_only) /* a usage error: status 2 */
        return gc_fail(e, "-thresh, -hier, -nms, -maxboxes and -target are for detector cfgs; %s is a classifier", a->cfg),
               2;
    gc_cls_opts o;
    memset(&o, 0, sizeof o);
    o.image = a->image;
    o.out = a->out;
    o.json = a->json;
    o.json_name = a->json_name;
    o.cls = -1;
    if (data_top(a, cl.classes, &o.top, e)) return -1;
    o.ex = cli_explain_opts(a, 0);
    if (load_names(a->x.names, a->x.data, &o.names, &o.nnames, e)) return -1;
    if (check_names(&a->x, o.names, o.nnames, cl.classes, e)) {
        gc_model_names_free(o.names, o.nnames);
        return -1;
    }
    warn_summary(a->nosave);
    int rc = -1;
    if (!a->class_arg || resolve_class(a, o.names, o.nnames, cl.classes, &o.cls, e) == 0)
        rc = gc_classify_run(net, &o, NULL, e);
    gc_model_names_free(o.names, o.nnames);
    return rc;
}

static int explain_detector(const cli_args *a, network *net, gc_err *e)
{
    if (a->class_arg || a->top_set) /* a usage error: status 2 */
        return gc_fail(e, "-class and -top are for classifier cfgs; %s is a detector (use -thresh)", a->cfg), 2;
    gc_det_opts o;
    memset(&o, 0, sizeof o);
    o.image = a->image;
    o.out = a->out;
    o.json = a->json;
    o.json_name = a->json_name;
    o.thresh = a->thresh;
    o.hier = a->hier;
    o.nms = a->nms;
    o.ex = cli_explain_opts(a, 1);
    warn_counterfactual(&o.ex, 1);
    o.maxboxes = a->maxboxes;
    o.box_progress = 1;
    if (gc_explain_check_heads(net, &o.ex, e)) return -1;
    if (load_names(a->x.names, a->x.data, &o.names, &o.nnames, e)) return -1;
    int classes = net->layers[net->n - 1].classes;
    if (check_names(&a->x, o.names, o.nnames, classes, e)) {
        gc_model_names_free(o.names, o.nnames);
        return -1;
    }
    int rc = gc_detect_run(net, &o, NULL, e);
    gc_model_names_free(o.names, o.nnames);
    return rc;
}

/* gradcam init: seeded random weights for a cfg (gc_model_randomize), written
 * with Darknet's save_weights to PATH.tmp and renamed into place. Darknet's
 * file_error() exits with status 0 and its fwrite()s are unchecked, so the
 * path is tried first and the written size is checked before the rename.
 * Returns 0, 1 (bad input) or 2 (usage), with e set. */
static int init_weights(int argc, char **argv, gc_err *e)
{
    const char *cfg = NULL, *out = NULL;
    int seed = 1, nseen = 0;
    const char *seen[GC_OPTIONS_MAX];
    for (int i = 3; i < argc; ++i) {
        if (argv[i][0] == '-' && argv[i][1] && given_twice(seen, &nseen, GC_OPTIONS_MAX, argv[i], e)) return 2;
        if (!strcmp(argv[i], "-seed")) {
            if (i + 1 >= argc) return gc_fail(e, "-seed needs a value"), 2;
            if (parse_int("-seed", argv[++i], 0, INT_MAX, &seed, e)) return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return gc_fail(e, "unknown option %s for gradcam init", argv[i]), 2;
        } else if (!cfg) {
            cfg = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return gc_fail(e, "unexpected argument %s", argv[i]), 2;
        }
    }
    if (!cfg || !out) return gc_fail(e, "gradcam init needs <cfg> <out.weights>"), 2;
    if (!*cfg) return gc_fail(e, "gradcam init: <cfg> is an empty argument (\"\"): give a file name"), 2;
    if (!*out) return gc_fail(e, "gradcam init %s: <out.weights> is empty: give a file name", cfg), 2;
    if (out[strlen(out) - 1] == '/')
        return gc_fail(e, "gradcam init %s %s: ends in '/', a folder's name: give a file name", cfg, out), 2;
    if (!strcmp(out, "-")) /* written to PATH.tmp and renamed: a file, not a stream */
        return gc_fail(e, "gradcam init %s -: the weights are written to a file, not to standard output: "
                          "give a file name (./- for one named -)", cfg), 2;
    struct stat cs, os, ls;
    if (stat(out, &os) == 0) {
        if (stat(cfg, &cs) == 0 && cs.st_dev == os.st_dev && cs.st_ino == os.st_ino)
            return gc_fail(e, "%s is the cfg %s: refusing to overwrite it with weights", out, cfg), 2;
        if (lstat(out, &ls) == 0 && !S_ISREG(ls.st_mode) && !S_ISDIR(ls.st_mode)) /* a folder: below */
            return gc_fail(e, "%s is not a regular file (a link or device): refusing to replace it with weights", out), 1;
        /* a trained model's weights one argument away (init x.cfg x.weights
         * for detect x.cfg x.weights) were replaced without a word */
        if (lstat(out, &ls) == 0 && S_ISREG(ls.st_mode) && ls.st_size > 0)
            return gc_fail(e, "%s exists (%lld bytes): refusing to replace it with random weights; remove it first or "
                              "give another name", out, (long long)ls.st_size), 1;
    }
    if (gc_image_make_parent_dirs("gradcam init <out.weights>", out, e)) return 1;
    if (gc_image_check_out_path("gradcam init", out, e)) return 1;
    char tmp[4096];
    if (gc_tmp_path(tmp, sizeof tmp, out))
        return gc_fail_path(e, "gradcam init <out.weights>", gc_tmp_path_max(sizeof tmp, out), "%s", out), 1;
    if (stat(tmp, &os) == 0 && stat(cfg, &cs) == 0 && cs.st_dev == os.st_dev && cs.st_ino == os.st_ino)
        return gc_fail(e, "%s: its temporary file %s is the cfg %s: refusing to overwrite it with weights", out, tmp,
                       cfg), 2;
    network *net = gc_model_load(cfg, NULL, e);
    if (!net) return 1;
    gc_model_randomize(net, (unsigned)seed);
    gc_interrupt_add(out); /* and out.tmp */
    FILE *probe = fopen(tmp, "wb"); /* save_weights() would exit(0) if it could not open it */
    if (!probe) {
        free_network(net);
        return gc_fail(e, "cannot write %s: %s", tmp, strerror(errno)), 1;
    }
    fclose(probe);
    size_t want = gc_model_weights_header_size(0, 2) + gc_model_weights_param_count(net) * sizeof(float);
    gc_model_save_weights(net, tmp);
    free_network(net);
    struct stat st;
    long long got = stat(tmp, &st) == 0 ? (long long)st.st_size : -1;
    if (got < 0 || (size_t)got != want) {
        unlink(tmp);
        return gc_fail(e, "cannot write %s: short write (%lld of %zu bytes; disk full?)", out, got, want), 1;
    }
    if (rename(tmp, out) != 0) {
        int err = errno;
        unlink(tmp);
        return gc_fail(e, "cannot write %s: %s", out, strerror(err)), 1;
    }
    gc_print_line(stdout, "random weights (seed %d) for %s written to %s", seed, cfg, out);
    return 0;
}

/* gradcam scenes: a reproducible set of labelled Fashion-MNIST scenes
 * (gc_scenes); the outdir and its parents are created if missing. */
static int make_scenes(int argc, char **argv, gc_err *e)
{
    const char *pos[4], *dir = "/usr/share/datasets/fashion-mnist";
    int npos = 0, seed = 1, nseen = 0;
    const char *seen[GC_OPTIONS_MAX];
    for (int i = 3; i < argc; ++i) {
        if (argv[i][0] == '-' && argv[i][1] && given_twice(seen, &nseen, GC_OPTIONS_MAX, argv[i], e)) return 2;
        if (!strcmp(argv[i], "-seed")) {
            if (i + 1 >= argc) return gc_fail(e, "-seed needs a value"), 2;
            if (parse_int("-seed", argv[++i], 0, INT_MAX, &seed, e)) return 2;
        } else if (!strcmp(argv[i], "-fmnist")) {
            if (i + 1 >= argc) return gc_fail(e, "-fmnist needs a folder"), 2;
            if (path_value("-fmnist", argv[++i], e)) return 2;
            if (!argv[i][0]) /* it had been read as the root folder */
                return gc_fail(e, "-fmnist needs a folder"), 2;
            dir = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1] && !(npos == 2 && isdigit((unsigned char)argv[i][1]))) {
            /* (a negative <count> is the count's error below) */
            return gc_fail(e, "unknown option %s for gradcam scenes", argv[i]), 2;
        } else if (npos == 4) {
            return gc_fail(e, "unexpected argument %s", argv[i]), 2;
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos < 4) return gc_fail(e, "gradcam scenes needs <cls|pair|det|same> <train|test> <count> <outdir>"), 2;
    gc_scene_kind kind;
    if (gc_scenes_kind_parse(pos[0], &kind))
        return gc_fail(e, "scene kind %s: expected cls, pair, det or same", pos[0]), 2;
    int train = !strcasecmp(pos[1], "train");
    if (!train && strcasecmp(pos[1], "test")) return gc_fail(e, "split %s: expected train or test", pos[1]), 2;
    int count;
    if (parse_int("count", pos[2], 1, 10000000, &count, e)) return 2;
    const char *out = pos[3];
    if (!*out) /* "" + "/list.txt" is /list.txt: the scenes went to the root folder */
        return gc_fail(e, "gradcam scenes <outdir>: the folder name is empty: give a folder"), 2;
    if (!strcmp(out, "-"))
        return gc_fail(e, "outdir -: the scenes are a folder of images and cannot go to standard output: "
                          "give a folder (./- for one named -)"), 2;
    if (strchr(out, '\n')) /* list.txt holds one path a line, as Darknet reads lists */
        return gc_fail(e, "outdir %s: has a newline, which the scenes' list.txt (one path a line) cannot hold", out), 2;
    { /* the label files go beside the scenes, where Darknet (and eval) look unless the path has images */
        char img[4096], want[4096], lab[4096];
        gc_err le;
        if (snprintf(img, sizeof img, "%s/0.png", out) < (int)sizeof img &&
            snprintf(want, sizeof want, "%s/0.txt", out) < (int)sizeof want &&
            !gc_labels_path(img, lab, sizeof lab, &le) && strcmp(lab, want)) {
            lab[strlen(lab) - strlen("/0.txt")] = '\0';
            return gc_fail(e, "outdir %s: Darknet and gradcam eval would look for the scenes' label files in %s "
                              "(its path has 'images' or 'JPEGImages'), not beside them: give another folder",
                           out, lab), 2;
        }
    }
    { /* the longest file the run writes (the last scene's, named by the longest class names), with room for
       * its PATH.tmp: it had failed after Fashion-MNIST's load, status 1, on the first scene */
        size_t longest = 0;
        for (int c = 0; c < GC_FMNIST_CLASSES; ++c)
            if (strlen(gc_scenes_fmnist_names[c]) > longest) longest = strlen(gc_scenes_fmnist_names[c]);
        assert(longest < 20);
        char name[64], probe[4200];
        int k = snprintf(name, sizeof name, "/%06d", count - 1);
        for (int j = 0; j < (kind == GC_SCENE_CLS ? 1 : kind == GC_SCENE_PAIR ? 2 : 0); ++j) {
            name[k++] = '_';
            memset(name + k, 'x', longest);
            k += (int)longest;
        }
        memcpy(name + k, ".png", 5);
        k += 4;
        int m = snprintf(probe, sizeof probe, "%s%s", out, name);
        size_t max = gc_tmp_path_max(4096, probe);
        if (m >= (int)sizeof probe || (size_t)m > max)
            return gc_fail_path(e, "gradcam scenes <outdir>", max > (size_t)k ? max - (size_t)k : 0, "%s", out), 2;
    }
    char dir_path[4096];
    /* the outdir and its parents */
    if (snprintf(dir_path, sizeof dir_path, "%s/list.txt", out) >= (int)sizeof dir_path)
        return gc_fail_path(e, "gradcam scenes <outdir>", sizeof dir_path - 1, "%s/list.txt", out), 2;
    if (gc_image_make_parent_dirs("gradcam scenes <outdir>", dir_path, e)) return 1;
    /* Darknet's classifier trainer labels an image with every class name its
     * path contains (strstr, in case): a folder named so (a Desktop folder
     * holds "top") gives every cls or pair scene that class as well, a label
     * the picture does not show */
    if (kind == GC_SCENE_CLS || kind == GC_SCENE_PAIR)
        for (int c = 0; c < GC_FMNIST_CLASSES; ++c)
            if (strstr(out, gc_scenes_fmnist_names[c])) {
                gc_print_line(stderr, "gradcam: warning: outdir %s contains the class name \"%s\": Darknet's "
                                      "classifier trainer, which labels an image with every class name in its path, "
                                      "would label every scene %s as well; choose another folder to train on them",
                              out, gc_scenes_fmnist_names[c], gc_scenes_fmnist_names[c]);
                break;
            }
    gc_fmnist d;
    if (gc_scenes_fmnist_load(&d, dir, train, e)) return 1;
    int rc = gc_scenes_write(&d, kind, (uint64_t)seed, count, out, e);
    gc_scenes_fmnist_free(&d);
    if (rc == 0)
        gc_print_line(stdout, "%d %s scene%s from the Fashion-MNIST %s split (seed %d) in %s, listed in %s/list.txt",
                      count, gc_scenes_kind_name(kind), gc_plural(count), train ? "train" : "test", seed, out,
                      out);
    return rc ? 1 : 0;
}

typedef struct eval_args {
    gc_eval_opts o; /* o.ex: from x once the network is loaded (eval_main) */
    explain_args x;
    const char *json;
    const char *json_name; /* "-" for -json - (json is then /dev/stdout), or NULL */
    int seed_set, rise_weight_set, cascade_set, quiet;
} eval_args;

static int parse_eval_args(int argc, char **argv, eval_args *a, gc_err *e)
{
    memset(a, 0, sizeof *a);
    a->x = explain_args_default;
    gc_eval_opts *o = &a->o;
    o->thresh = 0.25f;
    o->map_thresh = 0.005f;
    o->nms = 0.45f;
    o->steps = 16;
    o->seed = 1;
    o->sanity = 1;
    o->cascade_below = 4;
    arg_reader r = {.argc = argc, .argv = argv};
    for (r.i = 3; r.i < argc; ++r.i) {
        const char *s = argv[r.i], *v;
        int got;
        if (s[0] != '-' || s[1] == '\0') {
            if (arg_positional(&r, "<cfg> <weights> <list.txt>", "list", e)) return -1;
        } else if (!strcmp(s, "-thresh") || !strcmp(s, "-mapthresh") || !strcmp(s, "-nms")) {
            if (!(v = arg_value(&r, e))) return -1;
            float *dst = s[1] == 't' ? &o->thresh : s[1] == 'm' ? &o->map_thresh : &o->nms;
            if (dst != &o->nms ? parse_thresh(s, v, "", dst, e) : parse_float(s, v, 0.0f, 1.0f, dst, e)) return -1;
            a->x.det_only = 1;
        } else if (!strcmp(s, "-steps")) {
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 1, 1000, &o->steps, e)) return -1;
        } else if (!strcmp(s, "-limit")) {
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 1, INT_MAX, &o->limit, e)) return -1;
        } else if (!strcmp(s, "-json")) {
            if (!(v = arg_value(&r, e)) || file_value(s, v, e)) return -1;
            if (!*v) return gc_fail(e, "-json needs a file name"); /* as the main command's (it had been status 1) */
            a->json = v;
        } else if (!strcmp(s, "-baseline")) {
            if (!(v = arg_value(&r, e))) return -1;
            if (gc_eval_baseline_parse(v, &o->baseline))
                return gc_fail(e, "-baseline %s: unknown (center, random, box, cell)", v);
        } else if (!strcmp(s, "-rise")) {
            /* 0 masks: no RISE, which leaving it out says */
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 1, 1000000, &o->rise, e)) return -1;
        } else if (!strcmp(s, "-rise-weight")) {
            if (!(v = arg_value(&r, e))) return -1;
            if (gc_eval_rise_weight_parse(v, &o->rise_weight))
                return gc_fail(e, "-rise-weight %s: unknown (own, iou)", v);
            a->rise_weight_set = 1;
            a->x.det_only = 1;
        } else if (!strcmp(s, "-nosanity")) {
            o->sanity = 0;
        } else if (!strcmp(s, "-quiet")) {
            a->quiet = 1;
        } else if (!strcmp(s, "-cascade")) {
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 0, 1000, &o->cascade_below, e)) return -1;
            a->cascade_set = 1;
        } else if (!strcmp(s, "-seed")) {
            int seed;
            if (!(v = arg_value(&r, e)) || parse_int(s, v, 0, INT_MAX, &seed, e)) return -1;
            o->seed = (unsigned)seed;
            a->seed_set = 1;
        } else if ((got = explain_args_read(&a->x, &r, e)) < 0) {
            return -1;
        } else if (!got) {
            return gc_fail(e, "unknown option %s for gradcam eval (see 'darknet gradcam help')", s);
        }
    }
    if (data_file_misplaced(r.pos, r.npos, a->x.names, "<cfg> <weights> <list.txt>", e)) return -1;
    if (r.npos < 3)
        return gc_fail(e, "eval: missing %s (gradcam eval <cfg> <weights> <list.txt>)",
                       r.npos == 0 ? "cfg, weights and list" : r.npos == 1 ? "weights and list" : "list");
    o->cfg = r.pos[0];
    o->weights = r.pos[1];
    o->list = r.pos[2];
    if (explain_args_check_method(&a->x, e)) return -1;
    if (a->seed_set && o->baseline != GC_BASELINE_RANDOM && !o->rise && !o->sanity)
        return gc_fail(e, "-seed is for -baseline random, -rise and the randomisation checks");
    if (a->rise_weight_set && !o->rise) return gc_fail(e, "-rise-weight weights RISE's masks: it needs -rise N");
    if (a->cascade_set && !o->sanity)
        return gc_fail(e, "-cascade sets the randomisation cascade, which -nosanity skips: give one of them");
    if (explain_args_check_scorecam(&a->x, e)) return -1;
    if (explain_args_check_names(&a->x, e)) return -1;
    if (o->baseline != GC_BASELINE_NONE) { /* the options that shape a map: each had been ignored (the JSON named them) */
        const char *opt = a->x.counterfactual ? "-counterfactual"
                          : a->x.method_set   ? "-method"
                          : a->x.nlayers      ? "-layer"
                          : a->x.smooth       ? "-smooth"
                          : a->x.target_set   ? "-target"
                                              : NULL;
        if (opt)
            return gc_fail(e, "-baseline %s replaces the maps: %s does not apply", gc_eval_baseline_name(o->baseline),
                           opt);
    }
    return 0;
}

/* eval's progress on stderr: stderr is a terminal; when the image's RISE
 * masks began and how many were done then; the last redraw. */
typedef struct eval_progress_state {
    int tty, image, from;
    double t_image, t_draw;
} eval_progress_state;

/* Without a terminal, a RISE progress line every this many masks. */
#define GC_EVAL_RISE_LINE 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* "eval: 120/500 images", in place on a terminal, every 10 images otherwise. */
static void eval_progress(int done, int total, void *ctx)
{
    const eval_progress_state *p = ctx;
    if (p->tty) {
        fprintf(stderr, "\reval: %d/%d images\033[K", done, total); /* over a RISE line */
        if (done == total) fputc('\n', stderr);
    } else if (done == total || done % 10 == 0) {
        fprintf(stderr, "eval: %d/%d images\n", done, total);
    }
    fflush(stderr);
}

/* Within an image, -rise N's masks (one forward pass each: a large N runs
 * for hours with no image done): "eval: image 3/500, RISE mask 2000/100000,
 * 250 masks/s, ETA 6:32", in place on a terminal (at most 10 redraws a
 * second), every GC_EVAL_RISE_LINE masks otherwise (the image's last mask
 * excepted: the image's line follows). */
static void eval_rise_progress(int image, int nimages, int done, int masks, void *ctx)
{
    eval_progress_state *p = ctx;
    double t = now_s();
    if (image != p->image || done == 1) { /* the rate from the image's first mask on */
        p->image = image;
        p->from = done;
        p->t_image = t;
    }
    if (p->tty ? t - p->t_draw < 0.1 && done < masks : done % GC_EVAL_RISE_LINE || done == masks) return;
    p->t_draw = t;
    double rate = t > p->t_image ? (done - p->from) / (t - p->t_image) : 0;
    char eta[32] = "--:--";
    long left = rate > 0 ? (long)((masks - done) / rate + 0.5) : -1;
    if (left >= 3600) snprintf(eta, sizeof eta, "%ld:%02ld:%02ld", left / 3600, left / 60 % 60, left % 60);
    else if (left >= 0) snprintf(eta, sizeof eta, "%ld:%02ld", left / 60, left % 60);
    fprintf(stderr, "%seval: image %d/%d, RISE mask %d/%d, %.0f masks/s, ETA %s%s", p->tty ? "\r" : "", image + 1,
            nimages, done, masks, rate, eta, p->tty ? "\033[K" : "\n");
    fflush(stderr);
}

/* gc_model_load, then the heap set for what follows: per-target pictures,
 * heat maps and PNG buffers of a few MB each, allocated and freed once per
 * target. Served from the heap (and not trimmed back), they reuse the same
 * pages; mmap'd, every one cost fresh page faults. */
static network *load_model(const char *cfg, const char *weights, gc_err *e)
{
    network *net = gc_model_load(cfg, weights, e);
    if (net) {
        mallopt(M_MMAP_THRESHOLD, 64 << 20);
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
    }
    return net;
}

/* Every file eval reads (the list's images, o.lines, and their label files
 * too): -json replaces none of them. Fails when -json is one of them (2, a
 * usage error) or when memory runs out (1). */
static int protect_eval_inputs(const eval_args *a, gc_err *e)
{
    const char *in[] = {a->o.cfg, a->o.weights, gc_batch_list_path(a->o.list), a->x.names, a->x.data};
    for (int i = 0; i < 5; ++i)
        if (gc_image_protect(in[i])) return gc_fail(e, "out of memory"), 1;
    char *const *lines = a->o.lines;
    int n = a->o.nlines;
    for (int i = 0; i < n; ++i) {
        char lp[4096];
        gc_err le = {0};
        if (gc_image_protect(lines[i]) || (!gc_labels_path(lines[i], lp, sizeof lp, &le) && gc_image_protect(lp)))
            return gc_fail(e, "out of memory"), 1;
    }
    const char *in_json = gc_image_protected(a->json);
    if (in_json) return gc_fail(e, "-json %s is the input file %s: refusing to overwrite it", a->json, in_json), 2;
    char tmp[4096]; /* nor by its temporary name, written and then renamed away */
    if (strcmp(a->json, "-") && gc_tmp_path(tmp, sizeof tmp, a->json) == 0 && (in_json = gc_image_protected(tmp)))
        return gc_fail(e, "-json %s: its temporary file %s is the input file %s: refusing to overwrite it", a->json,
                       tmp, in_json), 2;
    return 0;
}

/* -json -: the report goes to standard output and the lines that would go
 * there (the classes or boxes, the files written) to standard error, so that
 * `... -json - | jq .` reads one JSON document. The stdout stream becomes a
 * line-buffered stream on descriptor 2, and *json "/dev/stdout", which
 * gc_image writes to descriptor 1 in place; *name stays "-", so the closing
 * line (on stderr) says "json -", as given, not a path the user never wrote. */
static int json_to_stdout(const char **json, const char **name, gc_err *e)
{
    if (!*json || strcmp(*json, "-")) return 0;
    fflush(stdout);
    int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        int err = errno;
        if (fd >= 0) close(fd);
        return gc_fail(e, "-json -: cannot move the report lines to stderr: %s", strerror(err));
    }
    setvbuf(f, NULL, _IOLBF, 0);
    stdout = f;
    *name = *json;
    *json = "/dev/stdout";
    /* a reader that closed the pipe early (`| head`) makes the report's write
     * fail (EPIPE), which removes the run's files as a full disk does; by
     * default SIGPIPE would kill the run and leave them */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* gradcam eval: returns 0, 1 (bad input) or 2 (usage), with e set. */
static int eval_main(int argc, char **argv, gc_err *e)
{
    eval_args a;
    if (parse_eval_args(argc, argv, &a, e)) return 2;
    /* "-": the list from standard input, as list mode's -list - (it had
     * been "image list file -: No such file or directory"); read once, here,
     * for the inputs -json must not replace and for the run */
    int from_stdin = !strcmp(a.o.list, "-");
    struct stat lst;
    if (!from_stdin && stat(a.o.list, &lst) == 0 && S_ISDIR(lst.st_mode)) /* list mode's -list takes one; eval needs the labels' list */
        return gc_fail(e, "image list %s is a folder: gradcam eval takes a list file, one image a line (as a .data "
                          "file's valid=)", a.o.list), 2;
    if (json_to_stdout(&a.json, &a.json_name, e)) return 1;
    if (a.json) {
        const char *in[] = {a.o.cfg, a.o.weights, gc_batch_list_path(a.o.list), a.x.names, a.x.data};
        if (check_json_target(a.json, in, 5, a.x.data, NULL, e)) return 2;
        if (gc_image_make_parent_dirs("-json", a.json, e)) return 1;
        if (gc_image_check_out_path("-json", a.json, e)) return 1;
    }
    if (!from_stdin && (gc_image_check_readable(a.o.list, "image list", e) ||
                        gc_image_check_text_file(a.o.list, "image list", e)))
        return 1;
    int nlines = 0;
    char **lines = gc_labels_list_load(a.o.list, &nlines, e);
    if (!lines) return 1;
    a.o.lines = lines;
    a.o.nlines = nlines;
    network *net = NULL;
    int rc = a.json ? protect_eval_inputs(&a, e) : 0;
    if (rc) {
        gc_labels_list_free(lines, nlines);
        return rc;
    }
    rc = 1;
    net = load_model(a.o.cfg, a.o.weights, e);
    if (!net) {
        gc_labels_list_free(lines, nlines);
        return 1;
    }
    eval_progress_state progress = {.tty = isatty(2), .image = -1};
    gc_eval_result r;
    memset(&r, 0, sizeof r);
    int detector = gc_darknet_is_detector(net);
    a.o.ex = explain_opts_of(&a.x, detector);
    warn_counterfactual(&a.o.ex, detector);
    if (detector && gc_explain_check_heads(net, &a.o.ex, e)) goto done;
    if (!detector && a.o.baseline == GC_BASELINE_CELL) { /* a usage error, as the detector-only options */
        gc_fail(e, "-baseline cell needs a detector (a box's head cell); %s is a classifier", a.o.cfg);
        rc = 2;
        goto done;
    }
    if (!detector && a.x.det_only) {
        gc_fail(e, "-thresh, -mapthresh, -nms, -target and -rise-weight are for detector cfgs; %s is a classifier",
                a.o.cfg);
        rc = 2;
        goto done;
    }
    if (load_names(a.x.names, a.x.data, &a.o.names, &a.o.nnames, e)) goto done;
    {
        gc_classifier cl;
        gc_err ce;
        if (detector ? check_names(&a.x, a.o.names, a.o.nnames, net->layers[net->n - 1].classes, e)
                     : gc_classify_find(net, &cl, &ce) == 0 && check_names(&a.x, a.o.names, a.o.nnames, cl.classes, e))
            goto done;
    }
    if (!a.quiet) {
        a.o.progress = eval_progress;
        a.o.rise_progress = eval_rise_progress;
        a.o.progress_ctx = &progress;
    }
    if (gc_eval_run(net, &a.o, &r, e)) goto done;
    if (a.json && gc_eval_write_json(&r, &a.o, a.json, e)) goto done;
    gc_eval_print_table(&r, &a.o, stdout);
    if (a.json) gc_print_line(stdout, "json %s", a.json_name ? a.json_name : a.json);
    rc = 0;
done:
    gc_eval_result_free(&r);
    gc_labels_list_free(lines, nlines);
    gc_model_names_free(a.o.names, a.o.nnames);
    free_network(net);
    return rc;
}

/* -list: many images through one network (gc_batch). Returns 0, or 1 with
 * e set: the run could not go on, or some images failed (listed in the
 * errors file); 2 for an option of the other kind of network. */
/* A file by its contents: "ROLE: a file of N bytes, CRC-32 X" (malloc'd), or NULL
 * when it cannot be read. */
static char *file_identity(const char *role, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = malloc(1 << 20);
    uLong crc = crc32(0L, Z_NULL, 0);
    long long total = 0;
    size_t got;
    while (buf && (got = fread(buf, 1, 1 << 20, f)) > 0) {
        crc = crc32(crc, buf, (uInt)got);
        total += (long long)got;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    free(buf);
    char *id = bad ? NULL : malloc(96);
    if (id) snprintf(id, 96, "%s: a file of %lld bytes, CRC-32 %08lx", role, total, (unsigned long)crc);
    return id;
}

/* v in the fewest digits that read back as v (0.45, not 0.449999988). */
static const char *float_text(float v, char *buf, size_t n)
{
    for (int digits = 1; digits <= 9; ++digits) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtof(buf, NULL) == v) break;
    }
    return buf;
}

/* What decides a -list run's outputs (gc_batch_opts.options): the settings
 * the options give, one "name: value" a line, every one written out (a
 * default too) and numbers as the values read, so that the order of the
 * options, a default given or left out, and 0.5 against .5 make no
 * difference; the cfg, weights, names and data files by their contents (a
 * model copied to a node's own disk is the same; weights retrained in place
 * are not). Where the run reads and writes and how it runs (-list, -outdir,
 * -resume, -quiet, -progress, -shard, -jobs, -batch: -batch agrees with one
 * image at a time within rounding) are left out. cls: a classifier's -class
 * as an index (-1: none), a name and its index alike. The first line names
 * the format (gc_batch compares it first). NULL when out of memory. */
static char *list_options(const cli_args *a, int detector, int cls, int top)
{
    char t[4][32];
    char *real[4] = {NULL, NULL, NULL, NULL};
    /* -data's names file is what names the classes in the index: recorded
     * as -names' is (the .data file's bytes alone had let a names file
     * edited, or a relative names= found elsewhere from another working
     * folder, change the names mid-index). load_names has resolved it. */
    gc_err ignored = {0};
    char *data_names = !a->x.names && a->x.data ? data_names_path(a->x.data, &ignored) : NULL;
    const char *file[4] = {a->cfg, a->weights, a->x.names ? a->x.names : data_names, a->x.data},
               *role[4] = {"cfg", "weights", "names", "data"};
    char *out = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&out, &cap);
    if (!f) {
        free(data_names);
        return NULL;
    }
    fputs(GC_BATCH_OPTIONS_HEAD "\n# a -resume, or another shard, must give the same settings\n", f);
    for (int k = 0; k < 4; ++k) {
        if (file[k]) real[k] = file_identity(role[k], file[k]);
        if (real[k]) fprintf(f, "%s\n", real[k]);
        else if (file[k]) fprintf(f, "%s: %s, unreadable\n", role[k], file[k]); /* the run fails on it later */
        else fprintf(f, "%s: none\n", role[k]);
    }
    fprintf(f, "method: %s\n", gc_cam_method_name(explain_opts_of(&a->x, detector).method));
    fputs("layer: ", f);
    for (int i = 0; i < a->x.nlayers; ++i) fprintf(f, "%s%d", i ? "," : "", a->x.layers[i]);
    fputs(a->x.nlayers ? "\n" : "default\n", f);
    if (detector) {
        fprintf(f, "thresh: %s\nhier: %s\nnms: %s\nmaxboxes: %d\ntarget: %s\n", float_text(a->thresh, t[0], 32),
                float_text(a->hier, t[1], 32), float_text(a->nms, t[2], 32), a->maxboxes,
                gc_detect_target_name(a->x.target));
    } else if (cls < 0) {
        fprintf(f, "class: none\ntop: %d\n", top); /* -top's, or the .data file's top= */
    } else {
        fprintf(f, "class: %d\n", cls);
    }
    fprintf(f, "counterfactual: %s\nalpha: %s\nsmooth: %s\n", a->x.counterfactual ? "yes" : "no",
            float_text(a->alpha, t[3], 32), gc_explain_smooth_name(a->x.smooth));
    fprintf(f, "scorecam-channels: %d\n", a->x.scorecam_channels ? a->x.scorecam_channels : GC_SCORECAM_CHANNELS);
    fprintf(f, "sheet: %s\nsave:", a->sheet ? "yes" : "no");
    static const struct {
        int bit;
        const char *word;
    } saved[] = {{GC_NOSAVE_PNG, "png"}, {GC_NOSAVE_NPY, "npy"}, {GC_NOSAVE_SUMMARY, "summary"}};
    int any = 0;
    for (size_t k = 0; k < sizeof saved / sizeof *saved; ++k)
        if (!(a->nosave & saved[k].bit)) fprintf(f, "%s%s", any++ ? "," : " ", saved[k].word);
    fputs(any ? "\n" : " none\n", f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    for (int k = 0; k < 4; ++k) free(real[k]);
    free(data_names);
    if (bad) {
        free(out);
        return NULL;
    }
    return out;
}

static void print_error(const gc_err *e);

/* The line that ends a list run, on stderr. */
static void print_list_summary(const gc_batch_opts *o, const gc_batch_summary *sum)
{
    fprintf(stderr, "gradcam: %d image%s", sum->total, gc_plural(sum->total));
    if (o->nshards > 1) fprintf(stderr, " (shard %d/%d of %d)", o->shard, o->nshards, sum->listed);
    fprintf(stderr, ": %d explained, %d skipped (already in the index), %d error%s; %.1f images/s", sum->done,
            sum->skipped, sum->errors, gc_plural(sum->errors), sum->seconds > 0 ? (sum->done + sum->errors) / sum->seconds : 0.0);
    if (sum->explain_seconds >= 0 && sum->done + sum->errors > 0 && sum->seconds > 0)
        fprintf(stderr, "; %.2f ms per image, %.2f of them in forward, backward and maps (%.2f in the passes)",
                1000 * sum->seconds / (sum->done + sum->errors), 1000 * sum->explain_seconds / (sum->done + sum->errors),
                1000 * sum->pass_seconds / (sum->done + sum->errors));
    fputc('\n', stderr);
}

static int list_main(const cli_args *a, gc_err *e)
{
    struct stat st;
    const char *list = gc_batch_list_path(a->list);
    if (stat(list, &st) != 0) {
        gc_fail(e, "-list %s: %s", gc_batch_list_name(a->list), strerror(errno));
        return 1;
    }
    /* a file only: a pipe (-list <(find ...)) would lose what the check reads */
    if (S_ISREG(st.st_mode)) {
        char label[PATH_MAX + 64];
        if (strcmp(a->list, "-")) snprintf(label, sizeof label, "image list file %s", a->list);
        else snprintf(label, sizeof label, "-list %s", gc_batch_list_name(a->list));
        if (gc_image_check_text_file_as(list, label, e)) return 1;
    }
    network *net = load_model(a->cfg, a->weights, e);
    if (!net) return 1;
    gc_batch_opts o;
    memset(&o, 0, sizeof o);
    o.list = a->list;
    o.outdir = a->outdir;
    o.resume = a->resume;
    o.quiet = a->quiet;
    o.shard = a->shard;
    o.nshards = a->nshards;
    o.every = a->every;
    o.jobs = a->jobs;
    o.batch = a->batch;
    o.detector = gc_darknet_is_detector(net);
    char *options = NULL;
    char **names = NULL;
    int nnames = 0, rc = 1;
    gc_batch_summary sum;
    memset(&sum, 0, sizeof sum);
    /* the options for the other kind of network first, as the main command
     * checks them (a names file that could not be read had come first: 1) */
    if (o.detector && (a->class_arg || a->top_set)) {
        gc_fail(e, "-class and -top are for classifier cfgs; %s is a detector (use -thresh)", a->cfg);
        rc = 2;
        goto done;
    }
    if (!o.detector && a->x.det_only) {
        gc_fail(e, "-thresh, -hier, -nms, -maxboxes and -target are for detector cfgs; %s is a classifier", a->cfg);
        rc = 2;
        goto done;
    }
    gc_explain_opts ex = cli_explain_opts(a, o.detector);
    warn_counterfactual(&ex, o.detector);
    if (load_names(a->x.names, a->x.data, &names, &nnames, e)) goto done;
    if (o.detector) {
        if (gc_explain_check_heads(net, &ex, e)) goto done;
        if (check_names(&a->x, names, nnames, net->layers[net->n - 1].classes, e)) goto done;
        o.det = (gc_det_opts){.thresh = a->thresh, .hier = a->hier, .nms = a->nms, .maxboxes = a->maxboxes,
                              .ex = ex, .names = names, .nnames = nnames};
    } else {
        gc_classifier cl;
        if (gc_classify_find(net, &cl, e)) goto done;
        if (check_names(&a->x, names, nnames, cl.classes, e)) goto done;
        warn_summary(a->nosave);
        int top;
        if (data_top(a, cl.classes, &top, e)) goto done;
        o.cls = (gc_cls_opts){.cls = -1, .top = top, .ex = ex, .names = names, .nnames = nnames};
        if (a->class_arg && resolve_class(a, names, nnames, cl.classes, &o.cls.cls, e)) goto done;
        if (a->top > cl.classes) {
            gc_fail(e, "-top %d is more than the network's %d classes", a->top, cl.classes);
            goto done;
        }
    }
    /* what would fail for every image, said once before any (not per image) */
    if (gc_explain_check_all(net, &ex, e)) goto done;
    if (!(options = list_options(a, o.detector, o.detector ? -1 : o.cls.cls, o.detector ? 0 : o.cls.top))) {
        gc_fail(e, "out of memory");
        goto done;
    }
    o.options = options;
    if (o.batch > 1) {
        char why[256];
        size_t bytes = gc_forward_batch_bytes(net, o.batch);
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        double half = pages > 0 && page > 0 ? 0.5 * (double)pages * (double)page : 0;
        if (!gc_forward_batch_supported(net, why, sizeof why)) {
            gc_print_line(stderr, "gradcam: -batch %d: %s %s: one image per forward pass", o.batch, a->cfg, why);
            o.batch = 1;
        } else if (half > 0 && (double)bytes * (o.jobs > 1 ? o.jobs : 1) > half) {
            int workers = o.jobs > 1 ? o.jobs : 1;
            gc_fail(e, "-batch %d: the activations of %d images of %s%s take %.1f GiB, more than half this machine's "
                       "memory (%.1f GiB): use a smaller -batch",
                    o.batch, o.batch * workers, a->cfg, workers > 1 ? " (over the -jobs workers)" : "",
                    (double)bytes * workers / (1 << 30), half / (1 << 30));
            goto done;
        }
    }
    int brc = gc_batch_run(net, &o, &sum, e);
    if (sum.stopped) { /* SIGINT, SIGTERM or SIGHUP: the run ended cleanly; dies of it (gc_stop.h) */
        if (brc) {
            print_error(e);
        } else {
            print_list_summary(&o, &sum);
            gc_print_line(stdout, "index %s", sum.index); /* as a run that ends does: it holds the images done */
        }
        int handled = sum.skipped + sum.done + sum.errors;
        if (handled == sum.total && !sum.errors) /* the signal came with the last image in hand, which was finished */
            fprintf(stderr, "gradcam: interrupted by %s after the last image: all %d image%s done, nothing left to "
                            "resume\n",
                    gc_stop_name(sum.stopped), sum.total, gc_plural(sum.total));
        else
            fprintf(stderr, "gradcam: interrupted by %s after %d of %d image%s; rerun with -resume to finish\n",
                    gc_stop_name(sum.stopped), handled, sum.total, gc_plural(sum.total));
        fflush(stdout);
        gc_stop_raise(sum.stopped);
    }
    if (brc) goto done;
    print_list_summary(&o, &sum);
    gc_print_line(stdout, "index %s", sum.index);
    if (sum.errors) {
        gc_fail(e, "%d of %d image%s failed: see %s", sum.errors, sum.total, gc_plural(sum.total), sum.errors_file);
        goto done;
    }
    rc = 0;
done:
    free(options);
    gc_model_names_free(names, nnames);
    free_network(net);
    return rc;
}

/* gradcam merge DIR... [-o FILE]: returns 0, 1 (the indexes do not add up)
 * or 2 (usage). */
static int merge_main(int argc, char **argv, gc_err *e)
{
    const char *out = NULL;
    const char **dirs = malloc((size_t)argc * sizeof *dirs);
    const char *seen[GC_OPTIONS_MAX];
    int ndirs = 0, nseen = 0;
    if (!dirs) return gc_fail(e, "out of memory"), 1;
    for (int i = 3; i < argc; ++i) {
        if (argv[i][0] == '-' && argv[i][1] && given_twice(seen, &nseen, GC_OPTIONS_MAX, argv[i], e)) {
            free(dirs);
            return 2;
        }
        if (!strcmp(argv[i], "-o")) {
            if (i + 1 >= argc) {
                free(dirs);
                return gc_fail(e, "-o needs a file"), 2;
            }
            if (file_value("-o", argv[++i], e)) {
                free(dirs);
                return 2;
            }
            if (!argv[i][0]) {
                free(dirs);
                return gc_fail(e, "-o needs a file name (or - for standard output)"), 2;
            }
            out = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(dirs);
            return gc_fail(e, "unknown option %s for gradcam merge", argv[i]), 2;
        } else if (!argv[i][0]) {
            free(dirs);
            return gc_fail(e, "gradcam merge: a DIR is empty: give each shard run's -outdir"), 2;
        } else {
            dirs[ndirs++] = argv[i];
        }
    }
    if (ndirs == 0) {
        free(dirs);
        return gc_fail(e, "gradcam merge needs DIR... (the -outdir of the -shard runs)"), 2;
    }
    char def[4096];
    if (!out) {
        if (snprintf(def, sizeof def, "%s/index.jsonl", dirs[0]) >= (int)sizeof def) {
            gc_fail_path(e, "merge DIR", sizeof def - 1, "%s/index.jsonl", dirs[0]);
            free(dirs);
            return 1;
        }
        out = def;
    }
    /* before the default -o's folder is made: a mistyped DIR had been made,
     * then said to hold no index, and removed */
    for (int d = 0; d < ndirs; ++d) {
        struct stat st;
        if (stat(dirs[d], &st) != 0) {
            gc_fail(e, "merge: cannot read folder %s: %s", dirs[d], strerror(errno));
            free(dirs);
            return 1;
        }
    }
    /* -o - is standard output, as -json - is (it had made a file named "-");
     * the summary line then goes to stderr */
    int to_stdout = !strcmp(out, "-");
    if (to_stdout) out = "/dev/stdout";
    long failed = 0;
    long n = gc_image_make_parent_dirs("merge -o", out, e) ? -1 : gc_index_merge(dirs, ndirs, out, &failed, e);
    free(dirs);
    if (n < 0) return 1;
    gc_print_line(to_stdout ? stderr : stdout, "merged %ld image%s into %s", n, gc_plural(n), to_stdout ? "the standard output" : out);
    return failed ? 1 : 0; /* e names the images that failed, as a -list run's status does */
}

/* Prints e's message as one line, as gc_printable() leaves it: a byte that
 * is not printable (say, from a binary file quoted in a message) as '?', a
 * UTF-8 name as it is, as a -list run's per-image lines show it. */
static void print_error(const gc_err *e)
{
    char msg[sizeof e->msg];
    memcpy(msg, e->msg, sizeof msg);
    msg[sizeof msg - 1] = '\0';
    gc_printable(msg); /* messages not made by gc_fail() too */
    fprintf(stderr, "gradcam: %s\n", msg);
}

static int is_help(const char *s)
{
    return !strcmp(s, "help") || !strcmp(s, "-h") || !strcmp(s, "-help") || !strcmp(s, "--help");
}

/* The usage text's synopsis (its lines up to the options), then where the
 * options are: after a usage error on a command line too short to hold the
 * command's arguments. The whole help (136 lines) had followed the error
 * there, scrolling the one line that says what is wrong off the screen. */
static void print_synopsis(FILE *f)
{
    const char *end = strstr(usage_text, "Explains a classifier");
    fwrite(usage_text, 1, end ? (size_t)(end - usage_text) : strlen(usage_text), f);
    fputs("options and methods: darknet gradcam help\n", f);
}

/* A subcommand's status: 0 ok, 2 usage error, anything else 1. */
static int finish(int rc, const gc_err *e, int show_usage)
{
    if (rc == 0) return 0;
    gc_image_remove_made_dirs(); /* the run's files are gone by now: its new folders too */
    print_error(e);
    if (rc == 2 && show_usage) print_synopsis(stderr);
    return rc == 2 ? 2 : 1;
}

static int cli_main(int argc, char **argv);

int gc_cli_main(int argc, char **argv)
{
    /* A descriptor 0, 1 or 2 closed at start (`>&-`) would be taken by the
     * first file opened (a lock, an index) and then written by what writes
     * to stdout or stderr. Each gets a device in its place: /dev/null to
     * read, /dev/full to write (a write to stdout still fails, as when it
     * is closed, and the run says so and exits 1). */
    for (int fd = 0; fd < 3; ++fd)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int got = open(fd ? "/dev/full" : "/dev/null", fd ? O_WRONLY : O_RDONLY);
            if (got >= 0 && got != fd) { /* the lowest free descriptor is fd itself, unless /dev is odd */
                dup2(got, fd);
                close(got);
            }
        }
    int rc = cli_main(argc, argv);
    gc_image_protect_clear(); /* the run's inputs and new folders: forgotten */
    gc_image_forget_made_dirs();
    return rc;
}

static int cli_main(int argc, char **argv)
{
    for (int i = 2; i < argc; ++i)
        if (is_help(argv[i]) && (i == 2 || argv[i][0] == '-')) {
            print_usage(stdout);
            return 0;
        }
    gc_reserve_main_stack();
    /* A file over `ulimit -f` is a failed write (EFBIG), handled as any other:
     * by default SIGXFSZ would kill the run and leave PATH.tmp behind. */
    signal(SIGXFSZ, SIG_IGN);
    gc_err e = {0};
    /* Darknet's parse callocs buffers the inference never touches (deltas,
     * updates, batch-norm copies). glibc's dynamic mmap threshold grows with
     * the first large free() and then serves them from the heap, cleared page
     * by page (memset and page faults: ~10% of a Yolo-Fastest run, 28 MB of
     * RSS); a fixed threshold keeps them mmap'd, zero and untouched. Parsed
     * for one image (patch 0006), many are under 128 KiB: at 16 KiB Yolo-
     * Fastest's peak RSS is 62 MB (68 at 128 KiB). Once the network is
     * loaded, see load_model. */
    mallopt(M_MMAP_THRESHOLD, 16 * 1024);
    gc_forward_blas_park();
    int rc;
    if (argc >= 3 && !strcmp(argv[2], "init")) {
        gc_interrupt_arm(); /* a signal removes what the run wrote (gc_interrupt.h) */
        rc = init_weights(argc, argv, &e);
        gc_interrupt_disarm();
        return finish(rc, &e, argc < 5);
    }
    if (argc >= 3 && !strcmp(argv[2], "scenes")) { /* a signal removes the scenes written so far */
        gc_interrupt_arm();
        rc = make_scenes(argc, argv, &e);
        gc_interrupt_disarm();
        return finish(rc, &e, argc < 7);
    }
    if (argc >= 3 && !strcmp(argv[2], "eval")) {
        gc_interrupt_arm();
        rc = eval_main(argc, argv, &e);
        gc_interrupt_disarm();
        return finish(rc, &e, argc < 6);
    }
    if (argc >= 3 && !strcmp(argv[2], "merge")) return finish(merge_main(argc, argv, &e), &e, 0);
    cli_args a;
    if (parse_args(argc, argv, &a, &e)) return finish(2, &e, argc < 5);
    struct stat ist;
    if (a.image && stat(a.image, &ist) == 0 && S_ISDIR(ist.st_mode)) { /* every image in it is -list's work */
        gc_fail(&e, "image %s is a folder: give one image, or -list %s -outdir DIR for every image in it", a.image,
                a.image);
        return finish(2, &e, 0);
    }
    if (!a.list && json_to_stdout(&a.json, &a.json_name, &e)) return finish(1, &e, 0);
    const char *inputs[] = {a.cfg, a.weights, a.image, a.x.names, a.x.data};
    if (a.json && check_json_target(a.json, inputs, 5, a.x.data, a.out, &e)) return finish(2, &e, 0);
    for (int i = 0; i < 5; ++i) /* no output replaces an input (say -out next to the image, gc_image.h) */
        if (gc_image_protect(inputs[i])) return finish(1, &(gc_err){.msg = "out of memory"}, 0);
    if (a.list) {
        rc = list_main(&a, &e);
        return finish(rc, &e, 0);
    }
    gc_interrupt_arm(); /* from the first folder made */
    rc = 0;
    /* -json's folder, before the network is loaded */
    if (a.json && (gc_image_make_parent_dirs("-json", a.json, &e) || gc_image_check_out_path("-json", a.json, &e)))
        rc = 1;
    network *net = rc ? NULL : load_model(a.cfg, a.weights, &e);
    if (!net) {
        rc = finish(1, &e, 0);
        gc_interrupt_disarm();
        return rc;
    }
    if (gc_darknet_is_detector(net)) rc = explain_detector(&a, net, &e);
    else rc = explain_classifier(&a, net, &e);
    rc = finish(rc == 2 ? 2 : rc ? 1 : 0, &e, 0);
    gc_interrupt_disarm();
    free_network(net);
    return rc;
}

void run_gradcam(int argc, char **argv)
{
    /* Darknet's main() takes `-i N` (the GPU index) and `-nogpu` out of argv
     * with find_arg(), which moves the rest down and leaves NULLs at the end
     * without changing argc: they end the arguments (they were read as
     * strings and crashed the run). */
    while (argc > 0 && !argv[argc - 1]) --argc;
    /* OpenBLAS's own kernels for this CPU, where it fell back to old ones
     * (gc_blas.h); may run the program again */
    gc_blas_pick_core(argv);
    fflush(stdout);
    int rc = gc_cli_main(argc, argv);
    /* what went to stdout (the report's lines) was written: a full disk or
     * a closed pipe there is a failure too */
    errno = 0;
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc == 0) {
        fprintf(stderr, "gradcam: cannot write the standard output: %s\n", errno ? strerror(errno) : "write error");
        rc = 1;
    }
    exit(rc);
}
