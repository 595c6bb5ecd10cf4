#include "gc_cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gc_backward.h"
#include "gc_cam.h"
#include "gc_classify.h"
#include "gc_classify_run.h"
#include "gc_common.h"
#include "gc_detect.h"
#include "gc_detect_run.h"
#include "gc_eval.h"
#include "gc_explain.h"
#include "gc_model.h"
#include "gc_scenes.h"

static const char usage_text[] =
    "usage: darknet gradcam <cfg> <weights> <image> [options]\n"
    "       darknet gradcam init <cfg> <out.weights> [-seed N]   (seeded random weights, for trials)\n"
    "       darknet gradcam scenes <cls|pair|det|same> <train|test> <count> <outdir> [-seed N] [-fmnist DIR]\n"
    "                        (labelled Fashion-MNIST scenes, see README)\n"
    "       darknet gradcam eval <cfg> <weights> <list.txt> [options]   (metrics over a labeled list)\n"
    "Explains a classifier's class scores (a map per class) or a YOLO detector's boxes (a map per box)\n"
    "with Grad-CAM. Common options:\n"
    "  -class K         class to explain: index, or name when -names/-data is given (default: top-1)\n"
    "  -top N           explain the N best classes, from one forward pass (default 1)\n"
    "  -layer L[,L...]  layer(s) to explain at: index, or negative counting back from the logit layer\n"
    "                   (default: the last layer before the logits with a spatial output); several\n"
    "                   are fused (each normalised, upsampled to the input, averaged)\n"
    "  -method M        explanation method, see Methods below\n"
    "                   (default: gradcam for classifiers, layercam for detectors)\n"
    "  -counterfactual  negate the gradients: regions that argue against the class\n"
    "  -names FILE      class names, one per line\n"
    "  -data FILE       Darknet .data file; its names= key gives the class names\n"
    "  -out PREFIX      output prefix (default: gradcam): PREFIX_<class>.png overlay, PREFIX_<class>.npy map\n"
    "  -alpha A         heatmap opacity in the overlay, 0..1 (default 0.5)\n"
    "Detectors ([yolo], [region], [detection] heads), one map per box `darknet detect` reports:\n"
    "  -thresh T        detection threshold (default 0.5, as darknet detect)\n"
    "  -hier H          hierarchy threshold (default 0.5)\n"
    "  -nms N           NMS IoU threshold (default 0.45; 0 disables)\n"
    "  -target T        logit (default: the class logit), score (objectness x class probability),\n"
    "                   obj (the objectness logit)\n"
    "  -layer L[,L...]  layer(s) to explain at: index, or negative counting back from the box's head;\n"
    "                   several are fused (each normalised, upsampled to the input, averaged)\n"
    "                   (default: two layers where the box's gradient spreads over 5x5 and 9x9\n"
    "                   cells, fused; see README)\n"
    "  -json FILE       per-box report: class, probability, box, head/anchor/cell, layers, peak,\n"
    "                   share of map energy inside the box\n"
    "  Outputs: PREFIX_<box>.png (overlay with the box), PREFIX_<box>.npy, PREFIX_summary.png\n"
    "Evaluation (gradcam eval): list.txt names one image per line; labels as Darknet finds them\n"
    "(images -> labels, JPEGImages -> labels, extension -> .txt), lines `class cx cy w h`:\n"
    "  -method, -layer, -counterfactual, -names, -data as above; detectors also -target, -nms\n"
    "  -thresh T        detectors: detections matched to ground truth (default 0.25)\n"
    "  -mapthresh T     detectors: detections ranked for mAP@0.5 (default 0.005)\n"
    "  -steps N         deletion/insertion steps (default 16)\n"
    "  -limit N         only the first N images of the list\n"
    "  -baseline B      replaces the maps: center (Gaussian centre prior), random (with -seed N),\n"
    "                   box (Gaussian on the box, sigma a quarter of its size), cell (detectors: the\n"
    "                   box's head cell alone, upsampled)\n"
    "  -rise N          RISE / D-RISE reference maps from N random masks per image: Spearman with\n"
    "                   each map over the image and inside the box, peaks within one map cell\n"
    "  -nosanity        skip the cascading weight randomisation and the random-logit test\n"
    "  -cascade N       cascade points below the lowest explained layer (default 4)\n"
    "  -json FILE       the metrics and every map's record, written atomically\n";

