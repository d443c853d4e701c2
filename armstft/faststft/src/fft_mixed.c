/* Mixed-radix Stockham real FFT (see fft_mixed.h).
 *
 * Pass with radix r over sub-transforms of length L (stride s, L/r butterflies per sub-transform):
 * butterfly b = q + s*p reads x[b + j*nb] (j < r, nb = s*L/r: consecutive b are consecutive in memory, so
 * four butterflies load as vectors whatever s is), does a length-r DFT, multiplies output j by
 * exp(-2 pi i j p / L) and writes y[q + s*(r*p + j)].  When s is a multiple of 4 the four butterflies
 * share p and the stores are vectors too; otherwise (the first pass or two) they are scattered lane by lane.
 */
#include "fft_mixed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "split.h"

#define MAX_PASSES 32
#define MAXR ARMSTFT_MIXED_MAX_RADIX

typedef struct {
    int radix, len, s;
    const float *tw;    /* per group of 4 butterflies, j = 1..r-1: re[4], im[4] */
    const float *roots; /* generic radix: cos, sin of -2 pi t / r, t < r */
} mpass;

struct mixed_plan {
    int n, m, npass;
    mpass pass[MAX_PASSES];
    float *mem;
    const float *post; /* cos[k], then sin[k] at + nk, of -2 pi k / n, k < nk */
    int nk;
};

static int factor(int m, int *radices) {
    int np = 0;
    while (m % 4 == 0 && np < MAX_PASSES) radices[np++] = 4, m /= 4;
    for (int r = 2; r <= MAXR && np < MAX_PASSES; r++)
        while (m % r == 0 && np < MAX_PASSES) radices[np++] = r, m /= r;
    return m == 1 ? np : -1;
}

mixed_plan *mixed_plan_new(int n) {
    if (n < 16 || n % 2 || n > (1 << 24)) return NULL;
    int m = n / 2, radices[MAX_PASSES];
    int np = factor(m, radices);
    if (np < 0) return NULL;
    mixed_plan *pl = calloc(1, sizeof(*pl));
    if (!pl) return NULL;
    pl->n = n;
    pl->m = m;
    pl->npass = np;
    pl->nk = m + 8; /* split twiddles for every k < m (the inverse needs them all) */
    /* sizes: twiddles <= sum over passes of (nb/4+1) groups * 8 (r-1) floats; roots 2r per pass */
    size_t need = 2 * (size_t)pl->nk;
    for (int i = 0, len = m; i < np; len /= radices[i], i++) {
        size_t nb = (size_t)m / radices[i];
        need += (nb / 4 + 1) * 8 * (size_t)(radices[i] - 1) + 2 * (size_t)radices[i];
    }
    pl->mem = malloc(sizeof(float) * need);
    if (!pl->mem) {
        free(pl);
        return NULL;
    }
    float *w = pl->mem;
    int len = m, s = 1;
    for (int i = 0; i < np; i++) {
        int r = radices[i], nb = m / r;
        mpass *ps = &pl->pass[i];
        ps->radix = r;
        ps->len = len;
        ps->s = s;
        ps->tw = w;
        for (int g = 0; g < (nb + 3) / 4; g++) {
            for (int j = 1; j < r; j++) {
                for (int l = 0; l < 4; l++) {
                    int b = 4 * g + l, p = b < nb ? b / s : 0;
                    double a = -2.0 * M_PI * (double)j * (double)p / (double)len;
                    w[(j - 1) * 8 + l] = (float)cos(a);
                    w[(j - 1) * 8 + 4 + l] = (float)sin(a);
                }
            }
            w += 8 * (r - 1);
        }
        ps->roots = w;
        for (int t = 0; t < r; t++) {
            w[t] = (float)cos(-2.0 * M_PI * t / r);
            w[r + t] = (float)sin(-2.0 * M_PI * t / r);
        }
        w += 2 * r;
        len /= r;
        s *= r;
    }
    pl->post = w;
    for (int k = 0; k < pl->nk; k++) {
        w[k] = (float)cos(-2.0 * M_PI * k / n);
        w[pl->nk + k] = (float)sin(-2.0 * M_PI * k / n);
    }
    return pl;
}

