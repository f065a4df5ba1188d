//===- KernelLibraryWriter.cpp - compiled variants as a shared library -----===//
#include "compiler/KernelLibraryWriter.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace attnc {

extern const char *const kLibraryAbiHeader;

namespace {

/// `s` as a C string literal.
std::string cString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c >= 32 && c < 127) {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    }
  }
  return out + "\"";
}

std::string cStringOrNull(const std::string &s) { return s.empty() ? "0" : cString(s); }

/// `bytes` as the initialiser of an unsigned char array.
void writeBytes(std::ostream &os, const std::string &bytes) {
  os << "{";
  for (size_t i = 0; i < bytes.size(); ++i)
    os << (i % 24 ? "" : "\n ") << unsigned(static_cast<unsigned char>(bytes[i])) << ",";
  os << "0}"; // a NUL after the image: PTX is handed to the driver as a string
}

/// The CPU kernels' object files of `entry` (forward, then backward), each with the
/// symbol of the packed entry it defines.
std::vector<std::pair<std::string, const std::string *>> cpuObjects(const LibraryEntry &entry) {
  std::vector<std::pair<std::string, const std::string *>> objects;
  const std::string &name = entry.variant.desc.name;
  if (entry.variant.hasCpuKernel)
    for (CpuIsa isa : {CpuIsa::Avx512, CpuIsa::Avx2})
      objects.emplace_back(cpuEntrySymbol(name, isa), isa == CpuIsa::Avx512
                                                          ? &entry.cpuObjectAvx512
                                                          : &entry.cpuObjectAvx2);
  if (entry.variant.hasCpuKernel && !entry.cpuObjectAvx512Bf16.empty())
    objects.emplace_back(cpuEntrySymbol(name, CpuIsa::Avx512Bf16),
                         &entry.cpuObjectAvx512Bf16);
  if (entry.variant.hasCpuBackward)
    for (CpuIsa isa : {CpuIsa::Avx512, CpuIsa::Avx2})
      objects.emplace_back(cpuEntrySymbol(name, isa, true),
                           isa == CpuIsa::Avx512 ? &entry.cpuBackwardObjectAvx512
                                                 : &entry.cpuBackwardObjectAvx2);
  return objects;
}

/// The parameter and image arrays of a GPU kernel (named with `prefix`), then the
/// table fields after its kernel name (and block-q): threads, shared memory,
/// parameters, images.
std::string writeGpuKernel(std::ostream &os, const std::string &prefix, bool present,
                           const GpuLaunchDesc &launch, const std::vector<LibraryImage> &images,
                           const std::vector<std::string> &bytes) {
  os << "static const attnc_lib_param " << prefix << "params[] = {";
  for (const GpuParam &param : launch.params)
    os << "{" << int(param.kind) << ", " << param.argument << ", " << param.dim << "},";
  os << "{0, 0, 0}};\n";
  for (size_t i = 0; i < bytes.size(); ++i) {
    os << "static const unsigned char " << prefix << "image" << i << "[] = ";
    writeBytes(os, bytes[i]);
    os << ";\n";
  }
  os << "static const attnc_lib_image " << prefix << "images[] = {";
  for (size_t i = 0; i < images.size(); ++i)
    os << "{" << cString(images[i].chip) << ", " << cString(images[i].format) << ", " << prefix
       << "image" << i << ", " << bytes[i].size() << "ULL},";
  os << "{0, 0, 0, 0}};\n";
  if (!present)
    return "0, 0, 0, " + prefix + "params, 0, " + prefix + "images";
  return std::to_string(launch.threads) + ", " + std::to_string(launch.dynamicSharedBytes) +
         ", " + std::to_string(launch.params.size()) + ", " + prefix + "params, " +
         std::to_string(images.size()) + ", " + prefix + "images";
}

