#include "gc_index.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gc_batch.h"
#include "gc_image.h"
#include "gc_json.h"

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Decodes the JSON string at *p (as gc_json_string writes it) into a new
 * string; *p moves past the closing quote. NULL when malformed, or with
 * *oom set when out of memory. */
static char *json_string_read(const char **p, int *oom)
{
    const char *s = *p;
    if (*s != '"') return NULL;
    ++s;
    size_t cap = strlen(s) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) return *oom = 1, NULL;
    for (; *s && *s != '"'; ++s) {
        if (*s != '\\') {
            out[n++] = *s;
            continue;
        }
        ++s;
        if (*s == '"' || *s == '\\' || *s == '/') out[n++] = *s;
        else if (*s == 'n') out[n++] = '\n';
        else if (*s == 't') out[n++] = '\t';
        else if (*s == 'r') out[n++] = '\r';
        else if (*s == 'u' && s[1] && s[2] && s[3] && s[4]) {
            char hex[5] = {s[1], s[2], s[3], s[4], 0}, *end;
            long v = strtol(hex, &end, 16);
            /* 0x80-0xff: a byte of a path that is not UTF-8, which
             * gc_json_string writes as its Latin-1 character */
            if (*end || v <= 0 || v > 0xff) break;
            out[n++] = (char)v;
            s += 4;
        } else {
            break;
        }
    }
    if (*s != '"') {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *p = s + 1;
    return out;
}


/* Parses the head of a line our index writer wrote: -1 if it is not one, -2
 * if its list is longer than a run takes (GC_BATCH_LIST_MAX): merge would
 * size its tables by that count; -3 when out of memory. */
static int idx_line_parse(gc_index_line *L)
{
    int off = -1;
    if (sscanf(L->text, "{\"n\": %ld, \"of\": %ld, \"targets\": %ld, \"image\": %n", &L->n, &L->of, &L->targets,
               &off) != 3 ||
        off < 0)
        return -1;
    const char *p = L->text + off;
    int oom = 0;
    L->image = json_string_read(&p, &oom);
    if (oom) return -3;
    if (!L->image || L->n < 0 || L->of < 1 || L->n >= L->of || L->targets < 0) return -1;
    return L->of > GC_BATCH_LIST_MAX ? -2 : 0;
}


void gc_index_free(gc_index_file *f)
{
    for (long i = 0; i < f->nlines; ++i) free(f->lines[i].image);
    free(f->lines);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

/* Whether s (n bytes) is one whole JSON object: braces and brackets
 * balanced outside strings, the outer object closed by the last byte and not
 * before. A line torn by a full disk, then glued to the next append (another
 * -jobs worker's, once space was freed), is not: its head parses, but the
 * torn part leaves a string or an object open, or closes the object early. */
static int json_whole(const char *s, size_t n)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; ++i) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') ++i;
            else if (c == '"') in_str = 0;
            continue;
        }
        if (c == '"') in_str = 1;
        else if (c == '{' || c == '[') ++depth;
        else if ((c == '}' || c == ']') && --depth == 0 && i + 1 != n) return 0;
    }
    return n > 0 && s[0] == '{' && s[n - 1] == '}' && depth == 0 && !in_str;
}

/* Reads an index: every complete line parsed; a last line without its
 * newline (a run killed while appending), or a line that is not whole (torn,
 * then glued to the next), is dropped and noted. */
