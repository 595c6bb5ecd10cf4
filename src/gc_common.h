/* gc_common: error reporting shared by every module of darknet-gradcam.
 *
 * Two tiers (see STYLE): bad external input (paths, weights, class, layer,
 * image) is reported through a gc_err the caller can read and print as one
 * line; broken invariants are assert()s. Library code never exits. */
#ifndef GC_COMMON_H
#define GC_COMMON_H

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define GC_ERRLEN 512

typedef struct gc_err {
    char msg[GC_ERRLEN];
    int sys; /* the errno of an output file that could not be written, else 0 */
} gc_err;

/* Formats a message into e (if non-NULL), clears e->sys and returns -1, so
 * callers can write `return gc_fail(e, "cannot open %s", path);`. */
int gc_fail(gc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* gc_fail for an output file the system refused: also keeps its errno in
 * e->sys, so that a caller can tell a full or read-only disk (every later
 * file fails too; gc_err_storage) from a problem of this one file. */
int gc_fail_sys(gc_err *e, int sys, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whether an errno means the storage itself cannot take files any more (no
 * space, quota, read-only filesystem), not one file or one image. */
int gc_err_storage(int sys);

/* Replaces control characters (C0, DEL and C1) and bytes that are not
 * well-formed UTF-8 by '?', in place: messages that quote a file's bytes
 * stay one printable line, and a UTF-8 name is shown as it is. gc_fail()
 * applies it to every message. */
void gc_printable(char *s);

/* src into dst (n bytes, n >= 4), whole when it fits; else cut between
 * UTF-8 characters and ended with "...". For a class name in a picture's
 * caption, so that what follows it (the probability) is not cut off. */
void gc_utf8_fit(char *dst, size_t n, const char *src);

/* "s" for a count other than 1, "" for 1: "1 error", "3 errors". */
static inline const char *gc_plural(long n)
{
    return n == 1 ? "" : "s";
}

/* Prints one line to f: the formatted text made printable (gc_printable:
 * a class name or path holding a terminal's escape sequence is shown with
 * '?' for its control bytes), then '\n'. For the report lines on stdout,
 * which quote the names file and the paths given. */
void gc_print_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first line in which texts a and b differ (lines end at '\n'): its
 * start in each, *a and *b, and its length in each, *la and *lb (0 where a
 * text has no more lines). For messages that name what differs. */
void gc_first_line_difference(const char **a, int *la, const char **b, int *lb);

/* Overflow-checked product of sizes: returns 0 and sets *out, or -1. */
int gc_size_mul(size_t a, size_t b, size_t *out);

/* gc_byte_value[b] = (float)b / 255., the float Darknet's image loader
 * (load_image_stb) makes of byte b: code that reads an image kept as 8-bit
 * RGB gets exactly the values of Darknet's float image of it. */
extern const float gc_byte_value[256];

/* snprintf into a path buffer that reports truncation: returns 0, or -1
 * with e as gc_fail_path(e, NULL, max, ...) sets it, instead of writing to
 * a shorter name. The path must leave room for its PATH.tmp in n bytes
 * (max: gc_tmp_path_max), since outputs are written under that name first. */
int gc_out_path(char *buf, size_t n, gc_err *e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* How a message shows a path: whole when shorter than GC_PATH_SHOWN bytes;
 * else its start, "...", and its end (the longer part: it names the file),
 * cut between UTF-8 characters. buf holds GC_PATH_SHOWN bytes; returns it. */
#define GC_PATH_SHOWN 168
const char *gc_path_shown(char *buf, const char *path);

/* gc_fail for a path longer than a buffer or the system takes, the path
 * formatted from fmt (whole, however long): "WHAT: path too long (N bytes,
 * at most MAX): START...END" (gc_path_shown), one line within GC_ERRLEN;
 * WHAT names the option or argument ("-out", "merge"), NULL for "output
 * path too long (...)". A 5000-byte path quoted whole had filled the message
 * with its first 500 bytes, the reason cut off. */
int gc_fail_path(gc_err *e, const char *what, size_t max, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The name a file is written under before its rename into place: PATH.tmp,
 * or, when the last component would then pass NAME_MAX, that component cut
 * from its start, so that every name the system allows (up to NAME_MAX
 * bytes) can be written; the end, which tells a run's files apart
 * (_0.png, _0.npy, _summary.png), stays. Async-signal-safe (the interrupt
 * handler removes these). 0, or -1 when it does not fit in n bytes. */
int gc_tmp_path(char *buf, size_t n, const char *path);

/* The longest path whose gc_tmp_path fits in n bytes, for path's last
 * component (a long one is cut, which leaves room): for messages. */
size_t gc_tmp_path_max(size_t n, const char *path);

/* A growable array of owned strings. */
typedef struct gc_strvec {
    char **s;
    int n, cap;
} gc_strvec;

/* Appends s (taking ownership; freed on failure). Returns 0, or -1 when s is
 * NULL or out of memory. */
int gc_strvec_push(gc_strvec *v, char *s);
void gc_strvec_free(gc_strvec *v);

/* The main thread's stack is mapped as it grows. Under an address-space
 * limit (ulimit -v) the growth fails once the heap and OpenBLAS's buffers
 * have taken the rest, and the deepest frame dies with SIGSEGV (a detector
 * overlay's row buffers, about 320 KB). Call at start, while there is room:
 * this extends the calling (main) thread's stack mapping to GC_MAIN_STACK
 * bytes below here, which the kernel keeps. The deepest main thread stack
 * measured in a run is 348 KB. */
#define GC_MAIN_STACK ((size_t)1 << 20)
void gc_reserve_main_stack(void);

/* A listed path is at most PATH_MAX (4096) bytes: a longer line is not an
 * image list. */
#define GC_LIST_LINE_MAX 65536

/* One line of an image list f, without its end, into
 * line[GC_LIST_LINE_MAX + 2]; its length, or -1 at the end. A line ends
 * with LF, CRLF or a lone CR, as a names file's: an old Mac list, CR
 * alone, had been one line, one image named "a.jpg\rb.jpg\r...". It stops
 * early at a NUL byte or past GC_LIST_LINE_MAX bytes, which the caller
 * refuses: a list can be a pipe or a device (standard input), and
 * getline() grew one endless line, or kept a stream of random bytes, until
 * memory ran out. f is the calling thread's alone (getc_unlocked). */
ssize_t gc_read_list_line(FILE *f, char *line);

/* Compiles one hot function at -O3 under gcc (its vectoriser and
 * if-conversion; the project builds at -O2); other compilers (the fuzzing
 * build's clang) compile it as usual. */
#if defined(__GNUC__) && !defined(__clang__)
#define GC_OPT_O3 __attribute__((optimize("O3")))
#else
#define GC_OPT_O3
#endif

/* GC_OPT_O3 where a loop's select or float -> double -> float conversions
 * vectorize only when gcc is told that they raise no trap the program could
 * see (none can: the plugin installs no floating-point trap handler); the
 * values are the same. */
#if defined(__GNUC__) && !defined(__clang__)
#define GC_OPT_O3_NOTRAP __attribute__((optimize("O3", "no-trapping-math")))
#else
#define GC_OPT_O3_NOTRAP
#endif

#endif
