#include "gc_png.h"

#include "gc_common.h"

#include <assert.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define MAX_SYMS 320
#define LIT_SYMS 286 /* bytes 0..255, end-of-block, lengths 257..285 */
#define DIST_SYMS 30
/* filtered bytes per deflate block (a Huffman table each; a unit of work).
 * 256 KiB, not 128: half the code tables to build and write (a demo
 * overlay and summary 5% faster to encode, 0.4% larger) */
#define BLOCK_TARGET (1u << 18)
#define STORED_MAX 65535u
#define MAX_MATCH 258
#define MAX_DIST 32768

/* ---- Adler-32 ------------------------------------------------------------------- */

/* zlib's adler32 (Debian's is the byte-at-a-time loop, unrolled) was 5.6%
 * of a list run's CPU with every output (perf, 500 demo scenes). Here a
 * block of K 16-byte chunks is summed by parts: byte j of chunk c lies
 * 16 (K - c) - j = 16 (K - 1 - c) + (16 - j) bytes from the block's end,
 * which is its weight in s2. So s2 += 16 K s1 + 16 P + W and s1 += S, with
 * S the block's byte sum, P the sum over chunks of the bytes before the
 * chunk, W the sum of (16 - j) byte j over chunks. With SSE2 (every x86-64):
 * S by psadbw, W by pmaddwd, 64-bit lanes for S and P; elsewhere 16 lanes
 * in plain C. K = 4096 keeps every lane in range. */
#define ADLER_MOD 65521u
#define ADLER_CHUNKS 4096

#if defined(__SSE2__) && !defined(GC_PNG_NO_SSE2)
#include <emmintrin.h>
#endif

GC_OPT_O3 uint32_t gc_png_adler32(uint32_t adler, const unsigned char *p, size_t n)
{
    uint64_t s1 = adler & 0xffffu, s2 = adler >> 16;
    while (n >= 16) {
        size_t chunks = n / 16 < ADLER_CHUNKS ? n / 16 : ADLER_CHUNKS;
        uint64_t S = 0, P = 0, W = 0;
#if defined(__SSE2__) && !defined(GC_PNG_NO_SSE2)
        const __m128i zero = _mm_setzero_si128();
        const __m128i w_lo = _mm_setr_epi16(16, 15, 14, 13, 12, 11, 10, 9), w_hi = _mm_setr_epi16(8, 7, 6, 5, 4, 3, 2, 1);
        __m128i vs = zero, vp = zero, vw = zero;
        for (size_t c = 0; c < chunks; ++c, p += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)p);
            vp = _mm_add_epi64(vp, vs);
            vs = _mm_add_epi64(vs, _mm_sad_epu8(x, zero));
            vw = _mm_add_epi32(vw, _mm_madd_epi16(_mm_unpacklo_epi8(x, zero), w_lo));
            vw = _mm_add_epi32(vw, _mm_madd_epi16(_mm_unpackhi_epi8(x, zero), w_hi));
        }
        uint64_t ls[2], lp[2];
        uint32_t lw[4];
        _mm_storeu_si128((__m128i *)ls, vs);
        _mm_storeu_si128((__m128i *)lp, vp);
        _mm_storeu_si128((__m128i *)lw, vw);
        S = ls[0] + ls[1];
        P = lp[0] + lp[1];
        W = (uint64_t)lw[0] + lw[1] + lw[2] + lw[3];
#else
        uint32_t a[16] = {0}, b[16] = {0}; /* a: byte j's sum; b: a[j] before each chunk, summed */
        for (size_t c = 0; c < chunks; ++c, p += 16)
            for (int j = 0; j < 16; ++j) {
                b[j] += a[j];
                a[j] += p[j];
            }
        for (int j = 0; j < 16; ++j) {
            S += a[j];
            P += b[j];
            W += (uint64_t)(16 - j) * a[j];
        }
#endif
        s2 = (s2 + 16 * (uint64_t)chunks * s1 + 16 * P + W) % ADLER_MOD;
        s1 = (s1 + S) % ADLER_MOD;
        n -= 16 * chunks;
    }
    for (size_t i = 0; i < n; ++i) {
        s1 += p[i];
        s2 += s1;
    }
    return (uint32_t)((s2 % ADLER_MOD) << 16 | (s1 % ADLER_MOD));
}

/* ---- Huffman code lengths ---------------------------------------------------- */

typedef struct leaf {
    uint64_t f;
    int sym;
} leaf;

static int leaf_cmp(const void *a, const void *b)
{
    const leaf *x = a, *y = b;
    if (x->f != y->f) return x->f < y->f ? -1 : 1;
    return x->sym - y->sym;
}

/* Depths of an optimal (unlimited) Huffman tree over lv[0..m), m >= 2, sorted by
 * frequency: the two-queue construction (leaves in order, internal nodes in
 * the order they are made, both ascending). Returns the largest depth. */