/* The usage text, then the methods from gc_cam's table. */
static void print_usage(FILE *f)
{
    fputs(usage_text, f);
    fputs("Methods (-method):\n", f);
    for (int m = 0; m < GC_METHOD_COUNT; ++m) {
        const gc_method_info *mi = gc_method_get((gc_method)m);
        fprintf(f, "  %-16s %s%s\n", mi->name, mi->summary, mi->needs_grad ? "" : " [no -counterfactual]");
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

typedef struct cli_args {
    const char *cfg, *weights, *image;
    const char *class_arg, *names, *data, *out, *json;
    int top, counterfactual, top_set;
    int method_set; /* -method given; otherwise the mode's default (gc_default_method) */
    int layers[GC_MAX_LAYERS], nlayers;
    float alpha, thresh, hier, nms;
    gc_method method;
    gc_target target;
    int det_only; /* a detector-only option was given */
} cli_args;

static int unknown_method(const char *name, gc_err *e)
{
    char list[512];
    return gc_fail(e, "-method %s: unknown (%s)", name, gc_method_list(list, sizeof list));
}

static int parse_layers(const char *s, cli_args *a, gc_err *e)
{
    const char *p = s;
    a->nlayers = 0;
    for (;;) {
        char *end = NULL;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || v < -1000000 || v > 1000000)
            return gc_fail(e, "-layer %s: expected a layer index or a comma-separated list", s);
        if (a->nlayers == GC_MAX_LAYERS) return gc_fail(e, "-layer %s: at most %d layers", s, GC_MAX_LAYERS);
        a->layers[a->nlayers++] = (int)v;
        if (!*end) return 0;
        p = end + 1;
    }
}

static int parse_int(const char *flag, const char *s, long lo, long hi, int *out, gc_err *e)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return gc_fail(e, "%s %s: expected an integer in %ld..%ld", flag, s, lo, hi);
    *out = (int)v;
    return 0;
}

static int parse_float(const char *flag, const char *s, float lo, float hi, float *out, gc_err *e)
{
    char *end = NULL;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return gc_fail(e, "%s %s: expected a number in %g..%g", flag, s, lo, hi);
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, cli_args *a, gc_err *e)
{
    memset(a, 0, sizeof *a);
    a->top = 1;
    a->alpha = 0.5f;
    a->out = "gradcam";
    a->method = GC_METHOD_GRADCAM;
    a->thresh = 0.5f;
    a->hier = 0.5f;
    a->nms = 0.45f;
    a->target = GC_TARGET_LOGIT;
    const char *pos[3];
    int npos = 0;
    for (int i = 2; i < argc; ++i) {
        const char *s = argv[i];
        int has_value = i + 1 < argc;
#define NEED_VALUE() \
    if (!has_value) return gc_fail(e, "%s needs a value", s)
        if (s[0] != '-' || s[1] == '\0') {
            if (npos == 3) return gc_fail(e, "unexpected argument %s (cfg, weights and image already given)", s);
            pos[npos++] = s;
        } else if (!strcmp(s, "-class")) {
            NEED_VALUE();
            a->class_arg = argv[++i];
        } else if (!strcmp(s, "-top")) {
            NEED_VALUE();
            if (parse_int(s, argv[++i], 1, 1000000, &a->top, e)) return -1;
            a->top_set = 1;
        } else if (!strcmp(s, "-layer")) {
            NEED_VALUE();
            if (parse_layers(argv[++i], a, e)) return -1;
        } else if (!strcmp(s, "-thresh") || !strcmp(s, "-hier") || !strcmp(s, "-nms")) {
            NEED_VALUE();
            float *dst = s[1] == 't' ? &a->thresh : s[1] == 'h' ? &a->hier : &a->nms;
            if (parse_float(s, argv[++i], 0.0f, 1.0f, dst, e)) return -1;
            a->det_only = 1;
        } else if (!strcmp(s, "-target")) {
            NEED_VALUE();
            if (gc_target_parse(argv[++i], &a->target))
                return gc_fail(e, "-target %s: unknown (logit, score, obj)", argv[i]);
            a->det_only = 1;
        } else if (!strcmp(s, "-json")) {
            NEED_VALUE();
            a->json = argv[++i];
            a->det_only = 1;
        } else if (!strcmp(s, "-method")) {
            NEED_VALUE();
            if (gc_method_parse(argv[++i], &a->method)) return unknown_method(argv[i], e);
            a->method_set = 1;
        } else if (!strcmp(s, "-counterfactual")) {
            a->counterfactual = 1;
        } else if (!strcmp(s, "-names")) {
            NEED_VALUE();
            a->names = argv[++i];
        } else if (!strcmp(s, "-data")) {
            NEED_VALUE();
            a->data = argv[++i];
        } else if (!strcmp(s, "-out")) {
            NEED_VALUE();
            a->out = argv[++i];
        } else if (!strcmp(s, "-alpha")) {
            NEED_VALUE();
            if (parse_float(s, argv[++i], 0.0f, 1.0f, &a->alpha, e)) return -1;
        } else {
            return gc_fail(e, "unknown option %s (see 'darknet gradcam help')", s);
        }
#undef NEED_VALUE
    }
    if (npos < 3) return gc_fail(e, "missing %s", npos == 0 ? "cfg, weights and image" : npos == 1 ? "weights and image" : "image");
    a->cfg = pos[0];
    a->weights = pos[1];
    a->image = pos[2];
    if (a->class_arg && a->top_set) return gc_fail(e, "-class and -top cannot be combined");
    if (a->counterfactual && !gc_method_get(a->method)->needs_grad)
        return gc_fail(e, "-counterfactual needs gradients; %s uses none", gc_method_name(a->method));
    return 0;
}

