#include "gc_pngread.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_type(const unsigned char *p, size_t at, const char *type)
{
    return !memcmp(p + at + 4, type, 4);
}

/* Whether the file is one this reader takes (gc_pngread.h), by stb_image
 * 2.27's chunk rules: its size and channels set. Chunks up to IEND whole. */
static int chunks_ok(const unsigned char *p, size_t n, uint32_t *w, uint32_t *h, int *ch)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 33 || memcmp(p, sig, 8) || be32(p + 8) != 13 || !is_type(p, 8, "IHDR")) return 0;
    const unsigned char *hd = p + 16;
    *w = be32(hd);
    *h = be32(hd + 4);
    /* 8 bits; grey, RGB, grey and alpha, RGBA; deflate, filter method 0, not interlaced */
    if (hd[8] != 8 || (hd[9] != 0 && hd[9] != 2 && hd[9] != 4 && hd[9] != 6) || hd[10] || hd[11] || hd[12]) return 0;
    *ch = (hd[9] & 2 ? 3 : 1) + (hd[9] & 4 ? 1 : 0);
    /* stb's limits: 2^24 a side, 2^30 bytes of pixels */
    if (!*w || !*h || *w > (1u << 24) || *h > (1u << 24) || (1u << 30) / *w / (uint32_t)*ch < *h) return 0;
    /* and its 3-channel copy (stbi__convert_format): 3 w h bytes at most
     * INT_MAX, else "outofmem"; only a grey image can pass the limit above
     * and not this one */
    if ((uint64_t)*w * *h * 3 > INT_MAX) return 0;
    size_t at = 33, total = 0;
    for (;;) {
        if (n - at < 12) return 0; /* no IEND, or a file cut inside it */
        uint32_t len = be32(p + at);
        if (is_type(p, at, "IEND")) return total > 0; /* stb stops here */
        if (len > INT32_MAX || n - at - 8 < (size_t)len + 4) return 0; /* data and CRC in the file */
        if (is_type(p, at, "IDAT")) {
            /* stb's per-chunk limit and int total; an empty first IDAT is
             * gc_image's to refuse (stb misreads it) */
            if (len > (1u << 30) || total + len > INT32_MAX || (!total && !len)) return 0;
            total += len;
        } else if (!(p[at + 4] & 0x20) || is_type(p, at, "tRNS")) {
            return 0; /* critical (PLTE, a second IHDR, unknown), or transparency: stb's to read */
        }
        at += (size_t)len + 12;
    }
}

/* The most a stream may give past the image's bytes here. stb inflates the
 * whole stream into a buffer that doubles from the image's size and
 * refuses the file ("outofmem") once it would grow past 2^31 bytes or more
 * (a 2 MB file can say so much); a stream that gives more than this is
 * left to stb, which reads or refuses it as before, and the bytes nobody
 * keeps are not inflated twice. */
#define EXCESS_MAX (1u << 20)

/* Inflates the zlib stream in the IDAT chunks (joined, in order) into
 * out[0..need): 0 when the stream is whole (Adler-32 included) and gives
 * at least need bytes and at most EXCESS_MAX more; what comes after need
 * is inflated and dropped, as stb does. Chunks as chunks_ok found them. */
static int inflate_idat(const unsigned char *p, unsigned char *out, size_t need)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit(&s) != Z_OK) return -1;
    s.next_out = out;
    s.avail_out = (uInt)need;
    unsigned char *spill = NULL;
    int ok = 0;
    for (size_t at = 33; !is_type(p, at, "IEND"); at += (size_t)be32(p + at) + 12) {
        if (!is_type(p, at, "IDAT")) continue;
        s.next_in = (unsigned char *)p + at + 8; /* zlib's API is not const; it only reads */
        s.avail_in = be32(p + at);
        int rc;
        do { /* Z_FINISH: no sliding window kept where the stream ends in this call (zlib.h) */
            rc = inflate(&s, Z_FINISH);
            if (s.total_out > need + EXCESS_MAX) goto done; /* stb's to read or refuse */
            if (rc == Z_STREAM_END) {
                ok = s.total_out >= need;
                goto done;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) goto done;
            if (s.avail_out == 0) {
                if (!spill && !(spill = malloc(16384))) goto done;
                s.next_out = spill;
                s.avail_out = 16384;
            }
        } while (s.avail_in > 0);
    }
done: /* the chunks ended inside the stream, if not at its end */
    free(spill);
    inflateEnd(&s);
    return ok ? 0 : -1;
}

static inline unsigned char paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (unsigned char)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

/* Undoes the filters in place: row y's filter byte and stride bytes at
 * y (stride + 1) become the pixels at y stride. Every read lies at or after
 * the byte being written, so each row is read before it is overwritten.
 * -1 at a filter type over 4 (stb: "invalid filter"). */
static int unfilter(unsigned char *buf, size_t stride, uint32_t h, int bpp)
{
    for (size_t y = 0; y < h; ++y) {
        const unsigned char *src = buf + y * (stride + 1) + 1;
        unsigned f = src[-1];
        unsigned char *cur = buf + y * stride;
        const unsigned char *up = y ? cur - stride : NULL;
        size_t i;
        if (f > 4) return -1;
        if (!up && f == 2) f = 0;       /* Up over a zero row */
        else if (!up && f == 4) f = 1;  /* Paeth over a zero row picks the left byte */
        switch (f) {
        case 0: memmove(cur, src, stride); break;
        case 1:
            for (i = 0; i < (size_t)bpp; ++i) cur[i] = src[i];
            for (; i < stride; ++i) cur[i] = (unsigned char)(src[i] + cur[i - bpp]);
            break;
        case 2:
            for (i = 0; i < stride; ++i) cur[i] = (unsigned char)(src[i] + up[i]);
            break;
        case 3:
            for (i = 0; i < (size_t)bpp; ++i) cur[i] = (unsigned char)(src[i] + (up ? up[i] >> 1 : 0));
            for (; i < stride; ++i) cur[i] = (unsigned char)(src[i] + ((cur[i - bpp] + (up ? up[i] : 0)) >> 1));
            break;
        default:
            for (i = 0; i < (size_t)bpp; ++i) cur[i] = (unsigned char)(src[i] + up[i]);
            for (; i < stride; ++i) cur[i] = (unsigned char)(src[i] + paeth(cur[i - bpp], up[i], up[i - bpp]));
            break;
        }
    }
    return 0;
}

unsigned char *gc_pngread_plain(const unsigned char *png, size_t n, int *w, int *h)
{
    uint32_t iw, ih;
    int ch;
    if (!chunks_ok(png, n, &iw, &ih, &ch)) return NULL;
    size_t stride = (size_t)iw * (size_t)ch, need = (stride + 1) * ih;
    unsigned char *buf = malloc(need), *rgb = NULL;
    if (buf && inflate_idat(png, buf, need) == 0 && unfilter(buf, stride, ih, ch) == 0) {
        size_t px = (size_t)iw * ih;
        if (ch == 3) {
            rgb = buf; /* the pixels fill its first 3 w h bytes */
            buf = NULL;
        } else if (ch == 4) {
            for (size_t i = 0; i < px; ++i) /* in place: each pixel moves down or stays */
                memmove(buf + 3 * i, buf + 4 * i, 3);
            rgb = buf;
            buf = NULL;
        } else if ((rgb = malloc(px * 3))) {
            for (size_t i = 0; i < px; ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = buf[(size_t)ch * i];
        }
    }
    free(buf);
    if (rgb) {
        *w = (int)iw;
        *h = (int)ih;
    }
    return rgb;
}
