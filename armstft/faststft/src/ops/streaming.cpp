// Exported (api.h): torch.classes.armstft.StreamingStft — frames of everything pushed so far
// (center=False), written into a buffer made once; push/flush return views of it.
#include "ops/internal.h"

#include "api.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>

#include <cmath>
#include <vector>

namespace armstft {

StreamingStft::StreamingStft(int64_t n_fft, int64_t hop, const std::optional<at::Tensor>& window,
                             bool normalized, int64_t max_frames) {
  TORCH_CHECK_VALUE(n_fft >= 1 && plan_for(n_fft) != nullptr, "StreamingStft: n_fft: expected a size the engine ",
              "plans for (see armstft.faststft.covers), got ", n_fft);
  TORCH_CHECK_VALUE(hop >= 1, "StreamingStft: hop_length: expected >= 1, got ", hop);
  TORCH_CHECK_VALUE(max_frames >= 1 && max_frames <= (int64_t{1} << 24),
              "StreamingStft: max_frames: expected 1..2^24, got ", max_frames);
  at::Tensor w;
  int64_t win_length = n_fft;
  if (window.has_value() && window->defined()) {
    TORCH_CHECK_VALUE(window->device().is_cpu() && window->layout() == c10::kStrided,
                "StreamingStft: window: expected a CPU tensor, got one on ", window->device());
    TORCH_CHECK_VALUE(!window->is_complex() && at::isFloatingType(window->scalar_type()),
                "StreamingStft: window: expected a real floating-point tensor, got ", window->scalar_type());
    TORCH_CHECK_VALUE(window->dim() == 1 && window->size(0) >= 1 && window->size(0) <= n_fft,
                "StreamingStft: window: expected 1-D with 1..", n_fft, " samples, got shape ", window->sizes());
    w = window->detach().to(at::kFloat).resolve_neg().contiguous();
    win_length = w.size(0);
  }
  armstft_stream_config cfg{};
  cfg.n_fft = n_fft;
  cfg.hop = hop;
  cfg.win_length = win_length;
  cfg.window = w.defined() ? w.const_data_ptr<float>() : nullptr;
  cfg.scale = normalized ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(n_fft))) : 1.0f;
  int status = ARMSTFT_OK;
  stream_ = armstft_stream_new(&cfg, &status);
  check_status(status, "StreamingStft");
  n_fft_ = n_fft;
  max_frames_ = max_frames;
  out_ = at::empty({max_frames, n_fft / 2 + 1}, at::TensorOptions().dtype(at::kComplexFloat));
}

StreamingStft::~StreamingStft() { armstft_stream_free(stream_); }

const at::Tensor& StreamingStft::view(int64_t k) {
  while (static_cast<int64_t>(views_.size()) <= k) {
    views_.push_back(out_.narrow(0, 0, static_cast<int64_t>(views_.size())).transpose(0, 1));
  }
  return views_[static_cast<size_t>(k)];
}

at::Tensor StreamingStft::push(const at::Tensor& x) {
  TORCH_CHECK_VALUE(x.device().is_cpu() && x.layout() == c10::kStrided,
              "StreamingStft.push: expected a CPU tensor of samples, got one on ", x.device());
  TORCH_CHECK_VALUE(!x.key_set().has(c10::DispatchKey::Python),
              "StreamingStft.push: expected a plain tensor of samples, got a tensor subclass or FakeTensor");
  TORCH_CHECK_VALUE(!x.is_complex() && x.scalar_type() != at::kBool,
              "StreamingStft.push: expected real samples, got ", x.scalar_type());
  at::Tensor s = x;  // the steady state (float32, 1-D, contiguous) reads the caller's tensor in place
  if (s.scalar_type() != at::kFloat || s.dim() != 1 || !s.is_contiguous() || s.is_neg()) {
    s = x.detach().reshape({-1}).to(at::kFloat).resolve_neg().contiguous();
  }
  armstft_stream_push_args a{};
  a.x = s.const_data_ptr<float>();
  a.n = s.numel();
  a.out = reinterpret_cast<float*>(out_.mutable_data_ptr<c10::complex<float>>());
  a.max_frames = max_frames_;
  check_status(armstft_stream_push(stream_, &a), "StreamingStft.push");
  if (!a.full) return view(a.frames);
  std::vector<at::Tensor> parts;  // the output buffer filled up: keep what we have, go on with the rest
  int64_t used = 0;
  while (a.full) {
    parts.push_back(view(a.frames).clone());
    used += a.consumed;
    a.x = s.const_data_ptr<float>() + used;
    a.n = s.numel() - used;
    check_status(armstft_stream_push(stream_, &a), "StreamingStft.push");
  }
  used += a.consumed;
  parts.push_back(view(a.frames).clone());
  return at::cat(parts, 1);
}

at::Tensor StreamingStft::flush() {
  armstft_stream_push_args a{};
  a.out = reinterpret_cast<float*>(out_.mutable_data_ptr<c10::complex<float>>());
  a.max_frames = max_frames_;
  check_status(armstft_stream_flush(stream_, &a), "StreamingStft.flush");
  return view(a.frames);
}

void StreamingStft::reset() { armstft_stream_reset(stream_); }

}  // namespace armstft
