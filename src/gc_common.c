#include "gc_common.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s, or 0. */
static int utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    int n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (int i = 1; i < n; ++i)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))) return 0; /* overlong, surrogate */
    if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))) return 0; /* overlong, > U+10FFFF */
    return n;
}

void gc_utf8_fit(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len < n) {
        memcpy(dst, src, len + 1);
        return;
    }
    size_t keep = 0; /* whole characters (a byte that is not UTF-8: one) within n - 4 bytes */
    while (src[keep]) {
        int k = utf8_seq((const unsigned char *)src + keep);
        if (k == 0) k = 1;
        if (keep + (size_t)k > n - 4) break;
        keep += (size_t)k;
    }
    memcpy(dst, src, keep);
    memcpy(dst + keep, "...", 4);
}

void gc_first_line_difference(const char **a, int *la, const char **b, int *lb)
{
    const char *p = *a, *q = *b;
    while (*p && *q) {
        size_t lp = strcspn(p, "\n"), lq = strcspn(q, "\n");
        if (lp != lq || memcmp(p, q, lp)) break;
        p += lp + (p[lp] == '\n');
        q += lq + (q[lq] == '\n');
    }
    *a = p;
    *b = q;
    *la = (int)strcspn(p, "\n");
    *lb = (int)strcspn(q, "\n");
}

void gc_printable(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = utf8_seq(p);
        if (n == 1 && (*p < 0x20 || *p == 0x7f)) n = 0;
        if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) n = 0; /* C1 controls (U+0080..U+009F): 0x9b starts a terminal's CSI */
        if (n == 0) *p++ = '?';
        else p += n;
    }
}

void gc_print_line(FILE *f, const char *fmt, ...)
{
    char small[1024], *buf = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof small) {
        if (!(buf = malloc((size_t)n + 1))) {
            fputs("?\n", f); /* out of memory: the line's place, not its bytes */
            return;
        }
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    gc_printable(buf);
    fputs(buf, f);
    fputc('\n', f);
    if (buf != small) free(buf);
}

/* s into buf (cap bytes): whole when it fits, else its start, "...", and
 * its end (two thirds of the room: where a path names its file and a
 * message gives its reason), cut between UTF-8 characters. */
static void shown_in(char *buf, size_t cap, const char *s)
{
    size_t len = strlen(s);
    if (len < cap) {
        memcpy(buf, s, len + 1);
        return;
    }
    size_t head = (cap - 4) / 3, tail = cap - 4 - head;
    while (head > 0 && ((unsigned char)s[head] & 0xc0) == 0x80) --head; /* not inside a character */
    const char *end = s + len - tail;
    while (*end && ((unsigned char)*end & 0xc0) == 0x80) ++end;
    memcpy(buf, s, head);
    memcpy(buf + head, "...", 3);
    memcpy(buf + head + 3, end, strlen(end) + 1);
}

/* A message longer than GC_ERRLEN, into msg: each run of GC_PATH_SHOWN or
 * more bytes without a space (a path, mostly) as gc_path_shown shows it,
 * then, if that is still too long, the whole as START...END. full is
 * changed (cut at each run in turn, then restored). */
static void shorten_into(char *msg, size_t cap, char *full)
{
    char *out = malloc(strlen(full) + 1);
    if (!out) {
        shown_in(msg, cap, full);
        return;
    }
    size_t o = 0;
    for (char *p = full; *p;) {
        size_t sp = strspn(p, " ");
        memcpy(out + o, p, sp);
        o += sp;
        p += sp;
        size_t run = strcspn(p, " ");
        if (run >= GC_PATH_SHOWN) {
            char keep = p[run], shown[GC_PATH_SHOWN];
            p[run] = '\0';
            size_t k = strlen(gc_path_shown(shown, p)); /* shorter than the run */
            p[run] = keep;
            memcpy(out + o, shown, k);
            o += k;
        } else {
            memcpy(out + o, p, run);
            o += run;
        }
        p += run;
    }
    out[o] = '\0';
    shown_in(msg, cap, out);
    free(out);
}