void mixed_plan_free(mixed_plan *plan) {
    if (!plan) return;
    free(plan->mem);
    free(plan);
}

size_t mixed_plan_scratch(const mixed_plan *plan) { return 4 * ((size_t)plan->m + 4); }

/* the butterflies (dft.h) on 4-lane vectors */
#define V v4f
#define ENG(name) name##_mx
#include "dft.h"

static ALWAYS_INLINE void run_pass_r(const mpass *ps, const float *restrict xr, const float *restrict xi,
                                     float *restrict yr, float *restrict yi, const int r) {
    const int s = ps->s, nb = (ps->len / r) * s;
    const float *tw = ps->tw;
    v4f ar[MAXR], ai[MAXR];
    for (int b = 0; b < nb; b += 4, tw += 8 * (r - 1)) {
        for (int j = 0; j < r; j++) {
            ar[j] = v_load(xr + b + j * nb);
            ai[j] = v_load(xi + b + j * nb);
        }
        dft_mx(r, ar, ai, ps->roots);
        for (int j = 1; j < r; j++)
            v_cmul(ar[j], ai[j], v_load(tw + (j - 1) * 8), v_load(tw + (j - 1) * 8 + 4), &ar[j], &ai[j]);
        if (r == 4 && s == 1 && nb - b >= 4) { /* first radix-4 pass: a 4x4 transpose on the way out */
            v_store_tr4(yr + 4 * b, ar[0], ar[1], ar[2], ar[3]);
            v_store_tr4(yi + 4 * b, ai[0], ai[1], ai[2], ai[3]);
        } else if (s % 4 == 0) {
            const int base = b % s + s * r * (b / s);
            for (int j = 0; j < r; j++) {
                v_store(yr + base + s * j, ar[j]);
                v_store(yi + base + s * j, ai[j]);
            }
        } else {
            int base[4], lanes = nb - b < 4 ? nb - b : 4;
            float tr[4], ti[4];
            for (int l = 0; l < lanes; l++) base[l] = (b + l) % s + s * r * ((b + l) / s);
            for (int j = 0; j < r; j++) {
                v_store(tr, ar[j]);
                v_store(ti, ai[j]);
                for (int l = 0; l < lanes; l++) {
                    yr[base[l] + s * j] = tr[l];
                    yi[base[l] + s * j] = ti[l];
                }
            }
        }
    }
}

/* one specialised copy per common radix */
static void run_pass(const mpass *ps, const float *restrict xr, const float *restrict xi, float *restrict yr,
                     float *restrict yi) {
    switch (ps->radix) {
        case 2:
            run_pass_r(ps, xr, xi, yr, yi, 2);
            break;
        case 3:
            run_pass_r(ps, xr, xi, yr, yi, 3);
            break;
        case 4:
            run_pass_r(ps, xr, xi, yr, yi, 4);
            break;
        case 5:
            run_pass_r(ps, xr, xi, yr, yi, 5);
            break;
        default:
            run_pass_r(ps, xr, xi, yr, yi, ps->radix);
    }
}

/* lanes past the last butterfly read up to 3 values beyond m: keep them defined; then the complex FFT of
 * length m from buffer 0; returns the buffer index holding the result */
static int complex_fft(const mixed_plan *pl, float *buf[2][2]) {
    const int m = pl->m;
    for (int b = 0; b < 2; b++)
        for (int t = m; t < m + 4; t++) buf[b][0][t] = buf[b][1][t] = 0.0f;
    int cur = 0;
    for (int i = 0; i < pl->npass; i++) {
        run_pass(&pl->pass[i], buf[cur][0], buf[cur][1], buf[cur ^ 1][0], buf[cur ^ 1][1]);
        cur ^= 1;
    }
    return cur;
}

