/* gc_image: image checking, PNG and .npy files, atomic writes.
 *
 * This is the one translation unit that compiles Debian's libstb-dev
 * stb_image (the reader). Darknet's libdarknet.a already defines the
 * non-static stb_image symbols (v1.09, in src/image.c), so ours are compiled
 * static to keep both copies private and link-clean. PNGs are encoded by
 * gc_png (stb_image_write's deflate was most of a run's time). */
#define _GNU_SOURCE /* O_TMPFILE */
#include "gc_image.h"

#include "gc_dnimage.h"
#include "gc_interrupt.h"
#include "gc_pngread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
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
#pragma GCC diagnostic pop

/* ---- reading --------------------------------------------------------------- */

/* Darknet indexes w*h*c with int and holds images as floats: beyond 50
 * megapixels (600 MB as floats) or 32768 on a side, decoding alone takes
 * longer than any explanation is worth. */
#define SIZE_MSG "cannot use image %s: size %dx%d is out of range (at most 32768 a side, 50 megapixels)"

static int size_ok(int w, int h)
{
    return w > 0 && h > 0 && w <= 32768 && h <= 32768 && (long long)w * h <= 50LL * 1000 * 1000;
}

/* stb_image's PNM reader (Debian's and Darknet's copy) accumulates header
 * numbers in an int without a bound: a 10-digit width overflows (undefined
 * behaviour). Refuse PNM headers with numbers of more than 9 digits first.
 * The scan follows stb's own tokenizer (stbi__pnm_skip_whitespace and
 * stbi__pnm_getinteger) over the whole stream, so that whatever stb reads as
 * a header number, this reads as the same one: a fixed-size window missed
 * numbers after a long comment (found by fuzz_image in CI). */
/* 32-bit fields of image headers: little-endian (BMP), big-endian (PNG). */
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int pnm_isspace(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Reads a binary PNM's (P5, P6) three header numbers as that tokenizer
 * does: -1 when one has more than 9 digits; 1 when all three are there and
 * a character ends the last (the pixel data starts after it, at *data_at),
 * with their values in v; else 0 (not a binary PNM, or a header stb stops
 * in). Rewinds f. */
static int pnm_scan(FILE *f, long long v[3], long *data_at)
{
    int rc = 0;
    int p = getc(f), t = getc(f);
    if (p == 'P' && (t == '5' || t == '6')) {
        int c = getc(f), number;
        for (number = 0; number < 3 && c != EOF; ++number) {
            for (;;) { /* whitespace and comments, as stb skips them */
                while (c != EOF && pnm_isspace(c)) c = getc(f);
                if (c != '#') break;
                while (c != EOF && c != '\n' && c != '\r') c = getc(f);
            }
            if (!(c >= '0' && c <= '9')) break; /* stb stops at a missing number too */
            v[number] = 0;
            for (int digits = 0; c >= '0' && c <= '9'; c = getc(f)) {
                if (++digits > 9) {
                    rc = -1;
                    goto done;
                }
                v[number] = v[number] * 10 + (c - '0');
            }
        }
        if (number == 3 && c != EOF) {
            rc = 1;
            *data_at = ftell(f);
        }
    }
done:
    rewind(f);
    return rc;
}

static int pnm_header_ok(FILE *f)
{
    long long v[3];
    long at;
    return pnm_scan(f, v, &at) != -1;
}

/* stb_image's PNG reader (Debian's copy and Darknet's) allocates its buffer
 * for the compressed data at the first IDAT chunk that has any: an empty IDAT
 * before it makes the reader offset and copy through a null pointer
 * (undefined behaviour; found by fuzz_image). Encoders do not write one.
 * A chunk length over 2^31 - 1 (which the PNG spec forbids) reaches the same
 * place: stb skips such a chunk as a negative count, i.e. only to the end of
 * its read buffer, and parses on from there (found by fuzz_image in CI).
 * And stb grows its buffer for the compressed data to the length an IDAT
 * chunk declares (doubling it, up to 2 GiB) before it reads the data: a
 * 77-byte file whose IDAT ran past its end had it allocate 2 GiB (found by
 * fuzz_image, as an out-of-memory). Such a file is cut short, whatever stb
 * would make of it, and is refused as such.
 * Walks the chunks up to IEND (or the end); NULL when none of these is
 * there, else what is wrong. */
static const char *png_chunks_problem(FILE *f, long long size)
{
    unsigned char b[8];
    const char *why = NULL;
    if (fread(b, 1, 8, f) == 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) {
        int first = 1;
        while (fread(b, 1, 8, f) == 8 && memcmp(b + 4, "IEND", 4)) {
            uint32_t len = be32(b);
            if (len > INT32_MAX) {
                why = "a PNG chunk is longer than 2^31 - 1 bytes";
                break;
            }
            if (!memcmp(b + 4, "IDAT", 4)) {
                if (first && len == 0) {
                    why = "the PNG's first IDAT chunk is empty";
                    break;
                }
                first = 0;
                if ((long long)len > size - (long long)ftell(f)) {
                    why = "the PNG ends before its IEND chunk (a truncated file?)";
                    break;
                }
            }
            if (fseek(f, (long)len + 4, SEEK_CUR) != 0) break; /* data and CRC */
        }
    }
    rewind(f);
    return why;
}

/* stb's PNG reader, reaching the file's end before an IEND chunk, reads
 * the missing chunk header as zeros and fails on "an unknown chunk" whose
 * name is those zero bytes: its failure reason is an empty string. This
 * walks the chunks from the start and says so when the file ends before
 * IEND (a download or copy cut off at a chunk boundary), else NULL. */
static const char *png_end_problem(FILE *f)
{
    unsigned char b[8];
    const char *why = NULL;
    rewind(f);
    if (fread(b, 1, 8, f) == 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) {
        why = "the PNG ends before its IEND chunk (a truncated file?)";
        while (fread(b, 1, 8, f) == 8) {
            uint32_t len = be32(b);
            if (!memcmp(b + 4, "IEND", 4) || len > INT32_MAX) { /* complete, or corrupt otherwise */
                why = NULL;
                break;
            }
            if (fseek(f, (long)len + 4, SEEK_CUR) != 0) break; /* data and CRC */
        }
    }
    rewind(f);
    return why;
}

/* stb_image's HDR reader (Debian's 2.27 and Darknet's copy) decodes a
 * run-length-encoded scanline by counts: where the file ends early it reads
 * zeros, and a count of 0 never advances, so it looped forever (the run at
 * full CPU, a -list run deaf to SIGTERM; CVE-2021-42715, fixed in stb 2.28).
 * This reads the header and the scanlines as that reader does, keeping no
 * pixel, and says so when the file ends before the pixel data it declares
 * (a flat, unencoded file would be zero-filled there instead); NULL when
 * the data is all there, when the file is not HDR, and where stb itself or
 * the size check refuses it (their message is the better one). */
static int hdr_line(FILE *f, char *tok, size_t cap)
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n')
        if (n + 1 < cap) tok[n++] = (char)c;
    tok[n] = '\0';
    return c == EOF ? -1 : 0;
}

