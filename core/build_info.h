// What this build of ember computes with, for benchmarks that must say what each side runs on.
#pragma once

#include <string>

namespace ember {

// The CPU GEMM engine and the vector instructions it was compiled for, e.g.
// "Eigen 3.4.0 (SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2, AVX, FMA, AVX2)".
std::string cpu_gemm_engine();
// How the CPU computes 2-D convolutions: "oneDNN direct (float32, >= 16 channels), else im2col +
// GEMM", or "im2col + GEMM" (no oneDNN, or EMBER_ONEDNN_CONV=0).
std::string cpu_conv_engine();

}  // namespace ember
