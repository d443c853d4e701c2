/* Plans and dispatch: which engine and which vector code runs a given frame size.
 *
 * The lane engine (engine_core.h) is compiled here once on the build's baseline vectors (simd.h: NEON on
 * aarch64, SSE2 on x86-64, plain C elsewhere) and, on x86-64, once more on 8-lane AVX2 + FMA inside a
 * target pragma, chosen at plan time when the CPU has both (__builtin_cpu_supports): one binary, no -mavx2.
 * Sizes the lane engine does not cover go to the mixed-radix engine (fft_mixed.c).
 *
 * Floating-point contraction is off for this file: the engine asks for fused multiply-adds where it wants
 * them (v_madd, v_msub); letting GNU C fuse the rest turns a product used twice into copies and negations.
 */
#pragma GCC optimize("fp-contract=off", "no-schedule-insns")
#include "fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fft_mixed.h"
#include "simd.h"

/* ---- the lane engine on the baseline vectors ---- */
#define V v4f
#define VW 4
#define ENG(name) name##_base
#define TWF V_TWF
#define TWSET v_twset
#define TW_LOAD v_tw_load
#define TW_CMUL V_TW_CMUL
#include "engine_core.h"
#undef V
#undef VW
#undef ENG
#undef TWF
#undef TWSET
#undef TW_LOAD
#undef TW_CMUL

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(ARMSTFT_NO_SIMD) && defined(__GNUC__)
#define ARMSTFT_HAVE_AVX2 1
/* ---- the lane engine on AVX2 + FMA, 8 lanes ---- */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "simd_avx2.h"
#define V v8f
#define VW 8
#define ENG(name) name##_avx2
#define TWF 8
#define TWSET const float *
#define TW_LOAD(p, nscalars) (p)
#define TW_CMUL(ts, idx, xr, xi) \
    v8_cmul((xr), (xi), v8_load((ts) + 16 * (idx)), v8_load((ts) + 8 * (2 * (idx) + 1)), &(xr), &(xi))
#define v_load v8_load
#define v_store v8_store
#define v_load2 v8_load2
#define v_store2 v8_store2
#define v_set1 v8_set1
#define v_first v8_first
#define v_add v8_add
#define v_sub v8_sub
#define v_mul v8_mul
#define v_madd v8_madd
#define v_msub v8_msub
#define v_rev v8_rev
#define v_load_deint v8_load_deint
#define v_store_int v8_store_int
#define v_load_tr v8_load_tr
#define v_store_tr v8_store_tr
#define v_cmul v8_cmul
#include "engine_core.h"
#undef v_load
#undef v_store
#undef v_load2
#undef v_store2
#undef v_set1
#undef v_first
#undef v_add
#undef v_sub
#undef v_mul
#undef v_madd
#undef v_msub
#undef v_rev
#undef v_load_deint
#undef v_store_int
#undef v_load_tr
#undef v_store_tr
#undef v_cmul
#pragma GCC pop_options

/* ARMSTFT_ISA=base (or sse2) keeps the AVX2 path off on a CPU that has it, so the whole suite can run on the
 * path an x86-64 without AVX2 takes (scripts/test.sh does). Read once per process; a racing first read
 * computes the same answer. */
static int avx2_allowed(void) {
    static int allowed = -1;
    if (allowed < 0) {
        const char *isa = getenv("ARMSTFT_ISA");
        allowed = !(isa && (strcmp(isa, "base") == 0 || strcmp(isa, "sse2") == 0));
    }
    return allowed;
}

