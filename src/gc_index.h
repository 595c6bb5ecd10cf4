/* gc_index: the JSON Lines index of `gradcam -list` (the line format is
 * described in gc_batch.h): reading an index back (for -resume and merge),
 * writing lines atomically, list order, and `gradcam merge`, which joins the
 * indexes of -shard runs after checking that every image of the list is there
 * exactly once and complete. */
#ifndef GC_INDEX_H
#define GC_INDEX_H

#include <stddef.h>

#include "gc_common.h"

/* One line, parsed as far as checks need: the rest stays text. */
typedef struct gc_index_line {
    long n, of, targets; /* list position, list length, the image's lines (0: one line, no target) */
    char *image;
    const char *text;    /* the line, in its file's buffer, without the newline */
    size_t len;
    int file;            /* which file it came from (merge) */
    long lineno;
} gc_index_line;

typedef struct gc_index_file {
    char *buf;
    size_t len;
    gc_index_line *lines;
    long nlines;
    int trimmed; /* a last line without its newline (a run killed mid-append), or a torn line, was dropped */
} gc_index_file;

/* Reads and parses every complete line of path (file: the number stored in
 * each line's `file`). Fails naming the file and line on a line that is not
 * an index line. The caller frees f with gc_index_free either way. */
int gc_index_read(const char *path, gc_index_file *f, int file, gc_err *e);
void gc_index_free(gc_index_file *f);

/* How many lines from `from` belong to the same image (same file, same n). */
long gc_index_group_len(const gc_index_line *L, long nlines, long from);

/* Writes lines[0..n) (each + newline) to path atomically; line i's text is
 * replaced by alt[i] when alt and alt[i] are non-NULL. */
int gc_index_write(const char *path, gc_index_line *const *lines, long n, char *const *alt, gc_err *e);

/* qsort comparator on gc_index_line pointers: list order (n), then file and
 * line (a target's order within its image). */
int gc_index_cmp(const void *a, const void *b);

/* Rewrites path in list order when it is not (atomically). */
int gc_index_sort(const char *path, gc_err *e);

/* gradcam merge: the shard indexes found in dirs (index.shard-*-of-*.jsonl;
 * a folder without any gives its index.jsonl) joined into out, sorted. An
 * image in no index but in its shard's errors file (errors.* beside
 * index.*) failed there: the rest is merged, as one process writes its
 * index, and *nfailed counts them (e says which). Fails, writing nothing,
 * when an image of the list is in neither, or comes from two
 * files, or an image's lines are incomplete, or the folders' settings
 * (.gradcam-options: the options and the list) differ. Paths of lines read from another
 * folder than out's are made absolute. Returns the number of images merged,
 * or -1 with e set. */
long gc_index_merge(const char *const *dirs, int ndirs, const char *out, long *nfailed, gc_err *e);

#endif
