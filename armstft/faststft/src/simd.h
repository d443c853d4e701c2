/* A 4-lane float vector abstraction: NEON on aarch64, SSE2 on x86-64, plain C elsewhere.
 *
 * Why: the FFT passes are written once against these few operations, so the same code is the fast path
 * on the board (NEON is part of the aarch64 baseline) and on the x86 host (SSE2 is part of the x86-64
 * baseline), and still builds correctly on anything else.  Only operations the engine needs are here.
 */
#ifndef ARMSTFT_SIMD_H
#define ARMSTFT_SIMD_H

#if defined(__aarch64__) && !defined(ARMSTFT_NO_SIMD)
#include <arm_neon.h>
#define ARMSTFT_SIMD_NAME "neon"
typedef float32x4_t v4f;
static inline v4f v_load(const float *p) { return vld1q_f32(p); }
static inline void v_store(float *p, v4f a) { vst1q_f32(p, a); }
static inline v4f v_set1(float x) { return vdupq_n_f32(x); }
static inline float v_first(v4f a) { return vgetq_lane_f32(a, 0); }
static inline v4f v_add(v4f a, v4f b) { return vaddq_f32(a, b); }
static inline v4f v_sub(v4f a, v4f b) { return vsubq_f32(a, b); }
static inline v4f v_mul(v4f a, v4f b) { return vmulq_f32(a, b); }
/* a + b*c and a - b*c (fused on NEON) */
static inline v4f v_madd(v4f a, v4f b, v4f c) { return vfmaq_f32(a, b, c); }
static inline v4f v_msub(v4f a, v4f b, v4f c) { return vfmsq_f32(a, b, c); }
/* lanes reversed: [a3 a2 a1 a0] (one table lookup) */
static inline v4f v_rev(v4f a) {
    static const unsigned char idx[16] = {12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3};
    return vreinterpretq_f32_u8(vqtbl1q_u8(vreinterpretq_u8_f32(a), vld1q_u8(idx)));
}
/* two consecutive vectors p[0..3], p[4..7] in one instruction (ld1/st1 of a register pair: only base
 * addressing, so the compiler keeps one pointer per stream and folds its increment into the access) */
static inline void v_load2(const float *p, v4f *a, v4f *b) {
    float32x4x2_t t = vld1q_f32_x2(p);
    *a = t.val[0];
    *b = t.val[1];
}
static inline void v_store2(float *p, v4f a, v4f b) {
    float32x4x2_t t = {{a, b}};
    vst1q_f32_x2(p, t);
}
/* p[0..7] -> even lanes, odd lanes */
static inline void v_load_deint(const float *p, v4f *ev, v4f *od) {
    float32x4x2_t t = vld2q_f32(p);
    *ev = t.val[0];
    *od = t.val[1];
}
/* re/im lanes -> p[0..7] as interleaved complex */
static inline void v_store_int(float *p, v4f re, v4f im) {
    float32x4x2_t t = {{re, im}};
    vst2q_f32(p, t);
}
/* stores lane j of a,b,c,d to p[4j+0..3] (a 4x4 transpose on the way out) */
static inline void v_store_tr4(float *p, v4f a, v4f b, v4f c, v4f d) {
    float32x4x4_t t = {{a, b, c, d}};
    vst4q_f32(p, t);
}
/* the inverse: v[j] = lanes p[j], p[4 + j], p[8 + j], p[12 + j] */
static inline void v_load_tr(const float *p, v4f *v) {
    float32x4x4_t t = vld4q_f32(p);
    v[0] = t.val[0], v[1] = t.val[1], v[2] = t.val[2], v[3] = t.val[3];
}
static inline void v_store_tr(float *p, const v4f *v) { v_store_tr4(p, v[0], v[1], v[2], v[3]); }
/* Broadcast twiddle scalars: up to 20 held in five registers and used lane by lane (fmul by element), so a
 * radix-8 butterfly's seven twiddles cost one load and four registers.  V_TWF: floats stored per scalar. */
