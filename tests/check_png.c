/* Tests for gc_png: every file decoded independently (the chunks walked and
 * their CRCs checked here, the zlib stream inflated by zlib, the rows
 * unfiltered by the test's own code from the PNG spec), on pictures that
 * exercise every path: each filter, one pixel, one row, one column, several
 * deflate blocks, a flat picture (one symbol: the complete-code fallback),
 * noise (stored blocks). And the Huffman code lengths on hand-worked and
 * skewed frequencies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <zlib.h>

#include "darknet.h"
#include "gc_fixture.h"
#include "gc_png.h"
#include "gc_rng.h"
#include "gc_tests.h"

static int gc_png_encode_serial(const unsigned char *rgb, int w, int h, int filter, unsigned char **out, size_t *len)
{
    return gc_png_encode(rgb, w, h, filter, NULL, out, len);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int pred_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
}

/* Decodes png[0..len) (8-bit RGB, no interlace) into a malloc'd w*h*3 array,
 * checking the structure on the way; *filters gets the set of row filters
 * seen (bit f). */
static unsigned char *decode(const unsigned char *png, size_t len, int *w, int *h, unsigned *filters)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ck_assert(len > 8 && !memcmp(png, sig, 8));
    size_t pos = 8, zlen = 0, zcap = 0;
    unsigned char *z = NULL;
    int seen_ihdr = 0, seen_iend = 0;
    while (pos < len) {
        ck_assert(pos + 12 <= len);
        uint32_t n = be32(png + pos);
        ck_assert(n < 0x80000000u && pos + 12 + n <= len);
        const unsigned char *type = png + pos + 4, *data = png + pos + 8;
        ck_assert_uint_eq(be32(data + n), (uint32_t)crc32(0L, type, n + 4));
        if (!memcmp(type, "IHDR", 4)) {
            ck_assert(!seen_ihdr && n == 13 && pos == 8);
            *w = (int)be32(data);
            *h = (int)be32(data + 4);
            ck_assert(data[8] == 8 && data[9] == 2 && data[10] == 0 && data[11] == 0 && data[12] == 0);
            seen_ihdr = 1;
        } else if (!memcmp(type, "IDAT", 4)) {
            ck_assert(seen_ihdr);
            if (zlen + n > zcap) {
                zcap = (zlen + n) * 2;
                z = realloc(z, zcap);
                ck_assert_ptr_nonnull(z);
            }
            memcpy(z + zlen, data, n);
            zlen += n;
        } else if (!memcmp(type, "IEND", 4)) {
            ck_assert(n == 0 && pos + 12 == len);
            seen_iend = 1;
        }
        pos += 12 + n;
    }
    ck_assert(seen_ihdr && seen_iend && zlen > 0);
    size_t row = (size_t)*w * 3, raw_len = ((size_t)row + 1) * (size_t)*h;
    unsigned char *raw = malloc(raw_len + 1), *out = malloc(row * (size_t)*h);
    ck_assert(raw && out);
    uLongf got = (uLongf)raw_len + 1; /* one spare byte: the stream must end exactly at raw_len */
    ck_assert_int_eq(uncompress(raw, &got, z, (uLong)zlen), Z_OK);
    ck_assert_uint_eq(got, raw_len);
    *filters = 0;
    for (int y = 0; y < *h; ++y) {
        const unsigned char *f = raw + (size_t)y * (row + 1);
        unsigned char *x = out + (size_t)y * row, *up = y ? x - row : NULL;
        ck_assert(f[0] <= 4);
        *filters |= 1u << f[0];
        for (size_t i = 0; i < row; ++i) {
            int a = i >= 3 ? x[i - 3] : 0, b = up ? up[i] : 0, c = (up && i >= 3) ? up[i - 3] : 0, p = 0;
            switch (f[0]) {
            case 1: p = a; break;
            case 2: p = b; break;
            case 3: p = (a + b) / 2; break;
            case 4: p = pred_paeth(a, b, c); break;
            default: break;
            }
            x[i] = (unsigned char)(f[1 + i] + p);
        }
    }
    free(raw);
    free(z);
    return out;
}

