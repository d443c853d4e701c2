/* Framing, centre padding, prepared windows, the fused log-mel step and streaming around armstft_rfft_frame.
 *
 * Every public entry validates its struct completely before it forms a pointer from it (see stft.h).
 */
#include "stft.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "vlog.h"

const char *armstft_status_text(int status) {
    switch (status) {
        case ARMSTFT_OK:
            return "ok";
        case ARMSTFT_E_NULL:
            return "a required buffer is missing (NULL)";
        case ARMSTFT_E_PLAN:
            return "no frame plan, or a window/filterbank prepared for another frame size";
        case ARMSTFT_E_SIZE:
            return "a size (batch, length, frames, win_length, mels, max_frames) is out of range";
        case ARMSTFT_E_HOP:
            return "hop must be >= 1";
        case ARMSTFT_E_PAD:
            return "padding out of range for the signal length and pad mode";
        case ARMSTFT_E_PAD_MODE:
            return "unknown pad mode";
        case ARMSTFT_E_FRAMES:
            return "the frames do not fit in the padded signal";
        case ARMSTFT_E_STRIDE:
            return "a stride lets rows overlap";
        case ARMSTFT_E_OVERFLOW:
            return "an extent overflows int64";
        case ARMSTFT_E_NOMEM:
            return "out of memory";
        case ARMSTFT_E_VALUE:
            return "a float argument is not finite or out of range";
        case ARMSTFT_E_NOLA:
            return "the window's overlap-add envelope is zero in the output (NOLA condition)";
        default:
            return "unknown status";
    }
}

/* r = a * b + c without overflow (all >= 0), else 0 */
static int madd_ok(int64_t a, int64_t b, int64_t c, int64_t *r) {
    int64_t p;
    if (__builtin_mul_overflow(a, b, &p) || __builtin_add_overflow(p, c, &p)) return 0;
    /* the extent in bytes must also be addressable */
    if (p > (int64_t)(PTRDIFF_MAX / (ptrdiff_t)sizeof(float))) return 0;
    *r = p;
    return 1;
}

/* --- prepared windows ---------------------------------------------------------------------------------- */
struct armstft_window {
    int n;
    float *w; /* w_even = w, w_odd = w + n/2 */
};

armstft_window *armstft_window_new(const armstft_plan *plan, const float *window, int64_t win_length,
                                   float scale, int *status) {
    int dummy;
    if (!status) status = &dummy;
    if (!plan) {
        *status = ARMSTFT_E_PLAN;
        return NULL;
    }
    const int n = armstft_plan_size(plan);
    if (win_length < 1 || win_length > n) {
        *status = ARMSTFT_E_SIZE;
        return NULL;
    }
    if (!isfinite(scale)) {
        *status = ARMSTFT_E_VALUE;
        return NULL;
    }
    armstft_window *win = calloc(1, sizeof(*win));
    if (win) win->w = malloc(sizeof(float) * (size_t)n);
    if (!win || !win->w) {
        armstft_window_free(win);
        *status = ARMSTFT_E_NOMEM;
        return NULL;
    }
    win->n = n;
    armstft_split_window(n, window, (long long)win_length, scale, win->w, win->w + n / 2);
    *status = ARMSTFT_OK;
    return win;
}

void armstft_window_free(armstft_window *win) {
    if (!win) return;
    free(win->w);
    free(win);
}

/* --- framing ------------------------------------------------------------------------------------------- */

/* sample at padded index i of a signal of len samples (i may be outside [0, len), within the checked pads) */
static float padded_sample(const float *x, int64_t len, int64_t i, int pad_mode) {
    if (i >= 0 && i < len) return x[i];
    switch (pad_mode) {
        case ARMSTFT_PAD_REFLECT:
            return x[i < 0 ? -i : 2 * (len - 1) - i];
        case ARMSTFT_PAD_REPLICATE:
            return x[i < 0 ? 0 : len - 1];
        case ARMSTFT_PAD_CIRCULAR:
            return x[((i % len) + len) % len];
        default:
            return 0.0f;
    }
}