static int tree_depths(const leaf *lv, int m, int *depth)
{
    uint64_t w[2 * MAX_SYMS];
    int parent[2 * MAX_SYMS];
    for (int i = 0; i < m; ++i) w[i] = lv[i].f;
    int i = 0, j = m;
    for (int k = m; k < 2 * m - 1; ++k) {
        int pick[2];
        for (int t = 0; t < 2; ++t) pick[t] = (i < m && (j >= k || w[i] <= w[j])) ? i++ : j++;
        w[k] = w[pick[0]] + w[pick[1]];
        parent[pick[0]] = parent[pick[1]] = k;
    }
    int root = 2 * m - 2, maxd = 0;
    depth[root] = 0;
    for (int k = root - 1; k >= 0; --k) {
        depth[k] = depth[parent[k]] + 1;
        if (k < m && depth[k] > maxd) maxd = depth[k];
    }
    return maxd;
}

/* lv[0..m) sorted as leaf_cmp orders it. qsort with its callback was 1.5%
 * of a list run's CPU (a sort or more per deflate block); leaves whose
 * frequencies fit in 23 bits (every block's of up to 2^18 bytes) are sorted
 * by their key f << 9 | sym, 4 passes of 8 bits (LSD radix, stable). */
static void sort_leaves(leaf *lv, int m)
{
    uint32_t key[MAX_SYMS], tmp[MAX_SYMS];
    for (int i = 0; i < m; ++i) {
        if (lv[i].f >= (1u << 23)) {
            qsort(lv, (size_t)m, sizeof *lv, leaf_cmp);
            return;
        }
        key[i] = (uint32_t)lv[i].f << 9 | (uint32_t)lv[i].sym;
    }
    uint32_t *a = key, *b = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        unsigned count[257] = {0};
        for (int i = 0; i < m; ++i) count[(a[i] >> shift & 0xffu) + 1]++;
        for (int d = 0; d < 256; ++d) count[d + 1] += count[d];
        for (int i = 0; i < m; ++i) b[count[a[i] >> shift & 0xffu]++] = a[i];
        uint32_t *t = a;
        a = b;
        b = t;
    }
    for (int i = 0; i < m; ++i) lv[i] = (leaf){a[i] >> 9, (int)(a[i] & 0x1ffu)};
}

/* Lengths at most maxbits for the m leaves (sorted ascending) whose optimal
 * depths are depth[0..m), some deeper than maxbits: every deep leaf is
 * lifted to maxbits, which makes the Kraft sum too large, then the sum is
 * brought back to exactly 1 a unit of 2^-maxbits at a time: one leaf at
 * maxbits moves up under a leaf at the deepest shorter length d, which goes
 * down to d + 1 beside it (-2^(maxbits-d-1) + 2^(maxbits-d-1) - 1 units).
 * Then the lengths, longest first, go to the leaves in ascending frequency:
 * the same count at each length as the tree before it was cut, where it fits. */
static void limit_depths(int m, int maxbits, int *depth)
{
    unsigned count[16] = {0};
    for (int i = 0; i < m; ++i) count[depth[i] > maxbits ? maxbits : depth[i]]++;
    uint32_t kraft = 0; /* in units of 2^-maxbits */
    for (int d = 1; d <= maxbits; ++d) kraft += count[d] << (maxbits - d);
    while (kraft > (1u << maxbits)) {
        int d = maxbits - 1;
        while (!count[d]) --d;
        count[d]--;
        count[d + 1] += 2;
        count[maxbits]--;
        kraft--;
    }
    int i = 0;
    for (int d = maxbits; d >= 1; --d)
        for (unsigned c = 0; c < count[d]; ++c) depth[i++] = d;
}

void gc_png_huffman_lengths(const unsigned *freq, int n, int maxbits, unsigned char *len)
{
    assert(n >= 2 && n <= MAX_SYMS && maxbits >= 1 && maxbits <= 15 && (1 << maxbits) >= n);
    leaf lv[MAX_SYMS];
    int m = 0, depth[2 * MAX_SYMS];
    memset(len, 0, (size_t)n);
    for (int s = 0; s < n; ++s)
        if (freq[s]) lv[m++] = (leaf){freq[s], s};
    /* a complete code needs two symbols: zlib's inflate refuses an incomplete
     * code-length code */
    for (int s = 0; m < 2 && s < n; ++s)
        if (!freq[s]) lv[m++] = (leaf){1, s};
    /* one sort and one tree; too deep (every literal code of a demo
     * overlay's blocks at 14 bits), cut to maxbits, not rebuilt: halving the
     * frequencies and building again took 2.7 sorts and trees a code */
    sort_leaves(lv, m);
    if (tree_depths(lv, m, depth) > maxbits) limit_depths(m, maxbits, depth);
    for (int i = 0; i < m; ++i) len[lv[i].sym] = (unsigned char)depth[i];
}

