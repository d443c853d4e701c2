/* Whole-signal STFT, streaming STFT and the fused log-mel step on top of one frame plan (fft.h).
 *
 * Why a separate layer: framing, centre padding and window placement are where torch.stft spends half its
 * time (a padded copy of the whole signal, strided copies in and out).  Here interior frames are read in
 * place, only the few edge frames are padded into a frame-sized scratch, and each spectrum is written once.
 *
 * Why structs and status codes: every entry takes its arguments as one struct and checks all of them
 * before it forms a single pointer from them (sizes positive, pads and frames consistent, strides that
 * keep every row inside its buffer, no int64 overflow).  The C++ operators check first too; these checks
 * make a caller's slip an error code instead of memory corruption.
 */
#ifndef ARMSTFT_STFT_H
#define ARMSTFT_STFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "fft.h" /* a C header without its own extern "C": included inside ours */

enum { ARMSTFT_PAD_CONSTANT = 0, ARMSTFT_PAD_REFLECT = 1, ARMSTFT_PAD_REPLICATE = 2, ARMSTFT_PAD_CIRCULAR = 3 };

/* Largest frame the operators plan for: the radix-4 plan's twiddles grow as 24 n floats. */
#define ARMSTFT_MAX_N_FFT 65536

typedef enum {
    ARMSTFT_OK = 0,
    ARMSTFT_E_NULL,     /* a required pointer is NULL */
    ARMSTFT_E_PLAN,     /* no plan, or the window/filterbank was made for another size */
    ARMSTFT_E_SIZE,     /* batch, len, n_frames, win_length or max_frames out of range */
    ARMSTFT_E_HOP,      /* hop < 1 */
    ARMSTFT_E_PAD,      /* pad outside 0..n_fft, or longer than the signal allows for its mode */
    ARMSTFT_E_PAD_MODE, /* not one of ARMSTFT_PAD_* */
    ARMSTFT_E_FRAMES,   /* n_frames frames do not fit in the padded signal */
    ARMSTFT_E_STRIDE,   /* a stride lets rows overlap */
    ARMSTFT_E_OVERFLOW, /* an extent does not fit in int64 */
    ARMSTFT_E_NOMEM,
    ARMSTFT_E_VALUE, /* a float argument is not finite or out of range */
    ARMSTFT_E_NOLA,  /* istft: the window's overlap-add envelope is (near) zero somewhere in the output */
} armstft_status;

/* One line naming what was wrong, for the caller's exception. */
const char *armstft_status_text(int status);

/* --- prepared windows: split once per (plan, window), reused by every call ----------------------------- */
typedef struct armstft_window armstft_window;

/* window: win_length samples (NULL = rectangular), centred in the plan's n as torch.stft does, times scale.
 * *status is set (ARMSTFT_OK or why NULL was returned). */
armstft_window *armstft_window_new(const armstft_plan *plan, const float *window, int64_t win_length,
                                   float scale, int *status);
void armstft_window_free(armstft_window *win);

/* --- whole-signal STFT -------------------------------------------------------------------------------- */
typedef struct {
    const float *x; /* batch signals of len samples, signal b at x + b * x_stride */
    int64_t batch, len, x_stride;
    int64_t hop;
    int64_t first_frame;         /* frames first_frame .. first_frame + n_frames - 1 (a chunk of a call) */
    int64_t pad_left, pad_right; /* padding around each signal, samples */
    int pad_mode;                /* ARMSTFT_PAD_* */
    int onesided;                /* 1: n/2+1 bins, 0: n bins (Hermitian completed) */
    /* frame first_frame + t of signal b at out + b * out_stride + t * frame_stride floats, interleaved */
    float *out;
    int64_t n_frames, out_stride, frame_stride;
} armstft_stft_args;

/* ARMSTFT_OK when the arguments describe a valid call for this plan (all checks, no pointer formed). */
int armstft_stft_check(const armstft_plan *plan, const armstft_stft_args *a);
/* Checks, then computes.  scratch: armstft_stft_scratch_floats(plan) floats, or NULL (then allocated). */
int armstft_stft(const armstft_plan *plan, const armstft_window *win, const armstft_stft_args *a,
                 float *scratch);
size_t armstft_stft_scratch_floats(const armstft_plan *plan);