/* Hermitian completion for onesided=False: bins n/2+1 .. n-1 */
static void complete_full(int n_fft, float *spec) {
    for (int k = n_fft / 2 + 1; k < n_fft; k++) {
        spec[2 * k] = spec[2 * (n_fft - k)];
        spec[2 * k + 1] = -spec[2 * (n_fft - k) + 1];
    }
}

/* The input side of a call: sizes, hop, pads, frames (no output fields). */
static int check_framing(const armstft_plan *plan, const armstft_stft_args *a) {
    if (!plan) return ARMSTFT_E_PLAN;
    if (!a || !a->x) return ARMSTFT_E_NULL;
    const int64_t n = armstft_plan_size(plan);
    if (a->batch < 1 || a->len < 1 || a->n_frames < 1 || a->first_frame < 0) return ARMSTFT_E_SIZE;
    if (a->hop < 1) return ARMSTFT_E_HOP;
    if (a->pad_mode < ARMSTFT_PAD_CONSTANT || a->pad_mode > ARMSTFT_PAD_CIRCULAR) return ARMSTFT_E_PAD_MODE;
    if (a->pad_left < 0 || a->pad_right < 0 || a->pad_left > n || a->pad_right > n) return ARMSTFT_E_PAD;
    if (a->pad_mode == ARMSTFT_PAD_REFLECT && (a->pad_left >= a->len || a->pad_right >= a->len))
        return ARMSTFT_E_PAD;
    if (a->pad_mode == ARMSTFT_PAD_CIRCULAR && (a->pad_left > a->len || a->pad_right > a->len))
        return ARMSTFT_E_PAD;
    int64_t last_frame, last_end, padded;
    if (!madd_ok(1, a->first_frame, a->n_frames - 1, &last_frame) || !madd_ok(last_frame, a->hop, n, &last_end))
        return ARMSTFT_E_OVERFLOW;
    if (!madd_ok(1, a->len, a->pad_left, &padded) || !madd_ok(1, padded, a->pad_right, &padded))
        return ARMSTFT_E_OVERFLOW;
    if (last_end > padded) return ARMSTFT_E_FRAMES;
    int64_t x_extent;
    if (a->batch > 1 && a->x_stride < a->len) return ARMSTFT_E_STRIDE;
    if (!madd_ok(a->batch - 1, a->x_stride, a->len, &x_extent)) return ARMSTFT_E_OVERFLOW;
    return ARMSTFT_OK;
}

/* out rows of `row` floats, `rows` per signal at row_stride, signals at sig_stride */
static int check_rows(int64_t batch, int64_t rows, int64_t row, int64_t row_stride, int64_t sig_stride) {
    int64_t sig_extent, total;
    if (rows > 1 && row_stride < row) return ARMSTFT_E_STRIDE;
    if (!madd_ok(rows - 1, row_stride, row, &sig_extent)) return ARMSTFT_E_OVERFLOW;
    if (batch > 1 && sig_stride < sig_extent) return ARMSTFT_E_STRIDE;
    if (!madd_ok(batch - 1, sig_stride, sig_extent, &total)) return ARMSTFT_E_OVERFLOW;
    return ARMSTFT_OK;
}

int armstft_stft_check(const armstft_plan *plan, const armstft_stft_args *a) {
    int st = check_framing(plan, a);
    if (st != ARMSTFT_OK) return st;
    if (!a->out) return ARMSTFT_E_NULL;
    const int64_t n = armstft_plan_size(plan);
    const int64_t bins2 = 2 * (a->onesided ? n / 2 + 1 : n);
    return check_rows(a->batch, a->n_frames, bins2, a->frame_stride, a->out_stride);
}