int gc_index_read(const char *path, gc_index_file *f, int fileno_, gc_err *e)
{
    memset(f, 0, sizeof *f);
    FILE *in = fopen(path, "rb");
    if (!in) return gc_fail(e, "cannot read %s: %s", path, strerror(errno));
    /* an index is a file a run wrote: a device or FIFO in its place (a link to
     * /dev/zero) would be read whole, doubling the buffer until memory ran out */
    struct stat st;
    if (fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(in);
        return gc_fail(e, "cannot read %s: not a regular file", path);
    }
    size_t cap = 1 << 16;
    f->buf = malloc(cap);
    if (!f->buf) {
        fclose(in);
        return gc_fail(e, "out of memory reading %s", path);
    }
    for (;;) {
        if (f->len + 1 >= cap) {
            char *p = realloc(f->buf, cap * 2);
            if (!p) {
                fclose(in);
                return gc_fail(e, "out of memory reading %s", path);
            }
            f->buf = p;
            cap *= 2;
        }
        size_t got = fread(f->buf + f->len, 1, cap - 1 - f->len, in);
        f->len += got;
        if (got == 0) break;
    }
    int bad = ferror(in);
    fclose(in);
    if (bad) return gc_fail(e, "read error on %s", path);
    size_t keep = f->len;
    while (keep > 0 && f->buf[keep - 1] != '\n') --keep;
    f->trimmed = keep != f->len;
    f->len = keep;
    f->buf[keep] = '\0';
    long nl = 0;
    for (size_t i = 0; i < keep; ++i) nl += f->buf[i] == '\n';
    f->lines = calloc(nl ? (size_t)nl : 1, sizeof *f->lines);
    if (!f->lines) return gc_fail(e, "out of memory reading %s", path);
    char *p = f->buf, *end = f->buf + keep;
    for (long i = 0; i < nl; ++i) {
        char *q = memchr(p, '\n', (size_t)(end - p)); /* not strchr: a NUL in a line (a block a crash left
                                                       * zero-filled) ended its search, and q was NULL */
        *q = '\0';
        gc_index_line *L = &f->lines[f->nlines++];
        L->text = p;
        L->len = (size_t)(q - p);
        L->file = fileno_;
        L->lineno = i + 1;
        p = q + 1;
        /* ours, torn, or holding a NUL byte (no JSON text does; a crash can leave zeros in a file): its image
         * is redone */
        if (memchr(L->text, '\0', L->len) || (!json_whole(L->text, L->len) && L->text[0] == '{')) {
            memset(L, 0, sizeof *L);
            f->nlines--;
            f->trimmed = 1;
            continue;
        }
        int parsed = idx_line_parse(L);
        if (parsed == -3) return gc_fail(e, "out of memory reading %s", path);
        if (parsed == -2)
            return gc_fail(e, "%s line %ld: a list of %ld images, more than the %d one run takes: a corrupt index", path,
                           i + 1, L->of, GC_BATCH_LIST_MAX);
        if (parsed) return gc_fail(e, "%s line %ld: not an index line of gradcam -list", path, i + 1);
    }
    return 0;
}

/* Lines of one image, contiguous. Returns how many lines from `from` belong
 * to the same image (same file, same n). */
long gc_index_group_len(const gc_index_line *L, long nlines, long from)
{
    long k = from + 1;
    while (k < nlines && L[k].n == L[from].n && L[k].file == L[from].file) ++k;
    return k - from;
}

/* Writes lines[0..n) (each + newline) to path atomically. Each line's text
 * may be replaced by alt[i] when alt and alt[i] are non-NULL. */
int gc_index_write(const char *path, gc_index_line *const *lines, long n, char *const *alt, gc_err *e)
{
    size_t total = 0;
    for (long i = 0; i < n; ++i) total += (alt && alt[i] ? strlen(alt[i]) : lines[i]->len) + 1;
    char *buf = malloc(total ? total : 1), *p = buf;
    if (!buf) return gc_fail(e, "out of memory writing %s", path);
    for (long i = 0; i < n; ++i) {
        size_t len = alt && alt[i] ? strlen(alt[i]) : lines[i]->len;
        memcpy(p, alt && alt[i] ? alt[i] : lines[i]->text, len);
        p += len;
        *p++ = '\n';
    }
    int rc = gc_image_write_file(path, buf, total, e);
    free(buf);
    return rc;
}

int gc_index_cmp(const void *a, const void *b)
{
    const gc_index_line *x = *(gc_index_line *const *)a, *y = *(gc_index_line *const *)b;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    if (x->file != y->file) return x->file < y->file ? -1 : 1;
    return x->lineno < y->lineno ? -1 : x->lineno > y->lineno;
}


