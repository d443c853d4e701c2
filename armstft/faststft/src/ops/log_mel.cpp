// armstft::log_mel and its internal op armstft::_log_mel: log(fb^T |stft|^power + eps),
// (..., n_mels, n_frames) float32, torchaudio MelSpectrogram's semantics; CPU, Meta and Autograd kernels.
#include "ops/internal.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/log.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/stft.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cmath>

namespace armstft {
namespace {

void check_log_mel_args(const Tensor& self, const Tensor& fb, int64_t n_fft, double power, double eps) {
  TORCH_CHECK(fb.scalar_type() == at::kFloat && fb.dim() == 2 && fb.size(0) == n_fft / 2 + 1,
              "armstft: expected a float32 filterbank of shape (n_fft // 2 + 1, n_mels), got ", fb.sizes());
  TORCH_CHECK(fb.device() == self.device(), "armstft: filterbank on ", fb.device(), ", input on ", self.device());
  TORCH_CHECK(power == 1.0 || power == 2.0, "armstft: expected power 1 or 2, got ", power);
  TORCH_CHECK(std::isfinite(eps) && eps >= 0.0, "armstft: expected a finite eps >= 0, got ", eps);
}

const c10::TypedOperatorHandle<Tensor(const Tensor&, const Tensor&, int64_t, int64_t, int64_t,
                                      const std::optional<Tensor>&, int64_t, int64_t, c10::string_view, bool,
                                      double, double)>&
log_mel_op() {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("armstft::_log_mel", "")
                       .typed<Tensor(const Tensor&, const Tensor&, int64_t, int64_t, int64_t,
                                     const std::optional<Tensor>&, int64_t, int64_t, c10::string_view, bool,
                                     double, double)>();
  return op;
}

}  // namespace

Tensor log_mel_cpu(const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop, int64_t win_length,
                   const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                   c10::string_view pad_mode, bool normalized, double power, double eps) {
  check_internal_args(self, n_fft, hop, win_length, window, pad_left, pad_right);
  check_log_mel_args(self, fb, n_fft, power, eps);
  const int mode = pad_mode_code(pad_mode);
  TORCH_CHECK(mode >= 0, "armstft: unknown pad_mode '", pad_mode, "'");
  TORCH_CHECK(self.device().is_cpu(), "armstft: the CPU kernel got a tensor on ", self.device());
  const armstft_plan* plan = plan_for(n_fft);
  int64_t row_stride = 0;
  const Tensor x = engine_rows(self, &row_stride);
  const int64_t len = x.size(-1), batch = x.dim() == 2 ? x.size(0) : 1;
  TORCH_CHECK(len + pad_left + pad_right >= n_fft, "armstft: signal shorter than one frame");
  const int64_t n_frames = (len + pad_left + pad_right - n_fft) / hop + 1;
  const int64_t n_mels = fb.size(1);
  Tensor out = self.dim() == 1 ? at::empty({n_mels, n_frames}, x.options())
                               : at::empty({batch, n_mels, n_frames}, x.options());
  if (batch == 0) return out;
  auto mel = melbank_for(fb);
  const float scale = normalized ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(n_fft))) : 1.0f;
  auto win = window_for(plan, opt_tensor(window), win_length, scale);
  const float* xp = x.const_data_ptr<float>();
  float* op = out.mutable_data_ptr<float>();
  chunks(batch * n_frames, 32, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end;) {
      const int64_t b = i / n_frames, t0 = i % n_frames, count_ = std::min(end - i, n_frames - t0);
      armstft_logmel_args a{};
      a.stft.x = xp + b * row_stride;
      a.stft.batch = 1;
      a.stft.len = len;
      a.stft.x_stride = len;
      a.stft.hop = hop;
      a.stft.first_frame = t0;
      a.stft.pad_left = pad_left;
      a.stft.pad_right = pad_right;
      a.stft.pad_mode = mode;
      a.stft.onesided = 1;
      a.stft.n_frames = count_;
      a.power = static_cast<float>(power);
      a.eps = static_cast<float>(eps);
      a.out = op + b * n_mels * n_frames + t0;
      a.mel_stride = n_frames;
      a.out_stride = n_mels * n_frames;
      check_status(armstft_logmel(plan, win->win, mel->bank, &a), "log_mel");
      i += count_;
    }
  });
  count(kLogMel);
  return out;
}

