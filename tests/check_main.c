/* Runs every Check suite linked into the test binary, in fork mode so that a
 * crash fails one test, not the run. `check_gradcam SUITE...` runs only the
 * named suites. Darknet prints a layer table on stderr for every network it
 * parses; that goes to GC_TEST_LOG (default build/check_gradcam.log) unless
 * GC_TEST_VERBOSE is set. Check's own report is on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_tests.h"

int main(int argc, char **argv)
{
    SRunner *sr = srunner_create(NULL);
    int added = 0;
#define GC_ADD_SUITE(name)                                                        \
    if (suite_##name) {                                                           \
        int want = argc < 2;                                                      \
        for (int i = 1; i < argc; ++i) want |= strcmp(argv[i], #name) == 0;      \
        if (want) { srunner_add_suite(sr, suite_##name()); ++added; }             \
    }
    GC_SUITES(GC_ADD_SUITE)
#undef GC_ADD_SUITE
    if (!added) {
        srunner_free(sr);
        return 2;
    }
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
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