static const char *hdr_problem(FILE *f, long long size)
{
    static const char *cut = "the HDR file ends before its pixel data (a truncated file?)";
    char tok[1024];
    const char *why = NULL;
    if (hdr_line(f, tok, sizeof tok) || (strcmp(tok, "#?RADIANCE") && strcmp(tok, "#?RGBE"))) goto done;
    do
        if (hdr_line(f, tok, sizeof tok)) goto done; /* no pixel data: stb refuses it */
    while (tok[0]);
    if (hdr_line(f, tok, sizeof tok)) { /* no line end after the size: no pixel data (stb read zeros) */
        why = cut;
        goto done;
    }
    if (strncmp(tok, "-Y ", 3)) goto done;
    char *t = tok + 3;
    long h = strtol(t, &t, 10);
    while (*t == ' ') ++t;
    if (strncmp(t, "+X ", 3)) goto done;
    long w = strtol(t + 3, NULL, 10);
    if (!size_ok((int)(w > 32768 ? 0 : w), (int)(h > 32768 ? 0 : h))) goto done; /* refused by its size, not read */
    long long left = size - (long long)ftell(f);
    if (w < 8 || w >= 32768) { /* flat: four bytes a pixel */
        if (left < 4LL * w * h) why = cut;
        goto done;
    }
    for (long j = 0; j < h; ++j) {
        int c1 = getc(f), c2 = getc(f), hi = getc(f);
        if (hi == EOF) {
            why = cut;
            goto done;
        }
        if (c1 != 2 || c2 != 2 || (hi & 0x80)) { /* read flat from here, the whole image again but one pixel */
            if (size - (long long)ftell(f) < 4LL * w * h - 3) why = cut;
            goto done;
        }
        int lo = getc(f);
        if (lo == EOF) {
            why = cut;
            goto done;
        }
        if ((hi << 8 | lo) != w) goto done; /* stb: "invalid decoded scanline length" */
        for (int k = 0; k < 4; ++k)
            for (long i = 0; i < w;) {
                int count = getc(f);
                if (count == EOF) {
                    why = cut;
                    goto done;
                }
                if (count > 128) { /* a run of one value */
                    count -= 128;
                    if (count > w - i) goto done; /* stb: "bad RLE data in HDR" */
                    if (getc(f) == EOF) {
                        why = cut;
                        goto done;
                    }
                } else { /* count values, each its byte */
                    if (count > w - i) goto done;
                    if (count && fseek(f, count - 1, SEEK_CUR) == 0 && getc(f) == EOF) {
                        why = cut;
                        goto done;
                    }
                }
                i += count;
            }
    }
done:
    rewind(f);
    return why;
}

/* stb_image's BMP and binary PNM readers read the zeros past a file's end as
 * pixels: a file cut short was explained as if whole (a dark image, often
 * one confident class). The bytes the header declares against the file's
 * size: a PNM's one whitespace after its maximum value, then rows of
 * width x channels samples (two bytes each above 255); a BMP's pixel data
 * at its offset, rows padded to 4 bytes (the last row's padding may be
 * left out); uncompressed BMPs only (stb refuses the run-length ones).
 * NULL when the data is all there, the file is neither, or its size is
 * out of range (refused as such). */