/* The low 16 bits of v in reverse order: halves, then quarters, then
 * bytes, nibbles, pairs and single bits swapped. */
static inline unsigned reverse16(unsigned v)
{
    v = (v >> 8 & 0x00ffu) | (v & 0x00ffu) << 8;
    v = (v >> 4 & 0x0f0fu) | (v & 0x0f0fu) << 4;
    v = (v >> 2 & 0x3333u) | (v & 0x3333u) << 2;
    v = (v >> 1 & 0x5555u) | (v & 0x5555u) << 1;
    return v;
}

/* Canonical codes (RFC 1951, 3.2.2) for len[0..n), bit-reversed for an
 * LSB-first bit writer. (A loop over each code's bits had made this 1.0%
 * of a list run's CPU with every output: 300 codes a deflate block.) */
static void canonical_codes(const unsigned char *len, int n, uint16_t *code)
{
    unsigned count[16] = {0}, next[16];
    for (int s = 0; s < n; ++s) count[len[s]]++;
    count[0] = 0;
    unsigned c = 0;
    for (int b = 1; b < 16; ++b) {
        c = (c + count[b - 1]) << 1;
        next[b] = c;
    }
    for (int s = 0; s < n; ++s) {
        code[s] = 0;
        if (!len[s]) continue;
        code[s] = (uint16_t)(reverse16(next[len[s]]++) >> (16 - len[s]));
    }
}

/* ---- bit writer --------------------------------------------------------------- */

typedef struct bits {
    unsigned char *p; /* next byte */
    uint64_t buf;
    int n; /* bits in buf, < 32 between calls */
} bits;

static inline void put_bits(bits *b, unsigned v, int n)
{
    b->buf |= (uint64_t)v << b->n;
    b->n += n;
    if (b->n >= 32) {
        b->p[0] = (unsigned char)b->buf;
        b->p[1] = (unsigned char)(b->buf >> 8);
        b->p[2] = (unsigned char)(b->buf >> 16);
        b->p[3] = (unsigned char)(b->buf >> 24);
        b->p += 4;
        b->buf >>= 32;
        b->n -= 32;
    }
}

/* Writes out the whole bytes buffered, leaving fewer than 8 bits. */
static inline void drain_bytes(bits *b)
{
    while (b->n >= 8) {
        *b->p++ = (unsigned char)b->buf;
        b->buf >>= 8;
        b->n -= 8;
    }
}

/* Pads to a byte boundary and writes out what is buffered. */
static void flush_bits(bits *b)
{
    while (b->n > 0) {
        *b->p++ = (unsigned char)b->buf;
        b->buf >>= 8;
        b->n -= 8;
    }
    b->buf = 0;
    b->n = 0;
}

/* ---- deflate blocks ------------------------------------------------------------- */

