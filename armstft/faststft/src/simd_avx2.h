/* The 8-lane operations (AVX2 + FMA) engine_core.h needs, for the x86-64 runtime-dispatched path.
 *
 * Why separate from simd.h: the host build targets plain x86-64 (SSE2), so these functions are compiled
 * only inside fft.c's `#pragma GCC target("avx2,fma")` region and run only when the CPU reports both
 * features (__builtin_cpu_supports).  Same contracts as the 4-lane operations in simd.h, on 8 lanes.
 */
#ifndef ARMSTFT_SIMD_AVX2_H
#define ARMSTFT_SIMD_AVX2_H

#include <immintrin.h>

typedef __m256 v8f;
static inline v8f v8_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void v8_store(float *p, v8f a) { _mm256_storeu_ps(p, a); }
static inline v8f v8_set1(float x) { return _mm256_set1_ps(x); }
static inline float v8_first(v8f a) { return _mm256_cvtss_f32(a); }
static inline v8f v8_add(v8f a, v8f b) { return _mm256_add_ps(a, b); }
static inline v8f v8_sub(v8f a, v8f b) { return _mm256_sub_ps(a, b); }
static inline v8f v8_mul(v8f a, v8f b) { return _mm256_mul_ps(a, b); }
static inline v8f v8_madd(v8f a, v8f b, v8f c) { return _mm256_fmadd_ps(b, c, a); }
static inline v8f v8_msub(v8f a, v8f b, v8f c) { return _mm256_fnmadd_ps(b, c, a); }
static inline v8f v8_rev(v8f a) {
    return _mm256_permutevar8x32_ps(a, _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0));
}
static inline void v8_load2(const float *p, v8f *a, v8f *b) {
    *a = _mm256_loadu_ps(p);
    *b = _mm256_loadu_ps(p + 8);
}
static inline void v8_store2(float *p, v8f a, v8f b) {
    _mm256_storeu_ps(p, a);
    _mm256_storeu_ps(p + 8, b);
}
/* p[0..15] -> even lanes, odd lanes */
static inline void v8_load_deint(const float *p, v8f *ev, v8f *od) {
    const v8f lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    const v8f e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    const v8f o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    *ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
    *od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}
/* re/im lanes -> p[0..15] interleaved complex */
static inline void v8_store_int(float *p, v8f re, v8f im) {
    const v8f lo = _mm256_unpacklo_ps(re, im), hi = _mm256_unpackhi_ps(re, im);
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
}
static inline void v8_transpose(v8f *r) {
    const v8f t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const v8f t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const v8f t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const v8f t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
#define lo2 _MM_SHUFFLE(1, 0, 1, 0)
#define hi2 _MM_SHUFFLE(3, 2, 3, 2)
    const v8f u0 = _mm256_shuffle_ps(t0, t2, lo2), u1 = _mm256_shuffle_ps(t0, t2, hi2);
    const v8f u2 = _mm256_shuffle_ps(t1, t3, lo2), u3 = _mm256_shuffle_ps(t1, t3, hi2);
    const v8f u4 = _mm256_shuffle_ps(t4, t6, lo2), u5 = _mm256_shuffle_ps(t4, t6, hi2);
    const v8f u6 = _mm256_shuffle_ps(t5, t7, lo2), u7 = _mm256_shuffle_ps(t5, t7, hi2);
#undef lo2
#undef hi2
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20), r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20), r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20), r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20), r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
/* v[j] = lanes p[j], p[8 + j], ..., p[56 + j] */
static inline void v8_load_tr(const float *p, v8f *v) {
    for (int j = 0; j < 8; j++) v[j] = _mm256_loadu_ps(p + 8 * j);
    v8_transpose(v);
}
static inline void v8_store_tr(float *p, const v8f *v) {
    v8f t[8];
    for (int j = 0; j < 8; j++) t[j] = v[j];
    v8_transpose(t);
    for (int j = 0; j < 8; j++) _mm256_storeu_ps(p + 8 * j, t[j]);
}
static inline void v8_cmul(v8f ar, v8f ai, v8f br, v8f bi, v8f *rr, v8f *ri) {
    *rr = _mm256_fmsub_ps(ar, br, _mm256_mul_ps(ai, bi));
    *ri = _mm256_fmadd_ps(ar, bi, _mm256_mul_ps(ai, br));
}

#endif