int gc_index_sort(const char *index, gc_err *e)
{
    gc_index_file f;
    if (gc_index_read(index, &f, 0, e)) {
        gc_index_free(&f);
        return -1;
    }
    int sorted = 1;
    for (long i = 1; i < f.nlines && sorted; ++i) sorted = f.lines[i - 1].n <= f.lines[i].n;
    int rc = 0;
    if (!sorted) {
        gc_index_line **p = malloc((size_t)f.nlines * sizeof *p);
        if (!p) {
            gc_index_free(&f);
            return gc_fail(e, "out of memory sorting %s", index);
        }
        for (long i = 0; i < f.nlines; ++i) p[i] = &f.lines[i];
        qsort(p, (size_t)f.nlines, sizeof *p, gc_index_cmp);
        rc = gc_index_write(index, p, f.nlines, NULL, e);
        free(p);
    }
    gc_index_free(&f);
    return rc;
}

/* ---- merge ---- */

static int shard_name(const char *name, int *i, int *n)
{
    int a, b, off = -1;
    if (sscanf(name, "index.shard-%d-of-%d.jsonl%n", &a, &b, &off) != 2 || off < 0 || name[off]) return 0;
    char back[128];
    snprintf(back, sizeof back, "index.shard-%d-of-%d.jsonl", a, b);
    if (strcmp(back, name) || a < 0 || b < 1 || a >= b) return 0;
    *i = a;
    *n = b;
    return 1;
}

/* A copy of line L with its "png" and "npy" strings prefixed by dir + '/'
 * (a null one, left out by -save, stays null; an absolute one, which an
 * earlier merge of several folders wrote for another folder's images, stays
 * as it is: it had become dir//other/...). */