/* A message that does not fit in GC_ERRLEN had been cut at its 511th byte:
 * a path of a few thousand bytes (PATH_MAX is 4096) left neither the file's
 * name nor the reason. It is shortened instead (shorten_into), so every
 * message keeps its start and its end. */
static void fail_into(gc_err *e, int sys, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void fail_into(gc_err *e, int sys, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    char *full = n >= (int)sizeof e->msg ? malloc((size_t)n + 1) : NULL;
    if (full) {
        vsnprintf(full, (size_t)n + 1, fmt, again);
        shorten_into(e->msg, sizeof e->msg, full);
        free(full);
    }
    va_end(again);
    gc_printable(e->msg);
    e->sys = sys;
}

int gc_fail(gc_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        fail_into(e, 0, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int gc_fail_sys(gc_err *e, int sys, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        fail_into(e, sys, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int gc_err_storage(int sys)
{
    return sys == ENOSPC || sys == EDQUOT || sys == EROFS;
}

int gc_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return -1;
    *out = a * b;
    return 0;
}

const char *gc_path_shown(char *buf, const char *path)
{
    shown_in(buf, GC_PATH_SHOWN, path);
    return buf;
}

static int fail_path_v(gc_err *e, const char *what, size_t max, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int fail_path_v(gc_err *e, const char *what, size_t max, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    char *full = len >= 0 ? malloc((size_t)len + 1) : NULL, shown[GC_PATH_SHOWN];
    if (full) vsnprintf(full, (size_t)len + 1, fmt, again);
    va_end(again);
    gc_path_shown(shown, full ? full : "(out of memory to show it)");
    free(full);
    if (what) return gc_fail(e, "%s: path too long (%d bytes, at most %zu): %s", what, len, max, shown);
    return gc_fail(e, "output path too long (%d bytes, at most %zu): %s", len, max, shown);
}

int gc_fail_path(gc_err *e, const char *what, size_t max, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_path_v(e, what, max, fmt, ap);
    va_end(ap);
    return -1;
}

int gc_out_path(char *buf, size_t n, gc_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    /* the file is written as PATH.tmp first, which must fit too (a path
     * of 4092-4095 bytes fitted here, and its PATH.tmp then failed at the
     * open with the system's "File name too long") */
    size_t max = len >= 0 && (size_t)len < n ? gc_tmp_path_max(n, buf) : n - 5;
    if (len >= 0 && (size_t)len <= max) return 0;
    va_start(ap, fmt);
    fail_path_v(e, NULL, max, fmt, ap);
    va_end(ap);
    return -1;
}

/* Bytes of path's last component gc_tmp_path leaves out so that the name
 * with ".tmp" stays within NAME_MAX. Async-signal-safe. */
static size_t tmp_cut(const char *path, size_t *len, size_t *base)
{
    size_t l = 0, b;
    while (path[l]) ++l;
    for (b = l; b > 0 && path[b - 1] != '/'; --b) {}
    *len = l;
    *base = b;
    return l - b + 4 > NAME_MAX ? l - b + 4 - NAME_MAX : 0;
}

int gc_tmp_path(char *buf, size_t n, const char *path)
{
    size_t len, base, cut = tmp_cut(path, &len, &base), name = len - base;
    if (len - cut + 5 > n) return -1;
    memcpy(buf, path, base);
    memcpy(buf + base, path + base + cut, name - cut);
    memcpy(buf + len - cut, ".tmp", 5);
    return 0;
}

size_t gc_tmp_path_max(size_t n, const char *path)
{
    size_t len, base, cut = tmp_cut(path, &len, &base);
    return n < 5 ? 0 : n - 5 + cut;
}

int gc_strvec_push(gc_strvec *v, char *s)
{
    if (!s) return -1;
    if (v->n == v->cap) {
        int cap = v->cap ? 2 * v->cap : 16;
        char **p = realloc(v->s, (size_t)cap * sizeof *p);
        if (!p) {
            free(s);
            return -1;
        }
        v->s = p;
        v->cap = cap;
    }
    v->s[v->n++] = s;
    return 0;
}

void gc_strvec_free(gc_strvec *v)
{
    for (int i = 0; i < v->n; ++i) free(v->s[i]);
    free(v->s);
    memset(v, 0, sizeof *v);
}

__attribute__((noinline)) void gc_reserve_main_stack(void)
{
    /* buf[0] is the frame's lowest address: one write there extends the
     * stack's mapping over the whole frame (one page becomes resident; the
     * rest is mapped, counted against the limit, and faulted in later
     * without a check) */
    volatile char buf[GC_MAIN_STACK] __attribute__((unused));
    buf[0] = 0;
}

/* (float)b / 255. folded by the compiler: a double division and its rounding
 * to float, correctly rounded either way (check_common compares every value
 * with the division done at run time) */
#define B(b) (float)(b) / 255.
const float gc_byte_value[256] = {
    B(0), B(1), B(2), B(3), B(4), B(5), B(6), B(7),
    B(8), B(9), B(10), B(11), B(12), B(13), B(14), B(15),
    B(16), B(17), B(18), B(19), B(20), B(21), B(22), B(23),
    B(24), B(25), B(26), B(27), B(28), B(29), B(30), B(31),
    B(32), B(33), B(34), B(35), B(36), B(37), B(38), B(39),
    B(40), B(41), B(42), B(43), B(44), B(45), B(46), B(47),
    B(48), B(49), B(50), B(51), B(52), B(53), B(54), B(55),
    B(56), B(57), B(58), B(59), B(60), B(61), B(62), B(63),
    B(64), B(65), B(66), B(67), B(68), B(69), B(70), B(71),
    B(72), B(73), B(74), B(75), B(76), B(77), B(78), B(79),
    B(80), B(81), B(82), B(83), B(84), B(85), B(86), B(87),
    B(88), B(89), B(90), B(91), B(92), B(93), B(94), B(95),
    B(96), B(97), B(98), B(99), B(100), B(101), B(102), B(103),
    B(104), B(105), B(106), B(107), B(108), B(109), B(110), B(111),
    B(112), B(113), B(114), B(115), B(116), B(117), B(118), B(119),
    B(120), B(121), B(122), B(123), B(124), B(125), B(126), B(127),
    B(128), B(129), B(130), B(131), B(132), B(133), B(134), B(135),
    B(136), B(137), B(138), B(139), B(140), B(141), B(142), B(143),
    B(144), B(145), B(146), B(147), B(148), B(149), B(150), B(151),
    B(152), B(153), B(154), B(155), B(156), B(157), B(158), B(159),
    B(160), B(161), B(162), B(163), B(164), B(165), B(166), B(167),
    B(168), B(169), B(170), B(171), B(172), B(173), B(174), B(175),
    B(176), B(177), B(178), B(179), B(180), B(181), B(182), B(183),
    B(184), B(185), B(186), B(187), B(188), B(189), B(190), B(191),
    B(192), B(193), B(194), B(195), B(196), B(197), B(198), B(199),
    B(200), B(201), B(202), B(203), B(204), B(205), B(206), B(207),
    B(208), B(209), B(210), B(211), B(212), B(213), B(214), B(215),
    B(216), B(217), B(218), B(219), B(220), B(221), B(222), B(223),
    B(224), B(225), B(226), B(227), B(228), B(229), B(230), B(231),
    B(232), B(233), B(234), B(235), B(236), B(237), B(238), B(239),
    B(240), B(241), B(242), B(243), B(244), B(245), B(246), B(247),
    B(248), B(249), B(250), B(251), B(252), B(253), B(254), B(255),
};
#undef B

ssize_t gc_read_list_line(FILE *f, char *line)
{
    size_t n = 0;
    int c = EOF;
    while ((c = getc_unlocked(f)) != EOF && c != '\n' && c != '\r') {
        line[n++] = (char)c;
        if (c == '\0' || n > GC_LIST_LINE_MAX) break;
    }
    if (c == '\r') { /* CRLF is one end */
        int next = getc_unlocked(f);
        if (next != '\n' && next != EOF) ungetc(next, f);
    }
    if (c == EOF && n == 0) return -1;
    line[n] = '\0';
    return (ssize_t)n;
}