#define V_TWF 1
typedef struct {
    float32x4_t q[5];
} v_twset;
static inline v_twset v_tw_load(const float *p, int nscalars) {
    v_twset t;
    t.q[0] = nscalars > 0 ? vld1q_f32(p) : vdupq_n_f32(0.0f);
    if (nscalars > 4) t.q[1] = vld1q_f32(p + 4);
    if (nscalars > 8) t.q[2] = vld1q_f32(p + 8);
    if (nscalars > 12) t.q[3] = vld1q_f32(p + 12);
    if (nscalars > 16) t.q[4] = vld1q_f32(p + 16);
    return t;
}
/* (xr + i xi) *= twiddle number idx (a literal): re at scalar 2 idx, im at 2 idx + 1 */
#define V_TW_LR(idx) ((2 * (idx)) % 4)     /* lane of twiddle idx's real part */
#define V_TW_LI(idx) ((2 * (idx) + 1) % 4) /* and of its imaginary part */
#define V_TW_CMUL(ts, idx, xr, xi)                                                                  \
    do {                                                                                            \
        const float32x4_t tw_r_ = (ts).q[(2 * (idx)) / 4], tw_i_ = (ts).q[(2 * (idx) + 1) / 4];     \
        const v4f x_r_ = (xr);                                                                      \
        (xr) = vfmsq_laneq_f32(vmulq_laneq_f32(x_r_, tw_r_, V_TW_LR(idx)), (xi), tw_i_, V_TW_LI(idx)); \
        (xi) = vfmaq_laneq_f32(vmulq_laneq_f32(x_r_, tw_i_, V_TW_LI(idx)), (xi), tw_r_, V_TW_LR(idx)); \
    } while (0)

#elif (defined(__x86_64__) || defined(_M_X64) || defined(__SSE2__)) && !defined(ARMSTFT_NO_SIMD)
#include <emmintrin.h>
#define ARMSTFT_SIMD_NAME "sse2"
typedef __m128 v4f;
static inline v4f v_load(const float *p) { return _mm_loadu_ps(p); }
static inline void v_store(float *p, v4f a) { _mm_storeu_ps(p, a); }
static inline v4f v_set1(float x) { return _mm_set1_ps(x); }
static inline float v_first(v4f a) { return _mm_cvtss_f32(a); }
static inline v4f v_add(v4f a, v4f b) { return _mm_add_ps(a, b); }
static inline v4f v_sub(v4f a, v4f b) { return _mm_sub_ps(a, b); }
static inline v4f v_mul(v4f a, v4f b) { return _mm_mul_ps(a, b); }
#if defined(__FMA__)
#include <immintrin.h>
static inline v4f v_madd(v4f a, v4f b, v4f c) { return _mm_fmadd_ps(b, c, a); }
static inline v4f v_msub(v4f a, v4f b, v4f c) { return _mm_fnmadd_ps(b, c, a); }
#else
static inline v4f v_madd(v4f a, v4f b, v4f c) { return _mm_add_ps(a, _mm_mul_ps(b, c)); }
static inline v4f v_msub(v4f a, v4f b, v4f c) { return _mm_sub_ps(a, _mm_mul_ps(b, c)); }
#endif
static inline v4f v_rev(v4f a) { return _mm_shuffle_ps(a, a, _MM_SHUFFLE(0, 1, 2, 3)); }
static inline void v_load_deint(const float *p, v4f *ev, v4f *od) {
    __m128 lo = _mm_loadu_ps(p), hi = _mm_loadu_ps(p + 4);
    *ev = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    *od = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
}
static inline void v_store_int(float *p, v4f re, v4f im) {
    _mm_storeu_ps(p, _mm_unpacklo_ps(re, im));
    _mm_storeu_ps(p + 4, _mm_unpackhi_ps(re, im));
}
static inline void v_store_tr4(float *p, v4f a, v4f b, v4f c, v4f d) {
    _MM_TRANSPOSE4_PS(a, b, c, d);
    _mm_storeu_ps(p, a);
    _mm_storeu_ps(p + 4, b);
    _mm_storeu_ps(p + 8, c);
    _mm_storeu_ps(p + 12, d);
}
static inline void v_load_tr(const float *p, v4f *v) {
    __m128 a = _mm_loadu_ps(p), b = _mm_loadu_ps(p + 4), c = _mm_loadu_ps(p + 8), d = _mm_loadu_ps(p + 12);
    _MM_TRANSPOSE4_PS(a, b, c, d);
    v[0] = a, v[1] = b, v[2] = c, v[3] = d;
}
static inline void v_store_tr(float *p, const v4f *v) { v_store_tr4(p, v[0], v[1], v[2], v[3]); }
#define V_TWF 4 /* twiddle scalars stored broadcast: one aligned load each, a memory operand of mulps */

