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

static void fail_into(gc_err *e, int sys, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void fail_into(gc_err *e, int sys, const char *fmt, va_list ap)
{
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
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

int gc_out_path(char *buf, size_t n, gc_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= n) return gc_fail(e, "output path too long (%d bytes, at most %zu): %.80s...", len, n - 1, buf);
    return 0;
}

int gc_tmp_path(char *buf, size_t n, const char *path)
{
    size_t len = 0, base;
    while (path[len]) ++len;
    for (base = len; base > 0 && path[base - 1] != '/'; --base) {}
    size_t name = len - base, cut = name + 4 > NAME_MAX ? name + 4 - NAME_MAX : 0;
    if (len - cut + 5 > n) return -1;
    memcpy(buf, path, base);
    memcpy(buf + base, path + base + cut, name - cut);
    memcpy(buf + len - cut, ".tmp", 5);
    return 0;
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
