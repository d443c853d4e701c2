// Runs a TorchScript model that calls armstft's operators from C++ alone: no Python in the process.
//
//   run_model MODEL.pt INPUT.f32 SAMPLES OUTPUT.f32 [METHOD]
//
// INPUT.f32 holds SAMPLES raw float32 values, fed as a (1, SAMPLES) tensor to METHOD (default: forward);
// OUTPUT.f32 gets the result's raw float32 values (complex results as (re, im) pairs).  Prints the result's
// shape and the engine's call counters (armstft::_counters): which calls the armstft engine answered.
// Build against the torch wheel's libtorch and link libarmstft_ops.so (its static registrations define
// the operators; ARMSTFT_ACCELERATE=1 in the environment turns acceleration on when it loads):
//   g++ -std=c++17 run_model.cpp -I$T/include -I$T/include/torch/csrc/api/include -L$T/lib -L$A \
//       -Wl,--no-as-needed -larmstft_ops -ltorch -ltorch_cpu -lc10 -Wl,-rpath,$T/lib:$A -o run_model
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/script.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: run_model MODEL.pt INPUT.f32 SAMPLES OUTPUT.f32 [METHOD]\n";
    return 2;
  }
  const int64_t samples = std::stoll(argv[3]);
  std::vector<float> input(static_cast<size_t>(samples));
  std::ifstream in(argv[2], std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(input.data()), static_cast<std::streamsize>(4 * input.size()))) {
    std::cerr << "run_model: error: " << argv[2] << ": expected " << samples << " float32 samples\n";
    return 2;
  }
  try {
    torch::jit::Module module = torch::jit::load(argv[1]);
    torch::InferenceMode guard;
    at::Tensor x = torch::from_blob(input.data(), {1, samples}, torch::kFloat).clone();
    const std::string method = argc > 5 ? argv[5] : "forward";
    at::Tensor out = module.get_method(method)({x}).toTensor().contiguous();
    if (out.is_complex()) out = at::view_as_real(out).contiguous();
    std::ofstream o(argv[4], std::ios::binary);
    o.write(reinterpret_cast<const char*>(out.const_data_ptr<float>()),
            static_cast<std::streamsize>(4 * out.numel()));
    std::cout << "shape";
    for (auto s : out.sizes()) std::cout << " " << s;
    auto counters = c10::Dispatcher::singleton()
                        .findSchemaOrThrow("armstft::_counters", "")
                        .typed<std::vector<int64_t>()>()
                        .call();
    std::cout << "\ncounters";
    for (auto c : counters) std::cout << " " << c;
    std::cout << "\n";
  } catch (const c10::Error& e) {
    std::cerr << "run_model: error: " << e.what_without_backtrace() << "\n";
    return 1;
  }
  return 0;
}