/* Code-length alphabet order (RFC 1951, 3.2.7). */
static const unsigned char CL_ORDER[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

/* ---- matches ------------------------------------------------------------------------ */

/* RFC 1951, 3.2.5: the length codes 257..285 and the distance codes, their
 * base values and extra bits. */
static const uint16_t LEN_BASE[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const unsigned char LEN_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                            2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t DIST_BASE[DIST_SYMS] = {1,   2,   3,   4,   5,   7,    9,    13,   17,   25,
                                              33,  49,  65,  97,  129, 193,  257,  385,  513,  769,
                                              1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const unsigned char DIST_EXTRA[DIST_SYMS] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6,
                                                    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int dist_code(unsigned d)
{
    int c = 0;
    while (c + 1 < DIST_SYMS && DIST_BASE[c + 1] <= d) ++c;
    return c;
}

/* Length code index (0..28) of every match length 3..258, made once. */
static unsigned char len_code[MAX_MATCH + 1];
static pthread_once_t len_once = PTHREAD_ONCE_INIT;
static void make_len_codes(void)
{
    for (int c = 0; c < 29; ++c)
        for (int l = LEN_BASE[c]; l <= MAX_MATCH && (c == 28 || l < LEN_BASE[c + 1]); ++l) len_code[l] = (unsigned char)c;
}

/* 8 bytes from p as a little-endian number: byte k is bits 8k..8k+7
 * whatever the CPU's order, which the counts of equal bytes below rely on. */
static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&v, p, 8);
#else
    v = 0;
    for (int k = 7; k >= 0; --k) v = v << 8 | p[k];
#endif
    return v;
}

/* Bytes a[0..] equal to b[0..], at most max. */
static inline size_t common_prefix(const unsigned char *a, const unsigned char *b, size_t max)
{
    size_t k = 0;
    for (; k + 8 <= max; k += 8) {
        uint64_t d = load_le64(a + k) ^ load_le64(b + k);
        if (d) return k + (size_t)(__builtin_ctzll(d) >> 3);
    }
    while (k < max && a[k] == b[k]) ++k;
    return k;
}

/* Bytes a[-1], a[-2], ... equal to b[-1], b[-2], ..., at most max. */
static inline size_t common_suffix(const unsigned char *a, const unsigned char *b, size_t max)
{
    size_t k = 0;
    for (; k + 8 <= max; k += 8) {
        uint64_t d = load_le64(a - k - 8) ^ load_le64(b - k - 8);
        if (d) return k + (size_t)(__builtin_clzll(d) >> 3);
    }
    while (k < max && a[-(ptrdiff_t)k - 1] == b[-(ptrdiff_t)k - 1]) ++k;
    return k;
}

/* A match, one row back: where it starts and its length. The bytes between
 * matches are literals. */
typedef struct match {
    uint32_t pos, len;
} match;

/* Byte histogram of a sample of p[0..n), added to h: one 8-byte word in
 * every HIST_EVERY, *skip the words to pass over first (carried from one
 * piece of a block to the next, so that short pieces are sampled at the
 * same rate); the bytes after the last whole word are left out. A full
 * histogram had been 5% of a list run's CPU with every output; a quarter of
 * the words gives the code lengths nearly as well (the files of 500 demo
 * scenes grew by under 1%). The code is built from the sample, so its size
 * is not known before it is written: write_block writes it aside and keeps
 * stored blocks where it came out larger. Eight tables (summed at the end),
 * byte k of a word into table k, so that runs of one value do not wait on
 * their own increments. */
#define HIST_EVERY 4
static inline void histogram(const unsigned char *p, size_t n, unsigned (*h)[256], size_t *skip)
{
    size_t words = n / 8, k = *skip;
    for (; k < words; k += HIST_EVERY) {
        uint64_t x = load_le64(p + 8 * k);
        h[0][x & 0xff]++;
        h[1][x >> 8 & 0xff]++;
        h[2][x >> 16 & 0xff]++;
        h[3][x >> 24 & 0xff]++;
        h[4][x >> 32 & 0xff]++;
        h[5][x >> 40 & 0xff]++;
        h[6][x >> 48 & 0xff]++;
        h[7][x >> 56]++;
    }
    *skip = k - words;
}

/* Matches shorter than this are left as literals: a match costs about as
 * many bits as a few literals. */
#define MIN_ROW_MATCH 16

/* Appends matches at distance row covering [pos, pos + len), len >= 3:
 * pieces of at most MAX_MATCH, none shorter than 3. */
static size_t add_match(match *m, size_t c, size_t pos, size_t len, unsigned *lit)
{
    while (len > 0) {
        size_t k = len <= MAX_MATCH ? len : (len - MAX_MATCH < 3 ? len - 3 : MAX_MATCH);
        m[c++] = (match){(uint32_t)pos, (uint32_t)k};
        lit[257 + len_code[k]]++;
        pos += k;
        len -= k;
    }
    return c;
}

/* The matches in the n filtered bytes of one block (whole rows of row
 * bytes): where a row repeats the row above, at its start and at its end
 * (the row-repeats of a picture scaled up by whole factors, flat margins and
 * bars, and any part of a picture unchanged from one row to the next),
 * 8 bytes compared at once; what lies between is literals. A row of a photo
 * costs two comparisons. Matches never reach before the block, so blocks
 * stay independent. Counts the length codes into lit[], and the literals
 * from a sample (histogram).
 * Returns the match count (at most row / 255 + 2 a row). */
static size_t find_matches(const unsigned char *f, size_t n, size_t row, match *m, unsigned *lit)
{
    unsigned h[8][256];
    memset(h, 0, sizeof h);
    size_t c = 0, from = 0, skip = 0; /* from: the first byte not yet counted or matched */
    if (row <= MAX_DIST && row > 1) {
        for (size_t y = row; y + row <= n; y += row) {
            const unsigned char *a = f + y, *b = a - row;
            /* a whole repeated row (two in three of a picture drawn 3x) by
             * libc's memcmp, several times faster than the 8-byte loop */
            size_t pre = memcmp(a, b, row) ? common_prefix(a, b, row) : row, suf = 0;
            if (pre < row) suf = common_suffix(a + row, b + row, row - pre);
            if (pre >= MIN_ROW_MATCH) {
                histogram(f + from, y - from, h, &skip);
                c = add_match(m, c, y, pre, lit);
                from = y + pre;
            }
            if (suf >= MIN_ROW_MATCH) {
                histogram(f + from, y + row - suf - from, h, &skip);
                c = add_match(m, c, y + row - suf, suf, lit);
                from = y + row;
            }
        }
    }
    histogram(f + from, n - from, h, &skip);
    /* the sample scaled up; every byte value counted once more, so that
     * each has a code (any may lie outside the sample) */
    for (int v = 0; v < 256; ++v) {
        unsigned sum = 1;
        for (int t = 0; t < 8; ++t) sum += HIST_EVERY * h[t][v];
        lit[v] += sum;
    }
    return c;
}

/* The literal/length codes' longest code: four of them and the < 8 bits
 * left in the buffer fit one 64-bit word (4 * 14 + 7 = 63), so that
 * put_literals takes four bytes a step (three with deflate's limit of 15).
 * The files of 500 demo scenes grew by 8 KB of 192 MB. */
#define LIT_MAX_BITS 14

/* Bytes p[0..n) as literals (code[] and len[]: a byte's code and length,
 * codes of at most LIT_MAX_BITS), b->n < 8 before and after. Four codes
 * joined in pairs, then the pairs (the four wait on the bits buffered only
 * once), beside the bits buffered, then every whole byte out with one
 * 8-byte store: no branch per code; the writer's state held in locals for
 * the loop. Code and length from two tables, not split out of one word:
 * the loop is bound by its instruction count (with both, a demo overlay
 * 0.310 -> 0.288 ms). The store writes up to 8 bytes past what it
 * commits: inside the slot's slack, and overwritten by the next store. */
static void put_literals(bits *b, const unsigned char *p, size_t n, const uint64_t *code, const unsigned char *len)
{
    unsigned char *out = b->p;
    uint64_t v = b->buf;
    unsigned k = (unsigned)b->n;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        unsigned a0 = p[i], a1 = p[i + 1], a2 = p[i + 2], a3 = p[i + 3];
        unsigned l0 = len[a0], l01 = l0 + len[a1], l2 = len[a2], l23 = l2 + len[a3];
        uint64_t c01 = code[a0] | code[a1] << l0, c23 = code[a2] | code[a3] << l2;
        v |= (c01 | c23 << l01) << k;
        k += l01 + l23;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(out, &v, 8); /* one unaligned store */
#else
        for (int j = 0; j < 8; ++j) out[j] = (unsigned char)(v >> (8 * j));
#endif
        out += k >> 3;
        v >>= k & ~7u;
        k &= 7;
    }
    b->p = out;
    b->buf = v;
    b->n = (int)k;
    for (; i < n; ++i) put_bits(b, (unsigned)code[p[i]], len[p[i]]);
    drain_bytes(b);
}

