/* Mixed-radix real FFT for even frame sizes that are not powers of two (n_fft 400, 480, 640, ...).
 *
 * Why a second engine: speech front ends use n_fft 400 (25 ms at 16 kHz), which the radix-4 engine cannot
 * do; without this those calls would go back to torch.stft.  Same three steps as fft.c, but the complex
 * FFT of m = n/2 is a Stockham pass per factor of m (4, 2, 3, 5, and any other prime up to
 * ARMSTFT_MIXED_MAX_RADIX with a plain O(r^2) butterfly), four butterflies per vector.
 */
#ifndef ARMSTFT_FFT_MIXED_H
#define ARMSTFT_FFT_MIXED_H

#include <stddef.h>

#define ARMSTFT_MIXED_MAX_RADIX 31

typedef struct mixed_plan mixed_plan;

/* NULL when n is odd, too small, or m = n/2 has a prime factor above ARMSTFT_MIXED_MAX_RADIX */
mixed_plan *mixed_plan_new(int n);
void mixed_plan_free(mixed_plan *plan);
size_t mixed_plan_scratch(const mixed_plan *plan);
/* same contract as armstft_rfft_frame (window from armstft_split_window) */
void mixed_rfft_frame(const mixed_plan *plan, const float *frame, const float *w_even, const float *w_odd,
                      float *out, float *scratch);
/* same contract as armstft_irfft_frame */
void mixed_irfft_frame(const mixed_plan *plan, const float *spec, float scale, float *out, float *scratch);

#endif
