/* Real FFT of one windowed frame: n real samples -> n/2+1 complex bins, n a power of two >= 32.
 *
 * Method (textbook, written here from the formulas):
 *   1. z[j] = w[2j] x[2j] + i w[2j+1] x[2j+1], j < m = n/2   (window and de-interleave folded into the
 *      loads of the first FFT pass, so the windowed frame is never stored)
 *   2. Z = complex FFT_m(z): Stockham autosort, radix-4 passes (a radix-2 pass last when log2 m is odd),
 *      split re/im arrays so every butterfly runs on 4 lanes.  The first pass (stride 1) works across
 *      butterflies and transposes 4x4 on store; later passes work across the contiguous stride.
 *   3. X[k] = E - i W^k O, X[m-k] = conj(E + i W^k O), with E = Z[k] + conj Z[m-k],
 *      O = Z[k] - conj Z[m-k], W = exp(-2 pi i / n); both halves come out of one pass over k < m/2.
 *      The usual factor 1/2 of E and O (and any normalisation) is baked into the window instead.
 * Autosort means no bit reversal, and the output is written interleaved straight into the caller's
 * spectrum row, so there is no copy-out step.
 */
#include "fft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fft_mixed.h"
#include "simd.h"
#include "split.h"

#define MAX_PASSES 24

typedef struct {
    int radix;       /* 4 or 2 */
    int n;           /* sub-transform length at this pass */
    int s;           /* stride (number of interleaved sub-transforms) */
    const float *tw; /* twiddle blocks, 24 floats each (see make_twiddles) */
} fft_pass;

struct armstft_plan {
    int n;      /* real frame length */
    int m;      /* complex FFT length n/2 */
    int npass;
    fft_pass pass[MAX_PASSES];
    float *tw;   /* storage for all pass twiddles */
    float *post; /* post[k] = cos, post[m/2 + k] = sin of -2 pi k / n, k < m/2 */
    mixed_plan *mixed; /* set instead of the above when n is not a power of two >= 32 */
};

const char *armstft_simd_name(void) { return ARMSTFT_SIMD_NAME; }

int armstft_plan_size(const armstft_plan *plan) { return plan->n; }

/* two ping-pong split buffers of m+4 complex values (the +1 holds Z[m] = Z[0] for the split step) */
size_t armstft_plan_scratch(const armstft_plan *plan) {
    return plan->mixed ? mixed_plan_scratch(plan->mixed) : 4 * ((size_t)plan->m + 4);
}

static int is_pow2(int n) { return n > 0 && (n & (n - 1)) == 0; }

/* Twiddles for a radix-4 pass of length n (m = n/4 butterflies, angle step 2 pi / n).
 * stride 1: one block per 4 butterflies p..p+3: w1r[4] w1i[4] w2r[4] w2i[4] w3r[4] w3i[4]
 * stride>1: one block per butterfly p, each value repeated over 4 lanes (broadcast ready). */
static float *make_twiddles(float *dst, int n, int s) {
    int m = n / 4;
    for (int p = 0; p < m; p++) {
        for (int r = 1; r <= 3; r++) {
            double a = -2.0 * M_PI * (double)(r * p) / (double)n;
            float c = (float)cos(a), si = (float)sin(a);
            if (s == 1) {
                float *blk = dst + (p / 4) * 24;
                blk[(r - 1) * 8 + (p % 4)] = c;
                blk[(r - 1) * 8 + 4 + (p % 4)] = si;
            } else {
                float *blk = dst + p * 24;
                for (int l = 0; l < 4; l++) {
                    blk[(r - 1) * 8 + l] = c;
                    blk[(r - 1) * 8 + 4 + l] = si;
                }
            }
        }
    }
    return dst + (size_t)m * 24;
}