/* Stored blocks of data[0..n) at b (at a byte boundary, nothing buffered). */
static void write_stored(bits *b, const unsigned char *data, size_t n, int final)
{
    size_t off = 0;
    do {
        size_t k = n - off < STORED_MAX ? n - off : STORED_MAX;
        put_bits(b, (final && off + k == n) ? 1u : 0u, 1);
        put_bits(b, 0, 2); /* BTYPE 00: stored */
        flush_bits(b);
        b->p[0] = (unsigned char)k;
        b->p[1] = (unsigned char)(k >> 8);
        b->p[2] = (unsigned char)~k;
        b->p[3] = (unsigned char)(~k >> 8);
        memcpy(b->p + 4, data + off, k);
        b->p += 4 + k;
        off += k;
    } while (off < n);
}

/* Room a dynamic Huffman block of n bytes may take before it is compared
 * with stored blocks: its header (under 300 bytes), every byte a literal of
 * LIT_MAX_BITS (a match of 3 or more bytes costs at most 33 bits, less a
 * byte), the end code, and put_literals' 8-byte overreach. */
static size_t huffman_cap(size_t n)
{
    return n / 8 * LIT_MAX_BITS + LIT_MAX_BITS + 512;
}

/* One block of n filtered bytes with its nm matches (m NULL: none could be
 * looked for) at b (at a byte boundary, nothing buffered): a dynamic
 * Huffman block, or stored blocks when that would be smaller. The literals'
 * code comes from a sample, so the block's size is estimated first (stored
 * blocks when the estimate is larger), then the block is written into aside
 * (huffman_cap(n) bytes) and copied to b only if it came out no larger than
 * stored blocks. */
