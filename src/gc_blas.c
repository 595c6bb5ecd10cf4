#define _GNU_SOURCE
#include "gc_blas.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

const char *gc_blas_better_core(const char *corename)
{
    if (!corename || strcasecmp(corename, "Prescott") != 0) return NULL;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* libgcc's checks include the OS's support (XCR0) for the wider registers */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

void gc_blas_pick_core(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE")) return;
    /* under valgrind, /proc/self/exe is valgrind's tool (and its CPU is its own) */
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload")) return;
    const char *core = gc_blas_better_core(openblas_get_corename());
    if (!core || !argv || !argv[0]) return;
    if (setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* no /proc, or not executable: go on as loaded */
}
