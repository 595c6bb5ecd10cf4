/* The text readers: image lists, label files, .names and .data files. The
 * first byte picks the reader, the rest is the file. */
#include <stdlib.h>
#include <string.h>

#include "gc_fuzz.h"
#include "gc_labels.h"
#include "gc_model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    gc_err e;
    const char *path = gc_fuzz_file("text", data + 1, size - 1);
    switch (data[0] % 4) {
    case 0: {
        int n = 0;
        char **l = gc_labels_list_load(path, &n, &e);
        for (int i = 0; i < n; ++i) {
            char lp[4096];
            gc_labels_path(l[i], lp, sizeof lp, &e);
        }
        gc_labels_list_free(l, n);
        break;
    }
    case 1: {
        gc_label *lab = NULL;
        int n = 0;
        if (gc_labels_load(path, 1 + data[0] / 4, &lab, &n, &e) == 0) free(lab);
        break;
    }
    case 2: {
        int n = 0;
        gc_model_names_free(gc_model_names_load(path, &n, &e), n);
        break;
    }
    default: {
        free(gc_model_data_value(path, "names", &e));
        free(gc_model_data_value(path, "labels", &e));
        break;
    }
    }
    return 0;
}