static void write_block(bits *b, const unsigned char *data, size_t n, const match *m, size_t nm,
                        const unsigned *lit_freq, size_t row, int final, unsigned char *aside)
{
    unsigned freq[LIT_SYMS];
    unsigned char len[LIT_SYMS + DIST_SYMS]; /* literal/length code lengths, then the distance codes' */
    uint16_t code[LIT_SYMS], dcode[DIST_SYMS];
    memcpy(freq, lit_freq, sizeof freq);
    freq[256] = 1; /* end of block */
    int hlit = LIT_SYMS;
    while (hlit > 257 && !freq[hlit - 1]) --hlit;
    gc_png_huffman_lengths(freq, hlit, LIT_MAX_BITS, len);
    /* Distance codes: one row back (code d2) and code 0 (unused), each of
     * one bit: a complete code of two, as zlib writes when no match is
     * used, suits every inflater. Rows over the window: codes 0 and 1,
     * neither used. */
    int d2 = row <= MAX_DIST && row > 1 ? dist_code((unsigned)row) : 1, hdist = d2 + 1;
    unsigned char *dlen = len + hlit;
    memset(dlen, 0, (size_t)hdist);
    dlen[0] = dlen[d2] = 1;
    canonical_codes(dlen, hdist, dcode);
    unsigned clf[19] = {0};
    unsigned char cll[19];
    uint16_t clc[19];
    for (int s = 0; s < hlit + hdist; ++s) clf[len[s]]++;
    gc_png_huffman_lengths(clf, 19, 7, cll);
    canonical_codes(cll, 19, clc);
    int hclen = 19;
    while (hclen > 4 && !cll[CL_ORDER[hclen - 1]]) --hclen;

    uint64_t nbits = 3 + 5 + 5 + 4 + 3 * (uint64_t)hclen;
    for (int s = 0; s < hlit + hdist; ++s) nbits += cll[len[s]];
    for (int s = 0; s < hlit; ++s) nbits += (uint64_t)freq[s] * len[s];
    for (int c = 0; c < 29 && 257 + c < hlit; ++c) nbits += (uint64_t)freq[257 + c] * LEN_EXTRA[c];
    nbits += (uint64_t)nm * (1 + DIST_EXTRA[d2]);
    uint64_t stored = 8 * ((uint64_t)n + 5 * ((n + STORED_MAX - 1) / STORED_MAX + (n == 0))) + 8;
    if (nbits > stored || !m || !aside) {
        write_stored(b, data, n, final);
        return;
    }

    assert(b->n == 0 && b->buf == 0);
    bits out = *b;
    *b = (bits){aside, 0, 0};
    canonical_codes(len, hlit, code);
    put_bits(b, final ? 1u : 0u, 1);
    put_bits(b, 2, 2); /* BTYPE 10: dynamic Huffman */
    put_bits(b, (unsigned)hlit - 257, 5);
    put_bits(b, (unsigned)hdist - 1, 5);
    put_bits(b, (unsigned)hclen - 4, 4);
    for (int i = 0; i < hclen; ++i) put_bits(b, cll[CL_ORDER[i]], 3);
    for (int s = 0; s < hlit + hdist; ++s) put_bits(b, clc[len[s]], cll[len[s]]);
    /* a literal's code as a 64-bit word, to be shifted into place (its
     * length is len[]); a match's length code with its extra bits, then its
     * distance code with its own (at most 14 + 5 and 1 + 13 bits) */
    uint64_t tab[256];
    for (int s = 0; s < 256; ++s) tab[s] = code[s];
    drain_bytes(b);
    size_t pos = 0;
    for (size_t k = 0; k < nm; ++k) {
        put_literals(b, data + pos, m[k].pos - pos, tab, len);
        unsigned l = m[k].len;
        int c = len_code[l];
        put_bits(b, code[257 + c], len[257 + c]);
        if (LEN_EXTRA[c]) put_bits(b, l - LEN_BASE[c], LEN_EXTRA[c]);
        put_bits(b, dcode[d2], 1);
        if (DIST_EXTRA[d2]) put_bits(b, (unsigned)row - DIST_BASE[d2], DIST_EXTRA[d2]);
        drain_bytes(b);
        pos = m[k].pos + l;
    }
    put_literals(b, data + pos, n - pos, tab, len);
    put_bits(b, code[256], len[256]);
    /* the bits written, against stored blocks' */
    size_t whole = (size_t)(b->p - aside);
    assert(whole + 8 <= huffman_cap(n));
    if (8 * (uint64_t)whole + (uint64_t)b->n > stored) {
        *b = out;
        write_stored(b, data, n, final);
        return;
    }
    memcpy(out.p, aside, whole);
    out.p += whole;
    out.buf = b->buf;
    out.n = b->n;
    *b = out;
}

/* ---- filters ---------------------------------------------------------------------- */

/* Row x (n bytes, 3 per pixel, n >= 3) filtered against prev (NULL: row 0,
 * all zero) into out[0..n] (out[0] the filter type). The filters read only
 * the unfiltered image, so each loop has no carried dependency and gcc
 * vectorises it (at -O3). */