static const char *short_data_problem(FILE *f, long long size)
{
    unsigned char b[30];
    const char *why = NULL;
    size_t got = fread(b, 1, sizeof b, f);
    if (got >= 3 && b[0] == 'P' && (b[1] == '5' || b[1] == '6')) {
        long long v[3];
        long at;
        rewind(f);
        if (pnm_scan(f, v, &at) == 1 && v[0] > 0 && v[1] > 0 && v[2] > 0 && v[0] <= 32768 && v[1] <= 32768 &&
            size_ok((int)v[0], (int)v[1])) { /* else refused by its size */
            long long need = v[0] * v[1] * (b[1] == '6' ? 3 : 1) * (v[2] > 255 ? 2 : 1);
            if (size - (long long)at < need) why = "the PNM file ends before its pixel data (a truncated file?)";
        }
    } else if (got >= 30 && b[0] == 'B' && b[1] == 'M') {
        uint32_t off = le32(b + 10);
        uint32_t hsz = le32(b + 14);
        long long w, h;
        int bpp;
        uint32_t compression = 0;
        if (hsz == 12) {
            w = b[18] | b[19] << 8;
            h = b[20] | b[21] << 8;
            bpp = b[24] | b[25] << 8;
        } else {
            w = (int32_t)le32(b + 18);
            h = (int32_t)le32(b + 22);
            bpp = b[28] | b[29] << 8;
            unsigned char cb[4];
            if (fseek(f, 30, SEEK_SET) == 0 && fread(cb, 1, 4, f) == 4)
                compression = le32(cb);
            else
                compression = UINT32_MAX; /* unknown: not checked */
        }
        if (h < 0) h = -h;
        if ((compression == 0 || compression == 3) && w > 0 && h > 0 && w <= 32768 && h <= 32768 &&
            size_ok((int)w, (int)h) && /* else refused by its size */
            (bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32)) {
            long long row = (w * bpp + 7) / 8, padded = (row + 3) / 4 * 4;
            if (size < (long long)off + padded * (h - 1) + row)
                why = "the BMP file ends before its pixel data (a truncated file?)";
        }
    }
    rewind(f);
    return why;
}

/* stbi_info_from_file, with a top-down BMP's height as its decoder gives
 * it: the BMP header stores such a bitmap's height negated, and stb's
 * BMP info (Debian's 2.27) passes it on as it is, while its loader (and
 * Darknet's) reads the rows top-down at the positive height. Taken as it
 * came, the size check refused every top-down BMP ("200x-150 is out of
 * range"). A height of INT_MIN is left as it is for that check to refuse. */
static int image_info(FILE *f, int *w, int *h, int *c)
{
    int ok = stbi_info_from_file(f, w, h, c);
    if (ok && *h < 0 && *h != INT_MIN) *h = -*h;
    return ok;
}

/* The image file opened for reading after the checks both readers share
 * (exists, regular, not empty, PNM numbers that fit, PNG chunks stb reads as
 * they are and no empty first IDAT);
 * NULL with e set. */
