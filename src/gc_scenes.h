/* gc_scenes: labelled scenes composed from Fashion-MNIST garments, for
 * training the demo models with Darknet and for measuring how well the maps
 * localise. Every scene is a pure function of (kind, split, seed, index), so
 * a set is reproducible image by image. Training scenes come from the train
 * split only, evaluation scenes from the test split only.
 *
 * Kinds:
 *   cls   one garment (28..48 px square patch) anywhere on a cluttered
 *         96x96 background: classifier training and evaluation;
 *   pair  two garments of different classes (26..40 px), not overlapping,
 *         on the same kind of background: "map for A on A, map for B on B";
 *   det   1 to 4 garments of different classes and sizes (24..60 px), not
 *         overlapping, on a 128x128 background: detector scenes;
 *   same  two different garments of the SAME class (28..52 px), not
 *         overlapping, on a det background: "each box's map on its own
 *         garment" (instance discrimination, gradcam eval).
 * Ground truth is the tight box of the garment's visible pixels (Fashion-MNIST
 * patches have black margins), written as Darknet labels. */
#ifndef GC_SCENES_H
#define GC_SCENES_H

#include <stdint.h>

#include "gc_common.h"

#define GC_FMNIST_CLASSES 10
#define GC_FMNIST_SIDE 28
#define GC_SCENE_MAX_OBJ 4

/* Class names as Darknet labels: no name is a substring of another, because
 * `darknet classifier train` finds an image's class by searching its path for
 * each name. */
extern const char *const gc_scenes_fmnist_names[GC_FMNIST_CLASSES];

typedef struct gc_fmnist {
    int n;
    unsigned char *images; /* n * 28 * 28, row-major, 0 = background */
    unsigned char *labels; /* n, 0..9 */
} gc_fmnist;

/* Reads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (the idx
 * format; gzip or plain). Every failure names the file. */
int gc_scenes_fmnist_load(gc_fmnist *d, const char *dir, int train, gc_err *e);
void gc_scenes_fmnist_free(gc_fmnist *d);

typedef enum gc_scene_kind { GC_SCENE_CLS, GC_SCENE_PAIR, GC_SCENE_DET, GC_SCENE_SAME, GC_SCENE_KIND_COUNT } gc_scene_kind;

/* "cls", "pair", "det", "same"; parse returns 0 or -1. */
const char *gc_scenes_kind_name(gc_scene_kind k);
int gc_scenes_kind_parse(const char *s, gc_scene_kind *out);
/* Canvas side of a kind (96 or 128). */
int gc_scenes_size(gc_scene_kind k);

typedef struct gc_scene_obj {
    int cls;
    int src;            /* index of the garment in the split */
    int x0, y0, x1, y1; /* tight box in pixels, inclusive-exclusive */
} gc_scene_obj;

typedef struct gc_scene {
    int w, h;
    unsigned char *rgb; /* w*h*3, caller-owned buffer of gc_scenes_size()^2*3 bytes */
    int nobj;
    gc_scene_obj obj[GC_SCENE_MAX_OBJ];
} gc_scene;

/* Composes scene `index` of a set with `seed` into s (s->rgb must hold
 * side*side*3 bytes). Returns 0, or -1 if the split lacks a needed class. */
int gc_scenes_make(const gc_fmnist *d, gc_scene_kind kind, uint64_t seed, long index, gc_scene *s,
                  gc_err *e);

/* Writes `count` scenes into outdir (which must exist): NNNNNN[_name].png with
 * a Darknet label file NNNNNN[_name].txt beside it (class cx cy w h,
 * normalised), and outdir/list.txt with one image path per line (outdir as
 * given + file name). The class name is part of the file name for cls scenes,
 * as `darknet classifier train` needs. Files are written atomically; on error
 * the scenes written so far are removed and no list.txt is left. Progress
 * goes to stderr every 1000 scenes. */
int gc_scenes_write(const gc_fmnist *d, gc_scene_kind kind, uint64_t seed, long count,
                    const char *outdir, gc_err *e);

#endif