/* --- fused log-mel: log(fb^T |X|^power + eps) per frame ---------------------------------------------- */
typedef struct armstft_melbank armstft_melbank;

/* fb: n_freqs x n_mels row-major (torchaudio's layout), n_freqs = n_fft/2+1.  Only each band's nonzero
 * run of bins is kept (sparse).  power: 1 (magnitude) or 2 (power). */
armstft_melbank *armstft_melbank_new(const float *fb, int64_t n_freqs, int64_t n_mels, int *status);
void armstft_melbank_free(armstft_melbank *mb);
int64_t armstft_melbank_mels(const armstft_melbank *mb);

typedef struct {
    armstft_stft_args stft; /* its out/out_stride/frame_stride are ignored: spectra go to scratch */
    float power;            /* 1 or 2 */
    float eps;              /* added before the log, >= 0 */
    float *out; /* mel m of frame first_frame + t of signal b at out + b * out_stride + m * mel_stride + t */
    int64_t out_stride, mel_stride;
} armstft_logmel_args;

int armstft_logmel(const armstft_plan *plan, const armstft_window *win, const armstft_melbank *mb,
                   const armstft_logmel_args *a);

/* --- inverse STFT: windowed inverse real FFTs, overlap-added, divided by the window envelope ---------- */
typedef struct {
    /* batch spectra of n_fft/2+1 bins x n_frames frames, complex interleaved: bin k of frame t of signal b
     * at spec + 2 * (b * spec_batch_stride + k * bin_stride + t * frame_stride) floats */
    const float *spec;
    int64_t batch, n_frames, spec_batch_stride, bin_stride, frame_stride;
    const float *window; /* n_fft floats (already centred in n_fft), not NULL */
    int64_t hop;
    float scale;       /* of the inverse transform: 1/n_fft, or 1/sqrt(n_fft) when normalized */
    int64_t start;     /* first output sample within the overlap-added signal (n_fft/2 when centred) */
    int64_t out_len;   /* samples per signal; start + out_len <= n_fft + hop * (n_frames - 1) */
    float *out;        /* signal b at out + b * out_stride */
    int64_t out_stride;
} armstft_istft_args;

/* floats of scratch armstft_istft needs: two signals of n_fft + hop (n_frames - 1) plus the plan's own */
size_t armstft_istft_scratch_floats(const armstft_plan *plan, int64_t hop, int64_t n_frames);
/* Checks, then computes; ARMSTFT_E_NOLA (out untouched for the signal concerned) when the envelope
 * falls below 1e-11 in the output range, as torch.istft refuses it. scratch: NULL = allocated. */
int armstft_istft(const armstft_plan *plan, const armstft_istft_args *a, float *scratch);

/* --- streaming: frames of n_fft samples every hop samples over everything pushed (center=False) ------ */
typedef struct {
    int64_t n_fft, hop, win_length;
    const float *window; /* NULL = rectangular */
    float scale;
} armstft_stream_config;

typedef struct armstft_stream armstft_stream;
armstft_stream *armstft_stream_new(const armstft_stream_config *cfg, int *status);
void armstft_stream_free(armstft_stream *st);
void armstft_stream_reset(armstft_stream *st);

typedef struct {
    const float *x; /* n new samples */
    int64_t n;
    float *out; /* room for max_frames frames of n_fft/2+1 interleaved bins, frame-major */
    int64_t max_frames;
    /* results */
    int64_t consumed; /* samples taken (< n only when full) */
    int64_t frames;   /* frames written */
    int full;         /* out filled while frames (or samples) were still waiting: push the rest again */
} armstft_stream_push_args;

int armstft_stream_push(armstft_stream *st, armstft_stream_push_args *a);

/* End of stream: the frames that hold samples no frame has covered yet, zero-padded after the last sample
 * (what torch.stft(center=False) gives for the signal with just enough zeros appended), then reset.
 * a->x and a->n are ignored.  When a->full is set, call again for the rest. */
int armstft_stream_flush(armstft_stream *st, armstft_stream_push_args *a);

/* out[i] = |z[i]| for n interleaved complex64 values, bit for bit as glibc's hypotf (cabs.c). */
void armstft_cabs(const float *z, float *out, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
