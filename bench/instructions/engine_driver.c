/* Drives the FFT engine (armstft/faststft/src) alone, for bench/instructions/engine.py and the engine tests.
 *
 * Why a C driver: the raw transform costs a few thousand instructions, far below what a Python call adds,
 * so it is counted from C, the way the anchor engines were (ANCHORS in bench/instructions/engine.py).
 *
 *   engine_driver R OUT CASE...      CASE = N:f (forward rfft, hann window) or N:i (inverse, scale 1/N)
 *
 * For each case: three warm-up transforms, then mark, 1 transform, mark, R transforms, mark (marks are the
 * counting plugin's syscall 125 with BASE + i, see insn_count.c), so the host takes
 * ((m2 - m1) - (m1 - m0)) / (R - 1) per transform.  The inputs come from a fixed xorshift generator; inputs
 * and outputs are appended to OUT as raw float32 (forward: frame[N] window[N] spectrum[N+2]; inverse:
 * spectrum[N+2] signal[N]) so the host checks them against numpy float64.  Prints "N dir isa" per case.
 *
 * Built with -DENGINE_DRIVER_LIB it is a shared library instead (no main): the batch loops below are what
 * the host timing mode calls through ctypes, one call per batch so the binding cost does not count.
 * Against an older engine (ARMSTFT_FFT_API < 2: forward only) it still builds, for before/after counts.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fft.h"
#ifndef ARMSTFT_FFT_API
#define ARMSTFT_FFT_API 1
#endif

/* count frames of n samples each (consecutive) -> count spectra of n/2+1 bins (consecutive) */
void drv_rfft_batch(const armstft_plan *plan, const float *frames, int count, const float *w_even,
                    const float *w_odd, float *out, float *scratch) {
    const int n = armstft_plan_size(plan);
    for (int i = 0; i < count; i++)
        armstft_rfft_frame(plan, frames + (size_t)i * n, w_even, w_odd, out + (size_t)i * (n + 2), scratch);
}

#if ARMSTFT_FFT_API >= 2
void drv_irfft_batch(const armstft_plan *plan, const float *spec, int count, float scale, float *out,
                     float *scratch) {
    const int n = armstft_plan_size(plan);
    for (int i = 0; i < count; i++)
        armstft_irfft_frame(plan, spec + (size_t)i * (n + 2), scale, out + (size_t)i * n, scratch);
}
#else
#define armstft_irfft_frame(plan, spec, scale, out, scratch) abort()
#define armstft_plan_isa(plan) armstft_simd_name()
#endif

#ifndef ENGINE_DRIVER_LIB
#include <sys/syscall.h>
#include <unistd.h>

#define MARK_BASE 0x4d400000L /* insn_count.c's default base */

static void mark(long i) { syscall(125, MARK_BASE + i); }

static uint32_t rng_state = 2463534242u;
static float uniform(void) { /* xorshift32 -> [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (float)((double)rng_state / 2147483648.0 - 1.0);
}

static void *must(void *p) {
    if (!p) {
        fprintf(stderr, "engine_driver: out of memory\n");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: engine_driver R OUT N:f|N:i ...\n");
        return 2;
    }
    const int reps = atoi(argv[1]);
    FILE *out = fopen(argv[2], "wb");
    if (reps < 2 || !out) {
        fprintf(stderr, "engine_driver: expected R >= 2 and a writable OUT, got %s %s\n", argv[1], argv[2]);
        return 2;
    }
    long m = 0;
    for (int a = 3; a < argc; a++) {
        int n = 0;
        char dir = 0;
        if (sscanf(argv[a], "%d:%c", &n, &dir) != 2 || (dir != 'f' && dir != 'i')) {
            fprintf(stderr, "engine_driver: case %s: expected N:f or N:i\n", argv[a]);
            return 2;
        }
        if (dir == 'i' && ARMSTFT_FFT_API < 2) {
            fprintf(stderr, "engine_driver: case %s: this engine has no inverse transform\n", argv[a]);
            return 2;
        }
        armstft_plan *plan = armstft_plan_new(n);
        if (!plan) {
            fprintf(stderr, "engine_driver: case %s: no plan for n=%d\n", argv[a], n);
            return 2;
        }
        float *x = must(malloc(sizeof(float) * (size_t)(n + 2)));
        float *win = must(malloc(sizeof(float) * (size_t)n));
        float *we = must(malloc(sizeof(float) * (size_t)n));
        float *y = must(calloc((size_t)n + 2, sizeof(float)));
        float *scratch = must(malloc(sizeof(float) * armstft_plan_scratch(plan)));
        for (int i = 0; i < n + 2; i++) x[i] = uniform();
        for (int i = 0; i < n; i++) win[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / n));
        armstft_split_window(n, win, n, 1.0f, we, we + n / 2);
        if (dir == 'f') {
            for (int i = 0; i < 3; i++) armstft_rfft_frame(plan, x, we, we + n / 2, y, scratch);
            mark(m++);
            armstft_rfft_frame(plan, x, we, we + n / 2, y, scratch);
            mark(m++);
            for (int i = 0; i < reps; i++) armstft_rfft_frame(plan, x, we, we + n / 2, y, scratch);
            mark(m++);
            fwrite(x, sizeof(float), (size_t)n, out);
            fwrite(win, sizeof(float), (size_t)n, out);
            fwrite(y, sizeof(float), (size_t)n + 2, out);
        } else {
            const float scale = 1.0f / (float)n;
            for (int i = 0; i < 3; i++) armstft_irfft_frame(plan, x, scale, y, scratch);
            mark(m++);
            armstft_irfft_frame(plan, x, scale, y, scratch);
            mark(m++);
            for (int i = 0; i < reps; i++) armstft_irfft_frame(plan, x, scale, y, scratch);
            mark(m++);
            fwrite(x, sizeof(float), (size_t)n + 2, out);
            fwrite(y, sizeof(float), (size_t)n, out);
        }
        printf("%d %c %s\n", n, dir, armstft_plan_isa(plan));
        free(x), free(win), free(we), free(y), free(scratch);
        armstft_plan_free(plan);
    }
    return fclose(out) != 0;
}
#endif
