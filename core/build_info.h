// What this build of ember computes with, for benchmarks that must say what each side runs on.
#pragma once

#include <string>

namespace ember {

// The CPU GEMM engine and the vector instructions it was compiled for, e.g.
// "Eigen 3.4.0 (SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2, AVX, FMA, AVX2)".
std::string cpu_gemm_engine();

}  // namespace ember
