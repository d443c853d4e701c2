/* Real-input FFT plans for one windowed frame: our own radix-4/2 Stockham engine on 4-lane vectors.
 *
 * Why our own: the permissive engines that reach our machines either miss the sizes we need or cost more
 * than the FFTW anchor on aarch64 (see docs/fast-stft.md); a plan that knows it is fed one windowed real
 * frame can fold the windowing into the input step and the real-to-half-spectrum split into the output step.
 */
#ifndef ARMSTFT_FFT_H
#define ARMSTFT_FFT_H

#include <stddef.h>

typedef struct armstft_plan armstft_plan;

/* A plan for a real frame of n samples, or NULL if n is not covered (caller falls back). */
armstft_plan *armstft_plan_new(int n);
void armstft_plan_free(armstft_plan *plan);
int armstft_plan_size(const armstft_plan *plan);
/* floats of scratch one armstft_rfft_frame call needs (one caller at a time per scratch buffer) */
size_t armstft_plan_scratch(const armstft_plan *plan);

/* out[0 .. n/2] (interleaved complex) = scale * rfft(frame * window), the window given de-interleaved:
 * w_even[j] = window[2j], w_odd[j] = window[2j+1]. */
void armstft_rfft_frame(const armstft_plan *plan, const float *frame, const float *w_even, const float *w_odd,
                        float scale, float *out, float *scratch);

const char *armstft_simd_name(void);

#endif
