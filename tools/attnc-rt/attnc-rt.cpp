//===- attnc-rt.cpp - run kernels from a kernel library, without the compiler ===//
//
//   attnc-rt list  LIB.so
//   attnc-rt run   LIB.so NAME --inputs IN.safetensors --output OUT.safetensors
//   attnc-rt run   LIB.so NAME --random B,Q_LEN,KV_LEN [--seed N] [--scalar NAME=V]...
//                  [--check=false] [--tolerance X]
//   attnc-rt bench LIB.so NAME --shape B,Q_LEN,KV_LEN [--reps N] [--seed N]
//                  [--scalar NAME=V]... [--reference]
// each with [--device cpu|cuda] (default: cpu where the variant has a CPU kernel);
// run and bench take --backward for a library written with --backward.
// The backward's float64 reference differentiates the sources' score_mod by dual
// numbers, as `attnc run --backward` does.
// The runtime-only build's tool: it links no LLVM or MLIR. Runs, checks and prints
// as `attnc run|bench` do (tools/common). The float64 reference evaluates the
// modifiers' sources the library carries. The CPU kernel runs at the level
// chooseCpuIsa picks (ATTNC_CPU_ISA=avx512bf16|avx512|avx2 forces it).
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/ExprReference.h"
#include "runtime/Reference.h"
#include "runtime/ReferenceBackward.h"
#include "runtime/library/KernelLibrary.h"
#include "tools/common/RunCommands.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace attnc;

namespace {

const char *kUsage =
    "usage: attnc-rt list  LIB.so\n"
    "       attnc-rt run   LIB.so NAME --inputs IN.safetensors --output OUT.safetensors\n"
    "       attnc-rt run   LIB.so NAME --random B,Q_LEN,KV_LEN [--seed N] [--scalar NAME=V]...\n"
    "                      [--buffer NAME=FILE.safetensors]...\n"
    "                      [--check=false] [--tolerance X]\n"
    "       attnc-rt bench LIB.so NAME --shape B,Q_LEN,KV_LEN [--reps N] [--seed N]\n"
    "                      [--scalar NAME=V]... [--reference]\n"
    "       (each with [--device cpu|cuda]; default: cpu where the variant has a CPU\n"
    "       kernel; ATTNC_CPU_ISA=avx512bf16|avx512|avx2 forces the CPU kernel's level; run and\n"
    "       bench take --backward where the library was written with --backward)\n";

/// The parsed command line.
struct Command {
  std::string verb, library, name, device; ///< device: "", "cpu" or "cuda"
  RunOptions options;
};

/// Parses argv into `cmd`; an error names the offending argument.
Status parseCommandLine(int argc, char **argv, Command &cmd) {
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char *flag) -> std::optional<std::string> {
      std::string f = flag, prefix = f + "=";
      if (arg.rfind(prefix, 0) == 0)
        return arg.substr(prefix.size());
      if (arg == f && i + 1 < argc)
        return std::string(argv[++i]);
      return std::nullopt;
    };
    auto integer = [&](const std::string &text, const char *flag, long long &out) {
      char *end = nullptr;
      out = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end)
        return Status::error(std::string(flag) + " expects an integer, got '" + text + "'");
      return Status::ok();
    };
    long long n = 0;
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
    } else if (auto v = value("--inputs")) {
      cmd.options.inputsPath = *v;
    } else if (auto v = value("--output")) {
      cmd.options.outputPath = *v;
    } else if (auto v = value("--random")) {
      cmd.options.randomShape = *v;
    } else if (auto v = value("--shape")) {
      cmd.options.benchShape = *v;
    } else if (auto v = value("--scalar")) {
      cmd.options.scalars.push_back(*v);
    } else if (auto v = value("--buffer")) {
      cmd.options.buffers.push_back(*v);
    } else if (auto v = value("--device")) {
      cmd.device = *v;
    } else if (auto v = value("--seed")) {
      if (Status s = integer(*v, "--seed", n); !s)
        return s;
      cmd.options.seed = uint64_t(n);
    } else if (auto v = value("--reps")) {
      if (Status s = integer(*v, "--reps", n); !s)
        return s;
      cmd.options.reps = int(n);
    } else if (auto v = value("--tolerance")) {
      cmd.options.tolerance = std::atof(v->c_str());
    } else if (arg == "--check" || arg == "--check=true") {
      cmd.options.check = true;
    } else if (arg == "--check=false") {
      cmd.options.check = false;
    } else if (arg == "--reference") {
      cmd.options.withReference = true;
    } else if (arg == "--backward") {
      cmd.options.backward = true;
    } else {
      return Status::error("unknown or incomplete option '" + arg + "'");
    }
  }
  if (positional.empty())
    return Status::error("expected a command: list, run or bench");
  cmd.verb = positional[0];
  if (cmd.verb != "list" && cmd.verb != "run" && cmd.verb != "bench")
    return Status::error("unknown command '" + cmd.verb + "' (expected list, run or bench)");
  size_t wanted = cmd.verb == "list" ? 2 : 3;
  if (positional.size() != wanted)
    return Status::error(cmd.verb + (cmd.verb == "list" ? " takes LIB.so" : " takes LIB.so NAME"));
  cmd.library = positional[1];
  if (wanted == 3)
    cmd.name = positional[2];
  if (!cmd.device.empty() && cmd.device != "cpu" && cmd.device != "cuda")
    return Status::error("unknown --device '" + cmd.device + "' (expected cpu or cuda)");
  if (cmd.options.backward && cmd.verb == "list")
    return Status::error("--backward is for run and bench");
  return Status::ok();
}

