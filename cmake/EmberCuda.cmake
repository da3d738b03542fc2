# Detects the CUDA toolkit and cuDNN for EMBER_CUDA = AUTO | ON | OFF.
# Sets EMBER_CUDA_FOUND. The GPU backend builds on this (issue 7); until it lands, a found toolkit
# is reported and the CPU backend is built alone.
set(EMBER_CUDA_FOUND OFF)
if(NOT EMBER_CUDA STREQUAL "OFF")
  if(NOT CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND)
    find_path(EMBER_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    find_library(EMBER_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR})
  endif()
  if(CUDAToolkit_FOUND AND EMBER_CUDNN_INCLUDE_DIR AND EMBER_CUDNN_LIBRARY)
    set(EMBER_CUDA_FOUND ON)
    message(STATUS "ember: CUDA ${CUDAToolkit_VERSION} and cuDNN found (${EMBER_CUDNN_LIBRARY}); "
                   "the CUDA backend is not part of this version yet, building the CPU backend")
  elseif(EMBER_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ember: EMBER_CUDA=ON but the CUDA toolkit or cuDNN was not found "
                        "(looked under ${CUDAToolkit_ROOT}); set CUDAToolkit_ROOT or use EMBER_CUDA=OFF")
  else()
    message(STATUS "ember: CUDA toolkit or cuDNN not found; building the CPU backend only")
  endif()
endif()
