#include "core/build_info.h"

#include <Eigen/Core>

#ifdef EMBER_HAVE_OPENBLAS
#include <cblas.h>
#endif

#ifdef EMBER_HAVE_ONEDNN
#include <dnnl.h>
#endif

#include "core/backend/cpu/onednn_conv.h"
#include "core/error.h"

namespace ember {

// Eigen's own SimdInstructionSetsInUse() does not tell AVX2 or FMA from AVX: list what the
// build enabled.
std::string cpu_gemm_engine() {
  std::string isa;
  auto add = [&](const char* name) { isa += (isa.empty() ? "" : ", ") + std::string(name); };
#if defined(EIGEN_VECTORIZE_AVX512)
  add("AVX-512F");
#endif
#if defined(EIGEN_VECTORIZE_AVX2)
  add("AVX2");
#endif
#if defined(EIGEN_VECTORIZE_FMA)
  add("FMA");
#endif
#if defined(EIGEN_VECTORIZE_AVX) && !defined(EIGEN_VECTORIZE_AVX2)
  add("AVX");
#endif
#if defined(EIGEN_VECTORIZE_SSE4_2) && !defined(EIGEN_VECTORIZE_AVX)
  add("SSE4.2");
#endif
#if defined(EIGEN_VECTORIZE_SSE2) && !defined(EIGEN_VECTORIZE_SSE4_2)
  add("SSE2");  // x86-64's baseline: a portable build (EMBER_NATIVE=OFF)
#endif
  if (isa.empty()) isa = "no SIMD";
  std::string eigen = str("Eigen ", EIGEN_WORLD_VERSION, ".", EIGEN_MAJOR_VERSION, ".", EIGEN_MINOR_VERSION, " (", isa, ")");
  std::string blas;
#ifdef EMBER_HAVE_ONEDNN
  // The ISA oneDNN dispatches to on this CPU (capped by DNNL_MAX_CPU_ISA): the flags nest.
  const unsigned isa_bits = dnnl_get_effective_cpu_isa();
  const char* kernels = (isa_bits & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? "AVX-512"
                        : (isa_bits & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2             ? "AVX2"
                                                                                          : "pre-AVX2";
  const dnnl_version_t* v = dnnl_version();
  blas = str("oneDNN ", v->major, ".", v->minor, ".", v->patch, " (float, its ", kernels, " kernels; single-threaded, ember splits)");
#endif
#ifdef EMBER_HAVE_OPENBLAS
  blas += str(blas.empty() ? "" : "; ", "OpenBLAS (", openblas_get_config(), blas.empty() ? ")" : ") for double");
#endif
  return blas.empty() ? eigen : str(blas, "; ", eigen, " for the other types");
}

std::string cpu_conv_engine() {
  if (!cpu::onednn_convolutions()) return "im2col + GEMM";
  return str("oneDNN direct (float32, >= ", cpu::kMinChannels, " channels), else im2col + GEMM");
}

}  // namespace ember