/// The arrays variant `n` points at, then its table entry into `table`.
void writeVariant(std::ostream &os, std::ostream &table, size_t n, const LibraryEntry &entry) {
  const LibraryVariant &v = entry.variant;
  const VariantDesc &d = v.desc;
  std::string p = "v" + std::to_string(n) + "_";
  os << "static const attnc_lib_scalar " << p << "scalars[] = {";
  for (const ScalarDecl &s : d.scalars)
    os << "{" << cString(s.name) << ", " << int(s.type) << "},";
  os << "{0, 0}};\n";
  for (size_t i = 0; i < d.buffers.size(); ++i) {
    os << "static const int64_t " << p << "shape" << i << "[] = {";
    for (int64_t dim : d.buffers[i].shape)
      os << dim << "LL,";
    os << "0};\n";
  }
  os << "static const attnc_lib_buffer " << p << "buffers[] = {";
  for (size_t i = 0; i < d.buffers.size(); ++i)
    os << "{" << cString(d.buffers[i].name) << ", " << int(d.buffers[i].dtype) << ", "
       << d.buffers[i].shape.size() << ", " << p << "shape" << i << ", "
       << (d.buffers[i].requiresGrad ? 1 : 0) << "},";
  os << "{0, 0, 0, 0, 0}};\n";
  os << "static const attnc_lib_constant " << p << "constants[] = {";
  for (const LibraryConstant &c : v.constants) {
    std::ostringstream f;
    f.precision(17);
    f << c.floatValue;
    os << "{" << cString(c.name) << ", " << (c.isInt ? 1 : 0) << ", " << c.intValue
       << "LL, " << f.str() << "},";
  }
  os << "{0, 0, 0, 0}};\n";
  std::string gpu = writeGpuKernel(os, p, v.hasGpuKernel, v.launch, v.images, entry.imageBytes);
  std::string gpuBackward = writeGpuKernel(os, p + "b", v.hasGpuBackward, v.backwardLaunch,
                                           v.backwardImages, entry.backwardImageBytes);
  os << "\n";
  for (const auto &[symbol, object] : cpuObjects(entry))
    os << "extern void " << symbol << "(void **) __attribute__((visibility(\"hidden\")));\n";
  auto entries = [&](bool backward) {
    return cpuEntrySymbol(d.name, CpuIsa::Avx512, backward) + ", " +
           cpuEntrySymbol(d.name, CpuIsa::Avx2, backward);
  };
  std::string cpu = "0, 0, 0, 0, 0, 0, 0, 0";
  if (v.hasCpuKernel)
    cpu = entries(false) + ", " + std::to_string(v.cpuLayout.blockQ) + ", " +
          std::to_string(v.cpuLayout.blockKV) + ", " +
          std::to_string(v.cpuLayout.headDimVPadded) + ", " +
          (v.hasCpuBackward ? entries(true) : std::string("0, 0")) + ", " +
          (entry.cpuObjectAvx512Bf16.empty() ? std::string("0")
                                             : cpuEntrySymbol(d.name, CpuIsa::Avx512Bf16));
  std::ostringstream scale;
  scale.precision(17);
  scale << d.scale;
  table << " {" << cString(d.name) << ", " << d.headsQ << ", " << d.headsKV << ", "
        << d.headDim << ", " << d.headDimV << ", " << int(d.dtype) << ", " << scale.str()
        << ",\n  " << d.scalars.size() << ", " << p << "scalars, " << d.buffers.size() << ", "
        << p << "buffers, " << v.constants.size() << ", " << p << "constants,\n  "
        << cStringOrNull(v.scoreMod) << ", " << cStringOrNull(v.maskMod) << ",\n  " << cpu
        << ",\n  " << (v.hasGpuKernel ? cString(v.launch.kernel) : "0") << ", "
        << v.launch.blockQ << ", " << gpu << ",\n  "
        << (v.hasGpuBackward ? cString(v.backwardLaunch.kernel) : "0") << ", " << gpuBackward
        << "},\n";
}

/// The C compiler that builds libraries: $CC, else the first of cc, clang, gcc.
std::string findCCompiler() {
  if (const char *cc = std::getenv("CC"); cc && *cc) {
    if (auto path = llvm::sys::findProgramByName(cc))
      return *path;
    return cc;
  }
  for (const char *name : {"cc", "clang", "gcc", "clang-22", "clang-14"})
    if (auto path = llvm::sys::findProgramByName(name))
      return *path;
  return "";
}

} // namespace

std::string cpuEntrySymbol(const std::string &name, CpuIsa isa, bool backward) {
  return (backward ? "attnc_cpubwd_" : "attnc_cpu_") + name + "_" + cpuIsaName(isa);
}

std::string kernelLibrarySource(const std::vector<LibraryEntry> &entries,
                                const std::string &attncVersion) {
  std::ostringstream os, table;
  os << "/* An attnc kernel library: " << entries.size()
     << " variant(s). Generated by attnc compile --emit library. */\n"
     << "#include \"LibraryAbi.h\"\n\n";
  for (size_t i = 0; i < entries.size(); ++i)
    writeVariant(os, table, i, entries[i]);
  os << "static const attnc_lib_variant variants[] = {\n"
     << table.str() << " {0}};\n\n"
     << "static const attnc_lib library = {ATTNC_LIBRARY_ABI_VERSION, "
     << cString(attncVersion) << ", " << entries.size() << ", variants};\n\n"
     << "__attribute__((visibility(\"default\"))) const attnc_lib *attnc_library_v1(void) {\n"
     << "  return &library;\n}\n";
  return os.str();
}

Status writeKernelLibrary(const std::vector<LibraryEntry> &entries,
                          const std::string &attncVersion, const std::string &outputPath) {
  std::string cc = findCCompiler();
  if (cc.empty())
    return Status::error("writing a kernel library needs a C compiler (set CC, or install "
                         "cc, clang or gcc)");
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("attnc-library", dir))
    return Status::error("cannot create a temporary directory for the kernel library");
  std::string source = (dir + "/library.c").str(), header = (dir + "/LibraryAbi.h").str(),
              log = (dir + "/cc.log").str();
  std::ofstream(header) << kLibraryAbiHeader;
  std::ofstream(source) << kernelLibrarySource(entries, attncVersion);
  // The CPU kernels' objects; they call nothing but the C library's memory and
  // math functions, and --no-undefined makes any other reference an error here
  // rather than at load time.
  std::vector<std::string> objects;
  for (const LibraryEntry &entry : entries)
    for (const auto &[symbol, object] : cpuObjects(entry)) {
      objects.push_back((dir + "/" + symbol + ".o").str());
      std::ofstream(objects.back(), std::ios::binary) << *object;
    }
  llvm::SmallVector<llvm::StringRef> args{cc,  "-shared", "-fPIC", "-O1", "-fvisibility=hidden",
                                          "-o", outputPath, source};
  for (const std::string &object : objects)
    args.push_back(object);
  for (llvm::StringRef flag : {"-lm", "-Wl,--no-undefined"})
    args.push_back(flag);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(cc, args, std::nullopt, redirects, 0, 0, &error);
  std::ifstream in(log);
  std::stringstream output;
  output << in.rdbuf();
  llvm::sys::fs::remove_directories(dir);
  if (rc != 0)
    return Status::error("compiling the kernel library '" + outputPath + "' with " + cc +
                         " failed" + (error.empty() ? "" : ": " + error) + "\n" + output.str());
  return Status::ok();
}

} // namespace attnc