static FILE *open_image(const char *path, long long *size, gc_err *e)
{
    struct stat st;
    FILE *f = NULL;
    if (stat(path, &st) != 0) gc_fail(e, "cannot open image %s: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode)) gc_fail(e, "cannot read image %s: it is a folder, not a file", path);
    else if (!S_ISREG(st.st_mode)) gc_fail(e, "cannot read image %s: not a regular file", path);
    else if (st.st_size == 0) gc_fail(e, "cannot decode image %s: empty file", path);
    else if (!(f = fopen(path, "rb"))) gc_fail(e, "cannot open image %s: %s", path, strerror(errno));
    else if (!pnm_header_ok(f)) {
        fclose(f);
        f = NULL;
        gc_fail(e, "cannot decode image %s: a PNM header number is too large", path);
    } else {
        const char *why = png_chunks_problem(f, (long long)st.st_size);
        if (!why) why = hdr_problem(f, (long long)st.st_size);
        if (!why) why = short_data_problem(f, (long long)st.st_size);
        if (why) {
            fclose(f);
            f = NULL;
            gc_fail(e, "cannot decode image %s: %s", path, why);
        }
    }
    if (f && size) *size = (long long)st.st_size;
    return f;
}

/* stb's reason for a file no decoder took, said more plainly where the
 * file is text (a label file or a list named .jpg, say): its first 512
 * bytes all printable ASCII or white space. */
static const char *unknown_why(FILE *f, const char *why)
{
    if (!why || strcmp(why, "unknown image type")) return why;
    unsigned char b[512];
    rewind(f);
    size_t n = fread(b, 1, sizeof b, f);
    for (size_t i = 0; i < n; ++i)
        if (!(b[i] >= 32 && b[i] < 127) && b[i] != '\n' && b[i] != '\r' && b[i] != '\t') return why;
    return n ? "unknown image type: the file holds text, not an image" : why;
}

int gc_image_check_header(const char *path, int *w, int *h, gc_err *e)
{
    FILE *f = open_image(path, NULL, e);
    if (!f) return -1;
    int iw = 0, ih = 0, ic = 0, ok = image_info(f, &iw, &ih, &ic);
    const char *why = ok ? NULL : unknown_why(f, stbi_failure_reason());
    fclose(f);
    if (!ok) return gc_fail(e, "cannot decode image %s: %s", path, why && *why ? why : "unknown format");
    if (!size_ok(iw, ih))
        return gc_fail(e, SIZE_MSG, path, iw, ih);
    if (w) *w = iw;
    if (h) *h = ih;
    return 0;
}

/* 1 for a plain PNG: 8 bits per sample, grey, grey and alpha, RGB or RGBA,
 * not interlaced, IHDR first (not Apple's CgBI variant). Any PNG decoder
 * gives the same bytes for it (inflate and unfilter are defined exactly; to
 * three channels, alpha is dropped and grey repeated, in Darknet's stb_image
 * as in Debian's), so the checking decode is kept as the image and Darknet's
 * older decoder is not run on it. */
static int png_is_plain(FILE *f)
{
    unsigned char b[29]; /* signature, IHDR's length and type, its first 13 bytes */
    int plain = fread(b, 1, sizeof b, f) == sizeof b && !memcmp(b, "\x89PNG\r\n\x1a\n", 8) &&
                !memcmp(b + 12, "IHDR", 4) && b[24] == 8 && (b[25] == 0 || b[25] == 2 || b[25] == 4 || b[25] == 6) &&
                b[28] == 0;
    rewind(f);
    return plain;
}

/* A plain PNG's pixels through gc_pngread (zlib's inflate: a demo scene
 * 1.3x as fast as stb's decode, an overlay with row matches 3x), or NULL
 * for stb_image to read it (rewound either way). */
static unsigned char *png_fast(FILE *f, long long size, int *w, int *h)
{
    unsigned char *rgb = NULL, *file = size > 0 && (unsigned long long)size <= SIZE_MAX ? malloc((size_t)size) : NULL;
    if (file && fread(file, 1, (size_t)size, f) == (size_t)size) rgb = gc_pngread_plain(file, (size_t)size, w, h);
    free(file);
    rewind(f);
    return rgb;
}

/* stb_image's GIF, TGA and PSD readers take the bytes past a file's end as
 * zeros: a file cut short decodes, its missing part black (a GIF's last rows
 * the background colour). The checking decode reads the file through these
 * callbacks, stb's own for a FILE, but notes a read that finds no byte left:
 * stb wanted data after the file's last byte. A whole file of any format
 * stb reads ends where its decoder stops (a GIF's trailer byte aside, which
 * stb does not read), so a decode that asked for more is of a file cut short;
 * the other formats' cut files are refused before, with their own message. */
typedef struct {
    FILE *f;
    int past_end;
} stb_src;

static int src_read(void *user, char *data, int size)
{
    stb_src *s = user;
    int n = (int)fread(data, 1, (size_t)size, s->f);
    if (n == 0 && size > 0) s->past_end = 1;
    return n;
}

static void src_skip(void *user, int n)
{
    stb_src *s = user;
    fseek(s->f, n, SEEK_CUR);
    int ch = fgetc(s->f); /* sets feof at the end, as stb's own skip */
    if (ch != EOF) ungetc(ch, s->f);
}

static int src_eof(void *user)
{
    stb_src *s = user;
    return feof(s->f) || ferror(s->f);
}

const char *gc_image_signature(const unsigned char *b, size_t n)
{
    static const struct {
        const char *magic;
        size_t n;
        const char *name;
    } sig[] = {{"\x89PNG", 4, "PNG"}, {"\xff\xd8\xff", 3, "JPEG"}, {"GIF8", 4, "GIF"}, {"BM", 2, "BMP"},
               {"8BPS", 4, "PSD"},   {"P5", 2, "PNM"},            {"P6", 2, "PNM"},  {"#?", 2, "HDR"},
               {"\x53\x80\xf6\x34", 4, "PIC"}};
    for (size_t k = 0; k < sizeof sig / sizeof sig[0]; ++k)
        if (n >= sig[k].n && !memcmp(b, sig[k].magic, sig[k].n)) return sig[k].name;
    return NULL;
}

/* The format's name for the message, by its first bytes */
static const char *format_name(FILE *f)
{
    unsigned char b[4] = {0};
    size_t n = fread(b, 1, sizeof b, f);
    rewind(f);
    const char *name = gc_image_signature(b, n);
    return name ? name : "TGA"; /* stb's last guess: the one format with no signature */
}

/* gc_image_check, and with load != NULL also gc_image_load, with rgb !=
 * NULL gc_image_load_rgb: the Darknet decode that checks is the one kept (a
 * plain PNG's checking decode, see png_is_plain). */
static int check_image(const char *path, int *w, int *h, image *load, unsigned char **rgb, gc_err *e)
{
    long long size = 0;
    FILE *f = open_image(path, &size, e);
    if (!f) return -1;
    int iw = 0, ih = 0, ic = 0;
    /* The header first, so that a huge declared size is refused before the
     * decoder allocates for it. Darknet indexes w*h*c with int (3 channels
     * once loaded). */
    if (image_info(f, &iw, &ih, &ic) &&
        !size_ok(iw, ih)) {
        fclose(f);
        return gc_fail(e, SIZE_MSG, path, iw, ih);
    }
    /* Then a full decode: a truncated file has a valid header. */
    int plain = png_is_plain(f);
    stb_src src = {f, 0};
    char cut_why[96];
    static const stbi_io_callbacks cb = {src_read, src_skip, src_eof};
    unsigned char *px = plain ? png_fast(f, size, &iw, &ih) : NULL;
    if (!px) px = stbi_load_from_callbacks(&cb, &src, &iw, &ih, &ic, plain ? 3 : 0);
    /* Cut short: a PNG without its IEND chunk (stb's reason, when it has
     * one, is terse: "outofdata" where a chunk's data is shorter than its
     * length); any other file whose decode asked for bytes after its last,
     * whether stb then decoded the rest as zeros or gave up ("expected
     * marker", "no SOF") */
    const char *why = px ? NULL : png_end_problem(f);
    if (!why && src.past_end) {
        rewind(f);
        snprintf(cut_why, sizeof cut_why, "the %s file ends before its image data (a truncated file?)", format_name(f));
        why = cut_why;
    }
    if (!px && !why && !(why = unknown_why(f, stbi_failure_reason()))) why = "";
    if (why) {
        if (px) stbi_image_free(px);
        fclose(f);
        return gc_fail(e, "cannot decode image %s: %s", path, *why ? why : "unknown error");
    }
    fclose(f);
    if (!size_ok(iw, ih)) {
        stbi_image_free(px);
        return gc_fail(e, SIZE_MSG, path, iw, ih);
    }
    if (plain) {
        int rc = 0;
        if (load && !gc_dnimage_from_rgb(px, iw, ih, load)) rc = gc_fail(e, "cannot load image %s: out of memory", path);
        if (rgb) *rgb = px; /* stb's buffer: malloc'ed, the caller's */
        else stbi_image_free(px);
        if (rc == 0 && w) *w = iw;
        if (rc == 0 && h) *h = ih;
        return rc;
    }
    stbi_image_free(px);
    /* Darknet's loader exits (status 0) on what its older decoder refuses */
    int dw = 0, dh = 0;
    why = NULL;
    int ok;
    if (rgb) ok = (*rgb = gc_dnimage_load_rgb(path, &dw, &dh, &why)) != NULL;
    else if (load) ok = gc_dnimage_load(path, load, &why);
    else ok = gc_dnimage_can_load(path, &dw, &dh, &why);
    if (!ok) return gc_fail(e, "cannot decode image %s with Darknet's image loader: %s", path, why);
    if (load) dw = load->w, dh = load->h;
    if (dw != iw || dh != ih) {
        if (load) {
            free_image(*load);
            memset(load, 0, sizeof *load);
        }
        if (rgb) {
            free(*rgb);
            *rgb = NULL;
        }
        return gc_fail(e, "cannot use image %s: Darknet's image loader reads it as %dx%d, not %dx%d", path, dw, dh, iw,
                       ih);
    }
    if (w) *w = iw;
    if (h) *h = ih;
    return 0;
}

int gc_image_check(const char *path, int *w, int *h, gc_err *e)
{
    return check_image(path, w, h, NULL, NULL, e);
}

int gc_image_load(const char *path, image *out, gc_err *e)
{
    memset(out, 0, sizeof *out);
    return check_image(path, NULL, NULL, out, NULL, e);
}

int gc_image_load_rgb(const char *path, unsigned char **rgb, int *w, int *h, gc_err *e)
{
    *rgb = NULL;
    return check_image(path, w, h, NULL, rgb, e);
}

/* ---- writing --------------------------------------------------------------- */

/* len bytes to path (created or truncated); 0, or an errno */
static int write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return errno ? errno : EIO;
    int err = 0;
    if (len && fwrite(data, 1, len, f) != len) err = errno ? errno : EIO;
    if (!err && fflush(f) != 0) err = errno ? errno : EIO;
    if (fclose(f) != 0 && !err) err = errno ? errno : EIO;
    return err;
}

