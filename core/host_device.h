// EMBER_HD marks functions that compile for both the CPU and a CUDA device: the index math and the
// random-number streams that both backends share, so the two compute them identically (and the CPU
// build, which CI runs, tests the very code the GPU runs).
#pragma once

#ifdef __CUDACC__
#define EMBER_HD __host__ __device__
#else
#define EMBER_HD
#endif
