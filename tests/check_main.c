/* Runs every Check suite linked into the test binary, in fork mode so that a
 * crash fails one test, not the run, one runner per suite so that each
 * suite's result and time is printed as it finishes (then the totals).
 * `check_gradcam SUITE...` runs only the named suites. Darknet prints a layer table on stderr for every network it
 * parses; that goes to GC_TEST_LOG (default build/check_gradcam.log) unless
 * GC_TEST_VERBOSE is set. Check's own report is on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gc_blas.h"
#include "gc_tests.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Each suite runs in its own runner, so that its result and time are
 * printed as soon as it finishes (the whole run takes minutes). */
int main(int argc, char **argv)
{
    /* the kernels ./darknet gradcam uses (gc_blas.h), so that in-process
     * results and the CLI's come from the same products */
    gc_blas_pick_core(argv);
    /* thread pools split loops from the threshold they were written against,
     * not from a timing (gc_pool.h), so that the same code paths run on every
     * machine and the split kernels are exercised; children inherit it */
    setenv("GC_POOL_MIN_WORK", "32768", 0);
    int added = 0, failed = 0, checks = 0;
    if (!getenv("GC_TEST_VERBOSE")) {
        const char *log = getenv("GC_TEST_LOG");
        if (!freopen(log && *log ? log : "build/check_gradcam.log", "w", stderr))
            fprintf(stdout, "warning: cannot redirect Darknet's messages; they follow\n");
        /* a forked test that fails exits without flushing: keep the log whole */
        setvbuf(stderr, NULL, _IONBF, 0);
    }
    /* a failing assertion may quote a program's stderr: Check's default
     * limit would abort the runner ("Message string too long") instead */
    check_set_max_msg_size(1 << 18);
    setvbuf(stdout, NULL, _IOLBF, 0);
    double start = now();
#define GC_RUN_SUITE(name)                                                                        \
    if (suite_##name) {                                                                           \
        int want = argc < 2;                                                                      \
        for (int i = 1; i < argc; ++i) want |= strcmp(argv[i], #name) == 0;                      \
        if (want) {                                                                               \
            double t0 = now();                                                                    \
            SRunner *sr = srunner_create(suite_##name());                                        \
            srunner_run_all(sr, CK_NORMAL);                                                       \
            int nf = srunner_ntests_failed(sr), nr = srunner_ntests_run(sr);                     \
            printf("== %-12s %s: %d checks, %d failed, %.1f s\n", #name, nf ? "FAIL" : "ok", nr, nf, \
                   now() - t0);                                                                   \
            fflush(stdout);                                                                       \
            failed += nf;                                                                         \
            checks += nr;                                                                         \
            ++added;                                                                              \
            srunner_free(sr);                                                                     \
        }                                                                                         \
    }
    GC_SUITES(GC_RUN_SUITE)
#undef GC_RUN_SUITE
    if (!added) return 2;
    printf("== all %d suites: %d checks, %d failed, %.1f s\n", added, checks, failed, now() - start);
    /* the plain closing line test harnesses read */
    printf("checks: %d passed, %d failed\n", checks - failed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