/// attnc-rt list: one line per variant, then the CPU level kernels run at here.
int listVariants(const KernelLibrary &library) {
  std::printf("%s: %zu variant(s), written by attnc %s\n", library.path().c_str(),
              library.variants().size(), library.attncVersion().c_str());
  bool anyCpu = false;
  for (const LibraryVariant &v : library.variants()) {
    std::string images;
    for (const LibraryImage &i : v.images)
      images += (images.empty() ? "" : ", ") + i.chip + " " + i.format;
    if (v.hasGpuBackward && !images.empty())
      images += " (+backward)";
    anyCpu |= v.hasCpuKernel;
    std::string cpu = !v.hasCpuKernel ? "-"
                      : std::string(v.cpuAvx512Bf16 ? "avx512bf16, " : "") + "avx512, avx2" +
                            (v.hasCpuBackward ? " (+backward)" : "");
    std::printf("  %-24s heads %lld/%lld  head_dim %lld/%lld  %-4s  cpu: %s  cuda: %s\n",
                v.desc.name.c_str(), (long long)v.desc.headsQ, (long long)v.desc.headsKV,
                (long long)v.desc.headDim, (long long)v.desc.headDimV, dtypeName(v.desc.dtype),
                cpu.c_str(),
                images.empty() ? "-" : images.c_str());
  }
  if (anyCpu) {
    Result<CpuIsa> isa = chooseCpuIsa();
    std::printf("CPU kernels run here with %s\n",
                isa ? cpuIsaName(*isa) : ("none: " + isa.status().message()).c_str());
  }
  return 0;
}