#else
#define ARMSTFT_SIMD_NAME "scalar"
typedef struct {
    float f[4];
} v4f;
static inline v4f v_load(const float *p) {
    v4f r = {{p[0], p[1], p[2], p[3]}};
    return r;
}
static inline void v_store(float *p, v4f a) {
    for (int i = 0; i < 4; i++) p[i] = a.f[i];
}
static inline v4f v_set1(float x) {
    v4f r = {{x, x, x, x}};
    return r;
}
static inline float v_first(v4f a) { return a.f[0]; }
#define ARMSTFT_V_BINOP(name, expr)                                \
    static inline v4f name(v4f a, v4f b) {                         \
        v4f r;                                                     \
        for (int i = 0; i < 4; i++) r.f[i] = a.f[i] expr b.f[i];   \
        return r;                                                  \
    }
ARMSTFT_V_BINOP(v_add, +)
ARMSTFT_V_BINOP(v_sub, -)
ARMSTFT_V_BINOP(v_mul, *)
static inline v4f v_madd(v4f a, v4f b, v4f c) { return v_add(a, v_mul(b, c)); }
static inline v4f v_msub(v4f a, v4f b, v4f c) { return v_sub(a, v_mul(b, c)); }
static inline v4f v_rev(v4f a) {
    v4f r = {{a.f[3], a.f[2], a.f[1], a.f[0]}};
    return r;
}
static inline void v_load_deint(const float *p, v4f *ev, v4f *od) {
    for (int i = 0; i < 4; i++) {
        ev->f[i] = p[2 * i];
        od->f[i] = p[2 * i + 1];
    }
}
static inline void v_store_int(float *p, v4f re, v4f im) {
    for (int i = 0; i < 4; i++) {
        p[2 * i] = re.f[i];
        p[2 * i + 1] = im.f[i];
    }
}
static inline void v_store_tr4(float *p, v4f a, v4f b, v4f c, v4f d) {
    for (int j = 0; j < 4; j++) {
        p[4 * j + 0] = a.f[j];
        p[4 * j + 1] = b.f[j];
        p[4 * j + 2] = c.f[j];
        p[4 * j + 3] = d.f[j];
    }
}
static inline void v_load_tr(const float *p, v4f *v) {
    for (int j = 0; j < 4; j++)
        for (int l = 0; l < 4; l++) v[j].f[l] = p[4 * l + j];
}
static inline void v_store_tr(float *p, const v4f *v) { v_store_tr4(p, v[0], v[1], v[2], v[3]); }
#define V_TWF 4
#endif

#if !defined(__aarch64__) || defined(ARMSTFT_NO_SIMD)
static inline void v_load2(const float *p, v4f *a, v4f *b) {
    *a = v_load(p);
    *b = v_load(p + 4);
}
static inline void v_store2(float *p, v4f a, v4f b) {
    v_store(p, a);
    v_store(p + 4, b);
}
#endif

#if V_TWF > 1 /* twiddle scalars stored broadcast, V_TWF floats each: the "set" is just their address */
typedef const float *v_twset;
static inline v_twset v_tw_load(const float *p, int nscalars) {
    (void)nscalars;
    return p;
}
#define V_TW_CMUL(ts, idx, xr, xi) \
    v_cmul((xr), (xi), v_load((ts) + V_TWF * 2 * (idx)), v_load((ts) + V_TWF * (2 * (idx) + 1)), &(xr), &(xi))
#endif

/* (ar + i ai) * (br + i bi), lane-wise */
static inline void v_cmul(v4f ar, v4f ai, v4f br, v4f bi, v4f *rr, v4f *ri) {
    *rr = v_msub(v_mul(ar, br), ai, bi);
    *ri = v_madd(v_mul(ar, bi), ai, br);
}

#endif
