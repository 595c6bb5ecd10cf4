#include "gc_common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

int gc_fail(gc_err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
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