static void round_trip(const unsigned char *rgb, int w, int h, int filter, size_t *size)
{
    unsigned char *png = NULL;
    size_t len = 0;
    ck_assert_int_eq(gc_png_encode(rgb, w, h, filter, NULL, &png, &len), 0);
    ck_assert_ptr_nonnull(png);
    int dw = 0, dh = 0;
    unsigned filters = 0;
    unsigned char *back = decode(png, len, &dw, &dh, &filters);
    ck_assert_int_eq(dw, w);
    ck_assert_int_eq(dh, h);
    ck_assert(!memcmp(back, rgb, (size_t)w * h * 3));
    int want = filter < 0 ? GC_PNG_FILTER : filter;
    /* row 0 has no row above: Up is None there, Paeth is Sub */
    unsigned row0 = want == GC_PNG_UP ? 1u << GC_PNG_NONE : want == GC_PNG_PAETH ? 1u << GC_PNG_SUB : 1u << want;
    ck_assert_uint_eq(filters & ~(row0 | 1u << want), 0);
    if (size) *size = len;
    free(back);
    free(png);
}

/* A smooth picture with a few edges: what the overlays look like. */
static unsigned char *picture(int w, int h)
{
    unsigned char *p = malloc((size_t)w * h * 3);
    ck_assert_ptr_nonnull(p);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            unsigned char *q = p + ((size_t)y * w + x) * 3;
            q[0] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
            q[1] = (unsigned char)((x / 7 + y / 5) % 2 ? 200 : 40);
            q[2] = (unsigned char)((x + 2 * y) * 3 & 0xff);
        }
    return p;
}

START_TEST(round_trip_every_filter_and_shape)
{
    const int sizes[][2] = {{1, 1}, {1, 9}, {9, 1}, {7, 5}, {300, 2}, {2, 300}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
        unsigned char *p = picture(sizes[s][0], sizes[s][1]);
        for (int f = -1; f <= GC_PNG_PAETH; ++f) round_trip(p, sizes[s][0], sizes[s][1], f, NULL);
        free(p);
    }
}
END_TEST

/* 700 x 600: 1.26 MB of filtered rows, several deflate blocks (a Huffman
 * table each); the smooth picture compresses. */
START_TEST(several_blocks_and_compression)
{
    enum { W = 700, H = 600 };
    unsigned char *p = picture(W, H);
    for (int f = 0; f <= GC_PNG_PAETH; ++f) {
        size_t n;
        round_trip(p, W, H, f, &n);
        /* unfiltered, the ramps and stripes still take most bytes; filtered they are nearly free */
        size_t limit = f == GC_PNG_NONE ? (size_t)W * H * 3 : (size_t)W * H * 3 / 2;
        ck_assert_msg(n < limit, "filter %d: %zu bytes", f, n);
    }
    free(p);
}
END_TEST

/* Flat: one byte value after filtering, so the literal alphabet has one used
 * symbol plus end-of-block, and the code-length alphabet few. Noise: Huffman
 * coding cannot win, the encoder must fall back to stored blocks and stay
 * within a few bytes per 64 KiB of the raw size. */
START_TEST(flat_and_noise)
{
    enum { W = 257, H = 300 };
    unsigned char *p = malloc((size_t)W * H * 3);
    ck_assert_ptr_nonnull(p);
    memset(p, 77, (size_t)W * H * 3);
    size_t n;
    for (int f = 0; f <= GC_PNG_PAETH; ++f) {
        round_trip(p, W, H, f, &n);
        ck_assert(n < (size_t)W * H * 3 / 6); /* about 1 bit per byte */
    }
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)W * H * 3; ++i) {
        s = s * 1664525u + 1013904223u;
        p[i] = (unsigned char)(s >> 24);
    }
    size_t raw = ((size_t)W * 3 + 1) * H;
    for (int f = 0; f <= GC_PNG_PAETH; ++f) {
        round_trip(p, W, H, f, &n);
        ck_assert(n <= raw + 5 * (raw / 65535 + 4) + 64);
    }
    free(p);
}
END_TEST

/* The literals' code is built from a sample of the bytes (one 8-byte word
 * in four). Bytes chosen so that the sample holds only values 0-127 and the
 * rest only 128-255: the code gives the first half about 7 bits each and the
 * other half the longest codes, so the Huffman block comes out far larger
 * than the bytes. It must be caught after it is written and the block stored
 * instead (written as it came, the file would be about 1.5 times the raw
 * size). 21 px rows are 64 filtered bytes: with filter None the sampled
 * words are each row's bytes 0-7 and 32-39; 5000 rows are more than one
 * deflate block. */
