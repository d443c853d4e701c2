/* The real-FFT engine, written once for a vector of VW lanes (4: NEON, SSE2, plain C; 8: AVX2) and
 * instantiated by fft.c per instruction set.  The includer defines V, VW, ENG(name), the v_* operations of
 * simd.h and the twiddle set TWF / TWSET / TW_LOAD / TW_CMUL.
 *
 * Method (textbook decompositions, arranged so that no pass shuffles lanes except one transposed load):
 *   m = n/2 complex points z[j] = x[2j] + i x[2j+1], j = VW a + l, a < M = m/VW.
 *   1. Lane FFTs: every lane l holds its own subsequence z[VW a + l]; a Stockham FFT of length M over a
 *      (radices 8, 5, 4, 3, 2 and a Good-Thomas 10) runs on whole vectors, all lanes alike, so twiddles are
 *      broadcast scalars.
 *      The first pass reads the frame (de-interleaving load) and applies the window on the way in.
 *   2. One cross-lane radix-VW step: Z[k' + M t] = sum_l W_VW^(l t) W_m^(l k') F_l[k'], done VW columns
 *      k' at a time after a transposed load (ld4 on NEON).
 *   3. The real split X[k] = E - i W_n^k O, X[m-k] = conj(E + i W_n^k O), E = Z[k] + conj Z[m-k],
 *      O = Z[k] - conj Z[m-k] (their 1/2 is in the window), fused with step 2: column block
 *      k' = 1 + VW b + i is computed together with its mirror block M - 1 - VW b - i, whose outputs are the
 *      partners Z[m - k]; the last lane pass stores the mirror columns in reversed order ("hi" slots) so both
 *      blocks come out lane-aligned.  The mirror column's twiddles W_m^(l (M - k')) = W_VW^l conj(W_m^(l k'))
 *      are the block's own, conjugated, with W_VW^l turned into an index rotation of its DFT.  Column 0
 *      (bins 0, M, 2M, ... with DC and Nyquist) is done apart.
 *   The inverse runs the transposed network: inverse split fused with a radix-VW step over t, then the
 *   lane FFTs into the output; IDFT(Z) = swap(DFT(swap(Z))), swap(a + ib) = b + ia, so the same forward
 *   butterflies and twiddles serve, and the swaps cost nothing.
 */
#include "dft.h"

#define EC_MAXP 24
#define EC_FTW ((4 * VW - 2) * VW) /* final-step twiddle floats per column block */

#ifndef EC_KINDS
#define EC_KINDS
enum { EC_BUF, EC_FRAME, EC_SLOT, EC_OUT }; /* where a pass reads or writes */
#endif

typedef struct {
    int r, L, s;     /* radix, sub-transform length, stride (in vectors of VW complex) */
    const float *tw; /* per butterfly p >= 1: rec floats (W_L^(jp), j = 1..r-1, as re, im scalars) */
    int rec;
} ENG(pass);

typedef struct {
    int n, m, M, B, np, copy; /* copy: M odd, slots filled / read through a natural-order buffer */
    ENG(pass) fw[EC_MAXP], iv[EC_MAXP];
    const float *ftw;  /* per column block b: W_m^(l k') (l >= 1), then split twiddles W_n^(k' + M t) */
    const float *c0tw; /* column 0: cos, sin of W_n^(M t), t <= VW/2 */
    int nfix;
    const int *fix; /* (dst, src) float offsets in the slot region's re part; im at + D */
    size_t buf, slot, hi, D, scratch; /* scratch layout in floats */
    float *mem;
} ENG(plan);

/* where a pass reads and writes when it is not a plain buffer */
typedef struct {
    const float *frame, *we, *wo; /* EC_FRAME */
    float *lo, *hi;               /* EC_SLOT: re of slot index 0; im at + D */
    size_t D;
    int M;
    float *out; /* EC_OUT (re and im swapped back, scaled) */
    float scale;
} ENG(io);

/* The pointers of the streams a pass walks are made opaque to GCC on aarch64 (when set up, and in the inner
 * loops at every step): otherwise it rewrites them as one base plus per-stream offsets, which costs an add
 * before every structure load or store (ld2, st2 and ld4 take no register offset).  Kept because it
 * measured fewer instructions (bench/instructions/engine.py); elsewhere it is nothing. */
#ifndef EC_OPAQUE
#if defined(__aarch64__) && defined(__GNUC__)
#define EC_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define EC_OPAQUE(p) ((void)0)
#endif
#endif