static int load_names(const char *names_file, const char *data_file, char ***names, int *count, gc_err *e)
{
    *names = NULL;
    *count = 0;
    if (names_file) {
        *names = gc_names_load(names_file, count, e);
        return *names ? 0 : -1;
    }
    if (data_file) {
        gc_err de = {{0}};
        char *path = gc_data_value(data_file, "names", &de);
        if (!path && de.msg[0]) return gc_fail(e, "%s", de.msg);
        if (!path) path = gc_data_value(data_file, "labels", &de);
        if (!path) return gc_fail(e, "data file %s has no names= entry", data_file);
        *names = gc_names_load(path, count, e);
        free(path);
        return *names ? 0 : -1;
    }
    return 0;
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
        return 0;
    }
    if (!names) return gc_fail(e, "-class %s: a class name needs -names or -data", s);
    for (int i = 0; i < nnames && i < classes; ++i)
        if (!strcasecmp(names[i], s)) {
            *out = i;
            return 0;
        }
    return gc_fail(e, "-class %s: no such class name in the names file", s);
}

static int explain_classifier(const cli_args *a, network *net, gc_err *e)
{
    gc_classifier cl;
    if (gc_classifier_find(net, &cl, e)) return -1;
    if (a->det_only)
        return gc_fail(e, "-thresh, -hier, -nms, -target and -json are for detector cfgs; %s is a classifier", a->cfg);
    gc_cls_opts o;
    memset(&o, 0, sizeof o);
    o.image = a->image;
    o.out = a->out;
    o.cls = -1;
    o.top = a->top;
    o.ex = (gc_explain_opts){.method = a->method_set ? a->method : gc_default_method(0), .counterfactual = a->counterfactual, .alpha = a->alpha};
    o.ex.nlayers = a->nlayers;
    memcpy(o.ex.layers, a->layers, sizeof o.ex.layers);
    if (load_names(a->names, a->data, &o.names, &o.nnames, e)) return -1;
    if (o.names && o.nnames != cl.classes)
        fprintf(stderr, "gradcam: warning: %d names for %d classes\n", o.nnames, cl.classes);
    int rc = -1;
    if (!a->class_arg || resolve_class(a, o.names, o.nnames, cl.classes, &o.cls, e) == 0)
        rc = gc_run_classifier(net, &o, NULL, e);
    gc_names_free(o.names, o.nnames);
    return rc;
}

static int explain_detector(const cli_args *a, network *net, gc_err *e)
{
    if (a->class_arg || a->top_set)
        return gc_fail(e, "-class and -top are for classifier cfgs; %s is a detector (use -thresh)", a->cfg);
    gc_det_opts o;
    memset(&o, 0, sizeof o);
    o.image = a->image;
    o.out = a->out;
    o.json = a->json;
    o.thresh = a->thresh;
    o.hier = a->hier;
    o.nms = a->nms;
    o.ex = (gc_explain_opts){.method = a->method_set ? a->method : gc_default_method(1), .counterfactual = a->counterfactual, .alpha = a->alpha};
    o.ex.target = a->target;
    o.ex.nlayers = a->nlayers;
    memcpy(o.ex.layers, a->layers, sizeof o.ex.layers);
    if (load_names(a->names, a->data, &o.names, &o.nnames, e)) return -1;
    int classes = net->layers[net->n - 1].classes;
    if (o.names && o.nnames != classes)
        fprintf(stderr, "gradcam: warning: %d names for %d classes\n", o.nnames, classes);
    int rc = gc_run_detector(net, &o, NULL, e);
    gc_names_free(o.names, o.nnames);
    return rc;
}