/* ---- the run's inputs, which no output replaces ---- */

static int own_descriptor(const char *path);

static struct protected_file {
    dev_t dev;
    ino_t ino;
    char *name;
} *prot;
static int nprot, cap_prot;

int gc_image_protect(const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0) return 0;
    if (nprot == cap_prot) { /* no check for repeats: eval protects every listed image and label */
        int cap = cap_prot ? 2 * cap_prot : 16;
        struct protected_file *p = realloc(prot, (size_t)cap * sizeof *p);
        if (!p) return -1;
        prot = p;
        cap_prot = cap;
    }
    if (!(prot[nprot].name = strdup(path))) return -1;
    prot[nprot].dev = st.st_dev;
    prot[nprot].ino = st.st_ino;
    ++nprot;
    return 0;
}

static const char *protected_stat(const struct stat *st)
{
    for (int i = 0; i < nprot; ++i)
        if (prot[i].dev == st->st_dev && prot[i].ino == st->st_ino) return prot[i].name;
    return NULL;
}

const char *gc_image_protected(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 ? protected_stat(&st) : NULL;
}

void gc_image_remove_output(const char *path)
{
    struct stat st;
    if (own_descriptor(path) >= 0) return;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && !gc_image_protected(path)) unlink(path);
}

void gc_image_protect_clear(void)
{
    for (int i = 0; i < nprot; ++i) free(prot[i].name);
    free(prot);
    prot = NULL;
    nprot = cap_prot = 0;
}

static int write_atomic(const char *path, const void *data, size_t len, gc_err *e);
static int made_parent(const char *path);

