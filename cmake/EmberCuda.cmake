# The CUDA backend, EMBER_CUDA = AUTO | ON | OFF (sets EMBER_CUDA_FOUND).
# AUTO builds core/backend/cuda when nvcc, cuBLAS and cuDNN are found (/usr/local/cuda here and on
# CI), so every CI run compiles and links it; the library still runs without a GPU or driver
# (the runtime is linked statically and finds the driver when first asked). Device code is built
# for sm_90 (H100/H200) only, to keep the build short on 2 cores; set CMAKE_CUDA_ARCHITECTURES
# for other GPUs. Libraries are linked by file, so the installed package needs no CUDA config.
set(EMBER_CUDA_FOUND OFF)
if(NOT EMBER_CUDA STREQUAL "OFF")
  if(NOT CUDAToolkit_ROOT AND EXISTS /usr/local/cuda)
    set(CUDAToolkit_ROOT /usr/local/cuda)
  endif()
  find_package(CUDAToolkit QUIET)
  if(CUDAToolkit_FOUND)
    find_path(EMBER_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
    find_library(EMBER_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR})
    find_library(EMBER_CUBLAS_LIBRARY cublas HINTS ${CUDAToolkit_LIBRARY_DIR})
    find_library(EMBER_CUDART_STATIC cudart_static HINTS ${CUDAToolkit_LIBRARY_DIR})
    # NCCL's header only: dist/nccl_group.cpp opens libnccl.so.2 at run time.
    find_path(EMBER_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  endif()
  if(CUDAToolkit_FOUND AND CUDAToolkit_NVCC_EXECUTABLE AND EMBER_CUDNN_INCLUDE_DIR AND EMBER_CUDNN_LIBRARY
     AND EMBER_CUBLAS_LIBRARY AND EMBER_CUDART_STATIC)
    set(EMBER_CUDA_FOUND ON)
    if(NOT CMAKE_CUDA_COMPILER)
      set(CMAKE_CUDA_COMPILER ${CUDAToolkit_NVCC_EXECUTABLE})
    endif()
    if(NOT CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    enable_language(CUDA)
    message(STATUS "ember: CUDA backend with CUDA ${CUDAToolkit_VERSION}, cuBLAS (${EMBER_CUBLAS_LIBRARY}) and "
                   "cuDNN (${EMBER_CUDNN_LIBRARY}), device code for sm_${CMAKE_CUDA_ARCHITECTURES}")
  elseif(EMBER_CUDA STREQUAL "ON")
    message(FATAL_ERROR "ember: EMBER_CUDA=ON but nvcc, cuBLAS or cuDNN was not found "
                        "(looked under ${CUDAToolkit_ROOT}); set CUDAToolkit_ROOT or use EMBER_CUDA=OFF")
  else()
    message(STATUS "ember: CUDA toolkit or cuDNN not found; building the CPU backend only")
  endif()
endif()

# Adds the backend's sources and libraries to `target` (the ember library).
function(ember_add_cuda target)
  file(GLOB cuda_kernels CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/core/backend/cuda/*.cu)
  target_sources(${target} PRIVATE ${cuda_kernels})
  target_include_directories(${target} PRIVATE ${CUDAToolkit_INCLUDE_DIRS} ${EMBER_CUDNN_INCLUDE_DIR})
  target_compile_definitions(${target} PRIVATE EMBER_HAVE_CUDA)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-fno-math-errno>)
  target_link_libraries(${target} PUBLIC ${EMBER_CUDART_STATIC} ${EMBER_CUBLAS_LIBRARY} ${EMBER_CUDNN_LIBRARY}
                        ${CMAKE_DL_LIBS} rt)
endfunction()
