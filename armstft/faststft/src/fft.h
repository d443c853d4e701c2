/* Real-input FFT plans for one windowed frame, forward and inverse: our own engine on SIMD vectors.
 *
 * Why our own: the permissive engines that reach our machines either miss the sizes we need or cost more
 * instructions on aarch64 (the anchor counts and ours: bench/instructions/engine.py); a plan
 * that knows it is fed one windowed real frame can fold the windowing into its first pass and the
 * real-to-half-spectrum split into its last.  engine_core.h has the method; fft_mixed.c covers the sizes
 * it does not (n/2 not a multiple of 4 lanes, tiny n, prime factors 7..31).
 */
#ifndef ARMSTFT_FFT_H
#define ARMSTFT_FFT_H

#include <stddef.h>

/* 2: armstft_irfft_frame, armstft_plan_new_isa and armstft_plan_isa exist (1: forward only) */
#define ARMSTFT_FFT_API 2

typedef struct armstft_plan armstft_plan;

/* A plan for a real frame of n samples, or NULL if n is not covered (caller falls back): every even n
 * >= 16 whose n/2 has no prime factor above 31.  Uses the best vector code the CPU runs (AVX2 + FMA
 * when the x86 CPU has them, else the build's baseline: NEON, SSE2 or plain C). */
armstft_plan *armstft_plan_new(int n);

/* Which vector code a plan may use: AUTO = best available, BASE = the build's baseline only (NEON, SSE2 or
 * plain C), AVX2 = AVX2 + FMA where n suits it (NULL if the CPU lacks them).  For tests and benchmarks. */
enum { ARMSTFT_ISA_AUTO = 0, ARMSTFT_ISA_BASE = 1, ARMSTFT_ISA_AVX2 = 2 };
armstft_plan *armstft_plan_new_isa(int n, int isa);
/* what a plan runs: "neon", "sse2", "avx2" or "scalar", with "/mixed" appended for the fallback engine */
const char *armstft_plan_isa(const armstft_plan *plan);
void armstft_plan_free(armstft_plan *plan);
int armstft_plan_size(const armstft_plan *plan);
/* floats of scratch one armstft_rfft_frame or armstft_irfft_frame call needs (one caller at a time per
 * scratch buffer) */
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

/* Inverse: out[t] = scale * sum_{k<n} X[k] exp(+2 pi i k t / n), t < n, with X[k] = spec[k] for k <= n/2
 * and conj(spec[n-k]) above (Hermitian).  spec: n/2+1 interleaved complex bins, read only; the imaginary
 * parts of bins 0 and n/2 are ignored, as numpy.fft.irfft and torch's c2r do.  scale = 1/n gives
 * numpy.fft.irfft (norm="backward"), 1/sqrt(n) norm="ortho", 1 norm="forward" (the unnormalised c2r).
 * out holds n floats; scratch as for the forward transform. */
void armstft_irfft_frame(const armstft_plan *plan, const float *spec, float scale, float *out,
                         float *scratch);

/* the best vector code this process runs: "avx2", "neon", "sse2" or "scalar" */
const char *armstft_simd_name(void);

#endif
