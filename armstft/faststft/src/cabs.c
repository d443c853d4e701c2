/* |z| of complex64 values, as glibc's hypotf computes it, bit for bit, on whole vectors.
 *
 * Why: torch's complex abs on aarch64 has no vector code (one cabsf call per element) and runs through a
 * complex-typed buffer that it then copies to the real result; torchaudio's Spectrogram/MelSpectrogram
 * (spec.abs().pow(power)) spends more instructions there than in the STFT.  glibc (2.35 on) computes
 * hypotf(x, y) for finite x, y as (float) sqrt((double) x * x + (double) y * y): each square is exact in
 * double (24-bit mantissas), the sum and the square root are rounded once each in double, then once to
 * float.  The same operations in the same order on vectors give the same bits; an infinite part gives
 * +inf (hypot's rule, even beside a NaN), any other NaN gives NaN.  On aarch64 four values per step in
 * NEON (de-interleaving load, widen, double multiply-add and sqrt, narrow); a block whose results hold an
 * inf or NaN (only from an inf or NaN part: finite parts cannot overflow in double) is redone value by
 * value with hypot's rule.  Elsewhere (the x86 host) the plain loop, which -O3 may vectorize.
 */
#include "stft.h"

#include <math.h>

#if defined(__aarch64__) && !defined(ARMSTFT_NO_SIMD)
#include <arm_neon.h>
#endif

/* One value with hypot's rule for an infinite part. */
static float cabs_one(float re, float im) {
    if (isinf(re) || isinf(im)) return INFINITY;
    return (float)sqrt((double)re * (double)re + (double)im * (double)im);
}

/* n values; returns the largest result, or NaN if any result is NaN (then the caller redoes the block). */
static float cabs_block(const float *z, float *out, int64_t n) {
    int64_t i = 0;
    float top = 0.0f;
#if defined(__aarch64__) && !defined(ARMSTFT_NO_SIMD)
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (; i + 4 <= n; i += 4) {
        const float32x4x2_t v = vld2q_f32(z + 2 * i); /* val[0] = re, val[1] = im */
        const float64x2_t rl = vcvt_f64_f32(vget_low_f32(v.val[0])), rh = vcvt_high_f64_f32(v.val[0]);
        const float64x2_t il = vcvt_f64_f32(vget_low_f32(v.val[1])), ih = vcvt_high_f64_f32(v.val[1]);
        const float64x2_t sl = vsqrtq_f64(vfmaq_f64(vmulq_f64(il, il), rl, rl));
        const float64x2_t sh = vsqrtq_f64(vfmaq_f64(vmulq_f64(ih, ih), rh, rh));
        const float32x4_t m = vcvt_high_f32_f64(vcvt_f32_f64(sl), sh);
        acc = vmaxq_f32(acc, m); /* FMAX: a NaN lane stays NaN */
        vst1q_f32(out + i, m);
    }
    top = vmaxvq_f32(acc);
#endif
    for (; i < n; i++) {
        out[i] = (float)sqrt((double)z[2 * i] * (double)z[2 * i] + (double)z[2 * i + 1] * (double)z[2 * i + 1]);
        top = (out[i] > top || isnan(out[i])) ? out[i] : top;
    }
    return top;
}

void armstft_cabs(const float *z, float *out, int64_t n) {
    const int64_t block = 1024;
    for (int64_t b = 0; b < n; b += block) {
        const int64_t m = n - b < block ? n - b : block;
        if (!(cabs_block(z + 2 * b, out + b, m) < INFINITY)) {
            for (int64_t i = 0; i < m; i++) out[b + i] = cabs_one(z[2 * (b + i)], z[2 * (b + i) + 1]);
        }
    }
}