Tensor log_mel_meta(const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop, int64_t win_length,
                    const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right,
                    c10::string_view pad_mode, bool normalized, double power, double eps) {
  check_internal_args(self, n_fft, hop, win_length, window, pad_left, pad_right);
  check_log_mel_args(self, fb, n_fft, power, eps);
  const c10::SymInt n_frames = frames_of(self.sym_size(-1), n_fft, hop, pad_left, pad_right);
  if (self.dim() == 1) return at::empty_symint({fb.sym_size(1), n_frames}, self.options());
  return at::empty_symint({self.sym_size(0), fb.sym_size(1), n_frames}, self.options());
}

Tensor log_mel_autograd(c10::DispatchKeySet ks, const Tensor& self, const Tensor& fb, int64_t n_fft, int64_t hop,
                        int64_t win_length, const std::optional<Tensor>& window, int64_t pad_left,
                        int64_t pad_right, c10::string_view pad_mode, bool normalized, double power, double eps) {
  check_no_grad("_log_mel", self, window);
  TORCH_CHECK(!needs_grad(fb), "armstft::_log_mel is not differentiable: call armstft::log_mel");
  return log_mel_op().redispatch(ks & c10::after_autograd_keyset, self, fb, n_fft, hop, win_length, window,
                                 pad_left, pad_right, pad_mode, normalized, power, eps);
}

// The framing of a log_mel call the engine covers, or nullopt.
std::optional<Framing> log_mel_framing(const Tensor& self, const Tensor& fb, int64_t n_fft,
                                       std::optional<int64_t> hop_length, std::optional<int64_t> win_length,
                                       const Tensor& window, bool center, c10::string_view pad_mode, double power,
                                       double eps) {
  const bool fb_ok = fb.scalar_type() == at::kFloat && fb.dim() == 2 && fb.layout() == c10::kStrided &&
                     fb.device() == self.device() && fb.sym_size(0) == n_fft / 2 + 1;
  if (!fb_ok || self.is_complex() || !(power == 1.0 || power == 2.0) || !std::isfinite(eps) || eps < 0.0 ||
      needs_grad(fb))
    return std::nullopt;
  return covered_framing(self, n_fft, hop_length, win_length, window, center, pad_mode, true, std::nullopt,
                         /*check_grad=*/true);
}

Tensor log_mel(const Tensor& self, const Tensor& fb, int64_t n_fft, std::optional<int64_t> hop_length,
               std::optional<int64_t> win_length, const std::optional<Tensor>& window_opt, bool center,
               c10::string_view pad_mode, bool normalized, double power, double eps) {
  const Tensor window = window_opt.has_value() ? *window_opt : Tensor();
  {
    auto f = log_mel_framing(self, fb, n_fft, hop_length, win_length, window, center, pad_mode, power, eps);
    if (f) {
      warn_like_torch_stft(window, true);
      return log_mel_op().call(self, fb, n_fft, f->hop, f->win_length, window_opt, f->pad_left, f->pad_right,
                               center ? pad_mode : c10::string_view("constant"), normalized, power, eps);
    }
  }
  // torch's own ops, as torchaudio's MelSpectrogram composes them (differentiable, torch's errors)
  Tensor spec = at::stft(self, n_fft, hop_length, win_length, window_opt, center, pad_mode, normalized,
                         /*onesided=*/true, /*return_complex=*/true);
  Tensor mag = at::abs(spec);
  if (power != 1.0) mag = at::pow(mag, power);
  Tensor mel = at::matmul(mag.transpose(-1, -2), fb).transpose(-1, -2);
  return at::log(mel.add(eps));
}

}  // namespace armstft
