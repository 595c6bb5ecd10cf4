/* gc_batch: `darknet gradcam cfg weights -list FILE|DIR -outdir DIR`: many
 * images through one loaded network. Each image is explained by the same
 * per-image entry points as the main command (gc_detect_run,
 * gc_classify_run) into a temporary folder under DIR/.tmp, which is renamed
 * to DIR/<the image's path relative to the list's root> once complete; only
 * then are the image's index lines appended (one write) to the JSON Lines
 * index. -resume reads the index back and skips the images it holds
 * completely (gc_index reads it back); -jobs N forks N workers sharing the loaded network and the
 * index; -shard i/n takes every n-th image starting at i; `gradcam
 * merge` (gc_index) joins the shards' indexes after checking that every image of the
 * list is there exactly once.
 *
 * Index lines (one per target; an image without targets has one line with
 * "targets": 0), keys always in this order, so that identical runs give
 * identical bytes:
 *   {"n": position in the whole list, "of": images in the list, "targets": T,
 *    "image": as listed, "target": k, "class": c, "name": ..., "probability": p,
 *    "box": [l, t, r, b] or null, "layers": [...], "method": ..., "score": ...,
 *    "counterfactual": bool, "peak": v, "peak_xy": [x, y], "energy_in_box": e or
 *    null, "all_zero": bool, "png": ..., "npy": ...}
 * png and npy are relative to the folder holding the index. Lines are in list
 * order (n, then target): a run appends in that order and, when it ends,
 * rewrites its index sorted (a resumed run that retried failed images would
 * otherwise append them late). */
#ifndef GC_BATCH_H
#define GC_BATCH_H

#include "darknet.h"
#include "gc_classify_run.h"
#include "gc_common.h"
#include "gc_detect_run.h"
#include "gc_forward.h"

#define GC_BATCH_MAX 64 /* -batch N at most */

/* The images of a list file or a directory, in run order. */
typedef struct gc_batch_list {
    char **path; /* to open: as listed, or the directory joined with the file's path in it */
    char **rel;  /* the output folder, relative to -outdir: the path relative to the list's root */
    int n;
    char *root;  /* the list's root: the directory, or the longest common folder of the listed paths */
} gc_batch_list;

/* -list -: the list from standard input, as -json - writes to standard
 * output (./- for a file named -). The path to open for src ("/dev/stdin"
 * for "-"), and its name in messages ("- (standard input)" for "-": it had
 * been called /dev/stdin, a name the user never gave). */
const char *gc_batch_list_path(const char *src);
const char *gc_batch_list_name(const char *src);

/* Reads src (- for standard input): a directory (every image file below it,
 * any depth, sorted by path; hidden entries and the folder skip_dir, when
 * non-NULL, are left out) or a list file (one path a line; blank lines
 * ignored). Output folders are the paths relative to the root, "." dropped
 * and a part starting with '.' or '_' written with one more '_' (".." as
 * "_.."), one that would then pass NAME_MAX shortened with a hash ("_~", 236
 * bytes, '~', 16 hex digits), so they stay inside -outdir and two paths that
 * differ get folders that differ. */
int gc_batch_list_load(const char *src, const char *skip_dir, gc_batch_list *l, gc_err *e);

/* A list is read whole before the first image (its length is every index
 * line's "of", the CRC-32 of its folders is in the settings, a path listed
 * twice is found): one from a pipe that never ends (-list <(yes img.jpg))
 * had grown the memory until it ran out. So a list holds at most
 * GC_BATCH_LIST_MAX images and GC_BATCH_LIST_BYTES bytes of paths (each
 * path's bytes and one), well above any dataset (ImageNet-21k: 14 million
 * images, under 1 GB of paths); more is refused, naming the list and the
 * limit. An endless pipe is refused when it reaches either: `yes img.jpg`
 * at 0.8 GB of memory, a path of 60000 bytes repeated at 2.1 GB. */
#define GC_BATCH_LIST_MAX 20000000
#define GC_BATCH_LIST_BYTES ((size_t)2 << 30)

/* gc_batch_list_load with other limits (max_images, max_bytes). */
int gc_batch_list_load_max(const char *src, const char *skip_dir, int max_images, size_t max_bytes, gc_batch_list *l,
                           gc_err *e);
void gc_batch_list_free(gc_batch_list *l);

/* "i/n" with 0 <= i < n: returns 0, or -1 with e naming the argument. */
int gc_batch_shard_parse(const char *s, int *i, int *n, gc_err *e);

/* The first line of DIR/.gradcam-options (gc_batch_opts.options): it names
 * the file's format, so that a folder written by a gradcam that recorded its
 * options otherwise gets its own message. */
#define GC_BATCH_OPTIONS_HEAD "# gradcam -list settings, format 2"

typedef struct gc_batch_opts {
    const char *list, *outdir;
    int resume, quiet;
    int shard, nshards;   /* every nshards-th image starting at shard; 0 and 1 for all */
    int every;            /* progress line every N images when stderr is not a terminal */
    int jobs;             /* worker processes (fork after the network is loaded); 0 or 1: this one */
    int batch;            /* images per batched forward (gc_forward_batch_*); 0 or 1: one at a time.
                           * The caller checks the cfg (gc_forward_batch_supported) and the memory. */
    const char *options;  /* what decides the outputs (cfg, weights, the main options), one a line,
                           * starting with GC_BATCH_OPTIONS_HEAD's line: kept in DIR/.gradcam-options;
                           * a -resume with others is refused. NULL: none */
    int detector;         /* which of det / cls applies */
    gc_det_opts det;      /* the main command's options; image, out and json are set per image */
    gc_cls_opts cls;
} gc_batch_opts;

typedef struct gc_batch_summary {
    int listed;   /* images in the whole list */
    int total;    /* images of this shard */
    int done;     /* explained by this run */
    int skipped;  /* already complete in the index (-resume) */
    int errors;   /* failed: logged, in the errors file, not in the index */
    double seconds;
    /* of which in forward passes, backward passes and maps (the sessions'
     * explain_seconds); -1 with -jobs N > 1 (the workers' are not gathered) */
    double explain_seconds;
    double pass_seconds; /* of which in the forward and backward passes alone; -1 with explain_seconds */
    int stopped;  /* 0, or the signal that stopped the run (gc_stop): the caller dies of it */
    char index[4096], errors_file[4096];
} gc_batch_summary;

/* Runs the list. Returns 0 when the run went through, even with failed
 * images (sum->errors counts them); -1 with e set when it could not start or
 * go on (unreadable list, unwritable -outdir, an index that belongs to
 * another list, a full disk). From the list read to the end it is armed
 * with gc_stop: SIGINT, SIGTERM or SIGHUP ends it after the image in hand
 * (with -jobs N, each worker's), as a normal end does but for the index's
 * sort, and sets sum->stopped (also when it returns -1): the caller prints
 * its summary and dies of that signal (gc_stop_raise). */
int gc_batch_run(network *net, const gc_batch_opts *o, gc_batch_summary *sum, gc_err *e);

/* The index file a run with these options writes: DIR/index.jsonl, or
 * DIR/index.shard-I-of-N.jsonl with -shard; likewise errors.jsonl. */
void gc_batch_index_path(const char *outdir, int shard, int nshards, const char *stem, char *buf, size_t n);

#endif
