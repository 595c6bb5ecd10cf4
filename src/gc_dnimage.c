#include "gc_dnimage.h"

#include <stddef.h>

/* Darknet's src/image.c defines these (STB_IMAGE_IMPLEMENTATION, not static);
 * Darknet's headers do not declare them. */
unsigned char *stbi_load(char const *filename, int *x, int *y, int *comp, int req_comp);
void stbi_image_free(void *retval_from_stbi_load);
const char *stbi_failure_reason(void);

int gc_darknet_can_load(const char *path, int *w, int *h, const char **why)
{
    int c = 0;
    unsigned char *px = stbi_load(path, w, h, &c, 3);
    if (!px) {
        *why = stbi_failure_reason();
        if (!*why) *why = "unknown error";
        return 0;
    }
    stbi_image_free(px);
    return 1;
}