START_TEST(a_misleading_sample_falls_back_to_stored)
{
    enum { W = 21, H = 5000 };
    unsigned char *p = malloc((size_t)W * H * 3);
    ck_assert_ptr_nonnull(p);
    uint32_t s = 99;
    for (int y = 0; y < H; ++y)
        for (int i = 0; i < 3 * W; ++i) {
            s = s * 1664525u + 1013904223u;
            int off = i + 1; /* the filtered row's byte: after the filter type */
            int sampled = off < 8 || (off >= 32 && off < 40);
            p[(size_t)y * 3 * W + i] = (unsigned char)((s >> 24) % 128 + (sampled ? 0 : 128));
        }
    size_t n, raw = ((size_t)W * 3 + 1) * H;
    round_trip(p, W, H, GC_PNG_NONE, &n);
    /* stored: the bytes, 5 a stored block of up to 64 KiB and an empty one
     * between deflate blocks, the file's chunks */
    ck_assert_msg(n <= raw + raw / 1000 + 64, "%zu bytes for %zu raw", n, raw);
    free(p);
}
END_TEST

START_TEST(bad_sizes_are_refused)
{
    unsigned char px[3] = {1, 2, 3}, *out = (unsigned char *)1;
    size_t len = 1;
    ck_assert_int_eq(gc_png_encode_serial(px, 0, 1, -1, &out, &len), -1);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(gc_png_encode_serial(px, 1, -3, -1, &out, &len), -1);
    ck_assert_int_eq(gc_png_encode_serial(px, 1 << 29, 1, -1, &out, &len), -1); /* a row over 2^30 bytes */
    ck_assert_int_eq(gc_png_encode_serial(px, 1 << 20, 1 << 20, -1, &out, &len), -1); /* over one IDAT chunk */
    ck_assert_uint_eq(len, 0);
}
END_TEST

/* A parallel runner for the test: every item in a thread of its own, started
 * last to first, so the blocks really are encoded out of order. */
typedef struct item_arg {
    void (*fn)(void *, size_t, size_t);
    void *arg;
    size_t k;
} item_arg;

static void *run_item(void *p)
{
    item_arg *a = p;
    a->fn(a->arg, a->k, a->k + 1);
    return NULL;
}

static int runs;

static void threads_run(void *ctx, size_t count, size_t cost, void (*fn)(void *, size_t, size_t), void *arg)
{
    (void)ctx;
    (void)cost;
    pthread_t *t = malloc(count * sizeof *t);
    item_arg *a = malloc(count * sizeof *a);
    ck_assert(t && a);
    for (size_t k = count; k-- > 0;) {
        a[k] = (item_arg){fn, arg, k};
        ck_assert_int_eq(pthread_create(&t[k], NULL, run_item, &a[k]), 0);
    }
    for (size_t k = 0; k < count; ++k) pthread_join(t[k], NULL);
    free(t);
    free(a);
    ++runs;
}

/* Blocks encoded in parallel, out of order, give the serial file byte for
 * byte (and it decodes). */
START_TEST(parallel_blocks_give_the_same_file)
{
    enum { W = 640, H = 480 };
    unsigned char *p = picture(W, H), *a, *b;
    size_t na, nb;
    gc_png_par par = {threads_run, NULL};
    runs = 0;
    for (int f = 0; f <= GC_PNG_PAETH; ++f) {
        ck_assert_int_eq(gc_png_encode(p, W, H, f, NULL, &a, &na), 0);
        ck_assert_int_eq(gc_png_encode(p, W, H, f, &par, &b, &nb), 0);
        ck_assert_uint_eq(na, nb);
        ck_assert(!memcmp(a, b, na));
        free(a);
        free(b);
    }
    ck_assert_int_eq(runs, GC_PNG_PAETH + 1);
    round_trip(p, W, H, -1, NULL);
    free(p);
}
END_TEST

/* Kraft sum of len[0..n) in units of 2^-15: a complete code gives 2^15. */
static long kraft(const unsigned char *len, int n)
{
    long k = 0;
    for (int i = 0; i < n; ++i)
        if (len[i]) k += 1L << (15 - len[i]);
    return k;
}

