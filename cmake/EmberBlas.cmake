# The GEMM engine, EMBER_BLAS = AUTO | OPENBLAS | EIGEN (sets EMBER_OPENBLAS_FOUND).
# AUTO takes OpenBLAS (Debian's libopenblas-dev, its pthread build) when found: on this project's
# AVX2 machine its 1-thread SGEMM ran 1.3-1.5x Eigen's own product (benchmarks/compare/run prints
# both). EIGEN, or OpenBLAS absent: Eigen's product, as before.
set(EMBER_OPENBLAS_FOUND OFF)
if(NOT EMBER_BLAS STREQUAL "EIGEN")
  find_path(EMBER_OPENBLAS_INCLUDE_DIR cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas NO_DEFAULT_PATH)
  find_library(EMBER_OPENBLAS_LIBRARY openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread NO_DEFAULT_PATH)
  if(NOT EMBER_OPENBLAS_LIBRARY)
    find_library(EMBER_OPENBLAS_LIBRARY openblas)
  endif()
  if(EMBER_OPENBLAS_INCLUDE_DIR AND EMBER_OPENBLAS_LIBRARY)
    set(EMBER_OPENBLAS_FOUND ON)
    message(STATUS "ember: GEMM through OpenBLAS (${EMBER_OPENBLAS_LIBRARY})")
  elseif(EMBER_BLAS STREQUAL "OPENBLAS")
    message(FATAL_ERROR "ember: EMBER_BLAS=OPENBLAS but libopenblas-dev was not found")
  else()
    message(STATUS "ember: OpenBLAS not found (libopenblas-dev); GEMM through Eigen")
  endif()
endif()
