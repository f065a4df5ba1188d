//===- EmuHost.cpp - kernel launches from emulated host code ---------------===//
#include "runtime/emu/EmuHost.h"
#include "runtime/emu/EmuAbi.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace attnc::emu {
namespace {
std::vector<KernelEntry> &kernelTable() {
  static auto *table = new std::vector<KernelEntry>();
  return *table;
}
std::atomic<int64_t> failures{0};
} // namespace

void setKernelTable(std::vector<KernelEntry> kernels) { kernelTable() = std::move(kernels); }

int64_t failedLaunches() { return failures.load(); }
void resetFailedLaunches() { failures = 0; }

Status checkLaunchConfig(const std::string &kernel, Dim3 grid, Dim3 block,
                         int64_t dynamicSharedBytes) {
  auto d3 = [](Dim3 d) {
    return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " +
           std::to_string(d.z) + ")";
  };
  std::string what = "invalid launch of kernel '" + kernel + "' with grid " + d3(grid) +
                     " and block " + d3(block) + ": ";
  if (grid.x < 1 || grid.y < 1 || grid.z < 1 || block.x < 1 || block.y < 1 || block.z < 1)
    return Status::error(what + "every dimension must be at least 1");
  if (block.x > 1024 || block.y > 1024 || block.z > 64 || block.count() > 1024)
    return Status::error(what + "a block has at most 1024 threads (x, y <= 1024, z <= 64)");
  if (grid.x > 2147483647 || grid.y > 65535 || grid.z > 65535)
    return Status::error(what + "the grid is at most (2^31 - 1, 65535, 65535)");
  // sm_90: up to 227 KiB of shared memory per block with the opt-in attribute.
  if (dynamicSharedBytes < 0 || dynamicSharedBytes > 227 * 1024)
    return Status::error(what + std::to_string(dynamicSharedBytes) +
                         " bytes of dynamic shared memory (at most 232448)");
  return Status::ok();
}

} // namespace attnc::emu

using namespace attnc;
using namespace attnc::emu;

extern "C" void attnc_emu_launch(int64_t kernel, int64_t gridX, int64_t gridY, int64_t gridZ,
                                 int64_t blockX, int64_t blockY, int64_t blockZ,
                                 int64_t dynamicSharedBytes, int64_t argv, int64_t loc) {
  const std::vector<KernelEntry> &table = kernelTable();
  auto fail = [&](const std::string &message) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s: %s\n", locationName(loc), message.c_str());
    std::fflush(stderr);
    ++failures;
  };
  if (kernel < 0 || size_t(kernel) >= table.size() || !table[size_t(kernel)].entry)
    return fail("launch of unknown kernel #" + std::to_string(kernel));
  const KernelEntry &entry = table[size_t(kernel)];
  LaunchConfig config;
  config.kernel = entry.name;
  config.grid = {gridX, gridY, gridZ};
  config.block = {blockX, blockY, blockZ};
  config.dynamicSharedBytes = size_t(std::max<int64_t>(0, dynamicSharedBytes));
  if (Status s = checkLaunchConfig(entry.name, config.grid, config.block, dynamicSharedBytes);
      !s)
    return fail(s.message());
  void **args = reinterpret_cast<void **>(argv);
  PackedKernel fn = entry.entry;
  Status s = launch(config, [&] { fn(args); });
  if (!s) {
    // Emulator errors start with the location of the faulty operation.
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    std::fflush(stderr);
    ++failures;
  }
}