size_t armstft_stft_scratch_floats(const armstft_plan *plan) {
    /* edge frame (n) + one spectrum row (2n, for log-mel) + the plan's own scratch */
    return 3 * (size_t)armstft_plan_size(plan) + armstft_plan_scratch(plan) + 16;
}

/* the frame t of signal xb: in place when inside the signal, else padded into edge */
static const float *frame_at(const armstft_stft_args *a, const float *xb, int64_t t, int n, float *edge) {
    const int64_t start = t * a->hop - a->pad_left;
    if (start >= 0 && start + n <= a->len) return xb + start;
    for (int j = 0; j < n; j++) edge[j] = padded_sample(xb, a->len, start + j, a->pad_mode);
    return edge;
}

static int check_window(const armstft_plan *plan, const armstft_window *win) {
    if (!win) return ARMSTFT_E_NULL;
    return win->n == armstft_plan_size(plan) ? ARMSTFT_OK : ARMSTFT_E_PLAN;
}

int armstft_stft(const armstft_plan *plan, const armstft_window *win, const armstft_stft_args *a,
                 float *scratch) {
    int st = armstft_stft_check(plan, a);
    if (st == ARMSTFT_OK) st = check_window(plan, win);
    if (st != ARMSTFT_OK) return st;
    const int n = armstft_plan_size(plan);
    float *mem = scratch ? NULL : malloc(sizeof(float) * armstft_stft_scratch_floats(plan));
    float *s = scratch ? scratch : mem;
    if (!s) return ARMSTFT_E_NOMEM;
    float *edge = s, *work = s + 3 * n;
    const float *w_even = win->w, *w_odd = win->w + n / 2;
    for (int64_t b = 0; b < a->batch; b++) {
        const float *xb = a->x + b * a->x_stride;
        float *ob = a->out + b * a->out_stride;
        for (int64_t t = 0; t < a->n_frames; t++) {
            float *spec = ob + t * a->frame_stride;
            armstft_rfft_frame(plan, frame_at(a, xb, a->first_frame + t, n, edge), w_even, w_odd, spec, work);
            if (!a->onesided) complete_full(n, spec);
        }
    }
    free(mem);
    return ARMSTFT_OK;
}

/* --- fused log-mel ------------------------------------------------------------------------------------- */
struct armstft_melbank {
    int64_t n_freqs, n_mels;
    /* band m: bins start..start+count-1, weights at w + offset, zero-padded to a multiple of 4 */
    int64_t *start, *count, *offset;
    float *w;
};

int64_t armstft_melbank_mels(const armstft_melbank *mb) { return mb->n_mels; }

void armstft_melbank_free(armstft_melbank *mb) {
    if (!mb) return;
    free(mb->start);
    free(mb->w);
    free(mb);
}

armstft_melbank *armstft_melbank_new(const float *fb, int64_t n_freqs, int64_t n_mels, int *status) {
    int dummy;
    if (!status) status = &dummy;
    int64_t cells;
    if (!fb) {
        *status = ARMSTFT_E_NULL;
        return NULL;
    }
    if (n_freqs < 1 || n_mels < 1 || n_freqs > ARMSTFT_MAX_N_FFT / 2 + 1 || !madd_ok(n_freqs, n_mels, 0, &cells)) {
        *status = ARMSTFT_E_SIZE;
        return NULL;
    }
    armstft_melbank *mb = calloc(1, sizeof(*mb));
    if (mb) mb->start = malloc(sizeof(int64_t) * 3 * (size_t)n_mels);
    if (!mb || !mb->start) {
        armstft_melbank_free(mb);
        *status = ARMSTFT_E_NOMEM;
        return NULL;
    }
    mb->count = mb->start + n_mels;
    mb->offset = mb->count + n_mels;
    mb->n_freqs = n_freqs;
    mb->n_mels = n_mels;
    int64_t total = 0;
    for (int64_t m = 0; m < n_mels; m++) {
        int64_t first = -1, last = -2;
        for (int64_t k = 0; k < n_freqs; k++) {
            if (fb[k * n_mels + m] != 0.0f) {
                if (first < 0) first = k;
                last = k;
            }
        }
        mb->start[m] = first < 0 ? 0 : first;
        mb->count[m] = last - first + 1 > 0 ? last - first + 1 : 0;
        mb->offset[m] = total;
        total += (mb->count[m] + 3) & ~(int64_t)3; /* weights stored 4 at a time, zero-padded */
    }
    mb->w = calloc((size_t)(total > 0 ? total : 1), sizeof(float));
    if (!mb->w) {
        armstft_melbank_free(mb);
        *status = ARMSTFT_E_NOMEM;
        return NULL;
    }
    for (int64_t m = 0; m < n_mels; m++)
        for (int64_t j = 0; j < mb->count[m]; j++) mb->w[mb->offset[m] + j] = fb[(mb->start[m] + j) * n_mels + m];
    *status = ARMSTFT_OK;
    return mb;
}

