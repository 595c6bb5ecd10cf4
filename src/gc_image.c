/* gc_image: image checking, PNG and .npy files, atomic writes.
 *
 * This is the one translation unit that compiles Debian's libstb-dev
 * implementations. Darknet's libdarknet.a already defines the non-static
 * stb_image / stb_image_write symbols (v1.09, in src/image.c), so ours are
 * compiled static to keep both copies private and link-clean. */
#include "gc_image.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
/* PNG deflate through zlib (already linked): stb's own deflate was about
 * 80% of a detector run's time (perf, 100+ boxes: one overlay each). */
#include <zlib.h>
static unsigned char *gc_png_deflate(unsigned char *data, int len, int *out_len, int quality)
{
    (void)quality;
    uLongf n = compressBound((uLong)len);
    unsigned char *out = malloc(n);
    if (!out) return NULL;
    if (compress2(out, &n, data, (uLong)len, 4) != Z_OK) {
        free(out);
        return NULL;
    }
    *out_len = (int)n;
    return out;
}
#define STBIW_ZLIB_COMPRESS gc_png_deflate
/* Third-party code: static linkage leaves most of stb unused, and it is not
 * written for our warning set. Silence it here only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wpointer-arith"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
/* stb_image 2.27 declares stbi_set_unpremultiply_on_load_thread but defines it
 * as stbi__unpremultiply_on_load_thread; with STB_IMAGE_STATIC gcc reports the
 * declared-never-defined static at the end of the file, outside the pragmas. */
#define stbi_set_unpremultiply_on_load_thread stbi__unpremultiply_on_load_thread
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC diagnostic pop

/* ---- reading --------------------------------------------------------------- */

int gc_image_check(const char *path, int *w, int *h, gc_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0) return gc_fail(e, "cannot open image %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return gc_fail(e, "cannot read image %s: not a regular file", path);
    if (st.st_size == 0) return gc_fail(e, "cannot decode image %s: empty file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return gc_fail(e, "cannot open image %s: %s", path, strerror(errno));
    int iw = 0, ih = 0, ic = 0;
    /* The header first, so that a huge declared size is refused before the
     * decoder allocates for it. Darknet indexes w*h*c with int (3 channels
     * once loaded). */
    if (stbi_info_from_file(f, &iw, &ih, &ic) &&
        (iw <= 0 || ih <= 0 || (long long)iw * ih * 3 > INT_MAX)) {
        fclose(f);
        return gc_fail(e, "cannot use image %s: size %dx%d is out of range", path, iw, ih);
    }
    /* Then a full decode: a truncated file has a valid header. */
    unsigned char *px = stbi_load_from_file(f, &iw, &ih, &ic, 0);
    fclose(f);
    if (!px) {
        const char *why = stbi_failure_reason();
        return gc_fail(e, "cannot decode image %s: %s", path, why && *why ? why : "unknown error");
    }
    stbi_image_free(px);
    if (iw <= 0 || ih <= 0 || (long long)iw * ih * 3 > INT_MAX)
        return gc_fail(e, "cannot use image %s: size %dx%d is out of range", path, iw, ih);
    if (w) *w = iw;
    if (h) *h = ih;
    return 0;
}

/* ---- writing --------------------------------------------------------------- */

int gc_write_file(const char *path, const void *data, size_t len, gc_err *e)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) return gc_fail(e, "cannot write %s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int err = errno;
        free(tmp);
        return gc_fail(e, "cannot write %s: %s", path, strerror(err));
    }
    int err = 0;
    if (len && fwrite(data, 1, len, f) != len) err = errno ? errno : EIO;
    if (!err && fflush(f) != 0) err = errno ? errno : EIO;
    if (fclose(f) != 0 && !err) err = errno ? errno : EIO;
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) {
        remove(tmp);
        free(tmp);
        return gc_fail(e, "cannot write %s: %s", path, strerror(err));
    }
    free(tmp);
    return 0;
}

typedef struct gc_membuf {
    unsigned char *data;
    size_t len, cap;
    int oom;
} gc_membuf;

static void gc_membuf_write(void *ctx, void *data, int size)
{
    gc_membuf *b = ctx;
    if (b->oom || size <= 0) return;
    size_t need = b->len + (size_t)size;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < need) cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, (size_t)size);
    b->len = need;
}

