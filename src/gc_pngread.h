/* gc_pngread: a fast reader for the PNGs every decoder reads alike, with
 * zlib's inflate.
 *
 * Why: stb_image's inflate decodes a symbol at a time and copies matches a
 * byte at a time. In a -list run over the demo scenes (128x128 PNGs) it was
 * 8% of the run's CPU with every output written, on the thread that decodes
 * ahead; a 384x446 overlay took it 4.8 ms against zlib's 0.9 ms.
 *
 * Which files: 8 bits per sample; grey, grey and alpha, RGB or RGBA; not
 * interlaced; chunks IHDR (first), IDAT, IEND and ancillary ones other than
 * tRNS. For those, inflate and the five filters are defined exactly, and
 * stb_image 2.27 (which gc_image checks every image with) gives these bytes
 * too, as three channels: grey repeated, alpha dropped. Anything else, and
 * anything zlib refuses that stb might take (a wrong Adler-32, which stb
 * does not check; an incomplete Huffman code), and a stream that inflates
 * to more than 1 MiB past the image (stb refuses one past 2^31 bytes), is
 * left to stb_image: NULL here, so that its result and its error message
 * stay what they were. */
#ifndef GC_PNGREAD_H
#define GC_PNGREAD_H

#include <stddef.h>

/* The n bytes of a PNG file as w x h RGB pixels (malloc'ed, 3 bytes a
 * pixel, rows top-down), or NULL when this reader leaves the file to
 * stb_image (see above) or is out of memory. */
unsigned char *gc_pngread_plain(const unsigned char *png, size_t n, int *w, int *h);

#endif