/* gradcam init: seeded random weights for a cfg (gc_model_randomize), written
 * with Darknet's save_weights to PATH.tmp and renamed into place. */
static int init_weights(int argc, char **argv, gc_err *e)
{
    const char *cfg = NULL, *out = NULL;
    int seed = 1;
    for (int i = 3; i < argc; ++i) {
        if (!strcmp(argv[i], "-seed")) {
            if (i + 1 >= argc) return gc_fail(e, "-seed needs a value");
            if (parse_int("-seed", argv[++i], 0, INT_MAX, &seed, e)) return -1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return gc_fail(e, "unknown option %s for gradcam init", argv[i]);
        } else if (!cfg) {
            cfg = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return gc_fail(e, "unexpected argument %s", argv[i]);
        }
    }
    if (!cfg || !out) return gc_fail(e, "gradcam init needs <cfg> <out.weights>");
    if (gc_check_out_prefix(out, e)) return -1;
    network *net = gc_model_load(cfg, NULL, e);
    if (!net) return -1;
    gc_model_randomize(net, (unsigned)seed);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    save_weights(net, tmp);
    free_network(net);
    if (rename(tmp, out) != 0) {
        unlink(tmp);
        return gc_fail(e, "cannot write %s: %s", out, strerror(errno));
    }
    printf("random weights (seed %d) for %s written to %s\n", seed, cfg, out);
    return 0;
}

/* gradcam scenes: a reproducible set of labelled Fashion-MNIST scenes
 * (gc_scenes); the outdir and its parents are created if missing. */
