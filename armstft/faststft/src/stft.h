/* Whole-signal STFT and streaming STFT on top of one frame plan (torch.stft semantics).
 *
 * Why a separate layer: framing, centre padding and window placement are where torch.stft spends half its
 * time (a padded copy of the whole signal, strided copies in and out).  Here interior frames are read in
 * place, only the few edge frames are padded into a frame-sized scratch, and each spectrum is written once.
 */
#ifndef ARMSTFT_STFT_H
#define ARMSTFT_STFT_H

#include <stdint.h>

#include "fft.h"

enum { ARMSTFT_PAD_CONSTANT = 0, ARMSTFT_PAD_REFLECT = 1, ARMSTFT_PAD_REPLICATE = 2, ARMSTFT_PAD_CIRCULAR = 3 };

/* Bytes of scratch armstft_stft needs for a plan. */
size_t armstft_stft_scratch_bytes(const armstft_plan *plan);

/* x: batch signals of len samples, signal b at x + b * x_stride.
 * window: win_length samples (NULL = rectangular), centred in n_fft as torch.stft does.
 * pad: samples of centre padding on each side (0 or n_fft/2), pad_mode one of ARMSTFT_PAD_*;
 * the caller has checked what torch would reject (reflect/circular pad longer than the signal).
 * out: spectrum of frame t of signal b at out + b * out_stride + t * frame_stride (floats), interleaved
 * complex, n_fft/2+1 bins (onesided) or n_fft bins (full, Hermitian completed).
 * Returns 0, or -1 when scratch could not be allocated. */
int armstft_stft(const armstft_plan *plan, const float *x, int64_t batch, int64_t x_stride, int64_t len,
                 const float *window, int64_t win_length, int64_t hop, int64_t pad, int pad_mode, float scale,
                 int onesided, float *out, int64_t n_frames, int64_t out_stride, int64_t frame_stride);

/* Streaming: frames of n_fft samples every hop samples over everything pushed so far (center=False). */
typedef struct armstft_stream armstft_stream;
armstft_stream *armstft_stream_new(int n_fft, int hop, const float *window, int win_length, float scale,
                                   int max_frames);
void armstft_stream_free(armstft_stream *st);
/* Consumes up to n samples, writes at most max_frames frames (n_fft/2+1 interleaved bins each) to out,
 * frame-major.  *consumed tells how many samples were taken; *full is set when out filled up while frames
 * (or samples) were still waiting: push the rest (possibly zero samples) again to get them. */
int armstft_stream_push(armstft_stream *st, const float *x, int64_t n, float *out, int64_t *consumed,
                        int *full);
void armstft_stream_reset(armstft_stream *st);

#endif