/* The fused log-mel step works on blocks of eight frames, as two halves of four: their spectra, the power
 * of each bin for a half's four frames side by side (P[4 k + f], one vector per bin: a 4x4 transpose on the
 * way out of the power step), each band's weighted sum as one vector per half (four weights loaded once
 * for both halves, used lane by lane), and one vector log per half and band, whose four outputs are
 * contiguous in the (mels, frames) output.  Four frames per instruction instead of one value per libm
 * call. */
#define LOGMEL_LANES 4
#define LOGMEL_HALVES 2
#define LOGMEL_BLOCK (LOGMEL_LANES * LOGMEL_HALVES)

static int64_t round4(int64_t n) { return (n + 3) & ~(int64_t)3; }

/* |X|^power of four spectra, bins side by side: pw[4 k + j] = bin k of spectrum j (power 1 or 2) */
static void power_lanes(const float *const *sp, int64_t bins4, int magnitude, float *pw) {
    for (int64_t k = 0; k < bins4; k += 4) {
        v4f p[LOGMEL_LANES];
        for (int j = 0; j < LOGMEL_LANES; j++) {
            v4f re, im;
            v_load_deint(sp[j] + 2 * k, &re, &im);
            p[j] = v_madd(v_mul(re, re), im, im);
        }
        if (magnitude)
            for (int j = 0; j < LOGMEL_LANES; j++) p[j] = v_sqrt(p[j]);
        v_store_tr4(pw + LOGMEL_LANES * k, p[0], p[1], p[2], p[3]);
    }
}