int gc_write_png(const char *path, int w, int h, const unsigned char *rgb, gc_err *e)
{
    if (w <= 0 || h <= 0 || w > INT_MAX / 3)
        return gc_fail(e, "cannot write %s: bad image size %dx%d", path, w, h);
    gc_membuf b = {0};
    /* one filter (Paeth) for every row instead of stb's trial of all five
     * per row, which was the next largest cost after deflate */
    stbi_write_force_png_filter = 4;
    int ok = stbi_write_png_to_func(gc_membuf_write, &b, w, h, 3, rgb, w * 3);
    if (!ok || b.oom) {
        free(b.data);
        return gc_fail(e, "cannot write %s: PNG encoding failed%s", path,
                       b.oom ? " (out of memory)" : "");
    }
    int rc = gc_write_file(path, b.data, b.len, e);
    free(b.data);
    return rc;
}

static int gc_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* NPY format 1.0: "\x93NUMPY", major 1, minor 0, uint16 LE header length,
 * then an ASCII dict padded with spaces and ended by '\n' so that the data
 * starts at a multiple of 64 bytes. */
#define GC_NPY_ALIGN 64
#define GC_NPY_PREAMBLE 10

int gc_write_npy(const char *path, const float *data, size_t rows, size_t cols, gc_err *e)
{
    char dict[192];
    size_t n, nbytes;
    if (gc_size_mul(rows, cols, &n) != 0 || gc_size_mul(n, 4, &nbytes) != 0)
        return gc_fail(e, "cannot write %s: array of %zu x %zu is too large", path, rows, cols);
    int dlen = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                        rows, cols);
    assert(dlen > 0 && (size_t)dlen < sizeof dict);
    size_t hdr = GC_NPY_PREAMBLE + (size_t)dlen + 1; /* + '\n' */
    size_t total_hdr = (hdr + GC_NPY_ALIGN - 1) / GC_NPY_ALIGN * GC_NPY_ALIGN;
    size_t hlen = total_hdr - GC_NPY_PREAMBLE;
    if (nbytes > SIZE_MAX - total_hdr)
        return gc_fail(e, "cannot write %s: array of %zu x %zu is too large", path, rows, cols);

    unsigned char *buf = malloc(total_hdr + nbytes);
    if (!buf) return gc_fail(e, "cannot write %s: out of memory", path);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + GC_NPY_PREAMBLE, dict, (size_t)dlen);
    memset(buf + GC_NPY_PREAMBLE + dlen, ' ', hlen - (size_t)dlen - 1);
    buf[total_hdr - 1] = '\n';
    if (nbytes) memcpy(buf + total_hdr, data, nbytes);
    if (!gc_little_endian()) {
        for (size_t i = 0; i < n; ++i) {
            unsigned char *p = buf + total_hdr + 4 * i, t;
            t = p[0]; p[0] = p[3]; p[3] = t;
            t = p[1]; p[1] = p[2]; p[2] = t;
        }
    }
    int rc = gc_write_file(path, buf, total_hdr + nbytes, e);
    free(buf);
    return rc;
}

