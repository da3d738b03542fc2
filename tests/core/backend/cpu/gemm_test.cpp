// The CPU backend's GEMM on whichever engine the build chose (oneDNN, OpenBLAS or Eigen; see
// cmake/EmberBlas.cmake): every transpose combination, accumulation, leading dimensions wider than
// the matrix, degenerate and odd shapes, products large enough to be split over two threads —
// against a float64 reference — and the same bits again when the operands sit at other addresses
// (a resumed run allocates differently, and must still compute the same weights).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/backend/cpu/gemm.h"
#include "core/threads.h"

namespace ember::cpu {
namespace {

struct Case {
  bool trans_a, trans_b;
  int64_t m, n, k, pad;  // pad: extra columns in every leading dimension
  bool accumulate;
};

template <class T>
struct Operands {
  int64_t lda, ldb, ldc;
  std::vector<T> a, b, c;
};

template <class T>
Operands<T> make(const Case& s, uint32_t seed) {
  Operands<T> o;
  o.lda = (s.trans_a ? s.m : s.k) + s.pad, o.ldb = (s.trans_b ? s.k : s.n) + s.pad, o.ldc = s.n + s.pad;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  auto fill = [&](std::vector<T>& v, int64_t rows, int64_t ld) {
    v.assign(rows * ld + 1, T(0));
    for (auto& x : v) x = static_cast<T>(u(rng));
  };
  fill(o.a, s.trans_a ? s.k : s.m, o.lda);
  fill(o.b, s.trans_b ? s.n : s.k, o.ldb);
  fill(o.c, s.m, o.ldc);
  return o;
}

// op(A)[i][p] and op(B)[p][j] read straight from the row-major storage.
template <class T>
double reference(const Case& s, const Operands<T>& o, int64_t i, int64_t j) {
  double sum = s.accumulate ? static_cast<double>(o.c[i * o.ldc + j]) : 0.0;
  for (int64_t p = 0; p < s.k; ++p) {
    double a = s.trans_a ? o.a[p * o.lda + i] : o.a[i * o.lda + p];
    double b = s.trans_b ? o.b[j * o.ldb + p] : o.b[p * o.ldb + j];
    sum += a * b;
  }
  return sum;
}

template <class T>
std::vector<T> run(const Case& s, const Operands<T>& o, size_t shift = 0) {
  // The operands copied `shift` elements into fresh buffers: other addresses, other alignment.
  std::vector<T> a(o.a.size() + shift), b(o.b.size() + shift), c(o.c.size() + shift);
  std::copy(o.a.begin(), o.a.end(), a.begin() + shift);
  std::copy(o.b.begin(), o.b.end(), b.begin() + shift);
  std::copy(o.c.begin(), o.c.end(), c.begin() + shift);
  gemm<T>(s.trans_a, s.trans_b, s.m, s.n, s.k, a.data() + shift, o.lda, b.data() + shift, o.ldb, c.data() + shift, o.ldc,
          s.accumulate);
  return std::vector<T>(c.begin() + shift, c.end());
}

const Case kCases[] = {
    {false, false, 1, 1, 1, 0, false},   {false, true, 1, 7, 5, 0, true},    {true, false, 7, 1, 5, 3, false},
    {true, true, 5, 3, 1, 0, true},      {false, false, 37, 53, 129, 0, false}, {false, true, 37, 53, 129, 5, true},
    {true, false, 53, 37, 129, 2, false}, {true, true, 37, 53, 129, 1, true},   {false, false, 300, 200, 100, 0, false},
    {false, true, 128, 512, 784, 0, false}, {true, false, 784, 512, 128, 0, true}, {false, false, 64, 196, 288, 4, true},
    // Wider than tall with rows enough to split by rows at 2 threads (the mlp's weight gradient).
    {true, false, 300, 401, 64, 3, false}, {false, true, 257, 390, 70, 0, true},
};

template <class T>
void check_against_reference(double tolerance) {
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    uint32_t seed = 1;
    for (const Case& s : kCases) {
      SCOPED_TRACE(::testing::Message() << "threads " << threads << ", " << (s.trans_a ? "A^T " : "A ") << (s.trans_b ? "B^T " : "B ")
                                        << s.m << "x" << s.n << "x" << s.k << " pad " << s.pad << (s.accumulate ? " accumulate" : ""));
      Operands<T> o = make<T>(s, seed++);
      std::vector<T> c = run(s, o);
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = 0; j < s.n; ++j)
          ASSERT_NEAR(c[i * o.ldc + j], reference(s, o, i, j), tolerance * std::sqrt(double(s.k))) << "at (" << i << ", " << j << ")";
      // Padding columns are never written.
      for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = s.n; j < o.ldc && i * o.ldc + j < int64_t(c.size()); ++j) ASSERT_EQ(c[i * o.ldc + j], o.c[i * o.ldc + j]);
    }
  }
  set_num_threads(1);
}

TEST(CpuGemm, FloatMatchesAFloat64Reference) { check_against_reference<float>(2e-6); }
TEST(CpuGemm, DoubleMatchesTheReference) { check_against_reference<double>(1e-14); }

TEST(CpuGemm, SameBitsAtOtherAddresses) {
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    uint32_t seed = 100;
    for (const Case& s : kCases) {
      Operands<float> o = make<float>(s, seed++);
      std::vector<float> first = run(s, o);
      for (size_t shift : {1, 3, 16}) {
        std::vector<float> again = run(s, o, shift);
        ASSERT_EQ(std::memcmp(first.data(), again.data(), first.size() * sizeof(float)), 0)
            << "threads " << threads << ", " << s.m << "x" << s.n << "x" << s.k << ", operands shifted by " << shift << " floats";
      }
    }
  }
  set_num_threads(1);
}

}  // namespace
}  // namespace ember::cpu