int armstft_logmel(const armstft_plan *plan, const armstft_window *win, const armstft_melbank *mb,
                   const armstft_logmel_args *a) {
    if (!a) return ARMSTFT_E_NULL;
    int st = check_framing(plan, &a->stft);
    if (st == ARMSTFT_OK) st = check_window(plan, win);
    if (st != ARMSTFT_OK) return st;
    if (!mb || !a->out) return ARMSTFT_E_NULL;
    const int n = armstft_plan_size(plan);
    const int64_t bins = n / 2 + 1, bins4 = round4(bins);
    if (mb->n_freqs != bins) return ARMSTFT_E_PLAN;
    if (!(a->power == 1.0f || a->power == 2.0f) || !isfinite(a->eps) || a->eps < 0.0f) return ARMSTFT_E_VALUE;
    const armstft_stft_args *f = &a->stft;
    /* output rows: one per mel, n_frames floats each (time contiguous) */
    st = check_rows(f->batch, mb->n_mels, f->n_frames, a->mel_stride, a->out_stride);
    if (st != ARMSTFT_OK) return st;
    const int64_t n_mels = mb->n_mels;
    /* edge frame; eight spectra (read 4 bins at a time: padded to a multiple of 4 bins); per half the power
     * rows (a band sum reads whole groups of 4 bins past its end: 4 rows of zero padding) and the sums;
     * a short last block's outputs; the plan's scratch */
    const size_t spec_floats = 2 * (size_t)bins4, pw_floats = LOGMEL_LANES * ((size_t)bins4 + 4);
    const size_t sum_floats = LOGMEL_LANES * (size_t)n_mels;
    float *mem = malloc(sizeof(float) * ((size_t)n + LOGMEL_BLOCK * spec_floats + LOGMEL_HALVES * pw_floats +
                                         LOGMEL_HALVES * sum_floats + LOGMEL_BLOCK * (size_t)n_mels +
                                         armstft_plan_scratch(plan) + 16));
    if (!mem) return ARMSTFT_E_NOMEM;
    float *edge = mem, *spec = edge + n, *pw = spec + LOGMEL_BLOCK * spec_floats;
    float *sums = pw + LOGMEL_HALVES * pw_floats, *tail = sums + LOGMEL_HALVES * sum_floats;
    float *work = tail + LOGMEL_BLOCK * n_mels;
    memset(pw, 0, sizeof(float) * LOGMEL_HALVES * pw_floats);
    memset(spec, 0, sizeof(float) * LOGMEL_BLOCK * spec_floats); /* the padding bins stay finite */
    const float *w_even = win->w, *w_odd = win->w + n / 2;
    const v4f eps = v_set1(a->eps);
    float *const pw0 = pw, *const pw1 = pw + pw_floats, *const sums0 = sums, *const sums1 = sums + sum_floats;
    for (int64_t b = 0; b < f->batch; b++) {
        const float *xb = f->x + b * f->x_stride;
        float *ob = a->out + b * a->out_stride;
        for (int64_t t0 = 0; t0 < f->n_frames; t0 += LOGMEL_BLOCK) {
            const int64_t nb = f->n_frames - t0 < LOGMEL_BLOCK ? f->n_frames - t0 : LOGMEL_BLOCK;
            const float *sp[LOGMEL_BLOCK];
            for (int64_t j = 0; j < LOGMEL_BLOCK; j++) {
                float *dst = spec + j * spec_floats;
                if (j < nb)
                    armstft_rfft_frame(plan, frame_at(f, xb, f->first_frame + t0 + j, n, edge), w_even, w_odd, dst,
                                       work);
                sp[j] = j < nb ? dst : spec; /* a short last block repeats its first frame in the idle lanes */
            }
            power_lanes(sp, bins4, a->power == 1.0f, pw0);
            power_lanes(sp + LOGMEL_LANES, bins4, a->power == 1.0f, pw1);
            /* band sums: weights four at a time (zero-padded to a multiple of 4, see melbank_new) */
            v_range range = v_range_new();
            for (int64_t m = 0; m < n_mels; m++) {
                const int64_t count = mb->count[m], row = LOGMEL_LANES * mb->start[m];
                const float *wm = mb->w + mb->offset[m], *p0 = pw0 + row, *p1 = pw1 + row;
                v4f acc0 = eps, acc1 = eps;
                for (int64_t j = 0; j < count; j += 4, p0 += 4 * LOGMEL_LANES, p1 += 4 * LOGMEL_LANES) {
                    const v4f w = v_load(wm + j);
                    acc0 = v_madd4(acc0, v_load(p0), v_load(p0 + 4), v_load(p0 + 8), v_load(p0 + 12), w);
                    acc1 = v_madd4(acc1, v_load(p1), v_load(p1 + 4), v_load(p1 + 8), v_load(p1 + 12), w);
                }
                v_store(sums0 + LOGMEL_LANES * m, acc0);
                v_store(sums1 + LOGMEL_LANES * m, acc1);
                v_range_add(&range, acc0);
                v_range_add(&range, acc1);
            }
            float *dst = nb == LOGMEL_BLOCK ? ob + t0 : tail;
            const int64_t stride = nb == LOGMEL_BLOCK ? a->mel_stride : LOGMEL_BLOCK;
            /* logs: the vector method for the whole block when every sum suits it (no call in that loop) */
            if (v_range_ok(range)) {
                for (int64_t m = 0; m < n_mels; m++) {
                    v_store(dst + m * stride, v_log(v_load(sums0 + LOGMEL_LANES * m)));
                    v_store(dst + m * stride + LOGMEL_LANES, v_log(v_load(sums1 + LOGMEL_LANES * m)));
                }
            } else {
                for (int64_t m = 0; m < n_mels; m++) {
                    v_store(dst + m * stride, v_log_all(v_load(sums0 + LOGMEL_LANES * m)));
                    v_store(dst + m * stride + LOGMEL_LANES, v_log_all(v_load(sums1 + LOGMEL_LANES * m)));
                }
            }
            if (nb < LOGMEL_BLOCK)
                for (int64_t m = 0; m < n_mels; m++)
                    for (int64_t j = 0; j < nb; j++) ob[m * a->mel_stride + t0 + j] = tail[LOGMEL_BLOCK * m + j];
        }
    }
    free(mem);
    return ARMSTFT_OK;
}

