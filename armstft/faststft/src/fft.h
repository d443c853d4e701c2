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

/* A plan for a real frame of n samples, or NULL if n is not covered (caller falls back): powers of two
 * >= 32 take the radix-4 engine, other even n whose n/2 has no prime factor above 31 the mixed-radix one. */
armstft_plan *armstft_plan_new(int n);
void armstft_plan_free(armstft_plan *plan);
int armstft_plan_size(const armstft_plan *plan);
/* floats of scratch one armstft_rfft_frame call needs (one caller at a time per scratch buffer) */
size_t armstft_plan_scratch(const armstft_plan *plan);

/* The window as armstft_rfft_frame wants it: padded to n (centred, as torch.stft does), times scale/2
 * (the split step's 1/2 and any normalisation, folded in), de-interleaved: w_even[j] = window[2j].
 * window NULL = rectangular of win_length samples.  w_even and w_odd hold n/2 floats each. */
void armstft_split_window(int n, const float *window, long long win_length, float scale, float *w_even,
                          float *w_odd);

/* out[0 .. n/2] (interleaved complex) = scale * rfft(frame * window), the window prepared by
 * armstft_split_window. */
void armstft_rfft_frame(const armstft_plan *plan, const float *frame, const float *w_even, const float *w_odd,
                        float *out, float *scratch);

const char *armstft_simd_name(void);

#endif
