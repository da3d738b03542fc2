#include "core/build_info.h"

#include <Eigen/Core>

#ifdef EMBER_HAVE_OPENBLAS
#include <cblas.h>
#endif

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
  if (isa.empty()) isa = "no SIMD";
  std::string eigen = str("Eigen ", EIGEN_WORLD_VERSION, ".", EIGEN_MAJOR_VERSION, ".", EIGEN_MINOR_VERSION, " (", isa, ")");
#ifdef EMBER_HAVE_OPENBLAS
  return str("OpenBLAS (", openblas_get_config(), "); ", eigen, " for integer and in-parallel products");
#else
  return eigen;
#endif
}

}  // namespace ember
