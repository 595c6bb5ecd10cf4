/* gc_json: the few JSON pieces the reports need, written to a FILE (the
 * reports build their text in an open_memstream and write it atomically
 * with gc_image_write_file, so no half-written report is ever left). */
#ifndef GC_JSON_H
#define GC_JSON_H

#include <stdio.h>

/* A quoted string with '"', '\\' and control characters escaped; NULL
 * writes "". Well-formed UTF-8 passes through; any other byte (a Latin-1
 * class name, say) is written as \u00XX, so the output is always valid
 * UTF-8 JSON. */
void gc_json_string(FILE *f, const char *s);
/* A finite number (%.6g), or null: JSON has no NaN or Inf. */
void gc_json_number(FILE *f, double v);
/* A finite number with `decimals` digits after the point (%.*f), or null. */
void gc_json_fixed(FILE *f, double v, int decimals);

#endif