/* The descriptor a path names in /dev or /proc (/dev/stdout, /dev/stderr,
 * /dev/fd/N, /proc/self/fd/N), or -1. Such a path is written to that
 * descriptor: opened anew it would start at offset 0, truncate a file the
 * shell appends to (>>), or resolve to that file and replace it. */
static int own_descriptor(const char *path)
{
    if (!strcmp(path, "/dev/stdout")) return 1;
    if (!strcmp(path, "/dev/stderr")) return 2;
    const char *n = !strncmp(path, "/dev/fd/", 8) ? path + 8 : !strncmp(path, "/proc/self/fd/", 14) ? path + 14 : NULL;
    if (!n || !*n) return -1;
    char *end;
    long fd = strtol(n, &end, 10);
    return *end || fd < 0 || fd > INT_MAX ? -1 : (int)fd;
}

/* Writes all of data to fd (after what stdout has buffered, when it is 1). */
static int write_fd(int fd, const void *data, size_t len)
{
    if (fd == 1) fflush(stdout);
    const char *p = data;
    while (len) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? errno : EIO;
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

int gc_image_write_file(const char *path, const void *data, size_t len, gc_err *e)
{
    struct stat st;
    int fd = own_descriptor(path);
    if (fd >= 0) {
        int err = fcntl(fd, F_GETFD) < 0 ? EBADF : write_fd(fd, data, len);
        /* descriptors 1 and 2 named as streams, as the CLI names "-" (-json -
         * and merge -o - reach here as /dev/stdout, a path the user never
         * wrote; it had said "cannot write /dev/stdout: Broken pipe") */
        const char *name = fd == 1 ? "the standard output" : fd == 2 ? "the standard error" : path;
        return err ? gc_fail_sys(e, err, "cannot write %s: %s", name, strerror(err)) : 0;
    }
    if (stat(path, &st) != 0) return write_atomic(path, data, len, e);
    const char *in = protected_stat(&st);
    if (in) return gc_fail(e, "cannot write %s: it is the input file %s: refusing to overwrite it", path, in);
    if (S_ISDIR(st.st_mode)) return gc_fail(e, "cannot write %s: it is a folder", path);
    if (!S_ISREG(st.st_mode)) { /* a device or FIFO (or a link to one): written in place, never replaced */
        int out = open(path, O_WRONLY | O_CLOEXEC), err = out < 0 ? errno : write_fd(out, data, len);
        if (out >= 0 && close(out) != 0 && !err) err = errno;
        return err ? gc_fail_sys(e, err, "cannot write %s: %s", path, strerror(err)) : 0;
    }
    /* a file, or a link to one: replaced by the new file (a link's target is left as it is) */
    return write_atomic(path, data, len, e);
}

static int write_atomic(const char *path, const void *data, size_t len, gc_err *e)
{
    size_t tlen = strlen(path) + 5;
    char *tmp = malloc(tlen);
    if (!tmp) return gc_fail(e, "cannot write %s: out of memory", path);
    gc_tmp_path(tmp, tlen, path);
    /* PATH.tmp is written, then renamed away: an input of that name would
     * be lost (it was, with the run's exit status 0) */
    const char *in = gc_image_protected(tmp);
    if (in) {
        gc_fail(e, "cannot write %s: its temporary file %s is the input file %s: refusing to overwrite it", path, tmp,
                in);
        free(tmp);
        return -1;
    }
    gc_interrupt_add(path); /* before the file (PATH.tmp, then PATH) exists */
    errno = 0;
    int err = write_bytes(tmp, data, len);
    if (err == ENOENT && made_parent(path)) { /* made by this run, then removed by another's cleanup: again */
        gc_err pe = {0};
        if (!gc_image_make_parent_dirs(NULL, path, &pe)) err = write_bytes(tmp, data, len);
    }
    if (!err && rename(tmp, path) != 0) err = errno;
    if (err) {
        remove(tmp);
        free(tmp);
        return gc_fail_sys(e, err, "cannot write %s: %s", path, strerror(err));
    }
    free(tmp);
    return 0;
}

int gc_image_write_file_in_place(const char *path, const void *data, size_t len, gc_err *e)
{
    errno = 0;
    int err = write_bytes(path, data, len);
    if (err) {
        unlink(path); /* what was written of it (unlink never removes a folder) */
        return gc_fail_sys(e, err, "cannot write %s: %s", path, strerror(err));
    }
    return 0;
}

int gc_image_write_png(const char *path, int w, int h, const unsigned char *rgb, gc_err *e)
{
    return gc_image_write_png_par(path, w, h, rgb, NULL, e);
}

static int write_png(const char *path, int w, int h, const unsigned char *rgb, const gc_png_par *par, int in_place,
                     gc_err *e)
{
    if (w <= 0 || h <= 0 || w > INT_MAX / 3)
        return gc_fail(e, "cannot write %s: bad image size %dx%d", path, w, h);
    unsigned char *png;
    size_t len;
    if (gc_png_encode(rgb, w, h, -1, par, &png, &len))
        return gc_fail(e, "cannot write %s: PNG encoding failed (%dx%d: too large, or out of memory)", path, w, h);
    int rc = in_place ? gc_image_write_file_in_place(path, png, len, e) : gc_image_write_file(path, png, len, e);
    free(png);
    return rc;
}

int gc_image_write_png_par(const char *path, int w, int h, const unsigned char *rgb, const gc_png_par *par, gc_err *e)
{
    return write_png(path, w, h, rgb, par, 0, e);
}

int gc_image_write_png_in_place(const char *path, int w, int h, const unsigned char *rgb, gc_err *e)
{
    return write_png(path, w, h, rgb, NULL, 1, e);
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

int gc_image_npy_bytes(const char *path, const float *data, size_t rows, size_t cols, size_t depth,
                       unsigned char **out, size_t *out_len, gc_err *e)
{
    *out = NULL;
    *out_len = 0;
    char dict[192];
    size_t n, nbytes;
    if (gc_size_mul(rows, cols, &n) != 0 || gc_size_mul(n, depth ? depth : 1, &n) != 0 ||
        gc_size_mul(n, 4, &nbytes) != 0)
        return gc_fail(e, "cannot write %s: array of %zu x %zu is too large", path, rows, cols);
    int dlen = depth ? snprintf(dict, sizeof dict,
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu, %zu), }", rows, cols,
                                depth)
                     : snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
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
    *out = buf;
    *out_len = total_hdr + nbytes;
    return 0;
}