START_TEST(huffman_lengths)
{
    /* hand-worked: 1, 1, 2, 4 -> 3, 3, 2, 1; an unused symbol gets 0 */
    unsigned f1[5] = {1, 0, 1, 2, 4};
    unsigned char l1[5];
    gc_png_huffman_lengths(f1, 5, 15, l1);
    ck_assert(l1[0] == 3 && l1[1] == 0 && l1[2] == 3 && l1[3] == 2 && l1[4] == 1);

    /* one used symbol: another is added, both one bit (a complete code) */
    unsigned f2[19] = {0};
    unsigned char l2[19];
    f2[8] = 300;
    gc_png_huffman_lengths(f2, 19, 7, l2);
    ck_assert_int_eq(l2[8], 1);
    ck_assert_int_eq(kraft(l2, 19), 1L << 15);
    int used = 0;
    for (int i = 0; i < 19; ++i) used += l2[i] != 0;
    ck_assert_int_eq(used, 2);

    /* Fibonacci frequencies make the deepest trees (depth n-1 unlimited): the
     * limit holds, the code stays complete and every used symbol has a code */
    unsigned f3[257];
    unsigned char l3[257];
    unsigned a = 1, b = 1;
    for (int i = 0; i < 257; ++i) {
        f3[i] = i < 40 ? a : 0;
        unsigned c = a + b;
        a = b;
        b = c < b ? b : c; /* saturate */
    }
    f3[256] = 1;
    for (int maxbits = 9; maxbits <= 15; maxbits += 6) {
        gc_png_huffman_lengths(f3, 257, maxbits, l3);
        for (int i = 0; i < 257; ++i) {
            ck_assert(l3[i] <= maxbits);
            ck_assert((l3[i] != 0) == (f3[i] != 0));
        }
        ck_assert_int_eq(kraft(l3, 257), 1L << 15);
    }

    /* the sort: frequencies with many ties, under 2^23 (sorted by radix)
     * and the same times 2^11 (over it: qsort) give the same code */
    unsigned f4[286], f5[286];
    unsigned char l4[286], l5[286];
    uint32_t st = 9;
    uint64_t st64 = 3;
    for (int i = 0; i < 286; ++i) {
        st = st * 1664525u + 1013904223u;
        f4[i] = (st >> 28) < 3 ? 0 : 1 + (st >> 8) % 37 * ((st >> 20 & 1) ? 200 : 1);
        f5[i] = f4[i] << 11;
    }
    gc_png_huffman_lengths(f4, 286, 15, l4);
    gc_png_huffman_lengths(f5, 286, 15, l5);
    ck_assert(!memcmp(l4, l5, sizeof l4));
    ck_assert_int_eq(kraft(l4, 286), 1L << 15);
    for (int i = 0; i < 286; ++i) f4[i] = 10, f5[i] = 10u << 21; /* ties only: which symbols go deeper */
    gc_png_huffman_lengths(f4, 286, 15, l4);
    gc_png_huffman_lengths(f5, 286, 15, l5);
    ck_assert(!memcmp(l4, l5, sizeof l4));

    /* too deep, cut: 1, 2, 3, 35, 45 want depths 4, 4, 3, 2, 1; at 3 bits
     * the lifted leaves overfill the code by 1/8, paid by moving 35 down
     * beside them: 3, 3, 3, 3, 1 (168 bits, the best; halving the
     * frequencies and building again gave 2, 2, 2, 3, 3: 177) */
    unsigned f6[5] = {3, 45, 2, 1, 35};
    unsigned char l6[5];
    gc_png_huffman_lengths(f6, 5, 3, l6);
    ck_assert(l6[0] == 3 && l6[1] == 1 && l6[2] == 3 && l6[3] == 3 && l6[4] == 3);

    /* random skewed frequencies cut to 7-15 bits: every used symbol coded,
     * none longer than the limit, the code complete, and never a longer
     * code for a more frequent symbol */
    int bad = 0; /* counted, not asserted: a ck_assert is a message to the parent */
    for (int t = 0; t < 500; ++t) {
        unsigned f7[286];
        unsigned char l7[286];
        int n = 19 + (int)(gc_rng_next(&st64) % 268), maxbits = 7 + (int)(gc_rng_next(&st64) % 9);
        if ((1 << maxbits) < n) maxbits = 9;
        for (int i = 0; i < n; ++i) {
            uint64_t r = gc_rng_next(&st64);
            f7[i] = (r & 3) == 0 ? 0 : (unsigned)(1 + (r >> 8) % (1u << (r >> 40) % 20));
        }
        gc_png_huffman_lengths(f7, n, maxbits, l7);
        for (int i = 0; i < n; ++i) {
            bad += l7[i] > maxbits || (f7[i] && !l7[i]);
            for (int k = 0; k < n; ++k) bad += f7[i] && f7[k] > f7[i] && l7[k] > l7[i];
        }
        bad += kraft(l7, n) != 1L << 15;
    }
    ck_assert_int_eq(bad, 0);

    /* all 257 used and equal: 255 codes of 8 bits, 2 of 9 */
    for (int i = 0; i < 257; ++i) f3[i] = 10;
    gc_png_huffman_lengths(f3, 257, 15, l3);
    int n8 = 0, n9 = 0;
    for (int i = 0; i < 257; ++i) n8 += l3[i] == 8, n9 += l3[i] == 9;
    ck_assert(n8 == 255 && n9 == 2);
}
END_TEST

