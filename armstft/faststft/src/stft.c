/* Framing, centre padding, windows and streaming around armstft_rfft_frame. */
#include "stft.h"

#include <stdlib.h>
#include <string.h>

/* sample at padded index i of a signal of len samples (i may be outside [0, len)) */
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

size_t armstft_stft_scratch_bytes(const armstft_plan *plan) {
    int n = armstft_plan_size(plan);
    return sizeof(float) * ((size_t)2 * n + armstft_plan_scratch(plan) + 16);
}

int armstft_stft(const armstft_plan *plan, const float *x, int64_t batch, int64_t x_stride, int64_t len,
                 const float *window, int64_t win_length, int64_t hop, int64_t pad, int pad_mode, float scale,
                 int onesided, float *out, int64_t n_frames, int64_t out_stride, int64_t frame_stride) {
    const int n = armstft_plan_size(plan);
    float *mem = malloc(armstft_stft_scratch_bytes(plan));
    if (!mem) return -1;
    float *w_even = mem, *w_odd = mem + n / 2, *edge = mem + n, *work = mem + 2 * n;
    armstft_split_window(n, window, win_length, scale, w_even, w_odd);
    for (int64_t b = 0; b < batch; b++) {
        const float *xb = x + b * x_stride;
        float *ob = out + b * out_stride;
        for (int64_t t = 0; t < n_frames; t++) {
            int64_t start = t * hop - pad;
            const float *frame = xb + start;
            if (start < 0 || start + n > len) {
                for (int j = 0; j < n; j++) edge[j] = padded_sample(xb, len, start + j, pad_mode);
                frame = edge;
            }
            float *spec = ob + t * frame_stride;
            armstft_rfft_frame(plan, frame, w_even, w_odd, spec, work);
            if (!onesided) complete_full(n, spec);
        }
    }
    free(mem);
    return 0;
}

struct armstft_stream {
    armstft_plan *plan;
    int n, hop, max_frames;
    int64_t cap, fill, pos; /* history buffer: valid samples [pos, fill) */
    float *hist, *w_even, *w_odd, *work;
};

armstft_stream *armstft_stream_new(int n_fft, int hop, const float *window, int win_length, float scale,
                                   int max_frames) {
    if (hop <= 0 || hop > n_fft || max_frames <= 0 || win_length > n_fft) return NULL;
    armstft_stream *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->plan = armstft_plan_new(n_fft);
    st->n = n_fft;
    st->hop = hop;
    st->max_frames = max_frames;
    st->cap = 4 * (int64_t)n_fft + 4 * (int64_t)hop;
    if (st->plan) {
        st->hist = malloc(sizeof(float) * (size_t)st->cap);
        st->w_even = malloc(sizeof(float) * (size_t)n_fft);
        st->work = malloc(sizeof(float) * armstft_plan_scratch(st->plan));
    }
    if (!st->plan || !st->hist || !st->w_even || !st->work) {
        armstft_stream_free(st);
        return NULL;
    }
    st->w_odd = st->w_even + n_fft / 2;
    armstft_split_window(n_fft, window, win_length, scale, st->w_even, st->w_odd);
    return st;
}

void armstft_stream_free(armstft_stream *st) {
    if (!st) return;
    armstft_plan_free(st->plan);
    free(st->hist);
    free(st->w_even);
    free(st->work);
    free(st);
}

void armstft_stream_reset(armstft_stream *st) { st->fill = st->pos = 0; }

int armstft_stream_push(armstft_stream *st, const float *x, int64_t n, float *out, int64_t *consumed,
                        int *full) {
    const int64_t bins2 = 2 * ((int64_t)st->n / 2 + 1);
    int frames = 0;
    *full = 0;
    int64_t used = 0;
    while (1) {
        /* emit every complete frame already in the history (hop <= n_fft keeps pos <= fill) */
        while (st->fill - st->pos >= st->n) {
            if (frames == st->max_frames) {
                *full = 1;
                goto done;
            }
            armstft_rfft_frame(st->plan, st->hist + st->pos, st->w_even, st->w_odd, out + frames * bins2,
                               st->work);
            frames++;
            st->pos += st->hop;
        }
        if (used == n) break;
        /* slide the history down only when the new samples would not fit: amortised, no allocation */
        if (st->pos > 0 && st->fill + (n - used) > st->cap) {
            memmove(st->hist, st->hist + st->pos, sizeof(float) * (size_t)(st->fill - st->pos));
            st->fill -= st->pos;
            st->pos = 0;
        }
        int64_t room = st->cap - st->fill, take = n - used < room ? n - used : room;
        memcpy(st->hist + st->fill, x + used, sizeof(float) * (size_t)take);
        st->fill += take;
        used += take;
    }
done:
    *consumed = used;
    return frames;
}
