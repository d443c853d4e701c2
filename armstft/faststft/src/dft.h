/* Small in-register DFTs on vectors of complex numbers (split re/im), forward:
 * y_k = sum_j x_j exp(-2 pi i jk/r).
 *
 * Why a header included more than once: both engines (fft_mixed.c on 4 lanes, engine_core.h on 4 or 8) run
 * the same butterflies, so they are written once against the v_* operations and instantiated per vector
 * type.  The includer defines V (the vector type), ENG(name) (a per-instantiation name) and the v_*
 * operations; always_inline with a literal r keeps every value in registers.
 */
#ifndef ALWAYS_INLINE
#define ALWAYS_INLINE inline __attribute__((always_inline))
#endif
#define DFT_MAXR 32

/* y0 = x0 + u, y1,4 = a1 -+ i b1, y2,3 = a2 -+ i b2 with u = t1 + t2, a1,2 = x0 - u/4 +- (sqrt5/4)(t1 - t2):
 * 34 operations and no register copies (the textbook a = x0 + c1 t1 + c2 t2 form needs x0 copied twice) */
static ALWAYS_INLINE void ENG(dft5)(V *xr, V *xi) {
    const V q = v_set1(0.25f), h = v_set1(0.55901699437494742410f);
    const V s1 = v_set1(0.95105651629515357212f), s2 = v_set1(0.58778525229247312917f);
    V t1r = v_add(xr[1], xr[4]), t1i = v_add(xi[1], xi[4]);
    V t2r = v_add(xr[2], xr[3]), t2i = v_add(xi[2], xi[3]);
    V t3r = v_sub(xr[1], xr[4]), t3i = v_sub(xi[1], xi[4]);
    V t4r = v_sub(xr[2], xr[3]), t4i = v_sub(xi[2], xi[3]);
    V ur = v_add(t1r, t2r), ui = v_add(t1i, t2i);
    V er = v_mul(h, v_sub(t1r, t2r)), ei = v_mul(h, v_sub(t1i, t2i));
    V br = v_msub(xr[0], q, ur), bi = v_msub(xi[0], q, ui);
    xr[0] = v_add(xr[0], ur), xi[0] = v_add(xi[0], ui);
    V a1r = v_add(br, er), a1i = v_add(bi, ei), a2r = v_sub(br, er), a2i = v_sub(bi, ei);
    V b1r = v_madd(v_mul(s1, t3r), s2, t4r), b1i = v_madd(v_mul(s1, t3i), s2, t4i);
    V b2r = v_msub(v_mul(s2, t3r), s1, t4r), b2i = v_msub(v_mul(s2, t3i), s1, t4i);
    xr[1] = v_add(a1r, b1i), xi[1] = v_sub(a1i, b1r); /* a1 - i b1 */
    xr[4] = v_sub(a1r, b1i), xi[4] = v_add(a1i, b1r); /* a1 + i b1 */
    xr[2] = v_add(a2r, b2i), xi[2] = v_sub(a2i, b2r);
    xr[3] = v_sub(a2r, b2i), xi[3] = v_add(a2i, b2r);
}

