/* The image loader: what gc_image_check() accepts, Darknet's own loader
 * (an older stb_image, which exits with status 0 on failure) must load, and
 * the letterbox to a small network input must work. A PNG that gc_pngread
 * reads (the fast path for plain PNGs) must pass the check and give the
 * pixels Darknet's loader gives, to the bit. */
#include <stdlib.h>

#include "darknet.h"
#include "gc_fuzz.h"
#include "gc_image.h"
#include "gc_pngread.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_err e;
    const char *path = gc_fuzz_file("image", data, size);
    int w, h, hw, hh;
    int header = gc_image_check_header(path, &hw, &hh, &e);
    /* A 64 KiB input can declare a 50-megapixel image that decodes in seconds
     * under the sanitizers, twice (our check, then Darknet's loader): the
     * harness keeps to 4 megapixels and spends its time on the decoders. */
    if (!header && (double)hw * hh > 4e6) return 0;
    int fw = 0, fh = 0;
    unsigned char *fast = header ? NULL : gc_pngread_plain(data, size, &fw, &fh);
    if (gc_image_check(path, &w, &h, &e)) {
        if (fast) __builtin_trap(); /* read by the fast path, refused by the checks */
        return 0;
    }
    if (header) __builtin_trap(); /* a decodable image must pass the header check */
    if (gc_image_fits_net(path, w, h, 20, 16, 3, &e)) {
        free(fast);
        return 0;
    }
    image im = load_image_color((char *)path, 0, 0);
    if (im.w != w || im.h != h) __builtin_trap();
    if (fast) {
        if (fw != w || fh != h) __builtin_trap();
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < w * h; ++i) {
                float v = (float)fast[3 * i + c] / 255.; /* as Darknet's loader scales a byte */
                if (im.data[c * w * h + i] != v) __builtin_trap();
            }
        free(fast);
    }
    image lb = letterbox_image(im, 20, 16);
    free_image(lb);
    free_image(im);
    return 0;
}