armstft_plan *armstft_plan_new(int n) {
    if (n <= 0 || n > (1 << 24)) return NULL;
    if (!is_pow2(n) || n < 32) {
        mixed_plan *mx = mixed_plan_new(n);
        if (!mx) return NULL;
        armstft_plan *pl = calloc(1, sizeof(*pl));
        if (!pl) {
            mixed_plan_free(mx);
            return NULL;
        }
        pl->n = n;
        pl->m = n / 2;
        pl->mixed = mx;
        return pl;
    }
    armstft_plan *pl = calloc(1, sizeof(*pl));
    if (!pl) return NULL;
    pl->n = n;
    pl->m = n / 2;
    int m = pl->m;
    pl->tw = malloc(sizeof(float) * 24 * (size_t)m);
    pl->post = malloc(sizeof(float) * (size_t)m);
    if (!pl->tw || !pl->post) {
        armstft_plan_free(pl);
        return NULL;
    }
    float *tw = pl->tw;
    int len = m, s = 1;
    while (len >= 4) {
        fft_pass *ps = &pl->pass[pl->npass++];
        ps->radix = 4;
        ps->n = len;
        ps->s = s;
        ps->tw = tw;
        tw = make_twiddles(tw, len, s);
        len /= 4;
        s *= 4;
    }
    if (len == 2) {
        fft_pass *ps = &pl->pass[pl->npass++];
        ps->radix = 2;
        ps->n = 2;
        ps->s = s;
        ps->tw = NULL;
    }
    for (int k = 0; k < m / 2; k++) {
        double a = -2.0 * M_PI * (double)k / (double)n;
        pl->post[k] = (float)cos(a);
        pl->post[m / 2 + k] = (float)sin(a);
    }
    return pl;
}

void armstft_plan_free(armstft_plan *plan) {
    if (!plan) return;
    mixed_plan_free(plan->mixed);
    free(plan->tw);
    free(plan->post);
    free(plan);
}

/* radix-4 butterfly core on 4 lanes: in a,b,c,d -> out y0..y3 before twiddles */
#define BFLY4(ar, ai, br, bi, cr, ci, dr, di)                                 \
    v4f t0r = v_add(ar, cr), t0i = v_add(ai, ci);                             \
    v4f t1r = v_sub(ar, cr), t1i = v_sub(ai, ci);                             \
    v4f t2r = v_add(br, dr), t2i = v_add(bi, di);                             \
    v4f t3r = v_sub(bi, di), t3i = v_sub(dr, br); /* -i (b - d) */            \
    v4f y0r = v_add(t0r, t2r), y0i = v_add(t0i, t2i);                         \
    v4f y1r = v_add(t1r, t3r), y1i = v_add(t1i, t3i);                         \
    v4f y2r = v_sub(t0r, t2r), y2i = v_sub(t0i, t2i);                         \
    v4f y3r = v_sub(t1r, t3r), y3i = v_sub(t1i, t3i)

#define TWIDDLE3(tw)                                                          \
    v_cmul(y1r, y1i, v_load((tw) + 0), v_load((tw) + 4), &y1r, &y1i);         \
    v_cmul(y2r, y2i, v_load((tw) + 8), v_load((tw) + 12), &y2r, &y2i);        \
    v_cmul(y3r, y3i, v_load((tw) + 16), v_load((tw) + 20), &y3r, &y3i)

/* first pass, stride 1, fused with step 1: lanes are 4 consecutive butterflies p..p+3, inputs read
 * straight from the frame (even samples -> re, odd -> im) and windowed on the way in */
#define LOAD_WIN(j, r, i)                                          \
    v4f r, i;                                                      \
    v_load_deint(frame + 2 * (j), &r, &i);                         \
    r = v_mul(r, v_load(w_even + (j)));                            \
    i = v_mul(i, v_load(w_odd + (j)))

static void pass4_first(int n, const float *restrict tw, const float *restrict frame,
                        const float *restrict w_even, const float *restrict w_odd, float *restrict yr,
                        float *restrict yi) {
    int m = n / 4;
    for (int p = 0; p < m; p += 4, tw += 24) {
        LOAD_WIN(p, ar, ai);
        LOAD_WIN(p + m, br, bi);
        LOAD_WIN(p + 2 * m, cr, ci);
        LOAD_WIN(p + 3 * m, dr, di);
        BFLY4(ar, ai, br, bi, cr, ci, dr, di);
        TWIDDLE3(tw);
        v_store_tr4(yr + 4 * p, y0r, y1r, y2r, y3r);
        v_store_tr4(yi + 4 * p, y0i, y1i, y2i, y3i);
    }
}

