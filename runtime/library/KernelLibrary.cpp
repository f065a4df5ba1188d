//===- KernelLibrary.cpp - loading a compiled kernel library ---------------===//
#include "runtime/library/KernelLibrary.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/library/LibraryAbi.h"

#include <dlfcn.h>
#include <elf.h>

#include <cstring>
#include <fstream>
#include <mutex>

namespace attnc {

namespace {

std::string orEmpty(const char *s) { return s ? s : ""; }

/// A GPU kernel's launch (all but blockQ) from a table entry's fields.
GpuLaunchDesc readLaunch(const char *kernel, int64_t threads, int64_t dynamicSharedBytes,
                         uint32_t numParams, const attnc_lib_param *params) {
  GpuLaunchDesc launch;
  launch.kernel = kernel;
  launch.threads = threads;
  launch.dynamicSharedBytes = dynamicSharedBytes;
  for (uint32_t i = 0; i < numParams; ++i)
    launch.params.push_back({GpuParam::Kind(params[i].kind), params[i].argument, params[i].dim});
  return launch;
}

/// A GPU kernel's images from a table entry's fields.
std::vector<LibraryImage> readImages(uint32_t numImages, const attnc_lib_image *images) {
  std::vector<LibraryImage> out;
  for (uint32_t i = 0; i < numImages; ++i)
    out.push_back({orEmpty(images[i].chip), orEmpty(images[i].format), images[i].data,
                   images[i].size});
  return out;
}

/// The runtime's form of one table entry.
LibraryVariant readVariant(const attnc_lib_variant &v) {
  LibraryVariant out;
  VariantDesc &d = out.desc;
  d.name = orEmpty(v.name);
  d.headsQ = v.heads_q;
  d.headsKV = v.heads_kv;
  d.headDim = v.head_dim;
  d.headDimV = v.head_dim_v;
  d.dtype = DType(v.dtype);
  d.scale = v.scale;
  for (uint32_t i = 0; i < v.num_scalars; ++i)
    d.scalars.push_back({orEmpty(v.scalars[i].name), DType(v.scalars[i].type)});
  for (uint32_t i = 0; i < v.num_buffers; ++i) {
    const attnc_lib_buffer &b = v.buffers[i];
    d.buffers.push_back({orEmpty(b.name), DType(b.dtype),
                         std::vector<int64_t>(b.shape, b.shape + b.rank),
                         b.requires_grad != 0});
  }
  for (uint32_t i = 0; i < v.num_constants; ++i) {
    const attnc_lib_constant &c = v.constants[i];
    out.constants.push_back({orEmpty(c.name), c.is_int != 0, c.int_value, c.float_value});
  }
  out.scoreMod = orEmpty(v.score_mod);
  out.maskMod = orEmpty(v.mask_mod);
  out.hasCpuKernel = v.cpu_avx512 != nullptr;
  if (out.hasCpuKernel) {
    out.cpuAvx512 = v.cpu_avx512;
    out.cpuAvx2 = v.cpu_avx2;
    out.cpuAvx512Bf16 = v.cpu_avx512_bf16;
    out.cpuLayout.blockQ = v.cpu_block_q;
    out.cpuLayout.blockKV = v.cpu_block_kv;
    out.cpuLayout.headDimVPadded = v.cpu_head_dim_v_padded;
    out.hasCpuBackward = v.cpu_backward_avx512 != nullptr;
    out.cpuBackwardAvx512 = v.cpu_backward_avx512;
    out.cpuBackwardAvx2 = v.cpu_backward_avx2;
  }
  out.hasGpuKernel = v.kernel != nullptr;
  if (out.hasGpuKernel) {
    out.launch = readLaunch(v.kernel, v.threads, v.dynamic_shared_bytes, v.num_params,
                            v.params);
    out.launch.blockQ = v.block_q;
    out.images = readImages(v.num_images, v.images);
  }
  out.hasGpuBackward = v.backward_kernel != nullptr;
  if (out.hasGpuBackward) {
    out.backwardLaunch =
        readLaunch(v.backward_kernel, v.backward_threads, v.backward_dynamic_shared_bytes,
                   v.num_backward_params, v.backward_params);
    out.backwardLaunch.backward = true;
    out.backwardImages = readImages(v.num_backward_images, v.backward_images);
  }
  return out;
}

/// Whether a GPU kernel's arrays are there.
bool plausibleGpuKernel(uint32_t numParams, const attnc_lib_param *params, uint32_t numImages,
                        const attnc_lib_image *images) {
  if ((numParams && !params) || (numImages && !images))
    return false;
  for (uint32_t i = 0; i < numImages; ++i)
    if (!images[i].chip || !images[i].format || !images[i].data)
      return false;
  return true;
}

/// Whether a table entry holds only values the runtime can represent.
bool plausible(const attnc_lib_variant &v) {
  auto dtypeOk = [](int32_t t) { return t >= ATTNC_F32 && t <= ATTNC_I64; };
  if (!v.name || v.heads_q <= 0 || v.heads_kv <= 0 || v.head_dim <= 0 || v.head_dim_v <= 0 ||
      !dtypeOk(v.dtype) || (v.num_scalars && !v.scalars) || (v.num_buffers && !v.buffers) ||
      (v.num_constants && !v.constants))
    return false;
  for (uint32_t i = 0; i < v.num_scalars; ++i)
    if (!v.scalars[i].name || !dtypeOk(v.scalars[i].type))
      return false;
  for (uint32_t i = 0; i < v.num_buffers; ++i)
    if (!v.buffers[i].name || !dtypeOk(v.buffers[i].dtype) || v.buffers[i].rank < 0 ||
        (v.buffers[i].rank && !v.buffers[i].shape) ||
        (v.buffers[i].requires_grad && v.buffers[i].dtype != ATTNC_F32))
      return false;
  // A CPU kernel has both levels and tiles the packer can lay out (CpuKernel.h).
  if ((v.cpu_avx512 == nullptr) != (v.cpu_avx2 == nullptr) ||
      (v.cpu_backward_avx512 == nullptr) != (v.cpu_backward_avx2 == nullptr) ||
      (v.cpu_backward_avx512 && !v.cpu_avx512))
    return false;
  if (v.cpu_avx512 && (v.cpu_block_q <= 0 || v.cpu_block_kv <= 0 || v.cpu_block_q > 4096 ||
                       v.cpu_block_kv > 4096 || v.cpu_head_dim_v_padded < v.head_dim_v ||
                       v.cpu_head_dim_v_padded % 16 != 0))
    return false;
  if (v.kernel && !plausibleGpuKernel(v.num_params, v.params, v.num_images, v.images))
    return false;
  if (v.backward_kernel &&
      (v.backward_threads <= 0 || !plausibleGpuKernel(v.num_backward_params, v.backward_params,
                                                      v.num_backward_images, v.backward_images)))
    return false;
  return true;
}

/// Checks that `path` is a whole 64-bit ELF shared object for this machine before
/// dlopen maps it: the loader trusts the headers, and a truncated file would fault
/// (SIGBUS) when a segment past its end is touched.
Status checkElf(const std::string &path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    return Status::error("No such file or it cannot be read");
  auto size = uint64_t(in.tellg());
  Elf64_Ehdr header;
  in.seekg(0);
  if (size < sizeof header || !in.read(reinterpret_cast<char *>(&header), sizeof header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return Status::error("not an ELF shared object");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_type != ET_DYN)
    return Status::error("not a 64-bit ELF shared object");
#if defined(__x86_64__)
  if (header.e_machine != EM_X86_64)
    return Status::error("built for another processor (ELF machine " +
                         std::to_string(header.e_machine) + ")");
#endif
  auto within = [&](uint64_t offset, uint64_t bytes) {
    return offset <= size && bytes <= size - offset;
  };
  if (header.e_phentsize != sizeof(Elf64_Phdr) ||
      !within(header.e_phoff, uint64_t(header.e_phnum) * sizeof(Elf64_Phdr)) ||
      (header.e_shnum && !within(header.e_shoff, uint64_t(header.e_shnum) * header.e_shentsize)))
    return Status::error("truncated (its headers point past the end of the file)");
  for (uint16_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    in.seekg(std::streamoff(header.e_phoff + i * sizeof segment));
    if (!in.read(reinterpret_cast<char *>(&segment), sizeof segment))
      return Status::error("truncated (cannot read its program headers)");
    if (segment.p_type == PT_LOAD && !within(segment.p_offset, segment.p_filesz))
      return Status::error("truncated (" + std::to_string(size) + " bytes; a segment ends at " +
                           std::to_string(segment.p_offset + segment.p_filesz) + ")");
  }
  return Status::ok();
}

} // namespace

Result<std::shared_ptr<KernelLibrary>> KernelLibrary::open(const std::string &path) {
  std::string where = "kernel library '" + path + "'";
  // A path without a slash would be searched for on the library path: make it
  // relative to the working directory, as the user meant.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  if (Status s = checkElf(file); !s)
    return Status::error("cannot load " + where + ": " + s.message());
  void *handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    return Status::error("cannot load " + where + ": " + orEmpty(dlerror()));
  std::shared_ptr<KernelLibrary> library(new KernelLibrary());
  library->handle_ = handle;
  library->path_ = path;
  using Entry = const attnc_lib *(*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "attnc_library_v1"));
  if (!entry)
    return Status::error(where + " is not an attnc kernel library (it has no "
                                 "attnc_library_v1)");
  const attnc_lib *table = entry();
  if (!table)
    return Status::error(where + " returned no variant table");
  library->version_ = orEmpty(table->attnc_version);
  if (table->abi_version != ATTNC_LIBRARY_ABI_VERSION)
    return Status::error(where + " was written by attnc " + library->version_ +
                         " in kernel-library format " + std::to_string(table->abi_version) +
                         "; this runtime reads format " +
                         std::to_string(ATTNC_LIBRARY_ABI_VERSION) + ": recompile it");
  if (table->num_variants && !table->variants)
    return Status::error(where + " has a damaged variant table");
  for (uint32_t i = 0; i < table->num_variants; ++i) {
    if (!plausible(table->variants[i]))
      return Status::error(where + " has a damaged entry for variant " + std::to_string(i));
    library->variants_.push_back(readVariant(table->variants[i]));
  }
  library->registerIn(ALL_ATTENTION_FUNCTIONS);
  return library;
}

KernelLibrary::~KernelLibrary() {
  if (handle_)
    dlclose(handle_);
}

Result<const LibraryVariant *> KernelLibrary::find(const std::string &name) const {
  std::string names;
  for (const LibraryVariant &v : variants_) {
    if (v.desc.name == name)
      return &v;
    names += (names.empty() ? "" : ", ") + v.desc.name;
  }
  return Status::error("kernel library '" + path_ + "' has no variant '" + name +
                       "' (it has: " + (names.empty() ? "none" : names) + ")");
}

const LibraryImage *KernelLibrary::imageFor(const std::vector<LibraryImage> &images, int major,
                                            int minor) {
  std::string chip = major == 9 && minor == 0 ? "sm_90a" : major == 8 ? "sm_80" : "";
  for (const LibraryImage &image : images)
    if (image.format == "cubin" && image.chip == chip)
      return &image;
  for (const LibraryImage &image : images)
    if (image.format == "ptx" && major >= 8)
      return &image;
  return nullptr;
}

Result<std::shared_ptr<CpuKernel>> KernelLibrary::cpuKernel(const std::string &name,
                                                             CpuIsa isa) const {
  Result<const LibraryVariant *> variant = find(name);
  if (!variant)
    return variant.status();
  const LibraryVariant &v = **variant;
  if (!v.hasCpuKernel)
    return Status::error("variant '" + name + "' of kernel library '" + path_ +
                         "' has no CPU kernel (compile it with --target cpu or all)");
  // The kernel's code lives in the library: the kernel keeps the library loaded.
  // At the AVX512-BF16 level a variant without a bf16-pairs kernel runs its AVX-512 one.
  CpuKernelLayout layout = v.cpuLayout;
  CpuKernelEntry entry = isa == CpuIsa::Avx2 ? v.cpuAvx2 : v.cpuAvx512;
  if (isa == CpuIsa::Avx512Bf16 && v.cpuAvx512Bf16) {
    entry = v.cpuAvx512Bf16;
    layout.bf16Pairs = true;
  }
  return std::make_shared<CpuKernel>(v.desc, layout, entry,
                                     std::shared_ptr<const void>(shared_from_this()));
}

Result<std::shared_ptr<CpuBackwardKernel>>
KernelLibrary::cpuBackwardKernel(const std::string &name, CpuIsa isa) const {
  Result<const LibraryVariant *> variant = find(name);
  if (!variant)
    return variant.status();
  const LibraryVariant &v = **variant;
  if (!v.hasCpuBackward)
    return Status::error("variant '" + name + "' of kernel library '" + path_ +
                         "' has no backward kernel (compile the library with --backward "
                         "and --target cpu or all)");
  return std::make_shared<CpuBackwardKernel>(
      v.desc, v.cpuLayout, isa == CpuIsa::Avx2 ? v.cpuBackwardAvx2 : v.cpuBackwardAvx512,
      std::shared_ptr<const void>(shared_from_this()));
}

Result<std::shared_ptr<CudaKernel>> KernelLibrary::cudaKernel(const std::string &name,
                                                              bool backward) const {
  Result<const LibraryVariant *> variant = find(name);
  if (!variant)
    return variant.status();
  const LibraryVariant &v = **variant;
  if (!(backward ? v.hasGpuBackward : v.hasGpuKernel))
    return Status::error("variant '" + name + "' of kernel library '" + path_ + "' has no GPU " +
                         (backward ? "backward kernel (compile the library with --backward "
                                     "and --target cuda or all)"
                                   : "kernel (compile it with --target cuda)"));
  const GpuLaunchDesc &launch = backward ? v.backwardLaunch : v.launch;
  const std::vector<LibraryImage> &images = backward ? v.backwardImages : v.images;
  Result<cuda::CudaDevice> device = cuda::firstDevice();
  if (!device)
    return device.status();
  const LibraryImage *image = imageFor(images, device->computeMajor, device->computeMinor);
  if (!image) {
    std::string chips;
    for (const LibraryImage &i : images)
      chips += (chips.empty() ? "" : ", ") + i.chip + " " + i.format;
    return Status::error("kernel library '" + path_ + "' has no kernel of '" + name +
                         "' for " + device->name + " (compute capability " +
                         std::to_string(device->computeMajor) + "." +
                         std::to_string(device->computeMinor) + "); it has: " +
                         (chips.empty() ? "none" : chips));
  }
  Result<std::shared_ptr<GpuModule>> module = GpuModule::load(
      std::string_view(reinterpret_cast<const char *>(image->data), size_t(image->size)),
      image->format, launch.kernel);
  if (!module)
    return module.status();
  return std::make_shared<CudaKernel>(v.desc, launch, module.take(),
                                      image->chip + " " + image->format);
}

/// A GPU kernel of a library loaded on the GPU at its first use; the library stays
/// loaded while it can still load from it.
struct KernelLibrary::LazyCudaKernel {
  std::shared_ptr<const KernelLibrary> library;
  std::string name;
  bool backward = false;
  std::mutex mutex;
  std::shared_ptr<CudaKernel> kernel;

