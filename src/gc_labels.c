#include "gc_labels.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_model.h"

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s)) ++s;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* The next line of the text [*p, end), one getline() result: up to a CR or
 * the end, '\0'-terminated in place (end is getline's own '\0'), its
 * length in *len; *p moves past its end, a CRLF's LF included. So a line
 * ends with LF, CRLF or a lone CR, as a names file's (gc_model_names_load)
 * and -list's: an old Mac file, CR alone, had been one line. */
static char *cut_line(char **p, char *end, size_t *len)
{
    char *s = *p, *cr = memchr(s, '\r', (size_t)(end - s)), *stop = cr ? cr : end;
    *len = (size_t)(stop - s);
    *stop = '\0';
    *p = stop + 1 + (cr && stop + 1 < end && stop[1] == '\n');
    return s;
}

void gc_labels_list_free(char **lines, int count)
{
    if (!lines) return;
    for (int i = 0; i < count; ++i) free(lines[i]);
    free(lines);
}

char **gc_labels_list_load(const char *path, int *count, gc_err *e)
{
    *count = 0;
    int from_stdin = !strcmp(path, "-");
    if (from_stdin) path = "- (standard input)";
    else if (gc_image_check_readable(path, "image list", e)) return NULL;
    FILE *f = from_stdin ? stdin : fopen(path, "r");
    if (!f) {
        gc_fail(e, "image list %s: %s", path, strerror(errno));
        return NULL;
    }
    char **lines = NULL, *buf = malloc(GC_LIST_LINE_MAX + 2);
    int n = 0, cap = 0, lineno = 0;
    ssize_t got;
    if (!buf) goto oom;
    while ((got = gc_read_list_line(f, buf)) >= 0) {
        ++lineno;
        if (got > GC_LIST_LINE_MAX) {
            gc_fail(e, "image list %s line %d: longer than %d bytes: not an image list", path, lineno,
                    GC_LIST_LINE_MAX);
            goto fail;
        }
        if (memchr(buf, '\0', (size_t)got)) {
            gc_fail(e, "image list %s line %d: contains a NUL byte (binary file?)", path, lineno);
            goto fail;
        }
        char *s = buf;
        if (lineno == 1 && !strncmp(s, "\xef\xbb\xbf", 3)) s += 3; /* a UTF-8 BOM (Windows editors) */
        s = trim(s);
        if (!*s) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(lines, (size_t)cap * sizeof *lines);
            if (!grown) goto oom;
            lines = grown;
        }
        if (!(lines[n] = strdup(s))) goto oom;
        ++n;
    }
    if (ferror(f)) {
        gc_fail(e, "image list %s: read error", path);
        goto fail;
    }
    if (!from_stdin) fclose(f);
    free(buf);
    if (n == 0) {
        free(lines);
        gc_fail(e, "image list %s names no image", path);
        return NULL;
    }
    *count = n;
    return lines;
oom:
    gc_fail(e, "out of memory reading image list %s", path);
fail:
    if (!from_stdin) fclose(f);
    free(buf);
    gc_labels_list_free(lines, n);
    return NULL;
}

/* Darknet's find_replace(): the first occurrence only. */
static int replace_first(char *s, size_t cap, const char *from, const char *to)
{
    char *p = strstr(s, from);
    if (!p) return 0;
    size_t lf = strlen(from), lt = strlen(to), len = strlen(s);
    if (len - lf + lt + 1 > cap) return -1;
    memmove(p + lt, p + lf, len - (size_t)(p - s) - lf + 1);
    memcpy(p, to, lt);
    return 0;
}

/* The image's path fits and its label file's (images -> labels, .jpg ->
 * .txt: a few bytes longer) does not. */
static int label_path_too_long(const char *image, size_t cap, gc_err *e)
{
    char shown[GC_PATH_SHOWN];
    return gc_fail(e, "image %s: its label file's path would be longer than %zu bytes", gc_path_shown(shown, image),
                   cap - 1);
}

int gc_labels_path(const char *image, char *out, size_t cap, gc_err *e)
{
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".bmp", ".JPG", ".JPEG", ".PNG"};
    size_t len = strlen(image);
    if (len + 1 > cap) return gc_fail_path(e, "image", cap - 1, "%s", image);
    memcpy(out, image, len + 1);
    if (replace_first(out, cap, "images", "labels") || replace_first(out, cap, "JPEGImages", "labels"))
        return label_path_too_long(image, cap, e);
    len = strlen(out);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; ++i) {
        size_t le = strlen(ext[i]);
        /* the extension, not the directory part: a dot after the last slash */
        if (len > le && !strcmp(out + len - le, ext[i]) && out[len - le - 1] != '/') {
            if (len - le + 5 > cap) return label_path_too_long(image, cap, e);
            memcpy(out + len - le, ".txt", 5);
            return 0;
        }
    }
    return gc_fail(e, "image %s: cannot find its label file (extension not .jpg .jpeg .png .bmp .JPG .JPEG .PNG)",
                   image);
}