/* --- inverse STFT -------------------------------------------------------------------------------------- */

/* the overlap-added length, or -1 on overflow */
static int64_t ola_length(int64_t n, int64_t hop, int64_t n_frames) {
    int64_t len;
    return n_frames >= 1 && madd_ok(n_frames - 1, hop, n, &len) ? len : -1;
}

size_t armstft_istft_scratch_floats(const armstft_plan *plan, int64_t hop, int64_t n_frames) {
    const int64_t n = armstft_plan_size(plan), len = ola_length(n, hop, n_frames);
    /* one frame of bins (2 n + 2), one time frame (n), y and the envelope (len each), the plan's scratch */
    return len < 0 ? 0 : (size_t)(3 * n + 2 + 2 * len) + armstft_plan_scratch(plan) + 16;
}

int armstft_istft(const armstft_plan *plan, const armstft_istft_args *a, float *scratch) {
    if (!plan) return ARMSTFT_E_PLAN;
    if (!a || !a->spec || !a->window || !a->out) return ARMSTFT_E_NULL;
    const int64_t n = armstft_plan_size(plan), bins = n / 2 + 1;
    if (a->batch < 1 || a->n_frames < 1 || a->out_len < 0) return ARMSTFT_E_SIZE;
    if (a->hop < 1) return ARMSTFT_E_HOP;
    if (!isfinite(a->scale)) return ARMSTFT_E_VALUE;
    const int64_t len = ola_length(n, a->hop, a->n_frames);
    if (len < 0) return ARMSTFT_E_OVERFLOW;
    int64_t end;
    if (a->start < 0 || !madd_ok(1, a->start, a->out_len, &end) || end > len) return ARMSTFT_E_SIZE;
    /* the strided spectrum: every (b, k, t) index must stay inside one addressable extent */
    int64_t ext;
    if (a->bin_stride < 0 || a->frame_stride < 0 || a->spec_batch_stride < 0) return ARMSTFT_E_STRIDE;
    if (!madd_ok(bins - 1, a->bin_stride, 0, &ext) || !madd_ok(a->n_frames - 1, a->frame_stride, ext, &ext) ||
        !madd_ok(a->batch - 1, a->spec_batch_stride, ext, &ext) || !madd_ok(2, ext, 2, &ext))
        return ARMSTFT_E_OVERFLOW;
    int st = check_rows(a->batch, 1, a->out_len, a->out_len, a->out_stride);
    if (st != ARMSTFT_OK) return st;
    const size_t need = armstft_istft_scratch_floats(plan, a->hop, a->n_frames);
    float *mem = scratch ? NULL : malloc(sizeof(float) * need);
    float *s = scratch ? scratch : mem;
    if (!s) return ARMSTFT_E_NOMEM;
    float *bin = s, *frame = s + 2 * n + 2, *y = frame + n, *env = y + len, *work = env + len;
    /* the envelope depends on the window and framing only: once for every signal */
    memset(env, 0, sizeof(float) * (size_t)len);
    for (int64_t t = 0; t < a->n_frames; t++)
        for (int64_t j = 0; j < n; j++) env[t * a->hop + j] += a->window[j] * a->window[j];
    for (int64_t i = a->start; i < end; i++) {
        if (!(fabsf(env[i]) >= 1e-11f)) {
            free(mem);
            return ARMSTFT_E_NOLA;
        }
    }
    for (int64_t b = 0; b < a->batch; b++) {
        memset(y, 0, sizeof(float) * (size_t)len);
        const float *sb = a->spec + 2 * b * a->spec_batch_stride;
        for (int64_t t = 0; t < a->n_frames; t++) {
            const float *col = sb + 2 * t * a->frame_stride;
            if (a->bin_stride == 1) {
                armstft_irfft_frame(plan, col, a->scale, frame, work);
            } else {
                for (int64_t k = 0; k < bins; k++) {
                    bin[2 * k] = col[2 * k * a->bin_stride];
                    bin[2 * k + 1] = col[2 * k * a->bin_stride + 1];
                }
                armstft_irfft_frame(plan, bin, a->scale, frame, work);
            }
            float *yt = y + t * a->hop;
            for (int64_t j = 0; j < n; j++) yt[j] += frame[j] * a->window[j];
        }
        float *ob = a->out + b * a->out_stride;
        for (int64_t i = 0; i < a->out_len; i++) ob[i] = y[a->start + i] / env[a->start + i];
    }
    free(mem);
    return ARMSTFT_OK;
}