/* one radix-r butterfly.  Input j: BUF re, im pair at in[j]; FRAME sample pairs at in[j], their window
 * at in2[j] (even samples) and win[j] (odd); SLOT re at in[j], im at in2[j].  Output j likewise through
 * out[j] (and out2[j] for SLOT im). */
static ALWAYS_INLINE void ENG(bfly)(const int r, const int SRC, const int DST, const float *const *in,
                                    const float *const *in2, float *const *out, float *const *out2,
                                    const ENG(io) *io, const float *const *win, const int twon, TWSET ts) {
    V xr[10], xi[10];
#pragma GCC unroll 10
    for (int j = 0; j < r; j++) {
        if (SRC == EC_BUF) {
            xr[j] = v_load(in[j]), xi[j] = v_load(in[j] + VW);
        } else if (SRC == EC_FRAME) {
            v_load_deint(in[j], &xr[j], &xi[j]);
            xr[j] = v_mul(xr[j], v_load(in2[j])), xi[j] = v_mul(xi[j], v_load(win[j]));
        } else {
            xr[j] = v_load(in[j]), xi[j] = v_load(in2[j]);
        }
    }
    ENG(dft)(r, xr, xi, NULL);
    if (twon) {
        if (r > 1) TW_CMUL(ts, 0, xr[1], xi[1]);
        if (r > 2) TW_CMUL(ts, 1, xr[2], xi[2]);
        if (r > 3) TW_CMUL(ts, 2, xr[3], xi[3]);
        if (r > 4) TW_CMUL(ts, 3, xr[4], xi[4]);
        if (r > 5) TW_CMUL(ts, 4, xr[5], xi[5]);
        if (r > 6) TW_CMUL(ts, 5, xr[6], xi[6]);
        if (r > 7) TW_CMUL(ts, 6, xr[7], xi[7]);
        if (r > 8) TW_CMUL(ts, 7, xr[8], xi[8]);
        if (r > 9) TW_CMUL(ts, 8, xr[9], xi[9]);
    }
#pragma GCC unroll 10
    for (int j = 0; j < r; j++) {
        if (DST == EC_BUF) {
            v_store(out[j], xr[j]), v_store(out[j] + VW, xi[j]);
        } else if (DST == EC_SLOT) {
            v_store(out[j], xr[j]), v_store(out2[j], xi[j]);
        } else { /* EC_OUT: swap back, scale */
            const V sc = v_set1(io->scale);
            v_store_int(out[j], v_mul(xi[j], sc), v_mul(xr[j], sc));
        }
    }
}

/* where vector (column) e of a pass's input or output lies, by kind (im: the im part for SLOT); for FRAME the
 * frame's sample pairs.  SLOT: the lo half of the columns ascending, the hi (mirror) half descending. */
static ALWAYS_INLINE float *ENG(at)(const int KIND, const int half, const int im, const float *buf,
                                   const ENG(io) *io, int e) {
    switch (KIND) {
        case EC_BUF:
            return (float *)buf + 2 * VW * e;
        case EC_FRAME:
            return (float *)io->frame + 2 * VW * e;
        case EC_SLOT:
            return (half ? io->hi + VW * (io->M - 1 - e) : io->lo + VW * (e - 1)) + (im ? io->D : 0);
        default:
            return io->out + 2 * VW * e;
    }
}

/* advance of a pointer from ENG(at) when e grows by one */
static ALWAYS_INLINE int ENG(step)(const int KIND, const int half) {
    return KIND == EC_SLOT ? (half ? -VW : VW) : 2 * VW;
}

/* the butterflies of one p, q = 0 .. s-1, pointers advancing by one vector per q */
static ALWAYS_INLINE void ENG(q_loop)(const int r, const int SRC, const int DST, const int s, const float **in,
                                      const float **in2, float **out, float **out2, const ENG(io) *io,
                                      const int twon, TWSET ts) {
    for (int q = 0; q < s; q++) {
        ENG(bfly)(r, SRC, DST, in, in2, out, out2, io, NULL, twon, ts);
#pragma GCC unroll 10
        for (int j = 0; j < r; j++) {
            in[j] += ENG(step)(SRC, 2 * j >= r), in2[j] += ENG(step)(SRC, 2 * j >= r);
            out[j] += ENG(step)(DST, 2 * j >= r), out2[j] += ENG(step)(DST, 2 * j >= r);
            EC_OPAQUE(in[j]);
            EC_OPAQUE(out[j]);
            if (DST == EC_SLOT) EC_OPAQUE(out2[j]);
        }
    }
}