/* later passes, stride s >= 4: lanes are 4 consecutive q of one butterfly p */
#define PASS4_Q_LOOP(TW_STEP)                                                       \
    for (int q = 0; q < s; q += 4) {                                                \
        v4f ar = v_load(xr + ia + q), ai = v_load(xi + ia + q);                     \
        v4f br = v_load(xr + ib + q), bi = v_load(xi + ib + q);                     \
        v4f cr = v_load(xr + ic + q), ci = v_load(xi + ic + q);                     \
        v4f dr = v_load(xr + id + q), di = v_load(xi + id + q);                     \
        BFLY4(ar, ai, br, bi, cr, ci, dr, di);                                      \
        TW_STEP;                                                                    \
        v_store(yr + o0 + q, y0r);                                                  \
        v_store(yi + o0 + q, y0i);                                                  \
        v_store(yr + o1 + q, y1r);                                                  \
        v_store(yi + o1 + q, y1i);                                                  \
        v_store(yr + o2 + q, y2r);                                                  \
        v_store(yi + o2 + q, y2i);                                                  \
        v_store(yr + o3 + q, y3r);                                                  \
        v_store(yi + o3 + q, y3i);                                                  \
    }

static void pass4_s(int n, int s, const float *restrict tw, const float *restrict xr,
                    const float *restrict xi, float *restrict yr, float *restrict yi) {
    int m = n / 4;
    for (int p = 0; p < m; p++, tw += 24) {
        const int ia = s * p, ib = s * (p + m), ic = s * (p + 2 * m), id = s * (p + 3 * m);
        const int o0 = s * 4 * p, o1 = o0 + s, o2 = o1 + s, o3 = o2 + s;
        if (p == 0) {
            PASS4_Q_LOOP((void)0)
        } else {
            /* twiddles of butterfly p, loaded once for all q */
            const v4f w1r = v_load(tw), w1i = v_load(tw + 4), w2r = v_load(tw + 8), w2i = v_load(tw + 12);
            const v4f w3r = v_load(tw + 16), w3i = v_load(tw + 20);
            PASS4_Q_LOOP(v_cmul(y1r, y1i, w1r, w1i, &y1r, &y1i); v_cmul(y2r, y2i, w2r, w2i, &y2r, &y2i);
                         v_cmul(y3r, y3i, w3r, w3i, &y3r, &y3i))
        }
    }
}

/* last pass when log2 m is odd: length-2 transforms at stride s, no twiddles */
static void pass2_last(int s, const float *restrict xr, const float *restrict xi, float *restrict yr,
                       float *restrict yi) {
    for (int q = 0; q < s; q += 4) {
        v4f ar = v_load(xr + q), ai = v_load(xi + q);
        v4f br = v_load(xr + q + s), bi = v_load(xi + q + s);
        v_store(yr + q, v_add(ar, br));
        v_store(yi + q, v_add(ai, bi));
        v_store(yr + q + s, v_sub(ar, br));
        v_store(yi + q + s, v_sub(ai, bi));
    }
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
    if (pl->mixed) {
        mixed_rfft_frame(pl->mixed, frame, w_even, w_odd, out, scratch);
        return;
    }
    const int m = pl->m;
    const size_t stride = (size_t)m + 4;
    float *buf[2][2] = {{scratch, scratch + stride}, {scratch + 2 * stride, scratch + 3 * stride}};

    /* 1 + 2. windowed complex FFT of length m (the first pass reads the frame) */
    pass4_first(pl->pass[0].n, pl->pass[0].tw, frame, w_even, w_odd, buf[1][0], buf[1][1]);
    int cur = 1;
    for (int i = 1; i < pl->npass; i++) {
        const fft_pass *ps = &pl->pass[i];
        float *xr = buf[cur][0], *xi = buf[cur][1], *yr = buf[cur ^ 1][0], *yi = buf[cur ^ 1][1];
        if (ps->radix == 2)
            pass2_last(ps->s, xr, xi, yr, yi);
        else
            pass4_s(ps->n, ps->s, ps->tw, xr, xi, yr, yi);
        cur ^= 1;
    }
    float *zr = buf[cur][0], *zi = buf[cur][1];
    zr[m] = zr[0];
    zi[m] = zi[0];

    /* 3. split into the half spectrum, written interleaved (E, O without their 1/2: it is in the window) */
    const float *cw = pl->post, *sw = pl->post + m / 2;
    for (int k = 0; k < m / 2; k += 4) {
        split_block(zr, zi, cw, sw, out, m, k);
    }
    out[m] = 2.0f * zr[m / 2];
    out[m + 1] = -2.0f * zi[m / 2];
}