static int make_scenes(int argc, char **argv, gc_err *e)
{
    const char *pos[4], *dir = "/usr/share/datasets/fashion-mnist";
    int npos = 0, seed = 1;
    for (int i = 3; i < argc; ++i) {
        if (!strcmp(argv[i], "-seed")) {
            if (i + 1 >= argc) return gc_fail(e, "-seed needs a value");
            if (parse_int("-seed", argv[++i], 0, INT_MAX, &seed, e)) return -1;
        } else if (!strcmp(argv[i], "-fmnist")) {
            if (i + 1 >= argc) return gc_fail(e, "-fmnist needs a folder");
            dir = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return gc_fail(e, "unknown option %s for gradcam scenes", argv[i]);
        } else if (npos == 4) {
            return gc_fail(e, "unexpected argument %s", argv[i]);
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos < 4) return gc_fail(e, "gradcam scenes needs <cls|pair|det|same> <train|test> <count> <outdir>");
    gc_scene_kind kind;
    if (gc_scene_kind_parse(pos[0], &kind)) return gc_fail(e, "scene kind %s: expected cls, pair, det or same", pos[0]);
    int train = !strcmp(pos[1], "train");
    if (!train && strcmp(pos[1], "test")) return gc_fail(e, "split %s: expected train or test", pos[1]);
    int count;
    if (parse_int("count", pos[2], 1, 10000000, &count, e)) return -1;
    const char *out = pos[3];
    char dir_path[4096];
    if (snprintf(dir_path, sizeof dir_path, "%s", out) >= (int)sizeof dir_path)
        return gc_fail(e, "outdir %s: path too long", out);
    for (char *p = dir_path + 1;; ++p) { /* mkdir -p */
        char c = *p;
        if (c != '/' && c != '\0') continue;
        *p = '\0';
        if (mkdir(dir_path, 0777) != 0 && errno != EEXIST)
            return gc_fail(e, "cannot create %s: %s", dir_path, strerror(errno));
        *p = c;
        if (!c) break;
    }
    gc_fmnist d;
    if (gc_fmnist_load(&d, dir, train, e)) return -1;
    int rc = gc_scenes_write(&d, kind, (uint64_t)seed, count, out, e);
    gc_fmnist_free(&d);
    if (rc == 0)
        printf("%d %s scenes from the Fashion-MNIST %s split (seed %d) in %s, listed in %s/list.txt\n", count,
               pos[0], pos[1], seed, out, out);
    return rc;
}

typedef struct eval_args {
    gc_eval_opts o;
    const char *names, *data, *json;
    int det_only, seed_set, method_set;
} eval_args;

static int parse_eval_args(int argc, char **argv, eval_args *a, gc_err *e)
{
    memset(a, 0, sizeof *a);
    gc_eval_opts *o = &a->o;
    o->ex = (gc_explain_opts){.method = GC_METHOD_GRADCAM, .counterfactual = 0, .alpha = 0.5f};
    o->thresh = 0.25f;
    o->map_thresh = 0.005f;
    o->nms = 0.45f;
    o->steps = 16;
    o->seed = 1;
    o->sanity = 1;
    o->cascade_below = 4;
    const char *pos[3];
    int npos = 0;
    for (int i = 3; i < argc; ++i) {
        const char *s = argv[i];
        int has_value = i + 1 < argc;
#define NEED_VALUE() \
    if (!has_value) return gc_fail(e, "%s needs a value", s)
        if (s[0] != '-' || s[1] == '\0') {
            if (npos == 3) return gc_fail(e, "unexpected argument %s (cfg, weights and list already given)", s);
            pos[npos++] = s;
        } else if (!strcmp(s, "-method")) {
            NEED_VALUE();
            if (gc_method_parse(argv[++i], &o->ex.method)) return unknown_method(argv[i], e);
            a->method_set = 1;
        } else if (!strcmp(s, "-layer")) {
            NEED_VALUE();
            cli_args tmp;
            if (parse_layers(argv[++i], &tmp, e)) return -1;
            memcpy(o->ex.layers, tmp.layers, sizeof o->ex.layers);
            o->ex.nlayers = tmp.nlayers;
        } else if (!strcmp(s, "-counterfactual")) {
            o->ex.counterfactual = 1;
        } else if (!strcmp(s, "-thresh") || !strcmp(s, "-mapthresh") || !strcmp(s, "-nms")) {
            NEED_VALUE();
            float *dst = s[1] == 't' ? &o->thresh : s[1] == 'm' ? &o->map_thresh : &o->nms;
            if (parse_float(s, argv[++i], 0.0f, 1.0f, dst, e)) return -1;
            a->det_only = 1;
        } else if (!strcmp(s, "-target")) {
            NEED_VALUE();
            if (gc_target_parse(argv[++i], &o->ex.target))
                return gc_fail(e, "-target %s: unknown (logit, score, obj)", argv[i]);
            a->det_only = 1;
        } else if (!strcmp(s, "-names")) {
            NEED_VALUE();
            a->names = argv[++i];
        } else if (!strcmp(s, "-data")) {
            NEED_VALUE();
            a->data = argv[++i];
        } else if (!strcmp(s, "-steps")) {
            NEED_VALUE();
            if (parse_int(s, argv[++i], 1, 100000, &o->steps, e)) return -1;
        } else if (!strcmp(s, "-limit")) {
            NEED_VALUE();
            if (parse_int(s, argv[++i], 1, INT_MAX, &o->limit, e)) return -1;
        } else if (!strcmp(s, "-json")) {
            NEED_VALUE();
            a->json = argv[++i];
        } else if (!strcmp(s, "-baseline")) {
            NEED_VALUE();
            if (gc_baseline_parse(argv[++i], &o->baseline))
                return gc_fail(e, "-baseline %s: unknown (center, random, box, cell)", argv[i]);
        } else if (!strcmp(s, "-rise")) {
            NEED_VALUE();
            if (parse_int(s, argv[++i], 0, 1000000, &o->rise, e)) return -1;
        } else if (!strcmp(s, "-nosanity")) {
            o->sanity = 0;
        } else if (!strcmp(s, "-cascade")) {
            NEED_VALUE();
            if (parse_int(s, argv[++i], 0, 1000, &o->cascade_below, e)) return -1;
        } else if (!strcmp(s, "-seed")) {
            NEED_VALUE();
            int seed;
            if (parse_int(s, argv[++i], 0, INT_MAX, &seed, e)) return -1;
            o->seed = (unsigned)seed;
            a->seed_set = 1;
        } else {
            return gc_fail(e, "unknown option %s for gradcam eval (see 'darknet gradcam help')", s);
        }
#undef NEED_VALUE
    }
    if (npos < 3)
        return gc_fail(e, "eval: missing %s (gradcam eval <cfg> <weights> <list.txt>)",
                       npos == 0 ? "cfg, weights and list" : npos == 1 ? "weights and list" : "list");
    o->cfg = pos[0];
    o->weights = pos[1];
    o->list = pos[2];
    if (o->ex.counterfactual && !gc_method_get(o->ex.method)->needs_grad)
        return gc_fail(e, "-counterfactual needs gradients; %s uses none", gc_method_name(o->ex.method));
    if (a->seed_set && o->baseline != GC_BASELINE_RANDOM && !o->rise && !o->sanity)
        return gc_fail(e, "-seed is for -baseline random, -rise and the randomisation checks");
    if (o->baseline != GC_BASELINE_NONE && o->ex.counterfactual)
        return gc_fail(e, "-baseline %s replaces the maps: -counterfactual does not apply", gc_baseline_name(o->baseline));
    return 0;
}

/* "eval: 120/500 images", in place on a terminal, every 25 images otherwise. */
static void eval_progress(int done, int total, void *ctx)
{
    int tty = *(const int *)ctx;
    if (tty) {
        fprintf(stderr, "\reval: %d/%d images", done, total);
        if (done == total) fputc('\n', stderr);
    } else if (done == total || done % 25 == 0) {
        fprintf(stderr, "eval: %d/%d images\n", done, total);
    }
    fflush(stderr);
}

/* gradcam eval: returns 0, 1 (bad input) or 2 (usage), with e set. */
static int eval_main(int argc, char **argv, gc_err *e)
{
    eval_args a;
    if (parse_eval_args(argc, argv, &a, e)) return 2;
    if (a.json && gc_check_out_prefix(a.json, e)) return 2;
    if (gc_check_readable(a.o.list, "image list", e)) return 1;
    network *net = gc_model_load(a.o.cfg, a.o.weights, e);
    if (!net) return 1;
    int rc = 1, tty = isatty(2);
    gc_eval_result r;
    memset(&r, 0, sizeof r);
    int detector = gc_is_detector(net);
    if (!a.method_set) a.o.ex.method = gc_default_method(detector);
    if (!detector && a.det_only) {
        gc_fail(e, "-thresh, -mapthresh, -nms and -target are for detector cfgs; %s is a classifier", a.o.cfg);
        goto done;
    }
    if (load_names(a.names, a.data, &a.o.names, &a.o.nnames, e)) goto done;
    a.o.progress = eval_progress;
    a.o.progress_ctx = &tty;
    if (gc_eval_run(net, &a.o, &r, e)) goto done;
    if (a.json && gc_eval_write_json(&r, &a.o, a.json, e)) goto done;
    gc_eval_print_table(&r, &a.o, stdout);
    if (a.json) printf("json %s\n", a.json);
    rc = 0;
done:
    gc_eval_result_free(&r);
    gc_names_free(a.o.names, a.o.nnames);
    free_network(net);
    return rc;
}

int gc_cli_main(int argc, char **argv)
{
    if (argc >= 3 && (!strcmp(argv[2], "help") || !strcmp(argv[2], "-h") || !strcmp(argv[2], "-help"))) {
        print_usage(stdout);
        return 0;
    }
    gc_err e = {{0}};
    if (argc >= 3 && !strcmp(argv[2], "init")) {
        if (init_weights(argc, argv, &e)) {
            fprintf(stderr, "gradcam: %s\n", e.msg);
            return 1;
        }
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[2], "scenes")) {
        if (make_scenes(argc, argv, &e)) {
            fprintf(stderr, "gradcam: %s\n", e.msg);
            return 1;
        }
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[2], "eval")) {
        int rc = eval_main(argc, argv, &e);
        if (rc) {
            fprintf(stderr, "gradcam: %s\n", e.msg);
            if (rc == 2 && argc < 6) print_usage(stderr);
        }
        return rc;
    }
    cli_args a;
    if (parse_args(argc, argv, &a, &e)) {
        fprintf(stderr, "gradcam: %s\n", e.msg);
        if (argc < 5) print_usage(stderr);
        return 2;
    }
    network *net = gc_model_load(a.cfg, a.weights, &e);
    if (!net) {
        fprintf(stderr, "gradcam: %s\n", e.msg);
        return 1;
    }
    int rc;
    if (gc_is_detector(net)) rc = explain_detector(&a, net, &e);
    else rc = explain_classifier(&a, net, &e);
    free_network(net);
    if (rc) {
        fprintf(stderr, "gradcam: %s\n", e.msg);
        return 1;
    }
    return 0;
}

void run_gradcam(int argc, char **argv)
{
    fflush(stdout);
    exit(gc_cli_main(argc, argv));
}