/* Reads the whole file; NULL with e set on failure. */
static unsigned char *gc_read_all(const char *path, size_t *len, gc_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        gc_fail(e, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
        if (n == cap) {
            unsigned char *p = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    if (!buf) {
        fclose(f);
        gc_fail(e, "cannot read %s: out of memory", path);
        return NULL;
    }
    if (ferror(f)) {
        int err = errno;
        fclose(f);
        free(buf);
        gc_fail(e, "cannot read %s: %s", path, strerror(err ? err : EIO));
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Parses "'key': " inside the header dict and returns a pointer past it. */
static const char *gc_npy_field(const char *dict, const char *key)
{
    const char *p = strstr(dict, key);
    if (!p) return NULL;
    p += strlen(key);
    while (*p == ' ') ++p;
    return p;
}

float *gc_read_npy(const char *path, size_t *rows, size_t *cols, gc_err *e)
{
    size_t len = 0;
    unsigned char *buf = gc_read_all(path, &len, e);
    if (!buf) return NULL;
    float *out = NULL;
    if (len < GC_NPY_PREAMBLE || memcmp(buf, "\x93NUMPY", 6) != 0) {
        gc_fail(e, "cannot read %s: not a .npy file", path);
        goto done;
    }
    if (buf[6] != 1) {
        gc_fail(e, "cannot read %s: unsupported .npy version %d.%d", path, buf[6], buf[7]);
        goto done;
    }
    size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    size_t data_off = GC_NPY_PREAMBLE + hlen;
    if (data_off > len) {
        gc_fail(e, "cannot read %s: truncated .npy header", path);
        goto done;
    }
    char dict[65536 + 1];
    memcpy(dict, buf + GC_NPY_PREAMBLE, hlen);
    dict[hlen] = 0;
    const char *d = gc_npy_field(dict, "'descr':");
    const char *fo = gc_npy_field(dict, "'fortran_order':");
    const char *sh = gc_npy_field(dict, "'shape':");
    unsigned long long r, c;
    int used = 0;
    if (!d || strncmp(d, "'<f4'", 5) != 0) {
        gc_fail(e, "cannot read %s: dtype is not little-endian float32 ('<f4')", path);
        goto done;
    }
    if (!fo || strncmp(fo, "False", 5) != 0) {
        gc_fail(e, "cannot read %s: fortran_order arrays are not supported", path);
        goto done;
    }
    if (!sh || sscanf(sh, "(%llu, %llu)%n", &r, &c, &used) != 2 || used == 0) {
        gc_fail(e, "cannot read %s: shape is not 2-D", path);
        goto done;
    }
    size_t n, nbytes;
    if (r > SIZE_MAX || c > SIZE_MAX || gc_size_mul((size_t)r, (size_t)c, &n) != 0 ||
        gc_size_mul(n, 4, &nbytes) != 0 || len - data_off != nbytes) {
        gc_fail(e, "cannot read %s: data size does not match shape (%llu, %llu)", path, r, c);
        goto done;
    }
    out = malloc(nbytes ? nbytes : 1);
    if (!out) {
        gc_fail(e, "cannot read %s: out of memory", path);
        goto done;
    }
    if (nbytes) memcpy(out, buf + data_off, nbytes);
    if (!gc_little_endian()) {
        unsigned char *p = (unsigned char *)out, t;
        for (size_t i = 0; i < n; ++i, p += 4) {
            t = p[0]; p[0] = p[3]; p[3] = t;
            t = p[1]; p[1] = p[2]; p[2] = t;
        }
    }
    *rows = (size_t)r;
    *cols = (size_t)c;
done:
    free(buf);
    return out;
}

int gc_make_parent_dirs(const char *path, gc_err *e)
{
    char dir[4096];
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash || slash == path) return 0;
    size_t len = (size_t)(slash - path);
    if (len >= sizeof dir) return gc_fail(e, "%s: path too long", path);
    memcpy(dir, path, len);
    dir[len] = '\0';
    for (char *p = dir + 1;; ++p) {
        char c = *p;
        if (c != '/' && c != '\0') continue;
        *p = '\0';
        struct stat st;
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return gc_fail(e, "cannot create the folder %s for %s: %s", dir, path, strerror(errno));
        if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
            return gc_fail(e, "%s: %s is not a folder", path, dir);
        *p = c;
        if (!c) break;
    }
    return 0;
}

int gc_check_text_file(const char *path, const char *what, gc_err *e)
{
    static const struct {
        const char *magic;
        size_t n;
        const char *kind;
    } sig[] = {{"\x89PNG", 4, "a PNG image"}, {"\xff\xd8\xff", 3, "a JPEG image"}, {"GIF8", 4, "a GIF image"}};
    FILE *f = fopen(path, "rb");
    if (!f) return gc_fail(e, "%s file %s: %s", what, path, strerror(errno));
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t k = 0; k < sizeof sig / sizeof sig[0]; ++k)
        if (n >= sig[k].n && !memcmp(buf, sig[k].magic, sig[k].n))
            return gc_fail(e, "%s file %s is %s, not a text file", what, path, sig[k].kind);
    if (memchr(buf, 0, n)) return gc_fail(e, "%s file %s is binary (it holds NUL bytes), not a text file", what, path);
    return 0;
}