/* Writes a float32 .npy of shape (rows, cols) or, with depth > 0, (rows,
 * cols, depth). */
static int write_npy(const char *path, const float *data, size_t rows, size_t cols, size_t depth, gc_err *e)
{
    unsigned char *buf;
    size_t len;
    if (gc_image_npy_bytes(path, data, rows, cols, depth, &buf, &len, e)) return -1;
    int rc = gc_image_write_file(path, buf, len, e);
    free(buf);
    return rc;
}

int gc_image_write_npy(const char *path, const float *data, size_t rows, size_t cols, gc_err *e)
{
    return write_npy(path, data, rows, cols, 0, e);
}

int gc_image_write_npy3(const char *path, const float *data, size_t rows, size_t cols, size_t depth, gc_err *e)
{
    assert(depth > 0);
    return write_npy(path, data, rows, cols, depth, e);
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

float *gc_image_read_npy(const char *path, size_t *rows, size_t *cols, gc_err *e)
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

int gc_image_fits_net(const char *path, int im_w, int im_h, int net_w, int net_h, int net_c, gc_err *e)
{
    if (net_c == 0) /* the validator lets width, height and channels be all unset, never one alone */
        return gc_fail(e, "the network reads no image: its [net] gives inputs= but no width, height and channels "
                          "(a text or sequence model's cfg); gradcam explains image networks");
    if (net_c != 3)
        return gc_fail(e, "the network reads %d channels ([net] channels=%d); images are loaded as RGB (3)", net_c,
                       net_c);
    if (net_w < 2 || net_h < 2)
        return gc_fail(e, "the network's input is %d x %d ([net] width, height); images need at least 2 x 2", net_w,
                       net_h);
    long long new_w, new_h;
    if (((float)net_w / im_w) < ((float)net_h / im_h)) {
        new_w = net_w;
        new_h = (long long)im_h * net_w / im_w;
    } else {
        new_h = net_h;
        new_w = (long long)im_w * net_h / im_h;
    }
    if (new_w < 2 || new_h < 2)
        return gc_fail(e, "image %s (%d x %d) letterboxed into the network's %d x %d input would be %lld x %lld "
                          "pixels: its aspect ratio is too extreme", path, im_w, im_h, net_w, net_h, new_w, new_h);
    return 0;
}

int gc_image_check_readable(const char *path, const char *what, gc_err *e)
{
    struct stat st;
    if (!path || !*path) return gc_fail(e, "no %s file given", what);
    if (stat(path, &st) != 0) return gc_fail(e, "%s file %s: %s", what, path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return gc_fail(e, "%s file %s is a folder, not a file", what, path);
    if (!S_ISREG(st.st_mode)) return gc_fail(e, "%s file %s is not a regular file", what, path);
    FILE *f = fopen(path, "rb");
    if (!f) return gc_fail(e, "%s file %s: %s", what, path, strerror(errno));
    fclose(f);
    return 0;
}

int gc_image_check_out_prefix(const char *prefix, gc_err *e)
{
    if (!prefix || !*prefix) return gc_fail(e, "-out needs a non-empty prefix");
    char dir[4096];
    const char *slash = strrchr(prefix, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == prefix) {
        snprintf(dir, sizeof dir, "/");
    } else {
        size_t len = (size_t)(slash - prefix);
        if (len >= sizeof dir) return gc_fail_path(e, "-out", sizeof dir - 1, "%s", prefix);
        memcpy(dir, prefix, len);
        dir[len] = '\0';
    }
    if (access(dir, W_OK | X_OK) != 0)
        return gc_fail(e, "-out %s: directory %s is not writable (%s)", prefix, dir, strerror(errno));
    return 0;
}

int gc_image_check_out_path(const char *what, const char *path, gc_err *e)
{
    if (!path || !*path) return gc_fail(e, "%s needs a non-empty path", what);
    char tmp[4096];
    if (gc_tmp_path(tmp, sizeof tmp, path)) /* PATH.tmp is written first */
        return gc_fail_path(e, what, gc_tmp_path_max(sizeof tmp, path), "%s", path);
    const char *in = own_descriptor(path) >= 0 ? NULL : gc_image_protected(tmp);
    if (in)
        return gc_fail(e, "%s %s: its temporary file %s is the input file %s: refusing to overwrite it", what, path, tmp,
                       in);
    struct stat st;
    if (own_descriptor(path) >= 0) { /* written to that descriptor */
        if (fcntl(own_descriptor(path), F_GETFD) >= 0) return 0;
        return gc_fail(e, "%s %s: that descriptor is not open", what, path);
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return gc_fail(e, "%s %s is a directory", what, path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) { /* a device or FIFO, written in place */
        if (access(path, W_OK) == 0) return 0;
        return gc_fail(e, "%s %s: cannot write it (%s)", what, path, strerror(errno));
    }
    const char *slash = strrchr(path, '/');
    char d[4096];
    snprintf(d, sizeof d, "%.*s", slash && slash != path ? (int)(slash - path) : 1,
             slash ? (slash == path ? "/" : path) : ".");
    /* A file without a name in the folder (O_TMPFILE: nothing to remove,
     * nothing left by a signal); where the filesystem has none, PATH.tmp. */
    int fd = open(d, O_TMPFILE | O_WRONLY, 0600), err = errno;
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL) {
        int existed = access(tmp, F_OK) == 0;
        FILE *f = fopen(tmp, "ab");
        if (f) {
            fclose(f);
            if (!existed) unlink(tmp);
            return 0;
        }
        err = errno;
    }
    if (err == ENOENT && stat(d, &st) != 0) return gc_fail(e, "%s %s: directory %s does not exist", what, path, d);
    return gc_fail(e, "%s %s: cannot create a file in %s (%s)", what, path, d, strerror(err));
}

/* The folders this run created, in the order made (parents first). */
static char **made;
static int nmade, cap_made;

static void made_dir(const char *dir)
{
    if (nmade == cap_made) {
        int cap = cap_made ? 2 * cap_made : 8;
        char **p = realloc(made, (size_t)cap * sizeof *p);
        if (!p) return; /* then left in place, as before */
        made = p;
        cap_made = cap;
    }
    if ((made[nmade] = strdup(dir))) ++nmade;
}

/* Whether path's folder is one this run made. */
static int made_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    for (int i = 0; i < nmade; ++i)
        if (n && strlen(made[i]) == n && !memcmp(made[i], path, n)) return 1;
    return 0;
}

void gc_image_remove_made_dirs(void)
{
    for (int i = nmade - 1; i >= 0; --i) rmdir(made[i]); /* only when empty */
    gc_image_forget_made_dirs();
}

void gc_image_forget_made_dirs(void)
{
    for (int i = 0; i < nmade; ++i) free(made[i]);
    free(made);
    made = NULL;
    nmade = cap_made = 0;
}

int gc_image_make_parent_dirs(const char *what, const char *path, gc_err *e)
{
    char dir[4096];
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash || slash == path) return 0;
    size_t len = (size_t)(slash - path);
    /* the limit of the file's whole path, as gc_image_check_out_path gives it */
    if (len >= sizeof dir) return gc_fail_path(e, what, gc_tmp_path_max(sizeof dir, path), "%s", path);
    memcpy(dir, path, len);
    dir[len] = '\0';
    for (char *p = dir + 1;; ++p) {
        char c = *p;
        if (c != '/' && c != '\0') continue;
        *p = '\0';
        struct stat st;
        /* recorded for a signal before it exists (a signal right after the
         * mkdir finds it), dropped if another run made it first */
        size_t rec = stat(dir, &st) != 0 && errno == ENOENT ? gc_interrupt_add_dir(dir) : 0;
        if (mkdir(dir, 0777) == 0) {
            made_dir(dir);
        } else {
            int err = errno;
            gc_interrupt_drop(rec);
            if (err != EEXIST) return gc_fail(e, "cannot create the folder %s for %s: %s", dir, path, strerror(err));
        }
        if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
            return gc_fail(e, "%s: %s is not a folder", path, dir);
        *p = c;
        if (!c) break;
    }
    return 0;
}

int gc_image_check_text_file(const char *path, const char *what, gc_err *e)
{
    char label[4200];
    snprintf(label, sizeof label, "%s file %s", what, path);
    return gc_image_check_text_file_as(path, label, e);
}

int gc_image_check_text_file_as(const char *path, const char *label, gc_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return gc_fail(e, "%s: %s", label, strerror(errno));
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* only the signatures no list's first line begins with ("BM", "P5" and
     * "#?" may well) */
    const char *kind = gc_image_signature(buf, n);
    if (kind && (!strcmp(kind, "PNG") || !strcmp(kind, "JPEG") || !strcmp(kind, "GIF")))
        return gc_fail(e, "%s is a %s image, not a text file", label, kind);
    const unsigned char *nul = memchr(buf, 0, n);
    if (nul) {
        int line = 1; /* lines end with LF, CRLF or a lone CR, as the readers take them */
        for (const unsigned char *p = buf; p < nul; ++p) line += *p == '\n' || (*p == '\r' && p[1] != '\n');
        return gc_fail(e, "%s line %d: contains a NUL byte (binary file?)", label, line);
    }
    return 0;
}
