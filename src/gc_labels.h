/* gc_labels: Darknet's conventions for a labeled image set. A list file
 * names one image per line; each image's boxes are in a label file found by
 * Darknet's path rule; a label line is `class cx cy w h`, the box normalised
 * to the image (YOLO format). Every error names the file (and line). */
#ifndef GC_LABELS_H
#define GC_LABELS_H

#include <stddef.h>

#include "gc_common.h"
#include "gc_metrics.h"

typedef struct gc_label {
    int cls;
    gc_rbox box;
} gc_label;

/* The non-blank lines of a list file, without surrounding white space
 * (relative paths stay relative to the working directory, as in Darknet);
 * path "-" is standard input, read to its end and named "image list -
 * (standard input)" in messages (as -list - is). malloc'd array of *count
 * malloc'd strings; NULL with e set if the file cannot be read or has no
 * line. */
char **gc_labels_list_load(const char *path, int *count, gc_err *e);
void gc_labels_list_free(char **lines, int count);

/* Darknet's label path for an image (fill_truth_detection): the first
 * "images" becomes "labels", then the first "JPEGImages" becomes "labels",
 * and the extension (.jpg .jpeg .png .bmp .JPG .JPEG .PNG) becomes ".txt".
 * -1 with e set if the path has none of these extensions or is too long. */
int gc_labels_path(const char *image, char *out, size_t cap, gc_err *e);

/* Parses a label file: one `class cx cy w h` per non-blank line, class an
 * integer in 0..classes-1, cx cy in [0,1], w h in (0,1]. *out is malloc'd
 * (possibly with *count = 0 for an empty file). -1 with e naming the file
 * and line on a missing file or a malformed line. */
int gc_labels_load(const char *path, int classes, gc_label **out, int *count, gc_err *e);

#endif