  Result<std::shared_ptr<CudaKernel>> get() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!kernel) {
      Result<std::shared_ptr<CudaKernel>> loaded = library->cudaKernel(name, backward);
      if (!loaded)
        return loaded.status();
      kernel = loaded.take();
    }
    return kernel;
  }
};

std::shared_ptr<KernelLibrary::LazyCudaKernel>
KernelLibrary::lazyCudaKernel(const std::string &name, bool backward) const {
  auto lazy = std::make_shared<LazyCudaKernel>();
  lazy->library = shared_from_this();
  lazy->name = name;
  lazy->backward = backward;
  return lazy;
}

void KernelLibrary::registerIn(AttentionInterface &registry) const {
  Result<CpuIsa> isa = chooseCpuIsa();
  for (const LibraryVariant &v : variants_) {
    if (v.hasCpuKernel) {
      if (isa) {
        std::shared_ptr<CpuKernel> kernel = cpuKernel(v.desc.name, *isa).take();
        registry.registerFunction(
            v.desc.name, [kernel](const AttentionCall &call) { return kernel->run(call); },
            Device::Cpu);
        if (v.hasCpuBackward) {
          std::shared_ptr<CpuBackwardKernel> backward =
              cpuBackwardKernel(v.desc.name, *isa).take();
          (void)registry.registerBackward(
              v.desc.name, [backward](const BackwardCall &call) { return backward->run(call); },
              Device::Cpu);
        }
      } else {
        Status why = Status::error("variant '" + v.desc.name + "' of kernel library '" +
                                   path_ + "': " + isa.status().message());
        registry.registerFunction(
            v.desc.name, [why](const AttentionCall &) { return why; }, Device::Cpu);
      }
    }
    if (!v.hasGpuKernel)
      continue;
    std::shared_ptr<LazyCudaKernel> forward = lazyCudaKernel(v.desc.name, false);
    registry.registerFunction(
        v.desc.name,
        [forward](const AttentionCall &call) -> Status {
          Result<std::shared_ptr<CudaKernel>> kernel = forward->get();
          return kernel ? (*kernel)->run(call) : kernel.status();
        },
        Device::Cuda);
    if (!v.hasGpuBackward)
      continue;
    std::shared_ptr<LazyCudaKernel> backward = lazyCudaKernel(v.desc.name, true);
    (void)registry.registerBackward(
        v.desc.name,
        [backward](const BackwardCall &call) -> Status {
          Result<std::shared_ptr<CudaKernel>> kernel = backward->get();
          return kernel ? (*kernel)->runBackward(call) : kernel.status();
        },
        Device::Cuda);
  }
}

} // namespace attnc