void mixed_rfft_frame(const mixed_plan *pl, const float *frame, const float *w_even, const float *w_odd,
                      float *out, float *scratch) {
    const int m = pl->m;
    const size_t stride = (size_t)m + 4;
    float *buf[2][2] = {{scratch, scratch + stride}, {scratch + 2 * stride, scratch + 3 * stride}};

    /* 1. window + de-interleave (vector bulk, scalar tail: the frame may end right at m) */
    float *zr = buf[0][0], *zi = buf[0][1];
    int j = 0;
    for (; j + 4 <= m; j += 4) {
        v4f ev, od;
        v_load_deint(frame + 2 * j, &ev, &od);
        v_store(zr + j, v_mul(ev, v_load(w_even + j)));
        v_store(zi + j, v_mul(od, v_load(w_odd + j)));
    }
    for (; j < m; j++) {
        zr[j] = frame[2 * j] * w_even[j];
        zi[j] = frame[2 * j + 1] * w_odd[j];
    }

    /* 2. complex FFT of length m */
    const int cur = complex_fft(pl, buf);
    zr = buf[cur][0], zi = buf[cur][1];
    zr[m] = zr[0];
    zi[m] = zi[0];

    /* 3. split (split.h); blocks of 4 k up to m/2, each also writing X[m-k]: any k <= m is valid */
    const float *cw = pl->post, *sw = pl->post + pl->nk;
    for (int k = 0; k <= m / 2; k += 4) {
        split_block(zr, zi, cw, sw, out, m, k);
    }
}

/* swap(Z[k]) of the inverse split, Z[k] = E + i O, E = X[k] + conj X[m-k], O = (X[k] - conj X[m-k]) W^-k */
static inline void inv_split1(float xr, float xi, float yr, float yi, float c, float s, float *zr,
                              float *zi) {
    const float er = xr + yr, ei = xi - yi, dr = xr - yr, di = xi + yi;
    *zr = ei + (dr * c + di * s);
    *zi = er - (di * c - dr * s);
}

void mixed_irfft_frame(const mixed_plan *pl, const float *spec, float scale, float *out, float *scratch) {
    const int m = pl->m;
    const size_t stride = (size_t)m + 4;
    float *buf[2][2] = {{scratch, scratch + stride}, {scratch + 2 * stride, scratch + 3 * stride}};
    const float *cw = pl->post, *sw = pl->post + pl->nk;

    /* 1. inverse split into swap(Z) (the forward FFT of swapped data is the swapped inverse FFT) */
    float *zr = buf[0][0], *zi = buf[0][1];
    int k = 0;
    for (; k + 4 <= m; k += 4) {
        v4f xr, xi, yr, yi;
        v_load_deint(spec + 2 * k, &xr, &xi);
        v_load_deint(spec + 2 * (m - k - 3), &yr, &yi);
        yr = v_rev(yr), yi = v_rev(yi);
        const v4f er = v_add(xr, yr), ei = v_sub(xi, yi), dr = v_sub(xr, yr), di = v_add(xi, yi);
        const v4f c = v_load(cw + k), s = v_load(sw + k);
        v_store(zr + k, v_add(ei, v_madd(v_mul(dr, c), di, s)));
        v_store(zi + k, v_sub(er, v_msub(v_mul(di, c), dr, s)));
    }
    for (; k < m; k++)
        inv_split1(spec[2 * k], spec[2 * k + 1], spec[2 * (m - k)], spec[2 * (m - k) + 1], cw[k], sw[k], zr + k,
                   zi + k);
    inv_split1(spec[0], 0.0f, spec[2 * m], 0.0f, 1.0f, 0.0f, zr, zi); /* imaginary DC and Nyquist ignored */

    /* 2. complex FFT of length m, 3. swap back, scale, interleave */
    const int cur = complex_fft(pl, buf);
    zr = buf[cur][0], zi = buf[cur][1];
    const v4f sc = v_set1(scale);
    int j = 0;
    for (; j + 4 <= m; j += 4) v_store_int(out + 2 * j, v_mul(v_load(zi + j), sc), v_mul(v_load(zr + j), sc));
    for (; j < m; j++) out[2 * j] = zi[j] * scale, out[2 * j + 1] = zr[j] * scale;
}