/* pic (w x h) scaled up f times by nearest neighbour, as the overlays of
 * small images are drawn: every row repeated f times, every pixel f times. */
static unsigned char *scaled_up(const unsigned char *pic, int w, int h, int f)
{
    unsigned char *q = malloc((size_t)w * f * h * f * 3);
    ck_assert_ptr_nonnull(q);
    for (int y = 0; y < h * f; ++y)
        for (int x = 0; x < w * f; ++x)
            memcpy(q + ((size_t)y * w * f + x) * 3, pic + ((size_t)(y / f) * w + x / f) * 3, 3);
    return q;
}

/* Matches (one row back: RFC 1951 lengths and distances). Every row width
 * from 1 to 12 pixels (rows of 4 to 37 bytes, some under the shortest
 * match) and those around the distance codes' edges and the 32 KiB window
 * (rows of 3w+1 bytes: 1024 and 1027, 32767 and 32770, the last beyond the
 * window, so no matches), every third row a repeat of the one above; then
 * a picture whose every row is the row above with one byte changed, at
 * every position in turn, so the rows share a prefix and a suffix of every
 * length from 0 to 301 (every length code and its extra bits, the short
 * codes as the last piece of a match over 258): all decode to the picture
 * with zlib, under every filter. A noisy picture scaled up 3 times takes
 * under 3 times the original's room (2.1 here): without matches every
 * repeated row costs as much as the first (4.7 times). */
START_TEST(matches_round_trip)
{
    const int widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 341, 342, 10922, 10923};
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; ++k) {
        int w = widths[k], h = w > 1000 ? 6 : 40;
        unsigned char *p = malloc((size_t)w * h * 3);
        ck_assert_ptr_nonnull(p);
        uint32_t seed = 5;
        for (size_t i = 0; i < (size_t)w * h * 3; ++i) {
            seed = seed * 1664525u + 1013904223u;
            p[i] = (unsigned char)(seed >> 24);
        }
        for (int y = 2; y < h; y += 3) memcpy(p + (size_t)y * w * 3, p + (size_t)(y - 1) * w * 3, (size_t)w * 3);
        for (int f = -1; f <= GC_PNG_PAETH; ++f) round_trip(p, w, h, f, NULL);
        free(p);
    }
    {
        enum { W = 100, H = 320 };
        unsigned char *p = malloc((size_t)W * H * 3);
        ck_assert_ptr_nonnull(p);
        for (int i = 0; i < W * 3; ++i) p[i] = (unsigned char)(i * 37 + 11);
        for (int y = 1; y < H; ++y) {
            unsigned char *r = p + (size_t)y * W * 3;
            memcpy(r, r - W * 3, W * 3);
            r[(y - 1) % (W * 3)] ^= 0x5a;
        }
        for (int f = -1; f <= GC_PNG_PAETH; ++f) round_trip(p, W, H, f, NULL);
        free(p);
    }
    /* a photo-like picture: smooth, plus noise in the low bits */
    enum { W = 128, H = 128 };
    unsigned char *p = picture(W, H), *q;
    uint32_t seed = 99;
    for (size_t i = 0; i < (size_t)W * H * 3; ++i) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char)(p[i] ^ (seed >> 29));
    }
    q = scaled_up(p, W, H, 3);
    size_t n1, n3;
    round_trip(p, W, H, -1, &n1);
    round_trip(q, 3 * W, 3 * H, -1, &n3);
    ck_assert_msg(n3 < 3 * n1, "original %zu bytes, scaled up 3x %zu bytes", n1, n3);
    free(q);
    free(p);
}
END_TEST

/* The file through gc_image_write_png's reader of choice elsewhere: Darknet's own
 * stb_image copy reads what we write (the other tests decode with zlib). */
/* gc_png_adler32 equals zlib's adler32: every length 0-300 and lengths
 * around a block (4096 chunks of 16) and zlib's own 5552, from 1 and from
 * other start values; 1 MiB of 0xff bytes (the lane sums' worst case). */
