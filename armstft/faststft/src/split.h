/* The real-FFT split step shared by both engines (fft.c, fft_mixed.c): from the n/2-point complex FFT Z
 * of z[j] = x[2j] + i x[2j+1], one block of four k gives X[k] = E - i W^k O and X[m-k] = conj(E + i W^k O),
 * written interleaved (re, im) into the output row. E and O are used without their 1/2: it is in the window.
 * cw/sw: cos/sin twiddles indexed by k; m = n/2. */
#ifndef ARMSTFT_SPLIT_H
#define ARMSTFT_SPLIT_H

#include "simd.h"

static inline void split_block(const float *zr, const float *zi, const float *cw, const float *sw, float *out,
                               int m, int k) {
    const v4f zero = v_set1(0.0f);
    v4f ar = v_load(zr + k), ai = v_load(zi + k);
    v4f br = v_rev(v_load(zr + m - k - 3)), bi = v_rev(v_load(zi + m - k - 3)); /* Z[m-k], not conj */
    v4f er = v_add(ar, br), ei = v_sub(ai, bi);
    v4f orr = v_sub(ar, br), oi = v_add(ai, bi);
    v4f pr, pi;
    v_cmul(orr, oi, v_load(cw + k), v_load(sw + k), &pr, &pi);
    v_store_int(out + 2 * k, v_add(er, pi), v_sub(ei, pr));
    v4f hr = v_sub(er, pi), hi = v_sub(zero, v_add(ei, pr));
    v_store_int(out + 2 * (m - k - 3), v_rev(hr), v_rev(hi));
}

#endif
