/* One Check suite per module; check_main.c runs every suite that is linked in. */
#ifndef GC_TESTS_H
#define GC_TESTS_H

#include <check.h>

#define GC_SUITES(X) \
    X(common) X(backward) X(hooks) X(cam) X(render) X(image) X(model) X(gradcam) X(cfgs) X(cli) \
    X(detect) X(cfgcheck) X(hard) X(fault) X(bench_equiv) X(metrics) X(labels) X(eval) X(scenes) X(demo) \
    X(forward) X(guided) X(sheet) X(batch) X(readme) X(png) X(draw) X(stop)

#define GC_DECLARE_SUITE(name) Suite *suite_##name(void) __attribute__((weak));
GC_SUITES(GC_DECLARE_SUITE)
#undef GC_DECLARE_SUITE

#endif
