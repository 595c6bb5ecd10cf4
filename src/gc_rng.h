/* gc_rng: the project's one pseudo-random generator, splitmix64 (Steele,
 * Lea and Flood 2014): a 64-bit state advanced by a constant and mixed,
 * reproducible everywhere for a seed. Everything random in the project draws
 * from it: the scenes, RISE's masks, the random baselines, gc_model_randomize's
 * weights (`gradcam init`, the randomisation cascade), the bench's operands
 * and the tests' data. */
#ifndef GC_RNG_H
#define GC_RNG_H

#include <stdint.h>

/* The next 64 random bits; advances *state. */
static inline uint64_t gc_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform float in [0, 1): the top 24 bits. */
static inline float gc_rng_unit(uint64_t *state)
{
    return (float)(gc_rng_next(state) >> 40) / 16777216.0f;
}

#endif
