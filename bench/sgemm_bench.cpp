//===- sgemm_bench.cpp - the machine's single-precision GEMM rate ----------===//
//
// The yardstick for docs/performance.md: OpenBLAS sgemm (Debian's
// libopenblas-dev) on square N×N matrices, median of repeated runs, in GFLOP/s,
// using the same threads the attention kernels use.
//
// Usage: sgemm-bench [N ...]   (default: 1024 2048)
//
//===----------------------------------------------------------------------===//
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

int main(int argc, char **argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i)
    sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty())
    sizes = {1024, 2048};
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int n : sizes) {
    std::vector<float> a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
    for (float &x : a)
      x = dist(rng);
    for (float &x : b)
      x = dist(rng);
    std::vector<double> times;
    for (int rep = 0; rep < 7; ++rep) {
      auto start = std::chrono::steady_clock::now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data(), n,
                  b.data(), n, 0.0f, c.data(), n);
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                     .count();
      if (rep >= 2) // warm-up
        times.push_back(s);
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    std::printf("sgemm N=%d  %8.3f ms  %8.2f GFLOP/s  (OpenBLAS, %d threads)\n", n,
                median * 1e3, 2.0 * n * double(n) * n / median / 1e9,
                openblas_get_num_threads());
  }
  return 0;
}
