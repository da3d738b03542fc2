# The GEMM engine, EMBER_BLAS = AUTO | ONEDNN | OPENBLAS | EIGEN (sets EMBER_ONEDNN_FOUND and
# EMBER_OPENBLAS_FOUND).
# - ONEDNN: float products through oneDNN's dnnl_sgemm (Debian's libdnnl-dev, the library PyTorch
#   uses for its CPU convolutions), double through OpenBLAS when found. On the 2026-12-02 Intel
#   Xeon (AVX-512) its 1-thread SGEMM ran 0.93-1.42x OpenBLAS's (mostly 1.1-1.3x) in the shapes
#   ember's models use, and about even with both held to AVX2 (DNNL_MAX_CPU_ISA=AVX2,
#   OPENBLAS_CORETYPE=Haswell: 0.88-1.49x, median ~1.05). build/bin/gemm_engines measures them;
#   the README's benchmark section has the figures.
# - OPENBLAS: float and double through OpenBLAS (Debian's libopenblas-dev, its pthread build); on
#   the project's AVX2 machine its 1-thread SGEMM ran 1.3-1.5x Eigen's own product.
# - AUTO: oneDNN for float when found, OpenBLAS for double (and for float without oneDNN), else
#   Eigen. EIGEN, or nothing found: Eigen's product.
set(EMBER_ONEDNN_FOUND OFF)
set(EMBER_OPENBLAS_FOUND OFF)
if(EMBER_BLAS STREQUAL "AUTO" OR EMBER_BLAS STREQUAL "ONEDNN")
  find_path(EMBER_ONEDNN_INCLUDE_DIR dnnl.h)
  find_library(EMBER_ONEDNN_LIBRARY dnnl)
  if(EMBER_ONEDNN_INCLUDE_DIR AND EMBER_ONEDNN_LIBRARY)
    set(EMBER_ONEDNN_FOUND ON)
    message(STATUS "ember: float GEMM through oneDNN (${EMBER_ONEDNN_LIBRARY})")
  elseif(EMBER_BLAS STREQUAL "ONEDNN")
    message(FATAL_ERROR "ember: EMBER_BLAS=ONEDNN but libdnnl-dev was not found")
  endif()
endif()
if(NOT EMBER_BLAS STREQUAL "EIGEN")
  find_path(EMBER_OPENBLAS_INCLUDE_DIR cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas NO_DEFAULT_PATH)
  find_library(EMBER_OPENBLAS_LIBRARY openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread NO_DEFAULT_PATH)
  if(NOT EMBER_OPENBLAS_LIBRARY)
    find_library(EMBER_OPENBLAS_LIBRARY openblas)
  endif()
  if(EMBER_OPENBLAS_INCLUDE_DIR AND EMBER_OPENBLAS_LIBRARY)
    set(EMBER_OPENBLAS_FOUND ON)
    if(EMBER_ONEDNN_FOUND)
      message(STATUS "ember: double GEMM through OpenBLAS (${EMBER_OPENBLAS_LIBRARY})")
    else()
      message(STATUS "ember: GEMM through OpenBLAS (${EMBER_OPENBLAS_LIBRARY})")
    endif()
  elseif(EMBER_BLAS STREQUAL "OPENBLAS")
    message(FATAL_ERROR "ember: EMBER_BLAS=OPENBLAS but libopenblas-dev was not found")
  endif()
endif()
if(NOT EMBER_ONEDNN_FOUND AND NOT EMBER_OPENBLAS_FOUND)
  message(STATUS "ember: GEMM through Eigen (EMBER_BLAS=${EMBER_BLAS}; libdnnl-dev / libopenblas-dev give faster products)")
endif()

# oneDNN's include directory, define and library on a target (ember; benchmarks/gemm).
function(ember_link_onednn target)
  target_include_directories(${target} PRIVATE ${EMBER_ONEDNN_INCLUDE_DIR})
  target_compile_definitions(${target} PRIVATE EMBER_HAVE_ONEDNN)
  target_link_libraries(${target} PRIVATE ${EMBER_ONEDNN_LIBRARY})
endfunction()
