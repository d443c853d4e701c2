// armstft::stft (torch.stft's signature and semantics) and its internal op armstft::_stft: the engine's
// STFT, output complex64 (..., n_freq, n_frames) with torch.stft's strides; CPU, Meta and Autograd kernels.
#include "ops/internal.h"

#include <ATen/ops/stft.h>
#include <ATen/ops/view_as_real.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cmath>

namespace armstft {
namespace {

const c10::TypedOperatorHandle<Tensor(const Tensor&, int64_t, int64_t, int64_t, const std::optional<Tensor>&,
                                      int64_t, int64_t, c10::string_view, bool, bool)>&
stft_op() {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("armstft::_stft", "")
                       .typed<Tensor(const Tensor&, int64_t, int64_t, int64_t, const std::optional<Tensor>&,
                                     int64_t, int64_t, c10::string_view, bool, bool)>();
  return op;
}

}  // namespace

// The engine's STFT of a checked call: f holds the framing, window is float32 (win_length,) or undefined.
Tensor stft_compute(const Tensor& self, int64_t n_fft, const Framing& f, const Tensor& window, bool normalized) {
  const armstft_plan* plan = plan_for(n_fft);
  int64_t row_stride = 0;
  const Tensor x = engine_rows(self, &row_stride);
  const int64_t len = x.size(-1), batch = x.dim() == 2 ? x.size(0) : 1;
  TORCH_CHECK(len + f.pad_left + f.pad_right >= n_fft, "armstft: signal shorter than one frame");
  const int64_t n_frames = (len + f.pad_left + f.pad_right - n_fft) / f.hop + 1;
  const int64_t rows = f.onesided ? n_fft / 2 + 1 : n_fft;
  Tensor out = empty_spectrum_cpu(x, rows, n_frames);
  if (batch == 0) return out;
  const float scale = normalized ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(n_fft))) : 1.0f;
  auto win = window_for(plan, window, f.win_length, scale);
  const float* xp = x.const_data_ptr<float>();
  float* op = reinterpret_cast<float*>(out.mutable_data_ptr<c10::complex<float>>());
  const size_t scratch = armstft_stft_scratch_floats(plan);
  // frames in chunks across threads (one chunk when single-threaded): each chunk is its own engine call
  chunks(batch * n_frames, 32, [&](int64_t begin, int64_t end) {
    float* s = scratch_floats(scratch);
    for (int64_t i = begin; i < end;) {
      const int64_t b = i / n_frames, t0 = i % n_frames, count_ = std::min(end - i, n_frames - t0);
      armstft_stft_args a{};
      a.x = xp + b * row_stride;
      a.batch = 1;
      a.len = len;
      a.x_stride = len;
      a.hop = f.hop;
      a.first_frame = t0;
      a.pad_left = f.pad_left;
      a.pad_right = f.pad_right;
      a.pad_mode = f.pad_mode;
      a.onesided = f.onesided ? 1 : 0;
      a.out = op + 2 * (b * n_frames * rows + t0 * rows);
      a.n_frames = count_;
      a.frame_stride = 2 * rows;
      a.out_stride = 2 * rows * n_frames;
      check_status(armstft_stft(plan, win->win, &a, s), "stft");
      i += count_;
    }
  });
  count(kStft);
  return out;
}

Tensor stft_cpu(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                c10::string_view pad_mode, bool normalized, bool onesided) {
  check_internal_args(self, n_fft, hop, win_length, window, pad_left, pad_right);
  TORCH_CHECK(self.device().is_cpu(), "armstft: the CPU kernel got a tensor on ", self.device());
  Framing f;
  f.hop = hop;
  f.win_length = win_length;
  f.pad_left = pad_left;
  f.pad_right = pad_right;
  f.pad_mode = pad_mode_code(pad_mode);
  f.onesided = onesided;
  TORCH_CHECK(f.pad_mode >= 0, "armstft: unknown pad_mode '", pad_mode, "'");
  return stft_compute(self, n_fft, f, opt_tensor(window), normalized);
}

Tensor stft_meta(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                 const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                 c10::string_view pad_mode, bool normalized, bool onesided) {
  check_internal_args(self, n_fft, hop, win_length, window, pad_left, pad_right);
  TORCH_CHECK(pad_mode_code(pad_mode) >= 0, "armstft: unknown pad_mode '", pad_mode, "'");
  const int64_t rows = onesided ? n_fft / 2 + 1 : n_fft;
  return empty_spectrum(self, rows, frames_of(self.sym_size(-1), n_fft, hop, pad_left, pad_right),
                        at::kComplexFloat);
}

// The engine's answer to an stft call, or an undefined tensor when it does not cover the call.
Tensor stft_covered(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_opt,
                    std::optional<int64_t> win_opt, const std::optional<Tensor>& window_opt, bool center,
                    c10::string_view pad_mode, bool normalized, std::optional<bool> onesided_opt,
                    std::optional<bool> return_complex_opt, std::optional<bool> align_opt, bool check_grad) {
  if (!return_complex_opt.has_value() || self.is_complex()) return Tensor();  // torch errors / two-sided
  const Tensor window = window_opt.has_value() ? *window_opt : Tensor();
  auto f = covered_framing(self, n_fft, hop_opt, win_opt, window, center, pad_mode, onesided_opt, align_opt,
                           check_grad);
  if (!f) return Tensor();
  warn_like_torch_stft(window, *return_complex_opt);
  Tensor spec = stft_op().call(self, n_fft, f->hop, f->win_length, window_opt, f->pad_left, f->pad_right,
                               center ? pad_mode : c10::string_view("constant"), normalized, f->onesided);
  return *return_complex_opt ? spec : at::view_as_real(spec);
}


Tensor stft_autograd(c10::DispatchKeySet ks, const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                     const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                     c10::string_view pad_mode, bool normalized, bool onesided) {
  check_no_grad("_stft", self, window);
  return stft_op().redispatch(ks & c10::after_autograd_keyset, self, n_fft, hop, win_length, window, pad_left,
                              pad_right, pad_mode, normalized, onesided);
}

// armstft::stft — torch.stft's signature and semantics.
Tensor stft(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
            std::optional<int64_t> win_length, const std::optional<Tensor>& window, bool center,
            c10::string_view pad_mode, bool normalized, std::optional<bool> onesided,
            std::optional<bool> return_complex, std::optional<bool> align_to_window) {
  TORCH_CHECK(!(center && align_to_window.has_value()),
              "stft align_to_window should only be set when center = false");
  Tensor out = stft_covered(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                            return_complex, align_to_window, /*check_grad=*/true);
  if (out.defined()) return out;
  return at::stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided,
                  return_complex, align_to_window);
}

}  // namespace armstft