START_TEST(adler32_equals_zlibs)
{
    size_t big = (size_t)1 << 20;
    unsigned char *p = malloc(big);
    ck_assert_ptr_nonnull(p);
    uint64_t st = 9;
    for (size_t i = 0; i < big; ++i) p[i] = (unsigned char)(gc_rng_next(&st) >> 24);
    const uint32_t starts[] = {1, 0, 0xfff0fff0u, 0x12345678u % 65521u << 16 | 7};
    size_t lens[320 + 12];
    int nl = 0;
    for (size_t n = 0; n <= 300; ++n) lens[nl++] = n;
    const size_t more[] = {5552, 5553, 65535, 65536, 65537, 65536 + 15, 65536 * 2 + 17, 100000, 333333, big};
    for (size_t k = 0; k < sizeof more / sizeof *more; ++k) lens[nl++] = more[k];
    for (size_t s = 0; s < sizeof starts / sizeof *starts; ++s)
        for (int k = 0; k < nl; ++k) {
            uint32_t z = (uint32_t)adler32(starts[s], p + (k % 7), (uInt)(lens[k] - (lens[k] == big ? 7 : 0)));
            uint32_t g = gc_png_adler32(starts[s], p + (k % 7), lens[k] - (lens[k] == big ? 7 : 0));
            ck_assert_msg(g == z, "length %zu from %08x: %08x, zlib %08x", lens[k], starts[s], g, z);
        }
    memset(p, 0xff, big);
    ck_assert_uint_eq(gc_png_adler32(1, p, big), (uint32_t)adler32(1, p, (uInt)big));
    ck_assert_uint_eq(gc_png_adler32(0xfff0fff0u, p, big - 1), (uint32_t)adler32(0xfff0fff0u, p, (uInt)(big - 1)));
    free(p);
}
END_TEST

/* The filtered rows are made one block at a time: encoding a 4000x3000
 * picture (36 MB) needs its output buffer (as large, untouched where the
 * blocks compress) and a block's rows, not a filtered copy of the whole
 * picture, which had been 36 MB more. */
START_TEST(encoding_needs_no_filtered_copy)
{
#if !defined(__SANITIZE_ADDRESS__) /* ASan's shadow lies beyond any address-space limit */
    const int w = 4000, h = 3000;
    unsigned char *rgb = malloc((size_t)w * h * 3);
    ck_assert_ptr_nonnull(rgb);
    uint64_t st = 7;
    for (size_t i = 0; i < (size_t)w * h * 3; ++i) rgb[i] = (unsigned char)(gc_rng_next(&st) >> 56);
    ck_assert_int_eq(gcf_limit_address_space((size_t)48 << 20), 0); /* this forked test only */
    unsigned char *png = NULL;
    size_t len = 0;
    ck_assert_int_eq(gc_png_encode(rgb, w, h, -1, NULL, &png, &len), 0);
    ck_assert_uint_gt(len, (size_t)w * h * 3 / 2);
    free(png);
    free(rgb);
#endif
}
END_TEST

START_TEST(darknet_reads_it)
{
    enum { W = 33, H = 21 };
    unsigned char *p = picture(W, H), *png;
    size_t len;
    char path[] = "/tmp/gc_check_png_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(gc_png_encode(p, W, H, -1, NULL, &png, &len), 0);
    ck_assert_int_eq((int)write(fd, png, len), (int)len);
    close(fd);
    image im = load_image_color(path, 0, 0);
    unlink(path);
    ck_assert(im.w == W && im.h == H && im.c == 3);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
            for (int c = 0; c < 3; ++c)
                ck_assert_int_eq((int)(im.data[c * W * H + y * W + x] * 255 + 0.5f), p[(y * W + x) * 3 + c]);
    free_image(im);
    free(png);
    free(p);
}
END_TEST

Suite *suite_png(void)
{
    Suite *s = suite_create("png");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip_every_filter_and_shape);
    tcase_add_test(tc, several_blocks_and_compression);
    tcase_add_test(tc, parallel_blocks_give_the_same_file);
    tcase_add_test(tc, flat_and_noise);
    tcase_add_test(tc, a_misleading_sample_falls_back_to_stored);
    tcase_add_test(tc, bad_sizes_are_refused);
    tcase_add_test(tc, huffman_lengths);
    tcase_add_test(tc, darknet_reads_it);
    tcase_add_test(tc, matches_round_trip);
    tcase_add_test(tc, adler32_equals_zlibs);
    tcase_add_test(tc, encoding_needs_no_filtered_copy);
    suite_add_tcase(s, tc);
    return s;
}
