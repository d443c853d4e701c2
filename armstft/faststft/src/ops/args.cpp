// Argument decisions shared by the public ops and the aten::stft acceleration (which calls the engine
// covers, with which framing), and the checks and allocations every kernel shares.
//
// Why one file: the rule of what the engine covers must be one rule, or an op and the acceleration would
// answer the same call differently.
#include "ops/internal.h"

#include <ATen/EmptyTensor.h>
#include <ATen/ops/empty_strided.h>
#include <c10/core/GradMode.h>
#include <c10/util/Exception.h>

namespace armstft {

int pad_mode_code(c10::string_view mode) {
  if (mode == "constant") return ARMSTFT_PAD_CONSTANT;
  if (mode == "reflect") return ARMSTFT_PAD_REFLECT;
  if (mode == "replicate") return ARMSTFT_PAD_REPLICATE;
  if (mode == "circular") return ARMSTFT_PAD_CIRCULAR;
  return -1;
}

namespace {
bool fw_grad(const Tensor& t) { return t.defined() && t._fw_grad(/*level=*/0).defined(); }
}  // namespace

// True when the call needs autograd (reverse or forward): those go to torch's differentiable ops.
bool needs_grad(const Tensor& a, const Tensor& b) {
  if (c10::GradMode::is_enabled() && (a.requires_grad() || (b.defined() && b.requires_grad()))) return true;
  return fw_grad(a) || fw_grad(b);
}

bool engine_device(const Tensor& t) {
  const auto type = t.device().type();
  return t.layout() == c10::kStrided && (type == c10::DeviceType::CPU || type == c10::DeviceType::Meta);
}

// The framing of an stft-like call, or nullopt when the engine does not cover it (then torch decides).
// Lengths may be symbolic (torch.compile / torch.export with dynamic shapes): only relations are guarded.
std::optional<Framing> covered_framing(const Tensor& self, int64_t n_fft, std::optional<int64_t> hop_opt,
                                       std::optional<int64_t> win_opt, const Tensor& window, bool center,
                                       c10::string_view pad_mode, std::optional<bool> onesided_opt,
                                       std::optional<bool> align_opt, bool check_grad) {
  if (self.scalar_type() != at::kFloat || !engine_device(self)) return std::nullopt;
  if (self.dim() < 1 || self.dim() > 2) return std::nullopt;
  if (window.defined() && (window.scalar_type() != at::kFloat || window.dim() != 1 ||
                           window.device() != self.device() || window.layout() != c10::kStrided))
    return std::nullopt;
  if (check_grad && needs_grad(self, window)) return std::nullopt;
  if (plan_for(n_fft) == nullptr) return std::nullopt;
  Framing f;
  f.hop = hop_opt.value_or(n_fft >> 2);
  f.win_length = win_opt.value_or(n_fft);
  if (f.hop <= 0 || f.win_length <= 0 || f.win_length > n_fft) return std::nullopt;
  if (window.defined() && window.sym_size(0) != f.win_length) return std::nullopt;
  f.onesided = onesided_opt.value_or(true);
  const c10::SymInt len = self.sym_size(-1);
  if (self.dim() == 2 && !(self.sym_size(0) >= 1)) return std::nullopt;
  if (center) {
    f.pad_mode = pad_mode_code(pad_mode);
    if (f.pad_mode < 0) return std::nullopt;
    f.pad_left = f.pad_right = n_fft / 2;
    if (!(len >= 1)) return std::nullopt;
    if (f.pad_mode == ARMSTFT_PAD_REFLECT && !(len > f.pad_left))
      return std::nullopt;
    if (f.pad_mode == ARMSTFT_PAD_CIRCULAR && !(len >= f.pad_left))
      return std::nullopt;
  } else if (align_opt.value_or(false)) {
    if ((n_fft - f.win_length) % 2 != 0) return std::nullopt;  // torch itself fails on these
    f.pad_left = f.pad_right = (n_fft - f.win_length) / 2;
  }
  if (!(len + f.pad_left + f.pad_right >= n_fft)) return std::nullopt;
  return f;
}

void warn_like_torch_stft(const Tensor& window, bool return_complex) {
  if (!window.defined()) {
    TORCH_WARN_ONCE(
        "A window was not provided. A rectangular window will be applied,"
        "which is known to cause spectral leakage. "
        "Other windows such as torch.hann_window or torch.hamming_window "
        "are recommended to reduce spectral leakage."
        "To suppress this warning and use a rectangular window, explicitly set "
        "`window=torch.ones(n_fft, device=<device>)`.");
  }
  if (!return_complex) {
    TORCH_WARN_ONCE(
        "stft with return_complex=False is deprecated. In a future pytorch "
        "release, stft will return complex tensors for all inputs, and "
        "return_complex=False will raise an error.\n"
        "Note: you can still call torch.view_as_real on the complex output to "
        "recover the old return format.");
  }
}

c10::SymInt frames_of(const c10::SymInt& len, int64_t n_fft, int64_t hop, int64_t pad_left, int64_t pad_right) {
  return (len + pad_left + pad_right - n_fft) / hop + 1;
}

Tensor empty_spectrum(const Tensor& self, int64_t rows, const c10::SymInt& n_frames, at::ScalarType dtype) {
  auto opts = self.options().dtype(dtype);
  if (self.dim() == 1) return at::empty_strided_symint({rows, n_frames}, {1, rows}, opts);
  return at::empty_strided_symint({self.sym_size(0), rows, n_frames}, {n_frames * rows, 1, rows}, opts);
}

// The CPU kernel allocates as ATen's own CPU kernels do (no second trip through the dispatcher).
Tensor empty_spectrum_cpu(const Tensor& self, int64_t rows, int64_t n_frames) {
  if (self.dim() == 1) return at::detail::empty_strided_cpu({rows, n_frames}, {1, rows}, at::kComplexFloat);
  return at::detail::empty_strided_cpu({self.size(0), rows, n_frames}, {n_frames * rows, 1, rows},
                                       at::kComplexFloat);
}

void check_internal_args(const Tensor& self, int64_t n_fft, int64_t hop, int64_t win_length,
                         const std::optional<Tensor>& window, int64_t pad_left, int64_t pad_right) {
  TORCH_CHECK(self.scalar_type() == at::kFloat, "armstft: expected float32 input, got ", self.scalar_type());
  TORCH_CHECK(self.dim() == 1 || self.dim() == 2, "armstft: expected a 1-D or 2-D input, got ", self.dim(),
              "-D");
  TORCH_CHECK(plan_for(n_fft) != nullptr, "armstft: no plan for n_fft=", n_fft);
  TORCH_CHECK(hop >= 1, "armstft: expected hop_length >= 1, got ", hop);
  TORCH_CHECK(win_length >= 1 && win_length <= n_fft, "armstft: expected 1 <= win_length <= n_fft, got ",
              win_length);
  TORCH_CHECK(pad_left >= 0 && pad_right >= 0 && pad_left <= n_fft && pad_right <= n_fft,
              "armstft: padding out of range");
  if (window.has_value() && window->defined()) {
    TORCH_CHECK(window->scalar_type() == at::kFloat && window->dim() == 1 && window->size(0) == win_length,
                "armstft: expected a float32 window of win_length=", win_length, " samples");
    TORCH_CHECK(window->device() == self.device(), "armstft: window on ", window->device(), ", input on ",
                self.device());
  }
}

// The input as rows the engine can read: last stride 1, rows apart by a stride >= len.
Tensor engine_rows(const Tensor& self, int64_t* row_stride) {
  Tensor x = self;
  const int64_t len = self.size(-1);
  if (x.stride(-1) != 1 || (x.dim() == 2 && x.size(0) > 1 && x.stride(0) < len)) x = x.contiguous();
  *row_stride = x.dim() == 2 ? x.stride(0) : len;
  return x;
}

const Tensor& opt_tensor(const std::optional<Tensor>& t) {
  static const Tensor undefined;
  return t.has_value() ? *t : undefined;
}

void check_no_grad(const char* op, const Tensor& a, const std::optional<Tensor>& b) {
  TORCH_CHECK(!needs_grad(a, opt_tensor(b)), "armstft::", op, " is not differentiable: call armstft::",
              op + 1, ", which hands inputs that need grad to torch's differentiable ops");
}

}  // namespace armstft
