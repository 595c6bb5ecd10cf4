/* gc_blas: OpenBLAS's kernels for the CPU it runs on.
 *
 * Debian 12's OpenBLAS (0.3.21, DYNAMIC_ARCH) picks its kernel set by CPU
 * model when the library loads. A model newer than the library is not in
 * its table (Intel's 5th-generation Xeon, family 6 model 207, on the
 * development machine), and it falls back to "Prescott": SSE3 kernels,
 * which took yolov3-tiny's forward GEMMs 203 ms against 55 ms with its
 * SkylakeX kernels on the same CPU. OPENBLAS_CORETYPE chooses the set, but
 * OpenBLAS reads it only when it loads, before main: hence a re-execution. */
#ifndef GC_BLAS_H
#define GC_BLAS_H

/* The kernel set to ask for when OpenBLAS picked `corename`: "SkylakeX" where
 * it fell back to Prescott on a CPU with AVX-512 (F, CD, BW, DQ, VL, usable
 * by the OS), "Haswell" where it did so on one with AVX2 and FMA; NULL
 * otherwise (its choice stands: a CPU it knows, or one that old). */
const char *gc_blas_better_core(const char *corename);

/* If OPENBLAS_CORETYPE is not set and gc_blas_better_core() names a set for
 * what OpenBLAS picked, sets OPENBLAS_CORETYPE to it and runs this program
 * again (/proc/self/exe, the same argv) so that OpenBLAS loads with it.
 * Returns when there is nothing to do or the exec failed (the variable is
 * then removed again). A set OPENBLAS_CORETYPE, even empty, is left alone. */
void gc_blas_pick_core(char **argv);

#endif