GC_OPT_O3 /* -O2 leaves the Paeth loop scalar: 2x slower */
static void filter_row(const unsigned char *restrict x, const unsigned char *restrict prev, size_t n, int filter,
                       unsigned char *restrict out)
{
    out[0] = (unsigned char)filter;
    unsigned char *restrict f = out + 1;
    if (!prev && filter == GC_PNG_UP) filter = GC_PNG_NONE;
    if (!prev && filter == GC_PNG_PAETH) filter = GC_PNG_SUB; /* Paeth with b = c = 0 picks a */
    switch (filter) {
    case GC_PNG_NONE: memcpy(f, x, n); break;
    case GC_PNG_SUB:
        memcpy(f, x, 3);
        for (size_t i = 3; i < n; ++i) f[i] = (unsigned char)(x[i] - x[i - 3]);
        break;
    case GC_PNG_UP:
        for (size_t i = 0; i < n; ++i) f[i] = (unsigned char)(x[i] - prev[i]);
        break;
    case GC_PNG_AVG:
        if (!prev) {
            memcpy(f, x, 3);
            for (size_t i = 3; i < n; ++i) f[i] = (unsigned char)(x[i] - (x[i - 3] >> 1));
            break;
        }
        for (size_t i = 0; i < 3; ++i) f[i] = (unsigned char)(x[i] - (prev[i] >> 1));
        for (size_t i = 3; i < n; ++i) f[i] = (unsigned char)(x[i] - ((x[i - 3] + prev[i]) >> 1));
        break;
    default: /* Paeth (PNG spec 9.4), in libpng's form: pa = |b - c|, pb = |a - c|, pc = |a + b - 2c| */
        for (size_t i = 0; i < 3; ++i) f[i] = (unsigned char)(x[i] - prev[i]); /* a = c = 0 picks b */
        for (size_t i = 3; i < n; ++i) {
            int a = x[i - 3], b = prev[i], c = prev[i - 3];
            int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
            int pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
            f[i] = (unsigned char)(x[i] - pred);
        }
        break;
    }
}

/* ---- the file ----------------------------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Chunk of type at p: length and type are written here, the data is already at
 * p + 8 (n bytes); appends the CRC. Returns the chunk's total size. */
static size_t finish_chunk(unsigned char *p, const char *type, size_t n)
{
    put_be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    put_be32(p + 8 + n, (uint32_t)crc32(0L, p + 4, (uInt)(n + 4)));
    return n + 12;
}

/* The blocks of one picture, encoded independently (by one thread or
 * several): block k filters its rows into filt, then writes its deflate
 * block into its own slot of the output, ending on a byte boundary (an
 * empty stored block after every block but the last, as zlib's
 * Z_SYNC_FLUSH), so that the slots can be joined byte by byte. */
typedef struct png_job {
    const unsigned char *rgb;
    int h, filter;
    size_t row, frow, rows_per, nblocks;
    atomic_int failed;      /* a call could not get its filter buffer */
    unsigned char *slots;   /* block k writes at slots + slot_off[k] */
    size_t *slot_off, *slot_len;
    uLong *adler;           /* Adler-32 of block k's filtered bytes */
} png_job;

/* Room block k may need: stored blocks (5 bytes a 64 KiB) plus a byte of
 * padding, the empty stored block that aligns it, and the bit writer's
 * slack; the Huffman block is written only when not larger than stored. */
static size_t slot_cap(size_t n)
{
    return n + 5 * (n / STORED_MAX + 1) + 1 + 5 + 16;
}

static void encode_blocks(void *arg, size_t k0, size_t k1)
{
    png_job *j = arg;
    pthread_once(&len_once, make_len_codes);
    /* one match buffer for this call's blocks (a row's matches are pieces
     * of at least 255 bytes but the last of its two: at most row / 255 + 2;
     * a few KiB); without it, stored blocks */
    match *m = malloc(j->rows_per * (j->frow / 255 + 2) * sizeof *m);
    /* one block's filtered rows at a time (about 256 KiB), not the whole
     * picture's: an 8000x6000 overlay's would be 144 MB */
    unsigned char *f = malloc(j->rows_per * j->frow);
    /* a block's Huffman code written aside; without it, stored blocks */
    unsigned char *aside = m ? malloc(huffman_cap(j->rows_per * j->frow)) : NULL;
    if (!f) {
        atomic_store(&j->failed, 1);
        free(m);
        free(aside);
        return;
    }
    for (size_t k = k0; k < k1; ++k) {
        size_t y0 = k * j->rows_per, y1 = y0 + j->rows_per < (size_t)j->h ? y0 + j->rows_per : (size_t)j->h;
        for (size_t y = y0; y < y1; ++y)
            filter_row(j->rgb + y * j->row, y ? j->rgb + (y - 1) * j->row : NULL, j->row, j->filter,
                       f + (y - y0) * j->frow);
        size_t n = (y1 - y0) * j->frow;
        unsigned lit[LIT_SYMS] = {0};
        size_t nm = m ? find_matches(f, n, j->frow, m, lit) : 0;
        j->adler[k] = gc_png_adler32(1, f, n);
        bits b = {j->slots + j->slot_off[k], 0, 0};
        int last = k + 1 == j->nblocks;
        write_block(&b, f, n, m, nm, lit, j->frow, last, aside);
        if (!last) {
            put_bits(&b, 0, 3); /* BFINAL 0, BTYPE 00: an empty stored block */
            flush_bits(&b);
            b.p[0] = b.p[1] = 0;
            b.p[2] = b.p[3] = 0xff;
            b.p += 4;
        }
        flush_bits(&b);
        j->slot_len[k] = (size_t)(b.p - (j->slots + j->slot_off[k]));
        assert(j->slot_len[k] <= slot_cap(n));
    }
    free(f);
    free(m);
    free(aside);
}

