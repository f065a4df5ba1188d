//===- KernelCache.h - compiled kernels, in memory and on disk ----*- C++ -*-===//
//
// Compiling a variant (MLIR passes + LLVM -O3 + JIT) takes a noticeable fraction of
// a second; the result depends only on the lowered LLVM-dialect module, the target
// CPU and the LLVM version. This cache keys machine code by a SHA-256 of those, keeps it in memory for the process, and stores the
// object file under $ATTNC_CACHE_DIR (default ~/.cache/attnc) for later processes.
// Files are written to a unique temporary name and renamed into place, so
// concurrent processes never see a partial file; a file that fails to load is
// ignored and rewritten. The CUDA target caches its cubins the same way
// (getOrBuildFile), keyed by the PTX and the chip.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_KERNELCACHE_H
#define ATTNC_COMPILER_KERNELCACHE_H

#include "runtime/Status.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <memory>
#include <string>

namespace attnc {

/// Loaded machine code: the packed entry point and whatever keeps it alive.
struct LoadedKernel {
  void (*entry)(void **) = nullptr;
  std::shared_ptr<void> owner;
  bool fromCache = false;
};

class KernelCache {
public:
  /// The cache directory ($ATTNC_CACHE_DIR, else ~/.cache/attnc); empty disables
  /// the disk cache (e.g. ATTNC_CACHE_DIR="" or no home directory).
  static std::string directory();

  /// The key of a kernel: lowered IR text + options + target + versions.
  static std::string key(const std::string &loweredIR, const std::string &options);

  /// Returns the kernel for `key`: from memory, else from disk, else JIT-compiles
  /// the LLVM-dialect module returned by `lower` (called only on a miss) and stores
  /// the object file. `symbol` is the packed entry point's name.
  static LoadedKernel getOrCompile(const std::string &key, const std::string &symbol,
                                   const std::function<mlir::ModuleOp()> &lower,
                                   std::string &error);

  /// A compiled artefact that is not machine code for this process (a cubin, PTX):
  /// from memory, else $ATTNC_CACHE_DIR/KEY.EXT, else made by `build` (called only
  /// on a miss) and stored. `fromCache` tells which.
  static Result<std::string> getOrBuildFile(const std::string &key, const std::string &ext,
                                            const std::function<Result<std::string>()> &build,
                                            bool *fromCache = nullptr);
};

} // namespace attnc

#endif // ATTNC_COMPILER_KERNELCACHE_H