/// The kernel `cmd` runs: the CPU's or the GPU's, as a Runnable's run and target.
Status chooseKernel(const KernelLibrary &library, const LibraryVariant &variant,
                    const Command &cmd, Runnable &runnable) {
  std::string device = cmd.device.empty() ? (variant.hasCpuKernel ? "cpu" : "cuda") : cmd.device;
  runnable.target = device;
  if (device == "cpu") {
    Result<CpuIsa> isa = chooseCpuIsa();
    if (!isa)
      return isa.status();
    Result<std::shared_ptr<CpuKernel>> kernel = library.cpuKernel(cmd.name, *isa);
    if (!kernel)
      return kernel.status();
    std::shared_ptr<CpuKernel> k = kernel.take();
    runnable.run = [k](const AttentionCall &call) { return k->run(call); };
    // A variant without an AVX512-BF16 kernel runs its AVX-512 one at that level.
    CpuIsa level = *isa == CpuIsa::Avx512Bf16 && !k->layout().bf16Pairs ? CpuIsa::Avx512 : *isa;
    runnable.threadsLabel = std::to_string(ThreadPool::global().size()) + " threads, " +
                            cpuIsaName(level) + " kernel";
    if (!cmd.options.backward)
      return Status::ok();
    Result<std::shared_ptr<CpuBackwardKernel>> backward = library.cpuBackwardKernel(cmd.name, *isa);
    if (!backward)
      return backward.status();
    std::shared_ptr<CpuBackwardKernel> b = backward.take();
    runnable.runBackward = [b](const BackwardCall &call) { return b->run(call); };
    return Status::ok();
  }
  Result<std::shared_ptr<CudaKernel>> kernel = library.cudaKernel(cmd.name);
  if (!kernel)
    return kernel.status();
  std::shared_ptr<CudaKernel> k = kernel.take();
  runnable.run = [k](const AttentionCall &call) { return k->run(call); };
  runnable.cudaKernel = k;
  if (!cmd.options.backward)
    return Status::ok();
  Result<std::shared_ptr<CudaKernel>> backward = library.cudaKernel(cmd.name, /*backward=*/true);
  if (!backward)
    return backward.status();
  std::shared_ptr<CudaKernel> b = backward.take();
  runnable.runBackward = [b](const BackwardCall &call) { return b->runBackward(call); };
  return Status::ok();
}

/// The modifier sources of `v` in the frontend's terms.
frontend::ModifierSources sourcesOf(const LibraryVariant &v) {
  frontend::ModifierSources sources;
  for (const LibraryConstant &c : v.constants)
    sources.constants.push_back({c.name, c.isInt, c.intValue, c.floatValue});
  for (const ScalarDecl &s : v.desc.scalars)
    sources.scalars.push_back({s.name, dtypeName(s.type)});
  for (const BufferDecl &b : v.desc.buffers)
    sources.buffers.push_back({b.name, dtypeName(b.dtype), b.shape});
  sources.scoreMod = v.scoreMod;
  sources.maskMod = v.maskMod;
  return sources;
}

} // namespace

int main(int argc, char **argv) {
  if (argc == 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h"))) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc == 2 && !std::strcmp(argv[1], "--version")) {
    std::printf("attnc-rt %s\n", ATTNC_VERSION);
    return 0;
  }
  Command cmd;
  if (Status s = parseCommandLine(argc, argv, cmd); !s)
    return failWith(s.message() + " (see attnc-rt --help)");
  Result<std::shared_ptr<KernelLibrary>> library = KernelLibrary::open(cmd.library);
  if (!library)
    return failWith(library.status().message());
  if (cmd.verb == "list")
    return listVariants(**library);
  Result<const LibraryVariant *> variant = (*library)->find(cmd.name);
  if (!variant)
    return failWith(variant.status().message());
  Result<frontend::ParsedModifiers> mods = frontend::parseModifiers(sourcesOf(**variant));
  if (!mods)
    return failWith("kernel library '" + cmd.library + "', variant '" + cmd.name +
                "': " + mods.status().message());
  auto parsed = std::make_shared<frontend::ParsedModifiers>(std::move(*mods));
  Runnable runnable;
  runnable.desc = (*variant)->desc;
  if (Status s = chooseKernel(**library, **variant, cmd, runnable); !s)
    return failWith(s.message());
  VariantDesc desc = runnable.desc;
  runnable.reference = [desc, parsed](const AttentionCall &call) {
    return referenceAttention(
        desc, call, frontend::referenceMods(parsed->scoreMod.get(), parsed->maskMod.get(), call));
  };
  std::vector<std::string> learnable;
  for (const BufferDecl &decl : desc.buffers)
    if (decl.requiresGrad)
      learnable.push_back(decl.name);
  runnable.referenceBackward = [desc, parsed, learnable](const BackwardCall &call) {
    return referenceBackward(desc, call,
                             frontend::referenceBackwardMods(parsed->scoreMod.get(),
                                                             parsed->maskMod.get(),
                                                             call.forward, learnable));
  };
  runnable.maskMod = parsed->maskMod.get();
  runnable.scoreMod = parsed->scoreMod.get();
  if (cmd.verb == "bench")
    return cmd.options.backward ? runBackwardBench(runnable, cmd.options)
                                : runBench(runnable, cmd.options);
  return runCommand(runnable, cmd.options);
}
