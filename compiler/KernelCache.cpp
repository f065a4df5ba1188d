//===- KernelCache.cpp - compiled kernels, in memory and on disk -----------===//
#include "compiler/KernelCache.h"
#include "compiler/pipeline/Pipeline.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <random>

#ifndef ATTNC_VERSION
#define ATTNC_VERSION "dev"
#endif

namespace attnc {

namespace {
/// Warns once per process that the cache directory cannot be written: kernels are
/// still compiled and used, only not kept for later runs.
void warnUnwritable(const std::string &dir, const std::string &why) {
  static std::once_flag once;
  std::call_once(once, [&] {
    llvm::WithColor::warning(llvm::errs(), "")
        << "the kernel cache directory '" << dir << "' cannot be written (" << why
        << "); compiled kernels are not kept between runs (set ATTNC_CACHE_DIR)\n";
  });
}
} // namespace

namespace {
std::mutex cacheMutex;
std::map<std::string, LoadedKernel> &memoryCache() {
  static auto *cache = new std::map<std::string, LoadedKernel>();
  return *cache;
}

std::string toHex(llvm::ArrayRef<uint8_t> bytes) {
  static const char *digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

/// Loads an object file produced by an earlier JIT compilation.
bool loadObject(const std::string &path, const std::string &symbol, LoadedKernel &out) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return false;
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit) {
    llvm::consumeError(jit.takeError());
    return false;
  }
  auto generator = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!generator) {
    llvm::consumeError(generator.takeError());
    return false;
  }
  (*jit)->getMainJITDylib().addGenerator(std::move(*generator));
  if (llvm::Error err = (*jit)->addObjectFile(std::move(*buffer))) {
    llvm::consumeError(std::move(err));
    return false;
  }
  auto address = (*jit)->lookup(symbol);
  if (!address) {
    llvm::consumeError(address.takeError());
    return false;
  }
  out.entry = address->toPtr<void (*)(void **)>();
  out.owner = std::shared_ptr<llvm::orc::LLJIT>(std::move(*jit));
  out.fromCache = true;
  return true;
}
} // namespace

std::string KernelCache::directory() {
  if (const char *env = std::getenv("ATTNC_CACHE_DIR"))
    return env;
  const char *home = std::getenv("HOME");
  if (!home || !*home)
    return "";
  llvm::SmallString<256> path(home);
  llvm::sys::path::append(path, ".cache", "attnc");
  return std::string(path);
}

std::string KernelCache::key(const std::string &loweredIR, const std::string &options) {
  llvm::SHA256 hash;
  auto add = [&](llvm::StringRef part) {
    hash.update(part);
    hash.update(llvm::StringRef("\0", 1));
  };
  add("attnc " ATTNC_VERSION " llvm " LLVM_VERSION_STRING);
  add(llvm::sys::getProcessTriple());
  add(llvm::sys::getHostCPUName());
  std::string features;
  for (const auto &f : llvm::sys::getHostCPUFeatures())
    if (f.second)
      features += f.first().str() + ",";
  add(features);
  add(options);
  add(loweredIR);
  std::array<uint8_t, 32> digest = hash.final();
  return toHex(digest);
}

LoadedKernel KernelCache::getOrCompile(const std::string &key, const std::string &symbol,
                                       const std::function<mlir::ModuleOp()> &lower,
                                       std::string &error) {
  std::lock_guard<std::mutex> lock(cacheMutex);
  auto it = memoryCache().find(key);
  if (it != memoryCache().end()) {
    LoadedKernel k = it->second;
    k.fromCache = true;
    return k;
  }
  std::string dir = directory();
  llvm::SmallString<256> objectPath;
  if (!dir.empty()) {
    objectPath = dir;
    llvm::sys::path::append(objectPath, key + ".o");
    LoadedKernel loaded;
    if (llvm::sys::fs::exists(objectPath) && loadObject(std::string(objectPath), symbol, loaded)) {
      memoryCache()[key] = loaded;
      return loaded;
    }
  }

  mlir::ModuleOp module = lower();
  if (!module) {
    error = "lowering failed";
    return {};
  }
  std::unique_ptr<mlir::ExecutionEngine> engine =
      attnc::jitCompile(module, error, /*enableObjectDump=*/!dir.empty());
  if (!engine)
    return {};
  auto entry = engine->lookupPacked(symbol.substr(std::string("_mlir_").size()));
  if (!entry) {
    error = llvm::toString(entry.takeError());
    return {};
  }
  std::error_code dirError = dir.empty() ? std::error_code() : llvm::sys::fs::create_directories(dir);
  if (dirError)
    warnUnwritable(dir, dirError.message());
  if (!dir.empty() && !dirError) {
    // Write to a unique name, then rename: readers never see a partial file.
    std::random_device rd;
    std::string tmp = std::string(objectPath) + ".tmp." +
                      std::to_string(llvm::sys::Process::getProcessId()) + "." +
                      std::to_string(rd());
    engine->dumpToObjectFile(tmp);
    if (!llvm::sys::fs::exists(tmp))
      warnUnwritable(dir, "the object file could not be written");
    else if (llvm::sys::fs::rename(tmp, objectPath))
      llvm::sys::fs::remove(tmp);
  }
  LoadedKernel loaded;
  loaded.entry = *entry;
  loaded.owner = std::shared_ptr<mlir::ExecutionEngine>(std::move(engine));
  memoryCache()[key] = loaded;
  return loaded;
}

namespace {
/// Writes `bytes` to `path` through a unique temporary name and a rename (a warning,
/// once, when it cannot).
void writeAtomically(const std::string &dir, const std::string &path,
                     const std::string &bytes) {
  std::random_device rd;
  std::string tmp = path + ".tmp." + std::to_string(llvm::sys::Process::getProcessId()) +
                    "." + std::to_string(rd());
  std::error_code ec;
  {
    llvm::raw_fd_ostream out(tmp, ec, llvm::sys::fs::OF_None);
    if (ec)
      return warnUnwritable(dir, ec.message());
    out << bytes;
    out.close();
    if (out.has_error()) { // a full disk: no cache entry, and no abort
      out.clear_error();
      llvm::sys::fs::remove(tmp);
      return warnUnwritable(dir, "a write failed");
    }
  }
  if (llvm::sys::fs::rename(tmp, path))
    llvm::sys::fs::remove(tmp);
}
} // namespace

Result<std::string> KernelCache::getOrBuildFile(const std::string &key, const std::string &ext,
                                                const std::function<Result<std::string>()> &build,
                                                bool *fromCache) {
  static std::mutex fileMutex;
  static auto *files = new std::map<std::string, std::string>();
  std::string name = key + "." + ext;
  if (fromCache)
    *fromCache = true;
  {
    std::lock_guard<std::mutex> lock(fileMutex);
    if (auto it = files->find(name); it != files->end())
      return it->second;
  }
  std::string dir = directory();
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  if (!dir.empty())
    if (auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
        buffer && (*buffer)->getBufferSize() > 0) {
      std::lock_guard<std::mutex> lock(fileMutex);
      return (*files)[name] = (*buffer)->getBuffer().str();
    }
  // Built without the lock (ptxas, the NVVM pipeline take a while): two threads
  // missing the same key both build it, and write the same bytes.
  if (fromCache)
    *fromCache = false;
  Result<std::string> built = build();
  if (!built)
    return built.status();
  if (!dir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(dir))
      warnUnwritable(dir, ec.message());
    else
      writeAtomically(dir, std::string(path), *built);
  }
  std::lock_guard<std::mutex> lock(fileMutex);
  return (*files)[name] = *built;
}

} // namespace attnc