/* radix-r DIF Stockham pass over vectors: input q + s (p + j L/r), output q + s (r p + j), outputs j >= 1
 * times W_L^(j p).  SRC/DST literal kinds fold the addressing at compile time.  First passes (s = 1, reading
 * the frame or slots) loop over p; the others over p, then q (the last pass has L = r: p = 0 only). */
static ALWAYS_INLINE void ENG(pass_run)(const ENG(pass) *ps, const int r, const int SRC, const int DST,
                                        const float *src, float *dst, const ENG(io) *io) {
    const ENG(io) lio = *io; /* a local copy: the stores below cannot alias it, so nothing is reloaded */
    const int s = SRC != EC_BUF ? 1 : ps->s, nb = DST != EC_BUF ? 1 : ps->L / r, rec = ps->rec;
    const float *in[10], *in2[10];
    float *out[10], *out2[10];
    const float *tw = ps->tw;
    TWSET ts0 = TW_LOAD(tw, 0);
    if (SRC != EC_BUF) { /* first pass: one butterfly per p, outputs r p + j */
        const float *win[10]; /* FRAME: in2 = even-sample window, win = odd-sample window */
#pragma GCC unroll 10
        for (int j = 0; j < r; j++) {
            in[j] = ENG(at)(SRC, 2 * j >= r, 0, src, &lio, j * nb);
            in2[j] = SRC == EC_FRAME ? lio.we + VW * j * nb : ENG(at)(SRC, 2 * j >= r, 1, src, &lio, j * nb);
            win[j] = lio.wo + VW * j * nb;
            EC_OPAQUE(in[j]);
            EC_OPAQUE(in2[j]);
            if (SRC == EC_FRAME) EC_OPAQUE(win[j]);
        }
        for (int p = 0; p < nb; p++) {
#pragma GCC unroll 10
            for (int j = 0; j < r; j++) {
                out[j] = ENG(at)(DST, 2 * j >= r, 0, dst, &lio, r * p + j);
                out2[j] = ENG(at)(DST, 2 * j >= r, 1, dst, &lio, r * p + j);
            }
            if (p == 0) {
                ENG(bfly)(r, SRC, DST, in, in2, out, out2, &lio, win, 0, ts0);
            } else {
                ENG(bfly)(r, SRC, DST, in, in2, out, out2, &lio, win, 1, TW_LOAD(tw, 2 * (r - 1)));
                tw += rec;
            }
#pragma GCC unroll 10
            for (int j = 0; j < r; j++) {
                in[j] += ENG(step)(SRC, 2 * j >= r);
                in2[j] += SRC == EC_FRAME ? VW : ENG(step)(SRC, 2 * j >= r);
                win[j] += VW;
            }
        }
        return;
    }
    for (int p = 0; p < nb; p++) {
#pragma GCC unroll 10
        for (int j = 0; j < r; j++) {
            in[j] = in2[j] = src + 2 * VW * (s * p + j * s * nb);
            out[j] = ENG(at)(DST, 2 * j >= r, 0, dst, &lio, s * r * p + j * s);
            out2[j] = ENG(at)(DST, 2 * j >= r, 1, dst, &lio, s * r * p + j * s);
            EC_OPAQUE(in[j]);
            EC_OPAQUE(out[j]);
            if (DST == EC_SLOT) EC_OPAQUE(out2[j]);
        }
        if (p == 0) {
            ENG(q_loop)(r, SRC, DST, s, in, in2, out, out2, &lio, 0, ts0);
        } else {
            ENG(q_loop)(r, SRC, DST, s, in, in2, out, out2, &lio, 1, TW_LOAD(tw, 2 * (r - 1)));
            tw += rec;
        }
    }
}

#define EC_PASS_FN(R, S, D)                                                                          \
    static void ENG(pass_##R##_##S##_##D)(const ENG(pass) *ps, const float *src, float *dst,         \
                                          const ENG(io) *io) {                                       \
        ENG(pass_run)(ps, R, S, D, src, dst, io);                                                    \
    }
#define EC_PASS_FNS(S, D)                                                                        \
    EC_PASS_FN(2, S, D) EC_PASS_FN(3, S, D) EC_PASS_FN(4, S, D) EC_PASS_FN(5, S, D) EC_PASS_FN(8, S, D) \
    EC_PASS_FN(10, S, D)
