/* Natural log, square root and a 4-weight multiply-add of 4-float vectors, for the fused log-mel step
 * (stft.c).
 *
 * Why our own log: libm's logf is one call per value (~25 instructions on the board, 40 mels x every
 * frame); here four mel energies of four frames share one evaluation.  Method (textbook): x = m 2^e with
 * m in [sqrt(1/2), sqrt(2)), read from the float's bits; log m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + s^7/7
 * + ...) with s = (m - 1)/(m + 1), |s| <= 0.172, so the terms left out are below 3e-8 (half an ulp of
 * log m's typical size); then log x = e ln 2 + log m.  Valid for positive, normal, finite x: the
 * caller sends other values (0 when eps is 0, NaN) to libm's logf lane by lane (v_log_all).
 */
#ifndef ARMSTFT_VLOG_H
#define ARMSTFT_VLOG_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd.h"

#define VLOG_SQRT2 1.41421356237f
#define VLOG_LN2 0.693147180559945f

#if defined(__aarch64__) && !defined(ARMSTFT_NO_SIMD)
static inline v4f v_sqrt(v4f x) { return vsqrtq_f32(x); }
/* acc + p0 w[0] + p1 w[1] + p2 w[2] + p3 w[3]: four weights in one vector, used lane by lane */
static inline v4f v_madd4(v4f acc, v4f p0, v4f p1, v4f p2, v4f p3, v4f w) {
    acc = vfmaq_laneq_f32(acc, p0, w, 0);
    acc = vfmaq_laneq_f32(acc, p1, w, 1);
    acc = vfmaq_laneq_f32(acc, p2, w, 2);
    return vfmaq_laneq_f32(acc, p3, w, 3);
}
/* nonzero when every lane is positive, normal and finite */
static inline int v_log_ok(v4f x) {
    uint32x4_t ok = vandq_u32(vcgeq_f32(x, vdupq_n_f32(FLT_MIN)), vcleq_f32(x, vdupq_n_f32(FLT_MAX)));
    return vminvq_u32(ok) != 0;
}
/* Whether every vector of a block suits v_log, checked once for the block: a running lane-wise min and
 * max (NEON's fmin/fmax propagate NaN, so a NaN anywhere fails the final check). */
typedef struct {
    v4f lo, hi;
} v_range;
static inline v_range v_range_new(void) {
    v_range r = {vdupq_n_f32(FLT_MAX), vdupq_n_f32(FLT_MIN)};
    return r;
}
static inline void v_range_add(v_range *r, v4f x) {
    r->lo = vminq_f32(r->lo, x);
    r->hi = vmaxq_f32(r->hi, x);
}
static inline int v_range_ok(v_range r) { return v_log_ok(r.lo) && v_log_ok(r.hi); }
static inline v4f v_log(v4f x) {
    uint32x4_t bits = vreinterpretq_u32_f32(x);
    int32x4_t e = vsubq_s32(vreinterpretq_s32_u32(vshrq_n_u32(bits, 23)), vdupq_n_s32(127));
    float32x4_t m = vreinterpretq_f32_u32(vorrq_u32(vandq_u32(bits, vdupq_n_u32(0x007fffff)), vdupq_n_u32(0x3f800000)));
    uint32x4_t big = vcgtq_f32(m, vdupq_n_f32(VLOG_SQRT2));
    m = vbslq_f32(big, vmulq_n_f32(m, 0.5f), m);
    e = vsubq_s32(e, vreinterpretq_s32_u32(big)); /* big lanes are all ones = -1 */
    float32x4_t s = vdivq_f32(vsubq_f32(m, vdupq_n_f32(1.0f)), vaddq_f32(m, vdupq_n_f32(1.0f)));
    float32x4_t s2 = vmulq_f32(s, s);
    float32x4_t p = vfmaq_f32(vdupq_n_f32(1.0f / 5.0f), s2, vdupq_n_f32(1.0f / 7.0f));
    p = vfmaq_f32(vdupq_n_f32(1.0f / 3.0f), s2, p);
    float32x4_t two_s = vaddq_f32(s, s);
    float32x4_t logm = vfmaq_f32(two_s, vmulq_f32(two_s, s2), p);
    float32x4_t ef = vcvtq_f32_s32(e);
    return vfmaq_f32(logm, ef, vdupq_n_f32(VLOG_LN2));
}

