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
    pl->nk = m / 2 + 8;
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

/* in-place length-r DFT of r complex vectors (forward, exp(-2 pi i jk / r)); inlined with a constant r so
 * the vectors stay in registers */
#define ALWAYS_INLINE inline __attribute__((always_inline))
static ALWAYS_INLINE void dft(int r, v4f *xr, v4f *xi, const float *roots) {
    switch (r) {
        case 2: {
            v4f ar = xr[0], ai = xi[0];
            xr[0] = v_add(ar, xr[1]), xi[0] = v_add(ai, xi[1]);
            xr[1] = v_sub(ar, xr[1]), xi[1] = v_sub(ai, xi[1]);
            return;
        }
        case 3: {
            const v4f h = v_set1(-0.5f), s1 = v_set1(0.86602540378443864676f);
            v4f tr = v_add(xr[1], xr[2]), ti = v_add(xi[1], xi[2]);
            v4f ur = v_mul(s1, v_sub(xr[1], xr[2])), ui = v_mul(s1, v_sub(xi[1], xi[2]));
            v4f mr = v_madd(xr[0], h, tr), mi = v_madd(xi[0], h, ti);
            xr[0] = v_add(xr[0], tr), xi[0] = v_add(xi[0], ti);
            xr[1] = v_add(mr, ui), xi[1] = v_sub(mi, ur);
            xr[2] = v_sub(mr, ui), xi[2] = v_add(mi, ur);
            return;
        }
        case 4: {
            v4f t0r = v_add(xr[0], xr[2]), t0i = v_add(xi[0], xi[2]);
            v4f t1r = v_sub(xr[0], xr[2]), t1i = v_sub(xi[0], xi[2]);
            v4f t2r = v_add(xr[1], xr[3]), t2i = v_add(xi[1], xi[3]);
            v4f t3r = v_sub(xi[1], xi[3]), t3i = v_sub(xr[3], xr[1]);
            xr[0] = v_add(t0r, t2r), xi[0] = v_add(t0i, t2i);
            xr[1] = v_add(t1r, t3r), xi[1] = v_add(t1i, t3i);
            xr[2] = v_sub(t0r, t2r), xi[2] = v_sub(t0i, t2i);
            xr[3] = v_sub(t1r, t3r), xi[3] = v_sub(t1i, t3i);
            return;
        }
        case 5: {
            const v4f c1 = v_set1(0.30901699437494742410f), c2 = v_set1(-0.80901699437494742410f);
            const v4f s1 = v_set1(0.95105651629515357212f), s2 = v_set1(0.58778525229247312917f);
            v4f t1r = v_add(xr[1], xr[4]), t1i = v_add(xi[1], xi[4]);
            v4f t2r = v_add(xr[2], xr[3]), t2i = v_add(xi[2], xi[3]);
            v4f t3r = v_sub(xr[1], xr[4]), t3i = v_sub(xi[1], xi[4]);
            v4f t4r = v_sub(xr[2], xr[3]), t4i = v_sub(xi[2], xi[3]);
            v4f a1r = v_madd(v_madd(xr[0], c1, t1r), c2, t2r), a1i = v_madd(v_madd(xi[0], c1, t1i), c2, t2i);
            v4f a2r = v_madd(v_madd(xr[0], c2, t1r), c1, t2r), a2i = v_madd(v_madd(xi[0], c2, t1i), c1, t2i);
            v4f b1r = v_madd(v_mul(s1, t3r), s2, t4r), b1i = v_madd(v_mul(s1, t3i), s2, t4i);
            v4f b2r = v_msub(v_mul(s2, t3r), s1, t4r), b2i = v_msub(v_mul(s2, t3i), s1, t4i);
            xr[0] = v_add(xr[0], v_add(t1r, t2r)), xi[0] = v_add(xi[0], v_add(t1i, t2i));
            xr[1] = v_add(a1r, b1i), xi[1] = v_sub(a1i, b1r); /* a1 - i b1 */
            xr[4] = v_sub(a1r, b1i), xi[4] = v_add(a1i, b1r); /* a1 + i b1 */
            xr[2] = v_add(a2r, b2i), xi[2] = v_sub(a2i, b2r);
            xr[3] = v_sub(a2r, b2i), xi[3] = v_add(a2i, b2r);
            return;
        }
        default: {
            v4f yr[MAXR], yi[MAXR];
            for (int k = 0; k < r; k++) {
                v4f accr = xr[0], acci = xi[0];
                for (int j = 1; j < r; j++) {
                    int t = (j * k) % r;
                    v4f c = v_set1(roots[t]), s = v_set1(roots[r + t]);
                    accr = v_msub(v_madd(accr, xr[j], c), xi[j], s);
                    acci = v_madd(v_madd(acci, xr[j], s), xi[j], c);
                }
                yr[k] = accr, yi[k] = acci;
            }
            for (int k = 0; k < r; k++) xr[k] = yr[k], xi[k] = yi[k];
            return;
        }
    }
}

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
        dft(r, ar, ai, ps->roots);
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
    /* lanes past the last butterfly read up to 3 values beyond m: keep them defined */
    for (int b = 0; b < 2; b++)
        for (int t = m; t < m + 4; t++) buf[b][0][t] = buf[b][1][t] = 0.0f;

    /* 2. complex FFT of length m */
    int cur = 0;
    for (int i = 0; i < pl->npass; i++) {
        run_pass(&pl->pass[i], buf[cur][0], buf[cur][1], buf[cur ^ 1][0], buf[cur ^ 1][1]);
        cur ^= 1;
    }
    zr = buf[cur][0], zi = buf[cur][1];
    zr[m] = zr[0];
    zi[m] = zi[0];

    /* 3. split (as in fft.c); blocks of 4 k up to m/2, each also writing X[m-k]: any k <= m is valid */
    const float *cw = pl->post, *sw = pl->post + pl->nk;
    for (int k = 0; k <= m / 2; k += 4) {
        split_block(zr, zi, cw, sw, out, m, k);
    }
}