static char *prefix_paths(const gc_index_line *L, const char *dir)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) return NULL;
    const char *p = L->text, *end = L->text + L->len;
    static const char *keys[] = {", \"png\": \"", ", \"npy\": \""};
    for (int k = 0; k < 2; ++k) {
        const char *at = strstr(p, keys[k]);
        if (!at || at >= end) continue; /* null: left out by -save */
        if (at[strlen(keys[k])] == '/') continue; /* absolute */
        size_t upto = (size_t)(at - p) + strlen(keys[k]) - 1; /* up to the opening quote */
        fwrite(p, 1, upto, m);
        /* the prefix, JSON-escaped, then the original string without its opening quote */
        char *q = NULL;
        size_t ql = 0;
        FILE *qm = open_memstream(&q, &ql);
        int bad = !qm;
        if (qm) {
            gc_json_string(qm, dir);
            bad = ferror(qm) != 0;
            bad |= fclose(qm) != 0;
        }
        if (bad || !q) { /* out of memory: the line unprefixed would name files in another folder */
            free(q);
            fclose(m);
            free(buf);
            return NULL;
        }
        fwrite(q, 1, ql - 1, m); /* without its closing quote */
        fputc('/', m);
        free(q);
        p = at + strlen(keys[k]);
    }
    fwrite(p, 1, (size_t)(end - p), m);
    int bad = ferror(m) != 0;
    if (fclose(m) != 0 || bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* DIR/.gradcam-options, whole (malloc'd), into *text, NULL when there is
 * none; -1 with e set when it cannot be read whole. */
static int read_settings(const char *dir, char **text, gc_err *e)
{
    char p[PATH_MAX];
    *text = NULL;
    if (snprintf(p, sizeof p, "%s/.gradcam-options", dir) >= (int)sizeof p) return 0;
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    size_t cap = 0;
    ssize_t n = getdelim(text, &cap, '\0', f); /* the whole file (it has no NUL) */
    /* getdelim's -1 before the end: it could not grow its buffer, or a read error */
    int bad = ferror(f), oom = !*text || (n < 0 && !feof(f) && !bad);
    fclose(f);
    if (bad || oom) {
        free(*text);
        *text = NULL;
        return gc_fail(e, "merge: cannot read %s: %s", p, oom ? "out of memory" : "read error");
    }
    if (n < 0) (*text)[0] = '\0';
    return 0;
}

/* Each folder once, and every folder's settings (.gradcam-options) equal
 * the first's: shards of one run, one list. Fails naming the first line
 * that differs. */
static int same_settings(const char *const *dirs, int ndirs, gc_err *e)
{
    char *first;
    if (read_settings(dirs[0], &first, e)) return -1;
    int rc = 0;
    for (int d = 1; d < ndirs && rc == 0; ++d) {
        struct stat sj, sd;
        for (int j = 0; j < d && rc == 0; ++j)
            if (stat(dirs[j], &sj) == 0 && stat(dirs[d], &sd) == 0 && sj.st_dev == sd.st_dev && sj.st_ino == sd.st_ino)
                rc = gc_fail(e, "merge: %s and %s are one folder: give each shard's folder once", dirs[j], dirs[d]);
        if (rc) break;
        char *other;
        if (read_settings(dirs[d], &other, e)) {
            rc = -1;
            break;
        }
        if (!first != !other) {
            rc = gc_fail(e, "merge: %s has a .gradcam-options and %s none: not shards of one run", first ? dirs[0] : dirs[d],
                         first ? dirs[d] : dirs[0]);
        } else if (first && strcmp(first, other)) {
            const char *a = first, *b = other;
            int la, lb;
            gc_first_line_difference(&a, &la, &b, &lb);
            rc = gc_fail(e, "merge: %s and %s were made with other settings or lists (\"%.*s\" against \"%.*s\"): merge "
                            "the shards of one run",
                         dirs[0], dirs[d], la, a, lb, b);
        }
        free(other);
    }
    free(first);
    return rc;
}

/* The errors file beside index file index_path (errors.* for index.*) into
 * p: 0, or -1 when index_path is not named index.* or p is too short. */
static int errors_path(const char *index_path, char *p, size_t n)
{
    const char *slash = strrchr(index_path, '/'), *base = slash ? slash + 1 : index_path;
    if (strncmp(base, "index", 5)) return -1;
    int len = snprintf(p, n, "%.*serrors%s", (int)(base - index_path), index_path, base + 5);
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* Whether paths a and b name one existing file. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The positions the errors file beside index file index_path records, in a
 * list of `of` images, marked in failed[]: the images that run could not
 * explain. -1 with e set when it cannot be read whole. */
static int read_failed(const char *index_path, long of, unsigned char *failed, gc_err *e)
{
    char p[PATH_MAX];
    if (errors_path(index_path, p, sizeof p)) return 0;
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    /* a run writes its errors file: a link to a device (/dev/zero) would be
     * one endless line, read until memory ran out */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return 0;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        long n, o;
        if (sscanf(line, "{\"n\": %ld, \"of\": %ld", &n, &o) == 2 && o == of && n >= 0 && n < of) failed[n] = 1;
    }
    /* getline's -1 before the end: it could not grow its buffer, or a read error */
    int bad = ferror(f), oom = !bad && !feof(f);
    free(line);
    fclose(f);
    if (bad || oom) return gc_fail(e, "merge: cannot read %s: %s", p, oom ? "out of memory" : "read error");
    return 0;
}


/* 1 when path may be written as merge's -o: a descriptor (-o - is
 * /dev/stdout, written at its offset, not over the file it may be
 * redirected to), not a regular file, empty, or an index (its first line
 * starting as every index line does); else 0 with e set. */
static int not_an_index(const char *path, gc_err *e)
{
    static const char head[] = "{\"n\": ";
    if (!strcmp(path, "/dev/stdout") || !strncmp(path, "/dev/fd/", 8) || !strncmp(path, "/proc/self/fd/", 14)) return 1;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return 1;
    FILE *f = fopen(path, "rb");
    if (!f) return 1; /* unreadable: the write says what is wrong */
    char got[sizeof head] = {0};
    size_t n = fread(got, 1, sizeof head - 1, f);
    fclose(f);
    if (n == sizeof head - 1 && !memcmp(got, head, n)) return 1;
    gc_fail(e, "merge: -o %s exists and is not an index (a gradcam index's lines start with {\"n\": ): refusing to "
               "overwrite it", path);
    return 0;
}
/* The list length ("of") of the first line of the errors file beside index
 * file index_path, or -1: where every image of the shards failed, their
 * indexes are empty and only the errors files give it. -2 when it is more
 * than one run takes (GC_BATCH_LIST_MAX): merge had sized its tables by it. */
static long errors_of(const char *index_path)
{
    char p[PATH_MAX];
    if (errors_path(index_path, p, sizeof p)) return -1;
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    struct stat st;
    long of = -1;
    char line[256];
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && fgets(line, sizeof line, f)) {
        long n, o;
        if (sscanf(line, "{\"n\": %ld, \"of\": %ld", &n, &o) == 2 && o > 0 && n >= 0 && n < o)
            of = o > GC_BATCH_LIST_MAX ? -2 : o; /* -2: more than one run takes, a corrupt file (as in an index) */
    }
    fclose(f);
    return of;
}

long gc_index_merge(const char *const *dirs, int ndirs, const char *out, long *nfailed, gc_err *e)
{
    gc_strvec paths = {0};
    int *file_dir = NULL;
    unsigned char *gap = NULL; /* per path: a folder's index.jsonl read beside its shards, for the images they lack */
    gc_index_file *files = NULL;
    gc_index_line **all = NULL;
    char **alt = NULL;
    int *seen_file = NULL;
    long nall = 0, rc = -1, of = -1;
    const char *of_path = NULL; /* the index whose first line gave of */
    char *outdir_real = NULL;
    unsigned char *failed = NULL;
    *nfailed = 0;

    for (int d = 0; d < ndirs; ++d) {
        DIR *dh = opendir(dirs[d]);
        if (!dh) {
            gc_fail(e, "merge: cannot read folder %s: %s", dirs[d], strerror(errno));
            goto done;
        }
        gc_strvec names = {0};
        struct dirent *de;
        int si, sn, oom = 0;
        while ((de = readdir(dh)))
            if (shard_name(de->d_name, &si, &sn)) oom |= gc_strvec_push(&names, dup_str(de->d_name));
        closedir(dh);
        /* The folder's index.jsonl: its index when it holds no shards'; beside
         * shards, a merge's output that a run in one process may have gone on
         * with (-resume without -shard, as the README allows), so its lines for
         * images no shard has are read too (a later merge had dropped them,
         * and named those images as failed from the shards' old errors) */
        char own[PATH_MAX];
        struct stat ost;
        if (snprintf(own, sizeof own, "%s/index.jsonl", dirs[d]) >= (int)sizeof own) {
            gc_strvec_free(&names);
            gc_fail_path(e, "merge DIR", sizeof own - 1, "%s/index.jsonl", dirs[d]);
            goto done;
        }
        int nshard = names.n, has_own = stat(own, &ost) == 0 && S_ISREG(ost.st_mode);
        if (!oom && nshard == 0 && access(own, R_OK) != 0) {
            gc_strvec_free(&names);
            gc_fail(e, "merge: %s holds no index (index.shard-I-of-N.jsonl or index.jsonl)", dirs[d]);
            goto done;
        }
        if (names.n) qsort(names.s, (size_t)names.n, sizeof *names.s, cmp_str);
        if (!oom && (nshard == 0 || has_own)) oom |= gc_strvec_push(&names, dup_str("index.jsonl")); /* last */
        for (int i = 0; i < names.n && !oom; ++i) {
            size_t len = strlen(dirs[d]) + strlen(names.s[i]) + 2;
            char *p = malloc(len);
            if (p) snprintf(p, len, "%s/%s", dirs[d], names.s[i]);
            int *fd2 = realloc(file_dir, (size_t)(paths.n + 1) * sizeof *fd2);
            unsigned char *g2 = fd2 ? realloc(gap, (size_t)(paths.n + 1)) : NULL;
            if (fd2) file_dir = fd2;
            if (g2) gap = g2;
            if (!g2) free(p); /* gc_strvec_push frees it, but is not reached */
            if (!g2 || gc_strvec_push(&paths, p)) oom = 1;
            else {
                file_dir[paths.n - 1] = d;
                gap[paths.n - 1] = nshard > 0 && has_own && i == names.n - 1;
            }
        }
        gc_strvec_free(&names);
        if (oom) {
            gc_fail(e, "out of memory");
            goto done;
        }
    }
    if (same_settings(dirs, ndirs, e)) goto done;
    /* -o onto what merge reads would lose it: a shard's own index, an
     * index's errors file, a folder's settings (a plain index.jsonl, the
     * default -o of a folder that holds one, is a part of what replaces it) */
    for (int i = 0; i < paths.n; ++i) {
        const char *base = strrchr(paths.s[i], '/') + 1;
        int si, sn;
        char p[PATH_MAX];
        if (shard_name(base, &si, &sn) && same_file(paths.s[i], out)) {
            gc_fail(e, "merge: -o %s is the shard index %s: refusing to overwrite it", out, paths.s[i]);
            goto done;
        }
        if (errors_path(paths.s[i], p, sizeof p) == 0 && same_file(p, out)) {
            gc_fail(e, "merge: -o %s is the errors file %s, which merge reads: refusing to overwrite it", out, p);
            goto done;
        }
    }
    for (int d = 0; d < ndirs; ++d) {
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/.gradcam-options", dirs[d]) < (int)sizeof p && same_file(p, out)) {
            gc_fail(e, "merge: -o %s is the settings file %s, which merge reads: refusing to overwrite it", out, p);
            goto done;
        }
    }
    /* nor onto any other file that is not an index (an earlier merge's,
     * which it replaces): a mistyped -o naming the image list, a picture or
     * a cfg had replaced it without a word */
    if (!not_an_index(out, e)) goto done;
    files = calloc((size_t)paths.n, sizeof *files);
    if (!files) {
        gc_fail(e, "out of memory");
        goto done;
    }
    for (int i = 0; i < paths.n; ++i) {
        if (gc_index_read(paths.s[i], &files[i], i, e)) goto done;
        if (files[i].trimmed) {
            gc_fail(e, "merge: %s holds a partial line (an interrupted run): rerun it with -resume", paths.s[i]);
            goto done;
        }
        nall += files[i].nlines;
    }
    all = malloc((nall ? (size_t)nall : 1) * sizeof *all);
    if (!all) {
        gc_fail(e, "out of memory");
        goto done;
    }
    nall = 0; /* counted again as the lines are taken, below */
    for (int i = 0; i < paths.n; ++i) {
        gc_index_file *f = &files[i];
        for (long k = 0; k < f->nlines; ++k) {
            if (of < 0) {
                of = f->lines[k].of;
                of_path = paths.s[i];
            }
            if (f->lines[k].of != of) {
                gc_fail(e, "merge: %s line %ld is from a list of %ld images, %s from one of %ld: not one list",
                        paths.s[i], k + 1, f->lines[k].of, of_path, of);
                goto done;
            }
        }
    }
    for (int i = 0; i < paths.n && of < 0; ++i) /* every image failed */
        if ((of = errors_of(paths.s[i])) == -2) {
            char ep[PATH_MAX];
            errors_path(paths.s[i], ep, sizeof ep);
            gc_fail(e, "merge: %s line 1: a list of more than the %d images one run takes: a corrupt errors file", ep,
                    GC_BATCH_LIST_MAX);
            goto done;
        }
    if (of < 0) {
        gc_fail(e, "merge: the indexes are empty");
        goto done;
    }
    seen_file = malloc((size_t)of * sizeof *seen_file);
    failed = calloc((size_t)of, 1);
    if (!seen_file || !failed) {
        gc_fail(e, "out of memory");
        goto done;
    }
    for (long n = 0; n < of; ++n) seen_file[n] = -1;
    /* the shards (and plain indexes) first, then the index.jsonl beside
     * shards, whose images the shards have are skipped */
    for (int pass = 0; pass < 2; ++pass)
        for (int i = 0; i < paths.n; ++i) {
            gc_index_file *f = &files[i];
            if (gap[i] != pass) continue;
            for (long k = 0; k < f->nlines;) {
                const gc_index_line *L = &f->lines[k];
                long g = gc_index_group_len(f->lines, f->nlines, k);
                if (seen_file[L->n] >= 0 && gap[i]) {
                    k += g;
                    continue;
                }
                if (seen_file[L->n] >= 0) {
                    gc_fail(e, "merge: image %s (position %ld) is in %s and in %s", L->image, L->n,
                            paths.s[seen_file[L->n]], paths.s[i]);
                    goto done;
                }
                if (g != (L->targets ? L->targets : 1)) {
                    gc_fail(e, "merge: %s line %ld: image %s has %ld of its %ld lines", paths.s[i], L->lineno, L->image,
                            g, L->targets);
                    goto done;
                }
                seen_file[L->n] = i;
                for (long j = k; j < k + g; ++j) all[nall++] = &f->lines[j];
                k += g;
            }
        }
    for (int i = 0; i < paths.n; ++i)
        if (read_failed(paths.s[i], of, failed, e)) goto done;
    {
        long missing = 0, first[5], nf = 0, first_failed[5];
        for (long n = 0; n < of; ++n)
            if (seen_file[n] < 0 && failed[n]) { /* in no index, but in its shard's errors: it failed */
                if (nf < 5) first_failed[nf] = n;
                nf++;
            } else if (seen_file[n] < 0) {
                if (missing < 5) first[missing] = n;
                missing++;
            }
        if (missing) {
            char list[128] = "";
            for (long k = 0; k < missing && k < 5; ++k) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%ld", k ? ", " : "", first[k]);
            }
            gc_fail(e, "merge: %ld of %ld images missing (list positions %s%s; in no index nor errors file: rerun "
                       "those shards with -resume)",
                    missing, of, list, missing > 5 ? ", ..." : "");
            goto done;
        }
        if (nf) { /* merged all the same, as one process writes its index; the caller fails */
            char list[128] = "";
            for (long k = 0; k < nf && k < 5; ++k) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%ld", k ? ", " : "", first_failed[k]);
            }
            gc_fail(e, "%ld of %ld image%s failed (list positions %s%s): see the errors files", nf, of, gc_plural(of),
                    list, nf > 5 ? ", ..." : "");
            *nfailed = nf;
        }
    }
    qsort(all, (size_t)nall, sizeof *all, gc_index_cmp);

    /* Paths stay relative for lines from the output's own folder. */
    {
        char od[PATH_MAX];
        snprintf(od, sizeof od, "%s", out);
        char *slash = strrchr(od, '/');
        if (slash) *slash = '\0';
        else snprintf(od, sizeof od, ".");
        outdir_real = realpath(od, NULL);
        if (!outdir_real) {
            gc_fail(e, "merge: output folder %s: %s", od, strerror(errno));
            goto done;
        }
    }
    alt = calloc((size_t)nall ? (size_t)nall : 1, sizeof *alt);
    if (!alt) {
        gc_fail(e, "out of memory");
        goto done;
    }
    for (int d = 0; d < ndirs; ++d) {
        char *real = realpath(dirs[d], NULL);
        if (!real) {
            gc_fail(e, "merge: %s: %s", dirs[d], strerror(errno));
            goto done;
        }
        int same = !strcmp(real, outdir_real);
        for (long k = 0; k < nall && !same; ++k)
            if (file_dir[all[k]->file] == d && all[k]->targets > 0 && !(alt[k] = prefix_paths(all[k], real))) {
                free(real);
                gc_fail(e, "out of memory");
                goto done;
            }
        free(real);
    }
    if (gc_index_write(out, all, nall, alt, e)) goto done;
    rc = of - *nfailed;
done:
    if (alt)
        for (long k = 0; k < nall; ++k) free(alt[k]);
    free(alt);
    free(outdir_real);
    free(seen_file);
    free(failed);
    free(all);
    if (files)
        for (int i = 0; i < paths.n; ++i) gc_index_free(&files[i]);
    free(files);
    free(file_dir);
    free(gap);
    gc_strvec_free(&paths);
    return rc;
}
