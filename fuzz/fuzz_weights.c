/* The weights loader and what reads its values: the input is (a) checked as
 * a whole .weights file against a small detector cfg, and (b) spread over
 * the detector's parameters (repeated to the right size), so NaN, Inf and
 * garbage floats reach the forward pass, the box decoder, NMS and the cap. */
#include <stdlib.h>
#include <string.h>

#include "darknet.h"
#include "gc_detect.h"
#include "gc_fuzz.h"
#include "gc_model.h"

static network *net;
static const char *cfg = "tests/cfg/det_yolo2.cfg";
static size_t need;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    gc_err e;
    net = gc_model_load(cfg, NULL, &e);
    if (!net) abort(); /* run from the repository root */
    need = gc_model_weights_header_size(0, 2) + gc_model_weights_param_count(net) * sizeof(float);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_err e;
    const char *raw = gc_fuzz_file("raw.weights", data, size);
    if (gc_model_weights_check(net, cfg, raw, &e) == 0) load_weights(net, (char *)raw);
    if (size == 0) return 0;
    unsigned char *w = malloc(need);
    if (!w) abort();
    int hdr[3] = {0, 2, 0};
    memcpy(w, hdr, sizeof hdr);
    memset(w + sizeof hdr, 0, sizeof(size_t));
    for (size_t i = 20; i < need; ++i) w[i] = data[(i - 20) % size];
    const char *full = gc_fuzz_file("full.weights", w, need);
    free(w);
    if (gc_model_weights_check(net, cfg, full, &e)) abort(); /* the size is right by construction */
    load_weights(net, (char *)full);
    float x[32 * 32 * 3];
    for (int i = 0; i < net->inputs; ++i) x[i] = (float)(i % 5) / 5.0f;
    network_predict(net, x);
    gc_boxes b;
    if (gc_detect_decode(net, 640, 480, 0.01f, 0.5f, &b, &e) == 0) {
        gc_det *d = NULL;
        int n = 0;
        if (gc_detect_boxes_top(&b, 0.01f, 0.45f, 5, &d, &n, NULL, &e) == 0) {
            if (n > 5) abort(); /* -maxboxes 5 keeps at most 5 */
            for (int i = 0; i < n; ++i) {
                int l, t, r, bt;
                gc_detect_pixels(&d[i], 640, 480, &l, &t, &r, &bt);
                if (l < 0 || r > 639 || t < 0 || bt > 479) abort();
            }
            free(d);
        }
        gc_detect_boxes_free(&b);
    }
    return 0;
}