/* One label line into l; on a bad line -1, with what is wrong in why. */
static int parse_line(char *s, int classes, gc_label *l, char *why, size_t nwhy)
{
    static const char *const field[4] = {"cx", "cy", "w", "h"};
    char *end;
    errno = 0;
    long c = strtol(s, &end, 10);
    if (errno || end == s || !isspace((unsigned char)*end)) {
        snprintf(why, nwhy, "the class is not a whole number");
        return -1;
    }
    if (c < 0 || c >= classes) {
        snprintf(why, nwhy, "class %ld is not one of the network's %d (0..%d)", c, classes, classes - 1);
        return -1;
    }
    float v[4];
    s = end;
    for (int i = 0; i < 4; ++i) {
        errno = 0;
        v[i] = strtof(s, &end);
        if (errno || end == s || !isfinite(v[i])) {
            snprintf(why, nwhy, "%s is missing or not a finite number", field[i]);
            return -1;
        }
        s = end;
    }
    while (*s && isspace((unsigned char)*s)) ++s;
    if (*s) {
        snprintf(why, nwhy, "more than five fields");
        return -1;
    }
    for (int i = 0; i < 4; ++i)
        if (i < 2 ? !(v[i] >= 0 && v[i] <= 1) : !(v[i] > 0 && v[i] <= 1)) {
            snprintf(why, nwhy, "%s %g is outside %s", field[i], (double)v[i], i < 2 ? "[0,1]" : "(0,1]");
            return -1;
        }
    l->cls = (int)c;
    l->box = (gc_rbox){v[0], v[1], v[2], v[3]};
    return 0;
}

int gc_labels_load(const char *path, int classes, gc_label **out, int *count, gc_err *e)
{
    *out = NULL;
    *count = 0;
    if (gc_image_check_readable(path, "label", e)) return -1;
    FILE *f = fopen(path, "r");
    if (!f) return gc_fail(e, "label file %s: %s", path, strerror(errno));
    gc_label *ls = NULL;
    char *buf = NULL;
    size_t bcap = 0;
    int n = 0, cap = 0, lineno = 0, rc = -1, bom_first = 0;
    ssize_t got;
    /* a CR-only label file (Darknet's fscanf reads it: a CR is white space)
     * had been one line, refused as malformed */
    while ((got = getline(&buf, &bcap, f)) >= 0) {
        for (char *p = buf, *end = buf + got; p < end;) {
            size_t len;
            char *line = cut_line(&p, end, &len);
            ++lineno;
            int bom = lineno == 1 && !strncmp(line, "\xef\xbb\xbf", 3);
            char *s = trim(line + (bom ? 3 : 0));
            /* a mark on a line of its own still stops Darknet's fscanf before
             * the objects below it (it had been passed over with the blank line) */
            if (bom) bom_first = 1;
            if (!*s) continue;
            if (bom_first) {
                /* Darknet's fscanf stops at the mark and reads no object from the
                 * file; in the line the message below would show, it is invisible */
                gc_fail(e, "label file %s starts with a UTF-8 byte-order mark, which Darknet cannot read (it finds no "
                           "object in the file): save it without the BOM",
                        path);
                goto done;
            }
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                gc_label *grown = realloc(ls, (size_t)cap * sizeof *ls);
                if (!grown) {
                    gc_fail(e, "out of memory reading label file %s", path);
                    goto done;
                }
                ls = grown;
            }
            char why[96];
            if (parse_line(s, classes, &ls[n], why, sizeof why)) {
                gc_fail(e, "label file %s line %d: %s; expected `class cx cy w h` with class in 0..%d, cx cy in "
                           "[0,1], w h in (0,1]: %.60s",
                        path, lineno, why, classes - 1, s);
                goto done;
            }
            ++n;
        }
    }
    if (ferror(f)) {
        gc_fail(e, "label file %s: read error", path);
        goto done;
    }
    if (!feof(f)) { /* getline's -1 before the end: it could not grow its buffer */
        gc_fail(e, "out of memory reading label file %s", path);
        goto done;
    }
    rc = 0;
done:
    fclose(f);
    free(buf);
    if (rc) {
        free(ls);
        return -1;
    }
    *out = ls;
    *count = n;
    return 0;
}