/* in place; roots (cos, then sin, of -2 pi t / r) only for radices without a dedicated kernel */
static ALWAYS_INLINE void ENG(dft)(const int r, V *xr, V *xi, const float *roots) {
    switch (r) {
        case 1:
            return;
        case 2: {
            V ar = xr[0], ai = xi[0];
            xr[0] = v_add(ar, xr[1]), xi[0] = v_add(ai, xi[1]);
            xr[1] = v_sub(ar, xr[1]), xi[1] = v_sub(ai, xi[1]);
            return;
        }
        case 3: {
            const V h = v_set1(-0.5f), s1 = v_set1(0.86602540378443864676f);
            V tr = v_add(xr[1], xr[2]), ti = v_add(xi[1], xi[2]);
            V ur = v_mul(s1, v_sub(xr[1], xr[2])), ui = v_mul(s1, v_sub(xi[1], xi[2]));
            V mr = v_madd(xr[0], h, tr), mi = v_madd(xi[0], h, ti);
            xr[0] = v_add(xr[0], tr), xi[0] = v_add(xi[0], ti);
            xr[1] = v_add(mr, ui), xi[1] = v_sub(mi, ur);
            xr[2] = v_sub(mr, ui), xi[2] = v_add(mi, ur);
            return;
        }
        case 4: {
            V t0r = v_add(xr[0], xr[2]), t0i = v_add(xi[0], xi[2]);
            V t1r = v_sub(xr[0], xr[2]), t1i = v_sub(xi[0], xi[2]);
            V t2r = v_add(xr[1], xr[3]), t2i = v_add(xi[1], xi[3]);
            V t3r = v_sub(xi[1], xi[3]), t3i = v_sub(xr[3], xr[1]); /* -i (x1 - x3) */
            xr[0] = v_add(t0r, t2r), xi[0] = v_add(t0i, t2i);
            xr[1] = v_add(t1r, t3r), xi[1] = v_add(t1i, t3i);
            xr[2] = v_sub(t0r, t2r), xi[2] = v_sub(t0i, t2i);
            xr[3] = v_sub(t1r, t3r), xi[3] = v_sub(t1i, t3i);
            return;
        }
        case 5:
            ENG(dft5)(xr, xi);
            return;
        case 8: {
            /* radix 2 then two radix-4s: evens from s = x_j + x_{j+4}, odds from d_j W8^j, d = x_j - x_{j+4};
             * the 1/sqrt(2) of W8 and W8^3 is applied once to the sums u1 +- u3 (56 operations; fused
             * multiply-adds would need a register copy for each pair of outputs) */
            const V c = v_set1(0.70710678118654752440f);
            V s0r = v_add(xr[0], xr[4]), s0i = v_add(xi[0], xi[4]);
            V d0r = v_sub(xr[0], xr[4]), d0i = v_sub(xi[0], xi[4]);
            V s1r = v_add(xr[1], xr[5]), s1i = v_add(xi[1], xi[5]);
            V d1r = v_sub(xr[1], xr[5]), d1i = v_sub(xi[1], xi[5]);
            V s2r = v_add(xr[2], xr[6]), s2i = v_add(xi[2], xi[6]);
            V d2r = v_sub(xr[2], xr[6]), d2i = v_sub(xi[2], xi[6]);
            V s3r = v_add(xr[3], xr[7]), s3i = v_add(xi[3], xi[7]);
            V d3r = v_sub(xr[3], xr[7]), d3i = v_sub(xi[3], xi[7]);
            /* evens: DFT4(s0, s1, s2, s3) -> y0, y2, y4, y6 */
            V e0r = v_add(s0r, s2r), e0i = v_add(s0i, s2i), e1r = v_sub(s0r, s2r), e1i = v_sub(s0i, s2i);
            V e2r = v_add(s1r, s3r), e2i = v_add(s1i, s3i), e3r = v_sub(s1i, s3i), e3i = v_sub(s3r, s1r);
            xr[0] = v_add(e0r, e2r), xi[0] = v_add(e0i, e2i);
            xr[4] = v_sub(e0r, e2r), xi[4] = v_sub(e0i, e2i);
            xr[2] = v_add(e1r, e3r), xi[2] = v_add(e1i, e3i);
            xr[6] = v_sub(e1r, e3r), xi[6] = v_sub(e1i, e3i);
            /* odds: u1 = d1 (1 - i), u3 = d3 (-1 - i) (each W8^j without its 1/sqrt 2), d2 (-i) */
            V u1r = v_add(d1r, d1i), u1i = v_sub(d1i, d1r);
            V u3r = v_sub(d3i, d3r), n3i = v_add(d3r, d3i); /* u3 = u3r - i n3i */
            V vr = v_add(u1r, u3r), vi = v_sub(u1i, n3i); /* u1 + u3 */
            V wr = v_sub(u1r, u3r), wi = v_add(u1i, n3i); /* u1 - u3 */
            V t0r = v_add(d0r, d2i), t0i = v_sub(d0i, d2r); /* d0 - i d2 */
            V t1r = v_sub(d0r, d2i), t1i = v_add(d0i, d2r); /* d0 + i d2 */
            vr = v_mul(vr, c), vi = v_mul(vi, c), wr = v_mul(wr, c), wi = v_mul(wi, c);
            xr[1] = v_add(t0r, vr), xi[1] = v_add(t0i, vi);
            xr[5] = v_sub(t0r, vr), xi[5] = v_sub(t0i, vi);
            xr[3] = v_add(t1r, wi), xi[3] = v_sub(t1i, wr); /* t1 - i c w */
            xr[7] = v_sub(t1r, wi), xi[7] = v_add(t1i, wr); /* t1 + i c w */
            return;
        }
        case 10: {
            /* Good-Thomas: 10 = 2 x 5 coprime, no twiddles between the factors.  Inputs x[(5 a + 2 b) mod 10]
             * (a < 2, b < 5) make two DFT5s over b, then DFT2s over a give X[(5 a' + 6 b') mod 10]. */
            static const int in_map[2][5] = {{0, 2, 4, 6, 8}, {5, 7, 9, 1, 3}};
            V ar[5], ai[5], br[5], bi[5];
            for (int b = 0; b < 5; b++) ar[b] = xr[in_map[0][b]], ai[b] = xi[in_map[0][b]];
            for (int b = 0; b < 5; b++) br[b] = xr[in_map[1][b]], bi[b] = xi[in_map[1][b]];
            ENG(dft5)(ar, ai);
            ENG(dft5)(br, bi);
            static const int out_map[5][2] = {{0, 5}, {6, 1}, {2, 7}, {8, 3}, {4, 9}};
            for (int b = 0; b < 5; b++) {
                xr[out_map[b][0]] = v_add(ar[b], br[b]), xi[out_map[b][0]] = v_add(ai[b], bi[b]);
                xr[out_map[b][1]] = v_sub(ar[b], br[b]), xi[out_map[b][1]] = v_sub(ai[b], bi[b]);
            }
            return;
        }
        default: {
            V yr[DFT_MAXR], yi[DFT_MAXR];
            for (int k = 0; k < r; k++) {
                V accr = xr[0], acci = xi[0];
                for (int j = 1; j < r; j++) {
                    int t = (j * k) % r;
                    V cs = v_set1(roots[t]), sn = v_set1(roots[r + t]);
                    accr = v_msub(v_madd(accr, xr[j], cs), xi[j], sn);
                    acci = v_madd(v_madd(acci, xr[j], sn), xi[j], cs);
                }
                yr[k] = accr, yi[k] = acci;
            }
            for (int k = 0; k < r; k++) xr[k] = yr[k], xi[k] = yi[k];
            return;
        }
    }
}
