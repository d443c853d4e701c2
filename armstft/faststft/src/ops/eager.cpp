// Exported (api.h): the Python fast path's entries, stft_eager and log_mel_eager — the same checks and
// kernels as the operators, without the dispatcher's boxing (which costs more than a one-frame STFT).
#include "ops/internal.h"

#include "api.h"

#include <ATen/ops/view_as_real.h>

namespace armstft {

at::Tensor stft_eager(const at::Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
                      std::optional<int64_t> win_length, const at::Tensor& window, bool center,
                      c10::string_view pad_mode, bool normalized, std::optional<bool> onesided,
                      bool return_complex, std::optional<bool> align_to_window) {
  if (center && align_to_window.has_value()) return at::Tensor();  // torch's error, from the operator
  if (!self.device().is_cpu() || (window.defined() && !window.device().is_cpu())) return at::Tensor();
  auto f = covered_framing(self, n_fft, hop_length, win_length, window, center, pad_mode, onesided,
                           align_to_window, /*check_grad=*/true);
  if (!f) return at::Tensor();
  warn_like_torch_stft(window, return_complex);
  if (!center) f->pad_mode = ARMSTFT_PAD_CONSTANT;
  at::Tensor spec = stft_compute(self, n_fft, *f, window, normalized);
  return return_complex ? spec : at::view_as_real(spec);
}

at::Tensor log_mel_eager(const at::Tensor& self, const at::Tensor& fb, int64_t n_fft,
                         std::optional<int64_t> hop_length, std::optional<int64_t> win_length,
                         const at::Tensor& window, bool center, c10::string_view pad_mode, bool normalized,
                         double power, double eps) {
  if (!self.device().is_cpu() || !fb.device().is_cpu() || (window.defined() && !window.device().is_cpu()))
    return at::Tensor();
  auto f = log_mel_framing(self, fb, n_fft, hop_length, win_length, window, center, pad_mode, power, eps);
  if (!f) return at::Tensor();
  warn_like_torch_stft(window, true);
  std::optional<at::Tensor> w;
  if (window.defined()) w = window;
  return log_mel_cpu(self, fb, n_fft, f->hop, f->win_length, w, f->pad_left, f->pad_right,
                     center ? pad_mode : c10::string_view("constant"), normalized, power, eps);
}

}  // namespace armstft
