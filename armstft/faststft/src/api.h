// What libarmstft_ops.so exports to C++ beside its operators: the calls of the Python fast path
// (fastpath.cpp, a thin CPython shim) and the streaming class.
//
// Why exported at all: from Python, the generic operator binding costs more than a one-frame STFT (it
// matches the schema and boxes every argument), so plain eager calls from Python reach these functions
// directly; they run the same checks and kernels as the operators.  Everything else stays hidden.
#ifndef ARMSTFT_API_H
#define ARMSTFT_API_H

#include <ATen/core/Tensor.h>
#include <torch/custom_class.h>

#include <optional>
#include <vector>

#define ARMSTFT_API __attribute__((visibility("default")))

extern "C" {
#include "stft.h"
}

namespace armstft {

// The engine's armstft::stft for a plain eager call (real CPU tensors, no tracing or modes: the caller
// checked), or an undefined tensor when the engine does not cover it.
ARMSTFT_API at::Tensor stft_eager(const at::Tensor& self, int64_t n_fft, std::optional<int64_t> hop_length,
                                  std::optional<int64_t> win_length, const at::Tensor& window, bool center,
                                  c10::string_view pad_mode, bool normalized, std::optional<bool> onesided,
                                  bool return_complex, std::optional<bool> align_to_window);

// The engine's armstft::log_mel for a plain eager call, or an undefined tensor when it does not cover it.
ARMSTFT_API at::Tensor log_mel_eager(const at::Tensor& self, const at::Tensor& fb, int64_t n_fft,
                                     std::optional<int64_t> hop_length, std::optional<int64_t> win_length,
                                     const at::Tensor& window, bool center, c10::string_view pad_mode,
                                     bool normalized, double power, double eps);

// torch.classes.armstft.StreamingStft: frames of everything pushed so far (center=False), written into a
// buffer made once; push/flush return views of it.
class ARMSTFT_API StreamingStft : public torch::CustomClassHolder {
 public:
  StreamingStft(int64_t n_fft, int64_t hop, const std::optional<at::Tensor>& window, bool normalized,
                int64_t max_frames);
  ~StreamingStft() override;
  at::Tensor push(const at::Tensor& x);
  at::Tensor flush();
  void reset();

 private:
  const at::Tensor& view(int64_t k);
  armstft_stream* stream_ = nullptr;
  int64_t n_fft_ = 0, max_frames_ = 0;
  at::Tensor out_;                 // (max_frames, n_freq) complex64, frame-major
  std::vector<at::Tensor> views_;  // views_[k]: (n_freq, k) view of the first k frames
};

}  // namespace armstft

#endif
