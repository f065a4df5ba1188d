//===- EmuHost.h - kernel launches from emulated host code --------*- C++ -*-===//
//
// Whole GPU programs under cuda-emu (attn-emu-runner): the host code, JIT-compiled
// for the CPU, launches kernels through attnc_emu_launch (EmuAbi.h) by their index in
// a kernel table that the runner installs after compiling the program. A launch runs
// to completion before the call returns; an asynchronous one
// (attnc_emu_launch_async) runs on a thread of its own once the launches it depends
// on are done, and attnc_emu_wait waits for it; an error it finds (a race, an out-of-bounds
// access, a bad launch configuration...) is printed to stderr as
// `error: LOCATION: ...` and counted, and the program goes on, as it would on a GPU
// under compute-sanitizer. The runner's exit status reports the count.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_EMU_EMUHOST_H
#define ATTNC_RUNTIME_EMU_EMUHOST_H

#include "runtime/Status.h"
#include "runtime/emu/Emulator.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnc::emu {

/// A kernel's packed interface: one pointer per argument.
using PackedKernel = void (*)(void **);

struct KernelEntry {
  std::string name;
  PackedKernel entry = nullptr;
};

/// Installs the kernels that attnc_emu_launch refers to by index.
void setKernelTable(std::vector<KernelEntry> kernels);

/// Checks a launch configuration against the limits of NVIDIA GPUs (sm_80+).
Status checkLaunchConfig(const std::string &kernel, Dim3 grid, Dim3 block,
                         int64_t dynamicSharedBytes);

/// Waits until every launch started asynchronously (gpu.launch_func async) is done.
void waitForAsyncLaunches();

/// The number of launches that failed since the last reset, and the reset.
int64_t failedLaunches();
void resetFailedLaunches();

/// Whether launch errors are printed to stderr as they happen (the default; the
/// runner) or only collected (a library call that returns them as a Status).
void setPrintLaunchErrors(bool print);
/// The messages of the launch errors since the last call (and forgets them).
std::vector<std::string> takeLaunchErrors();

} // namespace attnc::emu

#endif // ATTNC_RUNTIME_EMU_EMUHOST_H