#elif (defined(__x86_64__) || defined(_M_X64) || defined(__SSE2__)) && !defined(ARMSTFT_NO_SIMD)
static inline v4f v_sqrt(v4f x) { return _mm_sqrt_ps(x); }
static inline v4f v_madd4(v4f acc, v4f p0, v4f p1, v4f p2, v4f p3, v4f w) {
    acc = v_madd(acc, p0, _mm_shuffle_ps(w, w, _MM_SHUFFLE(0, 0, 0, 0)));
    acc = v_madd(acc, p1, _mm_shuffle_ps(w, w, _MM_SHUFFLE(1, 1, 1, 1)));
    acc = v_madd(acc, p2, _mm_shuffle_ps(w, w, _MM_SHUFFLE(2, 2, 2, 2)));
    return v_madd(acc, p3, _mm_shuffle_ps(w, w, _MM_SHUFFLE(3, 3, 3, 3)));
}
static inline int v_log_ok(v4f x) {
    __m128 ok = _mm_and_ps(_mm_cmpge_ps(x, _mm_set1_ps(FLT_MIN)), _mm_cmple_ps(x, _mm_set1_ps(FLT_MAX)));
    return _mm_movemask_ps(ok) == 0xf;
}
/* SSE's min/max drop NaN: the block check keeps the lanes' ok mask instead */
typedef struct {
    __m128 ok;
} v_range;
static inline v_range v_range_new(void) {
    v_range r = {_mm_castsi128_ps(_mm_set1_epi32(-1))};
    return r;
}
static inline void v_range_add(v_range *r, v4f x) {
    r->ok = _mm_and_ps(r->ok, _mm_and_ps(_mm_cmpge_ps(x, _mm_set1_ps(FLT_MIN)), _mm_cmple_ps(x, _mm_set1_ps(FLT_MAX))));
}
static inline int v_range_ok(v_range r) { return _mm_movemask_ps(r.ok) == 0xf; }
static inline v4f v_log(v4f x) {
    __m128i bits = _mm_castps_si128(x);
    __m128i e = _mm_sub_epi32(_mm_srli_epi32(bits, 23), _mm_set1_epi32(127));
    __m128 m = _mm_castsi128_ps(_mm_or_si128(_mm_and_si128(bits, _mm_set1_epi32(0x007fffff)), _mm_set1_epi32(0x3f800000)));
    __m128 big = _mm_cmpgt_ps(m, _mm_set1_ps(VLOG_SQRT2));
    m = _mm_or_ps(_mm_and_ps(big, _mm_mul_ps(m, _mm_set1_ps(0.5f))), _mm_andnot_ps(big, m));
    e = _mm_sub_epi32(e, _mm_castps_si128(big));
    __m128 one = _mm_set1_ps(1.0f);
    __m128 s = _mm_div_ps(_mm_sub_ps(m, one), _mm_add_ps(m, one));
    __m128 s2 = _mm_mul_ps(s, s);
    __m128 p = v_madd(_mm_set1_ps(1.0f / 5.0f), s2, _mm_set1_ps(1.0f / 7.0f));
    p = v_madd(_mm_set1_ps(1.0f / 3.0f), s2, p);
    __m128 two_s = _mm_add_ps(s, s);
    __m128 logm = v_madd(two_s, _mm_mul_ps(two_s, s2), p);
    __m128 ef = _mm_cvtepi32_ps(e);
    return v_madd(logm, ef, _mm_set1_ps(VLOG_LN2));
}

#else
static inline v4f v_sqrt(v4f x) {
    for (int i = 0; i < 4; i++) x.f[i] = sqrtf(x.f[i]);
    return x;
}
static inline v4f v_madd4(v4f acc, v4f p0, v4f p1, v4f p2, v4f p3, v4f w) {
    acc = v_madd(acc, p0, v_set1(w.f[0]));
    acc = v_madd(acc, p1, v_set1(w.f[1]));
    acc = v_madd(acc, p2, v_set1(w.f[2]));
    return v_madd(acc, p3, v_set1(w.f[3]));
}
static inline int v_log_ok(v4f x) {
    (void)x;
    return 0; /* the plain build takes libm's logf for every lane */
}
typedef struct {
    int unused;
} v_range;
static inline v_range v_range_new(void) {
    v_range r = {0};
    return r;
}
static inline void v_range_add(v_range *r, v4f x) {
    (void)r, (void)x;
}
static inline int v_range_ok(v_range r) {
    (void)r;
    return 0;
}
static inline v4f v_log(v4f x) { return x; }
#endif

/* log of every lane: the vector method when all lanes suit it, else libm lane by lane */
static inline v4f v_log_all(v4f x) {
    if (v_log_ok(x)) return v_log(x);
    float lanes[4];
    v_store(lanes, x);
    for (int i = 0; i < 4; i++) lanes[i] = logf(lanes[i]);
    return v_load(lanes);
}

#endif