int gc_png_encode(const unsigned char *rgb, int w, int h, int filter, const gc_png_par *par, unsigned char **out,
                  size_t *len)
{
    *out = NULL;
    *len = 0;
    if (filter < 0) filter = GC_PNG_FILTER;
    assert(filter <= GC_PNG_PAETH);
    if (w < 1 || h < 1 || (size_t)w > ((size_t)1 << 30) / 3) return -1;
    size_t row = (size_t)w * 3, frow = row + 1;
    /* one IDAT chunk of under 2^31 bytes, stored blocks included */
    if ((size_t)h > (((size_t)1 << 31) - ((size_t)1 << 26)) / frow) return -1;
    size_t rows_per = BLOCK_TARGET / frow ? BLOCK_TARGET / frow : 1;
    size_t nblocks = ((size_t)h + rows_per - 1) / rows_per;
    png_job j = {rgb, h, filter, row, frow, rows_per, nblocks, 0, NULL, NULL, NULL, NULL};
    j.slot_off = malloc(nblocks * sizeof *j.slot_off);
    j.slot_len = malloc(nblocks * sizeof *j.slot_len);
    j.adler = malloc(nblocks * sizeof *j.adler);
    size_t slots = 0;
    for (size_t k = 0; j.slot_off && k < nblocks; ++k) {
        size_t n = ((k + 1) * rows_per < (size_t)h ? rows_per : (size_t)h - k * rows_per) * frow;
        j.slot_off[k] = slots;
        slots += slot_cap(n);
    }
    size_t head = 8 + 25 + 8 + 2; /* signature, IHDR, IDAT's length and type, zlib header */
    unsigned char *buf = malloc(head + slots + 4 + 4 + 12);
    if (!buf || !j.slot_off || !j.slot_len || !j.adler) {
        free(buf);
        free(j.slot_off);
        free(j.slot_len);
        free(j.adler);
        return -1;
    }
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char *p = buf;
    memcpy(p, sig, 8);
    p += 8;
    put_be32(p + 8, (uint32_t)w);
    put_be32(p + 12, (uint32_t)h);
    p[16] = 8; /* bit depth */
    p[17] = 2; /* colour type: RGB */
    p[18] = p[19] = p[20] = 0; /* deflate, adaptive filtering, no interlace */
    p += finish_chunk(p, "IHDR", 13);

    unsigned char *idat = p;
    p[8] = 0x78; /* zlib: deflate, 32 KiB window */
    p[9] = 0x01; /* no dictionary, fastest level; (0x78 << 8 | 0x01) % 31 == 0 */
    j.slots = buf + head;
    if (par && par->run) par->run(par->ctx, nblocks, j.frow * j.rows_per, encode_blocks, &j);
    else encode_blocks(&j, 0, nblocks);
    if (atomic_load(&j.failed)) {
        free(buf);
        free(j.slot_off);
        free(j.slot_len);
        free(j.adler);
        return -1;
    }
    /* join the slots in order (each moves down or stays) and the checksums */
    p = buf + head;
    uLong adler = adler32(0L, Z_NULL, 0);
    for (size_t k = 0; k < nblocks; ++k) {
        memmove(p, j.slots + j.slot_off[k], j.slot_len[k]);
        p += j.slot_len[k];
        size_t n = ((k + 1) * rows_per < (size_t)h ? rows_per : (size_t)h - k * rows_per) * frow;
        adler = adler32_combine(adler, j.adler[k], (z_off_t)n);
    }
    put_be32(p, (uint32_t)adler);
    p += 4;
    size_t zlen = (size_t)(p - (idat + 8));
    p = idat + finish_chunk(idat, "IDAT", zlen);
    p += finish_chunk(p, "IEND", 0);
    free(j.slot_off);
    free(j.slot_len);
    free(j.adler);
    *out = buf;
    *len = (size_t)(p - buf);
    return 0;
}
