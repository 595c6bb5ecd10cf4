#include "gc_sheet.h"

#include <math.h>

void gc_sheet_gradient_rgb(const float *planar, int w, int h, unsigned char *rgb)
{
    size_t npx = (size_t)w * (size_t)h, n = 3 * npx;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; ++i) sum += planar[i];
    double mean = n ? sum / (double)n : 0;
    for (size_t i = 0; i < n; ++i) sq += (planar[i] - mean) * (planar[i] - mean);
    double sd = n ? sqrt(sq / (double)n) : 0;
    for (size_t p = 0; p < npx; ++p)
        for (int c = 0; c < 3; ++c) {
            double v = (planar[(size_t)c * npx + p] - mean) / (sd + 1e-5) * 0.1 + 0.5;
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            rgb[p * 3 + (size_t)c] = (unsigned char)(v * 255 + .5);
        }
}
