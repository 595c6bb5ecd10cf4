/* gc_png: a fast PNG encoder for 8-bit RGB pictures.
 *
 * Our outputs are photos with a heat map blended in, often drawn scaled up
 * (a small image at 2-8x, nearest neighbour). LZ77's general search finds
 * little in the photo parts, so most of deflate's gain there is the Huffman
 * coding of filtered bytes; what does repeat is the row above (rows of a
 * scaled-up picture, flat bars and margins, anything unchanged from one row
 * to the next). This encoder does only that, in one pass per row: a fixed
 * filter for every row (GC_PNG_FILTER, measured below), the parts of a row
 * equal to the row above at its start and its end as matches one row back,
 * per block of rows a length-limited Huffman code of the literals and match
 * lengths (RFC 1951 dynamic block), then a table-driven bit writer. The
 * zlib stream is standard (RFC 1950: header, blocks, Adler-32), so every
 * PNG reader decodes it. Pure function on raw arrays; no files. */
#ifndef GC_PNG_H
#define GC_PNG_H

#include <stddef.h>
#include <stdint.h>

/* PNG row filters (PNG spec, section 9.2). */
typedef enum gc_png_filter {
    GC_PNG_NONE = 0,
    GC_PNG_SUB = 1,
    GC_PNG_UP = 2,
    GC_PNG_AVG = 3,
    GC_PNG_PAETH = 4,
} gc_png_filter;

/* The filter gc_png_encode uses when given -1. Measured on the overlays of
 * Yolo-Fastest on data/dog.jpg (768x618, CPU time per file): Sub 812 KB in
 * ~4.8 ms (as large as stb's Sub + zlib's Huffman-only files before, ~4x
 * faster); Paeth 751 KB in ~6.7 ms; Avg 792 KB, Up 835 KB, None 1.26 MB.
 * Per run (7 files) Paeth cost ~6% more CPU for 8% smaller files: the
 * end-to-end target (issue #13) decided for Sub. */
#define GC_PNG_FILTER GC_PNG_SUB

/* A parallel loop to spread the blocks over: run(ctx, count, cost, fn, arg)
 * calls fn(arg, begin, end) over [0, count) split between threads and
 * returns when all are done (gc_pool_for's shape; cost: bytes per item). A
 * callback, so that this module needs no thread library. */
typedef struct gc_png_par {
    void (*run)(void *ctx, size_t count, size_t cost, void (*fn)(void *arg, size_t begin, size_t end), void *arg);
    void *ctx;
} gc_png_par;

/* Encodes w x h interleaved RGB (rows of 3*w bytes, no padding) as a PNG
 * file image in memory, every row with `filter` (-1: GC_PNG_FILTER). The
 * rows go in blocks of about 256 KiB, each a deflate block of its own that
 * ends on a byte boundary (an empty stored block between blocks, 5 bytes),
 * encoded through par (NULL: serially); the file is the same either way. On
 * success returns 0 and a malloc'd buffer in *out (free() it) of *len bytes;
 * -1 when w or h is out of range (< 1, or a row over 2^30 bytes) or memory
 * runs out. */
int gc_png_encode(const unsigned char *rgb, int w, int h, int filter, const gc_png_par *par, unsigned char **out,
                  size_t *len);

/* Code lengths of a Huffman code for freq[0..n) (n <= 320), at most maxbits
 * bits each (2^maxbits >= n), into len[]: 0 for a symbol of frequency 0.
 * The code is always complete (Kraft sum exactly 1): with fewer than two
 * used symbols, symbols are added with length 1. Exposed for the tests. */
void gc_png_huffman_lengths(const unsigned *freq, int n, int maxbits, unsigned char *len);

/* zlib's adler32(adler, p, n), 16 lanes at a time (see the .c). */
uint32_t gc_png_adler32(uint32_t adler, const unsigned char *p, size_t n);

#endif