/* libgcc's CPU model (set up before main) also checks that the OS saves the AVX registers */
static int cpu_has_avx2(void) {
    return avx2_allowed() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define ARMSTFT_HAVE_AVX2 0
static int cpu_has_avx2(void) { return 0; }
#endif

enum { KIND_MIXED, KIND_BASE, KIND_AVX2 };

struct armstft_plan {
    int n, kind;
    void *eng; /* plan_base / plan_avx2 / mixed_plan, by kind */
    size_t scratch;
};

const char *armstft_simd_name(void) { return cpu_has_avx2() ? "avx2" : ARMSTFT_SIMD_NAME; }

const char *armstft_plan_isa(const armstft_plan *plan) {
    switch (plan->kind) {
        case KIND_AVX2:
            return "avx2";
        case KIND_BASE:
            return ARMSTFT_SIMD_NAME;
        default:
            return ARMSTFT_SIMD_NAME "/mixed";
    }
}

int armstft_plan_size(const armstft_plan *plan) { return plan->n; }

size_t armstft_plan_scratch(const armstft_plan *plan) { return plan->scratch; }

armstft_plan *armstft_plan_new_isa(int n, int isa) {
    if (n <= 0 || n > (1 << 24) || (isa == ARMSTFT_ISA_AVX2 && !cpu_has_avx2())) return NULL;
    armstft_plan *pl = calloc(1, sizeof(*pl));
    if (!pl) return NULL;
    pl->n = n;
#if ARMSTFT_HAVE_AVX2
    if (isa != ARMSTFT_ISA_BASE && cpu_has_avx2()) {
        plan_avx2 *p = plan_new_avx2(n);
        if (p) {
            pl->kind = KIND_AVX2, pl->eng = p, pl->scratch = p->scratch;
            return pl;
        }
    }
#endif
    plan_base *p = plan_new_base(n);
    if (p) {
        pl->kind = KIND_BASE, pl->eng = p, pl->scratch = p->scratch;
        return pl;
    }
    mixed_plan *mx = mixed_plan_new(n);
    if (mx) {
        pl->kind = KIND_MIXED, pl->eng = mx, pl->scratch = mixed_plan_scratch(mx);
        return pl;
    }
    free(pl);
    return NULL;
}

armstft_plan *armstft_plan_new(int n) { return armstft_plan_new_isa(n, ARMSTFT_ISA_AUTO); }

void armstft_plan_free(armstft_plan *plan) {
    if (!plan) return;
    switch (plan->kind) {
#if ARMSTFT_HAVE_AVX2
        case KIND_AVX2:
            plan_free_avx2(plan->eng);
            break;
#endif
        case KIND_BASE:
            plan_free_base(plan->eng);
            break;
        default:
            mixed_plan_free(plan->eng);
    }
    free(plan);
}

void armstft_split_window(int n, const float *window, long long win_length, float scale, float *w_even,
                          float *w_odd) {
    long long left = (n - win_length) / 2;
    for (int j = 0; j < n; j++) {
        long long i = j - left;
        float w = 0.0f;
        if (i >= 0 && i < win_length) w = window ? window[i] : 1.0f;
        w *= 0.5f * scale;
        if (j & 1)
            w_odd[j / 2] = w;
        else
            w_even[j / 2] = w;
    }
}

void armstft_rfft_frame(const armstft_plan *pl, const float *frame, const float *w_even, const float *w_odd,
                        float *out, float *scratch) {
    switch (pl->kind) {
#if ARMSTFT_HAVE_AVX2
        case KIND_AVX2:
            rfft_avx2(pl->eng, frame, w_even, w_odd, out, scratch);
            return;
#endif
        case KIND_BASE:
            rfft_base(pl->eng, frame, w_even, w_odd, out, scratch);
            return;
        default:
            mixed_rfft_frame(pl->eng, frame, w_even, w_odd, out, scratch);
    }
}

void armstft_irfft_frame(const armstft_plan *pl, const float *spec, float scale, float *out, float *scratch) {
    switch (pl->kind) {
#if ARMSTFT_HAVE_AVX2
        case KIND_AVX2:
            irfft_avx2(pl->eng, spec, scale, out, scratch);
            return;
#endif
        case KIND_BASE:
            irfft_base(pl->eng, spec, scale, out, scratch);
            return;
        default:
            mixed_irfft_frame(pl->eng, spec, scale, out, scratch);
    }
}