/* --- streaming ----------------------------------------------------------------------------------------- */
struct armstft_stream {
    armstft_plan *plan;
    armstft_window *win;
    int64_t n, hop, cap;
    /* history: valid samples hist[0 .. fill); the next frame starts at hist[pos] (pos > fill: that many
     * samples minus fill are still to be skipped, hop > n_fft); the last emitted frame ended at last_end */
    int64_t fill, pos, last_end;
    int any; /* a frame was emitted since the last reset */
    float *hist, *edge, *work;
};

armstft_stream *armstft_stream_new(const armstft_stream_config *cfg, int *status) {
    int dummy;
    if (!status) status = &dummy;
    if (!cfg) {
        *status = ARMSTFT_E_NULL;
        return NULL;
    }
    if (cfg->n_fft < 1 || cfg->n_fft > ARMSTFT_MAX_N_FFT || cfg->win_length < 1 || cfg->win_length > cfg->n_fft) {
        *status = ARMSTFT_E_SIZE;
        return NULL;
    }
    if (cfg->hop < 1) {
        *status = ARMSTFT_E_HOP;
        return NULL;
    }
    armstft_stream *st = calloc(1, sizeof(*st));
    if (!st) {
        *status = ARMSTFT_E_NOMEM;
        return NULL;
    }
    st->plan = armstft_plan_new((int)cfg->n_fft);
    if (!st->plan) {
        armstft_stream_free(st);
        *status = ARMSTFT_E_PLAN;
        return NULL;
    }
    st->win = armstft_window_new(st->plan, cfg->window, cfg->win_length, cfg->scale, status);
    if (!st->win) {
        armstft_stream_free(st);
        return NULL;
    }
    st->n = cfg->n_fft;
    st->hop = cfg->hop;
    st->cap = 4 * st->n;
    st->hist = malloc(sizeof(float) * (size_t)st->cap);
    st->edge = malloc(sizeof(float) * ((size_t)st->n + armstft_plan_scratch(st->plan) + 16));
    if (!st->hist || !st->edge) {
        armstft_stream_free(st);
        *status = ARMSTFT_E_NOMEM;
        return NULL;
    }
    st->work = st->edge + st->n;
    *status = ARMSTFT_OK;
    return st;
}

void armstft_stream_free(armstft_stream *st) {
    if (!st) return;
    armstft_plan_free(st->plan);
    armstft_window_free(st->win);
    free(st->hist);
    free(st->edge);
    free(st);
}