EC_PASS_FNS(EC_BUF, EC_BUF)
EC_PASS_FNS(EC_FRAME, EC_BUF)
EC_PASS_FNS(EC_FRAME, EC_SLOT)
EC_PASS_FNS(EC_BUF, EC_SLOT)
EC_PASS_FNS(EC_SLOT, EC_BUF)
EC_PASS_FNS(EC_SLOT, EC_OUT)
EC_PASS_FNS(EC_BUF, EC_OUT)

#define EC_DISPATCH(S, D)                                                 \
    switch (ps->r) {                                                      \
        case 2: ENG(pass_2_##S##_##D)(ps, src, dst, io); return;          \
        case 3: ENG(pass_3_##S##_##D)(ps, src, dst, io); return;          \
        case 4: ENG(pass_4_##S##_##D)(ps, src, dst, io); return;          \
        case 5: ENG(pass_5_##S##_##D)(ps, src, dst, io); return;          \
        case 8: ENG(pass_8_##S##_##D)(ps, src, dst, io); return;          \
        default: ENG(pass_10_##S##_##D)(ps, src, dst, io); return;        \
    }

static void ENG(run_pass)(const ENG(pass) *ps, int SRC, int DST, const float *src, float *dst,
                          const ENG(io) *io) {
    if (SRC == EC_BUF && DST == EC_BUF) EC_DISPATCH(EC_BUF, EC_BUF)
    if (SRC == EC_FRAME && DST == EC_BUF) EC_DISPATCH(EC_FRAME, EC_BUF)
    if (SRC == EC_FRAME && DST == EC_SLOT) EC_DISPATCH(EC_FRAME, EC_SLOT)
    if (SRC == EC_BUF && DST == EC_SLOT) EC_DISPATCH(EC_BUF, EC_SLOT)
    if (SRC == EC_SLOT && DST == EC_BUF) EC_DISPATCH(EC_SLOT, EC_BUF)
    if (SRC == EC_SLOT && DST == EC_OUT) EC_DISPATCH(EC_SLOT, EC_OUT)
    EC_DISPATCH(EC_BUF, EC_OUT)
}

/* ---- plan ---------------------------------------------------------------------------------------------- */

/* Radix order, from instruction counts (bench/instructions/engine.py): odd factors first, then powers of two
 * as a radix-8 pass followed by 8s and 4s with an 8 last where possible (the last pass has no twiddles and
 * radix 8 does the most per load there); a lone 2 joins a 5 as a radix-10 pass.  The forward order always
 * ends on an even radix when M is even, so the pass that writes the slots can split them in halves. */
static int ENG(twos)(int a, int *rad) {
    if (a <= 0) return 0;
    if (a <= 2) return rad[0] = 1 << a, 1;
    if (a == 4) return rad[0] = rad[1] = 4, 2;
    int np = 0;
    rad[np++] = 8;
    int b = a - 3, tail = 0;
    while (b >= 3 && b != 4) b -= 3, tail++;
    if (b == 1) rad[np++] = 2;
    if (b == 2) rad[np++] = 4;
    if (b == 4) rad[np++] = 4, rad[np++] = 4;
    while (tail--) rad[np++] = 8;
    return np;
}

static int ENG(factor)(int M, int *rad) {
    int np = 0, a = 0;
    while (M % 5 == 0) rad[np++] = 5, M /= 5;
    while (M % 3 == 0) rad[np++] = 3, M /= 3;
    while (M % 2 == 0) a++, M /= 2;
    if (M != 1 || np + a > EC_MAXP) return -1;
    if (a == 1 && np > 0 && rad[0] == 5) { /* 5 x 2 -> one radix-10 pass, last */
        for (int i = 0; i + 1 < np; i++) rad[i] = rad[i + 1];
        rad[np - 1] = 10;
        return np;
    }
    return np + ENG(twos)(a, rad + np);
}

static size_t ENG(round16)(size_t x) { return (x + 15) & ~(size_t)15; }

static int ENG(record)(int r) { return ((2 * (r - 1) + 3) & ~3) * TWF; }

/* floats of pass twiddles for radices in this order: butterflies p = 1 .. L/r - 1 of each pass */
static size_t ENG(twiddle_floats)(const int *rad, int np, int M) {
    size_t need = 0;
    for (int i = 0, L = M; i < np; L /= rad[i], i++) need += (size_t)(L / rad[i] - 1) * ENG(record)(rad[i]);
    return need;
}

/* pass list (L, s) for radices in the given order, twiddles written at *w */
static float *ENG(make_passes)(ENG(pass) *ps, const int *rad, int np, int M, float *w) {
    int L = M, s = 1;
    for (int i = 0; i < np; i++) {
        const int r = rad[i], nb = L / r, nsc = 2 * (r - 1), npad = ENG(record)(r) / TWF;
        ps[i].r = r, ps[i].L = L, ps[i].s = s, ps[i].tw = w, ps[i].rec = npad * TWF;
        for (int p = 1; p < nb; p++, w += ps[i].rec) {
            for (int c = 0; c < npad; c++) {
                const int j = c / 2 + 1;
                const double a = -2.0 * M_PI * (double)j * p / L;
                const float v = c >= nsc ? 0.0f : (float)(c % 2 ? sin(a) : cos(a));
                for (int l = 0; l < TWF; l++) w[c * TWF + l] = v;
            }
        }
        L /= r, s *= r;
    }
    return w;
}

static void ENG(plan_free)(ENG(plan) *pl) {
    if (!pl) return;
    free(pl->mem);
    free((void *)pl->fix);
    free(pl);
}

/* NULL when n is not covered: n/2 must split into VW lanes of M >= 2 VW points with prime factors <= 5 */
static ENG(plan) *ENG(plan_new)(int n) {
    if (n <= 0 || n % (2 * VW) || n > (1 << 24)) return NULL;
    const int m = n / 2, M = m / VW;
    int rad[EC_MAXP];
    const int np = M >= 2 * VW ? ENG(factor)(M, rad) : -1;
    if (np < 1 || np > EC_MAXP) return NULL;
    ENG(plan) *pl = calloc(1, sizeof(*pl));
    if (!pl) return NULL;
    pl->n = n, pl->m = m, pl->M = M, pl->np = np, pl->copy = M % 2;
    pl->B = (M - 1 + 2 * VW - 1) / (2 * VW);
    const int WB = VW * pl->B;
    /* the inverse reads the slots in its first pass: the forward order if that starts even, else reversed */
    int rev[EC_MAXP];
    for (int i = 0; i < np; i++) rev[i] = rad[0] % 2 == 0 ? rad[i] : rad[np - 1 - i];
    /* memory: pass twiddles (forward and inverse orders), final-step twiddles, column-0 twiddles */
    const size_t need = ENG(twiddle_floats)(rad, np, M) + ENG(twiddle_floats)(rev, np, M) +
                        (size_t)pl->B * EC_FTW + 2 * (VW / 2 + 1);
    pl->mem = malloc(sizeof(float) * need);
    if (!pl->mem) {
        ENG(plan_free)(pl);
        return NULL;
    }
    float *w = ENG(make_passes)(pl->fw, rad, np, M, pl->mem);
    w = ENG(make_passes)(pl->iv, rev, np, M, w);
    pl->ftw = w;
    for (int b = 0; b < pl->B; b++, w += EC_FTW) {
        for (int i = 0; i < VW; i++) {
            const int klo = 1 + VW * b + i;
            for (int l = 1; l < VW; l++) { /* W_m^(l k'); the mirror column M - k' uses W_VW^l conj(that) */
                const double a = -2.0 * M_PI * (double)l * klo / m;
                w[(2 * l - 2) * VW + i] = (float)cos(a), w[(2 * l - 1) * VW + i] = (float)sin(a);
            }
            for (int t = 0; t < VW; t++) { /* split twiddles W_n^k, k = k' + M t */
                const double a = -2.0 * M_PI * (double)(klo + M * t) / n;
                w[(2 * VW - 2 + 2 * t) * VW + i] = (float)cos(a);
                w[(2 * VW - 1 + 2 * t) * VW + i] = (float)sin(a);
            }
        }
    }
    pl->c0tw = w;
    for (int t = 0; t <= VW / 2; t++) {
        const double a = -2.0 * M_PI * (double)(M * t) / n;
        w[2 * t] = (float)cos(a), w[2 * t + 1] = (float)sin(a);
    }
    /* scratch: two ping-pong buffers of M vectors (re VW, im VW each), then the slot region:
     * re part = lo slots -1 .. WB-1, hi slots 0 .. WB-1 (VW floats each), im part D floats later */
    pl->buf = ENG(round16)((size_t)2 * VW * M);
    pl->slot = 2 * pl->buf;
    pl->hi = pl->slot + (size_t)VW * (WB + 1);
    pl->D = ENG(round16)((size_t)VW * (2 * WB + 1));
    pl->scratch = pl->slot + 2 * pl->D;
    if (!pl->copy) {
        /* slots the last forward pass does not write: lo k' in [M/2, WB] (from hi), hi k' in [M - WB, M/2) */
        int *fix = malloc(sizeof(int) * 2 * (size_t)(2 * WB + 2));
        if (!fix) {
            ENG(plan_free)(pl);
            return NULL;
        }
        const int lo0 = VW, hi0 = (int)(pl->hi - pl->slot);
        int nf = 0;
        for (int k = M / 2; k <= WB; k++, nf++) /* lo slot k - 1 from hi slot M - 1 - k */
            fix[2 * nf] = lo0 + VW * (k - 1), fix[2 * nf + 1] = hi0 + VW * (M - 1 - k);
        for (int k = M - WB; k < M / 2; k++, nf++) /* and the other way round */
            fix[2 * nf] = hi0 + VW * (M - 1 - k), fix[2 * nf + 1] = lo0 + VW * (k - 1);
        pl->nfix = nf, pl->fix = fix;
    }
    return pl;
}

/* ---- forward ------------------------------------------------------------------------------------------- */

/* (ar + i ai) * conj(br + i bi): the mirror column's twiddle W_m^(l (M - k')) = W_VW^l conj(W_m^(l k')) */
static ALWAYS_INLINE void ENG(cmulc)(V ar, V ai, V br, V bi, V *rr, V *ri) {
    *rr = v_madd(v_mul(ar, br), ai, bi);
    *ri = v_msub(v_mul(ai, br), ar, bi);
}

static void ENG(final_fwd)(const ENG(plan) *pl, const float *sl, float *out) {
    const int M = pl->M, m = pl->m, B = pl->B;
    const float *lo_re = sl + VW, *lo_im = lo_re + pl->D;
    const float *hi_re = sl + (pl->hi - pl->slot), *hi_im = hi_re + pl->D;
    const float *pr_ = lo_re, *pi_ = lo_im, *qr_ = hi_re, *qi_ = hi_im, *tw = pl->ftw;
    float *olo = out + 2, *ohi = out + 2 * (m - VW); /* X[1 + VW b], and X[m - VW - VW b] reversed */
    for (int b = 0; b < B; b++, tw += EC_FTW, olo += 2 * VW, ohi -= 2 * VW) {
        V lr[VW], li[VW], hr[VW], hi[VW];
        v_load_tr(pr_, lr), v_load_tr(pi_, li), v_load_tr(qr_, hr), v_load_tr(qi_, hi);
        pr_ += VW * VW, pi_ += VW * VW, qr_ += VW * VW, qi_ += VW * VW;
#pragma GCC unroll 8
        for (int l = 1; l < VW; l++) {
            const V wr = v_load(tw + (2 * l - 2) * VW), wi = v_load(tw + (2 * l - 1) * VW);
            v_cmul(lr[l], li[l], wr, wi, &lr[l], &li[l]);
            ENG(cmulc)(hr[l], hi[l], wr, wi, &hr[l], &hi[l]);
        }
        ENG(dft)(VW, lr, li, NULL);
        ENG(dft)(VW, hr, hi, NULL); /* the mirror's Z[t'] is at (t' + 1) mod VW: its W_VW^l factor */
        const float *sw = tw + (2 * VW - 2) * VW;
        float *o1 = olo, *o2 = ohi;
#pragma GCC unroll 8
        for (int t = 0; t < VW; t++, o1 += 2 * M, o2 -= 2 * M) { /* Z[k] = lo t, Z[m - k] = hi VW-1-t */
            const V ar = lr[t], ai = li[t], br = hr[(VW - t) % VW], bi = hi[(VW - t) % VW];
            const V er = v_add(ar, br), ei = v_sub(ai, bi), nei = v_sub(bi, ai);
            const V or_ = v_sub(ar, br), oi = v_add(ai, bi);
            V pr, pi;
            v_cmul(or_, oi, v_load(sw + 2 * t * VW), v_load(sw + (2 * t + 1) * VW), &pr, &pi);
            v_store_int(o1, v_add(er, pi), v_sub(ei, pr));
            v_store_int(o2, v_rev(v_sub(er, pi)), v_rev(v_sub(nei, pr)));
        }
    }
    /* column 0: Z[M t] = DFT_VW of F[0] (lane 0 of broadcast vectors carries it), pairs (t, VW - t); the
     * self-paired t = 0 (DC, Nyquist) and t = VW/2 (bin m/2) reduce to a few additions */
    V fr[VW], fi[VW];
    for (int l = 0; l < VW; l++) fr[l] = v_set1(lo_re[l - VW]), fi[l] = v_set1(lo_im[l - VW]);
    ENG(dft)(VW, fr, fi, NULL);
    const float z0r = v_first(fr[0]), z0i = v_first(fi[0]);
    const float zhr = v_first(fr[VW / 2]), zhi = v_first(fi[VW / 2]);
    out[0] = 2.0f * (z0r + z0i), out[1] = 0.0f, out[2 * m] = 2.0f * (z0r - z0i), out[2 * m + 1] = 0.0f;
    out[m] = 2.0f * zhr, out[m + 1] = -2.0f * zhi;
    for (int t = 1; t < VW / 2; t++) {
        const int k = M * t;
        const float ar = v_first(fr[t]), ai = v_first(fi[t]);
        const float br = v_first(fr[VW - t]), bi = v_first(fi[VW - t]);
        const float er = ar + br, ei = ai - bi, or_ = ar - br, oi = ai + bi;
        const float c = pl->c0tw[2 * t], s = pl->c0tw[2 * t + 1];
        const float pr = or_ * c - oi * s, pi = or_ * s + oi * c;
        out[2 * k] = er + pi, out[2 * k + 1] = ei - pr;
        out[2 * (m - k)] = er - pi, out[2 * (m - k) + 1] = -(ei + pr);
    }
}

static void ENG(rfft)(const ENG(plan) *pl, const float *frame, const float *we, const float *wo, float *out,
                      float *scratch) {
    float *buf[2] = {scratch, scratch + pl->buf}, *sl = scratch + pl->slot;
    ENG(io) io = {frame, we, wo, sl + VW, scratch + pl->hi, pl->D, pl->M, NULL, 0.0f};
    int cur = 0;
    for (int i = 0; i < pl->np; i++) {
        const int src = i == 0 ? EC_FRAME : EC_BUF, dst = i == pl->np - 1 && !pl->copy ? EC_SLOT : EC_BUF;
        ENG(run_pass)(&pl->fw[i], src, dst, buf[cur], buf[cur ^ 1], &io);
        cur ^= 1;
    }
    if (pl->copy) { /* M odd: slots from the natural-order result */
        const float *f = buf[cur];
        const int WB = VW * pl->B;
        for (int k = 0; k <= WB; k++) {
            v_store(io.lo + VW * (k - 1), v_load(f + 2 * VW * k));
            v_store(io.lo + VW * (k - 1) + pl->D, v_load(f + 2 * VW * k + VW));
        }
        for (int h = 0; h < WB; h++) {
            v_store(io.hi + VW * h, v_load(f + 2 * VW * (pl->M - 1 - h)));
            v_store(io.hi + VW * h + pl->D, v_load(f + 2 * VW * (pl->M - 1 - h) + VW));
        }
    } else {
        const int *restrict fix = pl->fix, nfix = pl->nfix;
        float *restrict re = sl, *restrict im = sl + pl->D;
        for (int i = 0; i < nfix; i++) {
            const int d = fix[2 * i], s = fix[2 * i + 1];
            v_store(re + d, v_load(re + s)), v_store(im + d, v_load(im + s));
        }
    }
    ENG(final_fwd)(pl, sl, out);
}

/* ---- inverse ------------------------------------------------------------------------------------------- */

/* inverse split fused with the radix-VW step over t, writing swapped G into the slots */
static void ENG(first_inv)(const ENG(plan) *pl, const float *spec, float *sl) {
    const int M = pl->M, m = pl->m, B = pl->B;
    float *lo_re = sl + VW, *lo_im = lo_re + pl->D, *hi_re = sl + (pl->hi - pl->slot), *hi_im = hi_re + pl->D;
    const float *tw = pl->ftw;
    for (int b = 0; b < B; b++, tw += EC_FTW) {
        V lr[VW], li[VW], hr[VW], hi[VW];
        const float *sw = tw + (2 * VW - 2) * VW;
        const float *xlo = spec + 2 * (1 + VW * b), *xhi = spec + 2 * (M - VW - VW * b);
#pragma GCC unroll 8
        for (int t = 0; t < VW; t++) {
            V xr, xi, yr, yi;
            v_load_deint(xlo + 2 * M * t, &xr, &xi);
            v_load_deint(xhi + 2 * M * (VW - 1 - t), &yr, &yi);
            yr = v_rev(yr), yi = v_rev(yi); /* X[m - k], lane-aligned with X[k] */
            const V er = v_add(xr, yr), ei = v_sub(xi, yi), dr = v_sub(xr, yr), di = v_add(xi, yi);
            const int u = t % (VW / 2);
            const V wr = v_load(sw + 2 * u * VW), wi = v_load(sw + (2 * u + 1) * VW);
            V qr = v_madd(v_mul(dr, wr), di, wi), qi = v_msub(v_mul(di, wr), dr, wi); /* D conj(W^k) */
            /* swap(Z[k] = E + i O) to lo t; swap(Z[m-k] = E* + i O*), for t' = VW-1-t, to hi (t' + 1) mod VW
             * (the mirror's W_VW^l factor); for t >= VW/2, W_n^k = -i W_n^(k - m/2) and O = i (qr + i qi) */
            if (t < VW / 2) {
                lr[t] = v_add(ei, qr), li[t] = v_sub(er, qi);
                hr[(VW - t) % VW] = v_sub(qr, ei), hi[(VW - t) % VW] = v_add(er, qi);
            } else {
                lr[t] = v_sub(ei, qi), li[t] = v_sub(er, qr);
                hr[(VW - t) % VW] = v_sub(v_sub(yi, xi), qi), hi[(VW - t) % VW] = v_add(er, qr);
            }
        }
        ENG(dft)(VW, lr, li, NULL);
        ENG(dft)(VW, hr, hi, NULL);
#pragma GCC unroll 8
        for (int l = 1; l < VW; l++) {
            const V wr = v_load(tw + (2 * l - 2) * VW), wi = v_load(tw + (2 * l - 1) * VW);
            v_cmul(lr[l], li[l], wr, wi, &lr[l], &li[l]);
            ENG(cmulc)(hr[l], hi[l], wr, wi, &hr[l], &hi[l]);
        }
        v_store_tr(lo_re + VW * VW * b, lr), v_store_tr(lo_im + VW * VW * b, li);
        v_store_tr(hi_re + VW * VW * b, hr), v_store_tr(hi_im + VW * VW * b, hi);
    }
    /* column 0: swap(Z[M t]) from the pairs (t, VW - t); imaginary parts of DC and Nyquist ignored */
    V zr[VW], zi[VW];
    const float x0 = spec[0], xm = spec[2 * m], xhr = spec[m], xhi = spec[m + 1];
    zr[0] = v_set1(x0 - xm), zi[0] = v_set1(x0 + xm);
    zr[VW / 2] = v_set1(-2.0f * xhi), zi[VW / 2] = v_set1(2.0f * xhr);
    for (int t = 1; t < VW / 2; t++) {
        const int k = M * t;
        const float xr = spec[2 * k], xi = spec[2 * k + 1], yr = spec[2 * (m - k)], yi = spec[2 * (m - k) + 1];
        const float er = xr + yr, ei = xi - yi, dr = xr - yr, di = xi + yi;
        const float c = pl->c0tw[2 * t], s = pl->c0tw[2 * t + 1];
        const float or_ = dr * c + di * s, oi = di * c - dr * s;
        zr[t] = v_set1(ei + or_), zi[t] = v_set1(er - oi);
        zr[VW - t] = v_set1(or_ - ei), zi[VW - t] = v_set1(er + oi);
    }
    ENG(dft)(VW, zr, zi, NULL);
    for (int l = 0; l < VW; l++) lo_re[l - VW] = v_first(zr[l]), lo_im[l - VW] = v_first(zi[l]);
}

static void ENG(irfft)(const ENG(plan) *pl, const float *spec, float scale, float *out, float *scratch) {
    float *buf[2] = {scratch, scratch + pl->buf}, *sl = scratch + pl->slot;
    ENG(io) io = {NULL, NULL, NULL, sl + VW, scratch + pl->hi, pl->D, pl->M, out, scale};
    ENG(first_inv)(pl, spec, sl);
    int cur = 0, src = EC_SLOT;
    if (pl->copy) { /* M odd: natural-order input from the slots */
        float *g = buf[0];
        const int WB = VW * pl->B;
        for (int k = 0; k < pl->M; k++) {
            const float *p = k <= WB ? io.lo + VW * (k - 1) : io.hi + VW * (pl->M - 1 - k);
            v_store(g + 2 * VW * k, v_load(p)), v_store(g + 2 * VW * k + VW, v_load(p + pl->D));
        }
        src = EC_BUF;
    }
    for (int i = 0; i < pl->np; i++) {
        const int dst = i == pl->np - 1 ? EC_OUT : EC_BUF;
        ENG(run_pass)(&pl->iv[i], i == 0 ? src : EC_BUF, dst, buf[cur], buf[cur ^ 1], &io);
        cur ^= 1;
    }
}
