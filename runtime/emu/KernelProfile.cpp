//===- KernelProfile.cpp - what an emulated kernel did, as a profiler counts it ===//
#include "runtime/emu/KernelProfile.h"

#include <atomic>
#include <mutex>

namespace attnc::emu {

namespace {

constexpr int64_t kWarpSize = 32;

struct Profiles {
  std::atomic<bool> on{false};
  std::mutex mutex;
  std::vector<KernelProfile> kernels;
};

Profiles &profiles() {
  static auto *p = new Profiles();
  return *p;
}

} // namespace

void KernelProfile::add(const KernelProfile &o) {
  launches += o.launches;
  blocks += o.blocks;
  sharedRequests += o.sharedRequests;
  sharedWavefronts += o.sharedWavefronts;
  sharedIdealWavefronts += o.sharedIdealWavefronts;
  ldmatrix += o.ldmatrix;
  mma += o.mma;
  cpAsync += o.cpAsync;
  barriers += o.barriers;
}

std::string KernelProfile::json() const {
  std::string s = "{\"kernel\": \"" + kernel + "\"";
  auto field = [&](const char *name, int64_t v) {
    s += std::string(", \"") + name + "\": " + std::to_string(v);
  };
  field("launches", launches);
  field("blocks", blocks);
  field("shared_requests", sharedRequests);
  field("shared_wavefronts", sharedWavefronts);
  field("shared_ideal_wavefronts", sharedIdealWavefronts);
  field("ldmatrix", ldmatrix);
  field("mma", mma);
  field("cp_async", cpAsync);
  field("barriers", barriers);
  return s + "}";
}

void setProfiling(bool on) { profiles().on = on; }
bool profiling() { return profiles().on; }

std::vector<KernelProfile> takeProfiles() {
  Profiles &p = profiles();
  std::lock_guard<std::mutex> lock(p.mutex);
  std::vector<KernelProfile> result;
  result.swap(p.kernels);
  return result;
}

void recordLaunch(const KernelProfile &launch) {
  Profiles &p = profiles();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (KernelProfile &k : p.kernels)
    if (k.kernel == launch.kernel) {
      k.add(launch);
      return;
    }
  p.kernels.push_back(launch);
}

void BlockProfile::access(int64_t thread, int64_t site, uint64_t address, uint32_t bytes,
                          bool async) {
  if (async)
    asyncSites.insert(site);
  int64_t n = occurrences[size_t(thread)][site]++;
  pending[{thread / kWarpSize, site, n}].push_back({thread % kWarpSize, address, bytes});
}

void BlockProfile::flush() {
  for (auto &[key, lanes] : pending) {
    warpInstruction(warpAccessCost(std::move(lanes)));
    counts.cpAsync += asyncSites.count(std::get<1>(key));
  }
  pending.clear();
  for (auto &perSite : occurrences)
    perSite.clear();
}

} // namespace attnc::emu