void armstft_stream_reset(armstft_stream *st) {
    if (!st) return;
    st->fill = st->pos = st->last_end = 0;
    st->any = 0;
}

static int check_push(const armstft_stream *st, const armstft_stream_push_args *a, int need_x) {
    if (!st || !a || !a->out || (need_x && a->n > 0 && !a->x)) return ARMSTFT_E_NULL;
    int64_t extent;
    if ((need_x && a->n < 0) || a->max_frames < 1) return ARMSTFT_E_SIZE;
    if (!madd_ok(a->max_frames, 2 * (st->n / 2 + 1), 0, &extent)) return ARMSTFT_E_OVERFLOW;
    return ARMSTFT_OK;
}

static void emit(armstft_stream *st, const float *frame, float *out) {
    const float *w = st->win->w;
    armstft_rfft_frame(st->plan, frame, w, w + st->n / 2, out, st->work);
}

/* hist coordinates move down by `shift` samples */
static void shift_history(armstft_stream *st, int64_t shift) {
    st->fill -= shift;
    st->pos -= shift;
    st->last_end = st->last_end > shift ? st->last_end - shift : 0;
}

int armstft_stream_push(armstft_stream *st, armstft_stream_push_args *a) {
    int status = check_push(st, a, 1);
    if (status != ARMSTFT_OK) return status;
    const int64_t n = st->n, bins2 = 2 * (n / 2 + 1);
    int64_t used = 0, frames = 0;
    a->full = 0;
    for (;;) {
        /* every complete frame already in the history */
        while (st->pos <= st->fill && st->fill - st->pos >= n) {
            if (frames == a->max_frames) {
                a->full = 1;
                goto done;
            }
            emit(st, st->hist + st->pos, a->out + frames * bins2);
            frames++;
            st->any = 1;
            st->last_end = st->pos + n;
            st->pos += st->hop;
        }
        if (used == a->n) break;
        if (st->pos >= st->fill) {
            /* nothing buffered is needed again: drop it, and skip input up to the next frame (hop > n) */
            int64_t skip = st->pos - st->fill, rest = a->n - used, d = skip < rest ? skip : rest;
            used += d;
            shift_history(st, st->fill + d);
            st->fill = 0;
            if (st->pos > 0) continue; /* the input ended inside the gap */
        }
        /* slide the history down only when the new samples would not fit: amortised, no allocation */
        if (st->pos > 0 && st->fill + (a->n - used) > st->cap) {
            memmove(st->hist, st->hist + st->pos, sizeof(float) * (size_t)(st->fill - st->pos));
            shift_history(st, st->pos);
        }
        int64_t room = st->cap - st->fill, rest = a->n - used, take = rest < room ? rest : room;
        memcpy(st->hist + st->fill, a->x + used, sizeof(float) * (size_t)take);
        st->fill += take;
        used += take;
    }
done:
    a->consumed = used;
    a->frames = frames;
    return ARMSTFT_OK;
}

int armstft_stream_flush(armstft_stream *st, armstft_stream_push_args *a) {
    int status = check_push(st, a, 0);
    if (status != ARMSTFT_OK) return status;
    a->consumed = 0;
    a->frames = 0;
    a->full = 0;
    /* samples no emitted frame has covered: [max(pos, last_end), fill); they all fit in the frame at pos,
     * because a complete frame would already have been emitted */
    int64_t first = st->any && st->last_end > st->pos ? st->last_end : st->pos;
    if (first < st->fill) {
        int64_t have = st->fill - st->pos;
        memcpy(st->edge, st->hist + st->pos, sizeof(float) * (size_t)have);
        memset(st->edge + have, 0, sizeof(float) * (size_t)(st->n - have));
        emit(st, st->edge, a->out);
        a->frames = 1;
    }
    armstft_stream_reset(st);
    return ARMSTFT_OK;
}
