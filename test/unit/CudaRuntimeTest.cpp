//===- CudaRuntimeTest.cpp - the CUDA runtime against a stand-in driver ----===//
//
// The `cuda` target's host side without a GPU: ATTNC_CUDA_DRIVER points at
// test/fake-cuda (a libcuda.so.1 over host memory that checks its arguments and
// records launches, but cannot run kernels). Covered: the device and its chip,
// the kernel parameters (each tensor's descriptor where the PTX signature has it),
// staging strided and broadcast views (span, gaps, copies back), the cubin and PTX
// module paths, launch configuration, device dispatch (GPU tensors, host tensors,
// mixed), errors from each driver call with the call named, no leaked device
// memory, the cubin cache. The kernels' numerics are tested under cuda-emu
// (attnc-emu-attention-tests) and on a real GPU (attnc-cuda-attention-tests).
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "compiler/KernelCache.h"
#include "runtime/cuda/CudaAbi.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/DeviceMemory.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <unistd.h>

using namespace attnc;

namespace {

void *fakeDriver() {
  static void *lib = dlopen(ATTNC_FAKE_CUDA_DRIVER, RTLD_NOW | RTLD_LOCAL);
  return lib;
}

std::string takeLaunchLog() {
  auto fn = reinterpret_cast<const char *(*)()>(dlsym(fakeDriver(), "fakeCudaTakeLaunchLog"));
  return fn ? fn() : "(no fake driver)";
}

std::string lastParams() {
  auto fn = reinterpret_cast<const char *(*)()>(dlsym(fakeDriver(), "fakeCudaLastParams"));
  return fn ? fn() : "(no fake driver)";
}

size_t liveAllocations() {
  auto fn = reinterpret_cast<size_t (*)()>(dlsym(fakeDriver(), "fakeCudaLiveAllocations"));
  return fn ? fn() : size_t(-1);
}

/// Sets an environment variable for one scope.
struct ScopedEnv {
  ScopedEnv(const char *name, const char *value) : name(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name); }
  const char *name;
};

Compiler &compiler() {
  static Compiler *c = new Compiler(); // never destroyed, like the registry
  return *c;
}

std::shared_ptr<CompiledVariant> compileSpec(const std::string &name, const std::string &json,
                                             Target target = Target::Cuda) {
  std::string path = ::testing::TempDir() + "/attnc_cuda_runtime_" + std::to_string(getpid()) +
                     "_" + name + ".json";
  {
    std::ofstream out(path);
    out << json;
  }
  auto v = compiler().compileFileFor(path, target);
  std::remove(path.c_str());
  return v;
}

const char *kCausalF16 = R"json({"name": "fake_causal_f16", "heads": {"q": 4, "kv": 2},
  "head_dim": 64, "dtype": "f16", "mask_mod": "q_idx >= kv_idx"})json";

/// Host tensors for a [B, H, Q, D] call of `v`, out and lse poisoned.
struct HostCall {
  Tensor q, k, v, out, lse;
  HostCall(const VariantDesc &d, int64_t B, int64_t Q, int64_t KV)
      : q(d.dtype, {B, d.headsQ, Q, d.headDim}), k(d.dtype, {B, d.headsKV, KV, d.headDim}),
        v(d.dtype, {B, d.headsKV, KV, d.headDimV}), out(d.dtype, {B, d.headsQ, Q, d.headDimV}),
        lse(DType::F32, {B, d.headsQ, Q}) {
    std::vector<int64_t> idx(4, 0);
    for (Tensor *t : {&q, &k, &v}) {
      TensorView view = t->view();
      std::fill(idx.begin(), idx.end(), 0);
      int64_t n = 0;
      do
        view.set(idx.data(), std::sin(double(++n)));
      while (nextIndex(idx, view.shape));
    }
    for (int64_t i = 0; i < lse.numel(); ++i)
      lse.as<float>()[i] = NAN;
  }
  AttentionCall call() const {
    AttentionCall c;
    c.q = q.view();
    c.k = k.view();
    c.v = v.view();
    c.out = out.view();
    c.lse = lse.view();
    return c;
  }
};

class CudaRuntime : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_NE(fakeDriver(), nullptr) << dlerror(); }
};

TEST_F(CudaRuntime, FindsTheDeviceAndItsChip) {
  Result<cuda::CudaDevice> device = cuda::firstDevice();
  ASSERT_TRUE(device) << device.status().message();
  EXPECT_EQ(device->name, "attnc fake GPU");
  EXPECT_EQ(device->chip(), "sm_80");
  cuda::CudaDevice hopper{0, "H100", 9, 0}, ada{0, "L4", 8, 9}, blackwell{0, "B200", 10, 0};
  EXPECT_EQ(hopper.chip(), "sm_90a");
  EXPECT_EQ(ada.chip(), "sm_80");
  EXPECT_EQ(blackwell.chip(), "sm_80");
}

TEST_F(CudaRuntime, StagesStridedViewsAsTheirSpans) {
  size_t before = liveAllocations();
  std::vector<float> host(200);
  for (size_t i = 0; i < host.size(); ++i)
    host[i] = float(i);
  // [3, 4] with strides [20, 2], starting at element 5: span 5 .. 5+46.
  TensorView view{host.data() + 5, DType::F32, {3, 4}, {20, 2}};
  {
    Result<cuda::StagedTensor> staged = cuda::stageToDevice(view, "t");
    ASSERT_TRUE(staged) << staged.status().message();
    EXPECT_EQ(staged->spanBytes, size_t(2 * 20 + 3 * 2 + 1) * 4);
    EXPECT_EQ(staged->device.device, Device::Cuda);
    EXPECT_EQ(staged->device.strides, view.strides);
    EXPECT_EQ(liveAllocations(), before + 1);
    for (float &x : host)
      x = -1;
    ASSERT_TRUE(cuda::copyToHost(*staged, view));
    // The view's elements come back; the gaps and the rest keep what the host has.
    std::vector<bool> inView(host.size(), false);
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t c = 0; c < 4; ++c)
        inView[size_t(5 + 20 * r + 2 * c)] = true;
    for (size_t i = 0; i < host.size(); ++i)
      EXPECT_EQ(host[i], inView[i] ? float(i) : -1.0f) << "element " << i;
    EXPECT_FALSE(cuda::stageToDevice(staged->device, "t")); // already on the device
  }
  // A broadcast (stride 0) view covers one row.
  TensorView broadcast{host.data(), DType::F32, {5, 3}, {0, 1}};
  Result<cuda::StagedTensor> staged = cuda::stageToDevice(broadcast, "b");
  ASSERT_TRUE(staged);
  EXPECT_EQ(staged->spanBytes, 3u * 4);
  staged = Status::error("released");
  EXPECT_EQ(liveAllocations(), before);
}

TEST_F(CudaRuntime, CompilesLoadsAndLaunchesTheKernel) {
  auto variant = compileSpec("causal", kCausalF16);
  ASSERT_TRUE(variant && variant->cudaKernel);
  EXPECT_EQ(variant->cudaKernel->chip(), "sm_80 cubin"); // ptxas is installed here
  HostCall host(variant->desc, 2, 67, 131);
  ASSERT_TRUE(variant->run(host.call())); // allocates this thread's status word
  takeLaunchLog();
  size_t before = liveAllocations();
  Status s = variant->run(host.call());
  ASSERT_TRUE(s) << s.message();
  // One block per (query tile, head, batch): the heuristic's 128-row tiles of the
  // tensor-core kernel (4 warps of 32 rows) for a 16-bit head dim 64.
  EXPECT_EQ(takeLaunchLog(), "fake_causal_f16_gpu_kernel grid 1x4x2 block 128x1x1\n");
  EXPECT_EQ(liveAllocations(), before);
  // In the registry beside the CPU kernel of the same spec: host tensors go to the
  // CPU kernel, GPU tensors to the GPU kernel.
  auto cpuVariant = compileSpec("causal_cpu_registry", kCausalF16, Target::Cpu);
  ASSERT_TRUE(cpuVariant);
  AttentionInterface registry;
  variant->registerIn(registry);
  cpuVariant->registerIn(registry);
  EXPECT_EQ(registry.devices("fake_causal_f16"), (std::vector<Device>{Device::Cpu, Device::Cuda}));
  ASSERT_TRUE(registry["fake_causal_f16"](host.call()));
  EXPECT_EQ(takeLaunchLog(), ""); // ran on the CPU
  EXPECT_FALSE(std::isnan(host.lse.as<float>()[0]));
  Result<std::unique_ptr<cuda::StagedCall>> staged = cuda::stageCall(host.call());
  ASSERT_TRUE(staged);
  ASSERT_TRUE(registry["fake_causal_f16"]((*staged)->device));
  EXPECT_NE(takeLaunchLog().find("grid 1x4x2"), std::string::npos);
}

TEST_F(CudaRuntime, LaunchesTheBackwardKernelOverSplitsOfTheKeyTiles) {
  const char *spec = R"json({"name": "fake_bias_backward", "heads": {"q": 4, "kv": 2},
    "head_dim": 64, "buffers": {"bias": {"dtype": "f32", "shape": ["H", 9],
    "requires_grad": true}}, "score_mod": "score + bias[h, clamp(kv_idx - q_idx, -4, 4) + 4]",
    "mask_mod": "q_idx >= kv_idx"})json";
  std::string path = ::testing::TempDir() + "/attnc_cuda_backward_" + std::to_string(getpid()) +
                     ".json";
  std::ofstream(path) << spec;
  KernelTileOptions options;
  options.backward = true;
  auto variant = compiler().compileFileFor(path, Target::Cuda, options);
  std::remove(path.c_str());
  ASSERT_TRUE(variant && variant->cudaBackwardKernel);
  EXPECT_TRUE(variant->cudaBackwardKernel->launch().backward);
  HostCall host(variant->desc, 1, 70, 70);
  Tensor bias(DType::F32, {4, 9}), dout(DType::F32, {1, 4, 70, 64});
  Tensor dq(DType::F32, {1, 4, 70, 64}), dk(DType::F32, {1, 2, 70, 64}),
      dv(DType::F32, {1, 2, 70, 64}), dbias(DType::F32, {4, 9});
  bias.view().fill(0.25);
  dout.view().fill(1.0);
  BackwardCall call;
  call.forward = host.call();
  call.forward.buffers["bias"] = bias.view();
  call.dout = dout.view();
  call.dq = dq.view();
  call.dk = dk.view();
  call.dv = dv.view();
  call.dbuffers["bias"] = dbias.view();
  dq.view().fill(NAN);
  dbias.view().fill(NAN);
  ASSERT_TRUE(variant->run(call.forward));
  takeLaunchLog();
  size_t before = liveAllocations();
  Status s = variant->runBackward(call);
  ASSERT_TRUE(s) << s.message();
  // Grid (splits, H_KV, B): a thread per key row of the options' 64-row key tiles,
  // and as many splits as the 2 key tiles of 70 keys allow.
  EXPECT_EQ(takeLaunchLog(), "fake_bias_backward_backward_gpu_kernel grid 2x2x1 block 64x1x1\n");
  EXPECT_EQ(liveAllocations(), before);
  // The stand-in runs no kernel: dq is the sum of the zeroed partials and the bias
  // gradient its zeroed start.
  EXPECT_EQ(dq.as<float>()[0], 0.0f);
  EXPECT_EQ(dbias.as<float>()[8], 0.0f);
  // Through the registry (the GPU's backward pass takes host tensors too).
  AttentionInterface registry;
  variant->registerIn(registry);
  ASSERT_TRUE(bool(registry.getBackward("fake_bias_backward")));
  EXPECT_TRUE(registry.getBackward("fake_bias_backward")(call));
  EXPECT_NE(takeLaunchLog().find("grid 2x2x1"), std::string::npos);
  // A forward kernel is not a backward kernel.
  Status notBackward = variant->cudaKernel->runBackward(call);
  EXPECT_FALSE(notBackward);
  EXPECT_NE(notBackward.message().find("not compiled as a backward kernel"), std::string::npos);
  // Tensors already in GPU memory are used in place: dq (NaN on the GPU before) is
  // the sum of the zeroed partials and the bias gradient is zeroed there; dq is a
  // strided view (every other row of a larger tensor), written only where it points.
  Result<std::unique_ptr<cuda::StagedCall>> forward = cuda::stageCall(call.forward);
  ASSERT_TRUE(forward);
  Tensor dqWide(DType::F32, {1, 4, 140, 64});
  dqWide.view().fill(NAN);
  TensorView dqRows = dqWide.view();
  dqRows.shape[2] = 70;
  dqRows.strides[2] *= 2;
  std::vector<cuda::StagedTensor> grads;
  BackwardCall onGpu;
  onGpu.forward = (*forward)->device;
  for (auto [host, device] : {std::pair<TensorView, TensorView *>{dout.view(), &onGpu.dout},
                              {dqRows, &onGpu.dq},
                              {dk.view(), &onGpu.dk},
                              {dv.view(), &onGpu.dv},
                              {dbias.view(), &onGpu.dbuffers["bias"]}}) {
    Result<cuda::StagedTensor> staged = cuda::stageToDevice(host, "t");
    ASSERT_TRUE(staged);
    *device = staged->device;
    grads.push_back(staged.take());
  }
  dbias.view().fill(NAN);
  takeLaunchLog();
  Status onDevice = variant->runBackward(onGpu);
  ASSERT_TRUE(onDevice) << onDevice.message();
  EXPECT_EQ(takeLaunchLog(), "fake_bias_backward_backward_gpu_kernel grid 2x2x1 block 64x1x1\n");
  // The whole span back (rows 0 to 138 of the wide tensor, gaps included).
  TensorView span = dqWide.view();
  span.shape[2] = 139;
  dqWide.view().fill(7.0f);
  ASSERT_TRUE(cuda::copyToHost(grads[1], span));
  EXPECT_EQ(dqWide.as<float>()[0], 0.0f);          // row 0 of dq
  EXPECT_TRUE(std::isnan(dqWide.as<float>()[64])); // the row between, untouched on the GPU
  EXPECT_EQ(dqWide.as<float>()[128], 0.0f);        // row 1 of dq
  ASSERT_TRUE(cuda::copyToHost(grads[4], dbias.view()));
  EXPECT_EQ(dbias.as<float>()[35], 0.0f);
  // Shapes are checked against the GPU's tensors as for the host's.
  onGpu.dk.shape[2] = 69;
  EXPECT_NE(variant->runBackward(onGpu).message().find("dk"), std::string::npos);
}

TEST_F(CudaRuntime, RunsOnTensorsAlreadyInGpuMemory) {
  auto variant = compileSpec("causal", kCausalF16);
  ASSERT_TRUE(variant);
  HostCall host(variant->desc, 1, 200, 50);
  Result<std::unique_ptr<cuda::StagedCall>> staged = cuda::stageCall(host.call());
  ASSERT_TRUE(staged) << staged.status().message();
  takeLaunchLog();
  ASSERT_TRUE(variant->run((*staged)->device));
  EXPECT_EQ(takeLaunchLog(), "fake_causal_f16_gpu_kernel grid 2x4x1 block 128x1x1\n");
  ASSERT_TRUE((*staged)->copyOutputs(host.call()));
  // On the caller's stream when the call names one.
  AttentionCall onStream = (*staged)->device;
  int callerStream = 0;
  onStream.stream = &callerStream;
  ASSERT_TRUE(variant->run(onStream));
  EXPECT_EQ(takeLaunchLog(),
            "fake_causal_f16_gpu_kernel grid 2x4x1 block 128x1x1 on the caller's stream\n");
  // Mixed devices are refused, naming the tensor.
  AttentionCall mixed = (*staged)->device;
  mixed.k = host.k.view();
  Status s = variant->run(mixed);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("tensor 'k' is in cpu memory"), std::string::npos) << s.message();
}

TEST_F(CudaRuntime, CpuKernelsRefuseGpuTensors) {
  auto variant = compileSpec("causal_cpu", kCausalF16, Target::Cpu);
  ASSERT_TRUE(variant && variant->cpuKernel);
  HostCall host(variant->desc, 1, 8, 8);
  AttentionCall call = host.call();
  call.q.device = Device::Cuda;
  Status s = variant->run(call);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("tensor 'q' is in cuda memory, but 'fake_causal_f16' runs on "
                             "the CPU"),
            std::string::npos)
      << s.message();
}

TEST_F(CudaRuntime, PtxGoesThroughTheDriverJit) {
  ScopedEnv jit("ATTNC_CUDA_JIT_PTX", "1");
  auto variant = compileSpec("plain_f32", R"json({"name": "fake_plain_f32", "heads": {"q": 3},
    "head_dim": 40})json");
  ASSERT_TRUE(variant);
  EXPECT_EQ(variant->cudaKernel->chip(), "sm_80 ptx");
  HostCall host(variant->desc, 1, 65, 9);
  takeLaunchLog();
  ASSERT_TRUE(variant->run(host.call()));
  // The SIMT kernel: a thread per query row, 64 rows per block.
  EXPECT_EQ(takeLaunchLog(), "fake_plain_f32_gpu_kernel grid 2x3x1 block 64x1x1\n");
}

TEST_F(CudaRuntime, KernelParametersAreTheTensorsDescriptors) {
  // With PTX the stand-in reads each parameter as the kernel's .entry types it.
  ScopedEnv jit("ATTNC_CUDA_JIT_PTX", "1");
  auto variant = compileSpec("params", R"json({"name": "fake_params", "heads": {"q": 3},
    "head_dim": 40, "dtype": "bf16", "mask_mod": "q_idx >= kv_idx"})json");
  ASSERT_TRUE(variant);
  HostCall host(variant->desc, 2, 65, 9);
  Result<std::unique_ptr<cuda::StagedCall>> staged = cuda::stageCall(host.call());
  ASSERT_TRUE(staged);
  ASSERT_TRUE(variant->run((*staged)->device));
  std::string params = lastParams();
  ASSERT_NE(params.find(':'), std::string::npos) << params;
  // The host code passed as many parameters as the kernel declares.
  EXPECT_EQ(std::stoul(params), cuda::lastLaunchParamCount()) << params;
  // Each tensor as its memref descriptor: allocated and aligned pointers (the GPU
  // copy), offset 0, sizes, strides (q [2, 3, 65, 40], contiguous; lse [2, 3, 65]).
  auto descriptor = [](const TensorView &t) {
    std::string address = std::to_string(uintptr_t(t.data));
    std::string d = " " + address + " " + address + " 0";
    for (int64_t x : t.shape)
      d += " " + std::to_string(x);
    for (int64_t x : t.strides)
      d += " " + std::to_string(x);
    return d + " ";
  };
  const AttentionCall &d = (*staged)->device;
  for (const TensorView *t : {&d.q, &d.k, &d.v, &d.out, &d.lse})
    EXPECT_NE((params + " ").find(descriptor(*t)), std::string::npos)
        << "no descriptor" << descriptor(*t) << "in " << params;
}

TEST_F(CudaRuntime, DriverErrorsNameTheCall) {
  auto variant = compileSpec("causal", kCausalF16);
  ASSERT_TRUE(variant);
  HostCall host(variant->desc, 2, 67, 131);
  ASSERT_TRUE(variant->run(host.call()));
  size_t before = liveAllocations();
  {
    ScopedEnv fail("FAKE_CUDA_FAIL", "launch");
    Status s = variant->run(host.call());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.message(), "cuda: launching the kernel (cuLaunchKernel, grid 1x4x2, block "
                           "128x1x1) failed: CUDA_ERROR_LAUNCH_FAILED: unspecified launch "
                           "failure");
  }
  {
    ScopedEnv fail("FAKE_CUDA_FAIL", "alloc");
    Status s = variant->run(host.call());
    ASSERT_FALSE(s);
    EXPECT_NE(s.message().find("bytes of GPU memory for 'q' (cuMemAlloc) failed: "
                               "CUDA_ERROR_OUT_OF_MEMORY"),
              std::string::npos)
        << s.message();
  }
  EXPECT_EQ(liveAllocations(), before);
  takeLaunchLog();
  ASSERT_TRUE(variant->run(host.call())); // and it works again
  EXPECT_NE(takeLaunchLog(), "");
}

TEST_F(CudaRuntime, ModulesTheDriverRefusesFailTheCompilation) {
  ScopedEnv fail("FAKE_CUDA_FAIL", "load");
  testing::internal::CaptureStderr();
  auto variant = compileSpec("refused", R"json({"name": "fake_refused", "heads": {"q": 1},
    "head_dim": 16, "dtype": "bf16"})json");
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(variant, nullptr);
  EXPECT_NE(err.find("compiling 'fake_refused' for attnc fake GPU (sm_80) failed: "),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("CUDA_ERROR_INVALID_IMAGE"), std::string::npos) << err;
}

TEST_F(CudaRuntime, ARefusedCubinFallsBackToPtx) {
  ScopedEnv fail("FAKE_CUDA_FAIL", "cubin");
  auto variant = compileSpec("old_driver", R"json({"name": "fake_old_driver", "heads": {"q": 2},
    "head_dim": 32, "dtype": "f16"})json");
  ASSERT_TRUE(variant);
  EXPECT_EQ(variant->cudaKernel->chip(), "sm_80 ptx");
  HostCall host(variant->desc, 1, 20, 20);
  takeLaunchLog();
  ASSERT_TRUE(variant->run(host.call()));
  EXPECT_NE(takeLaunchLog(), "");
}

TEST_F(CudaRuntime, CopiesBackOnlyTheViewsElements) {
  // out's rows are interleaved with another tensor's: copying back must not write
  // the other's elements (here changed on the host after staging).
  std::vector<float> host(2 * 6);
  TensorView even{host.data(), DType::F32, {6}, {2}};
  Result<cuda::StagedTensor> staged = cuda::stageToDevice(even, "even");
  ASSERT_TRUE(staged);
  for (size_t i = 0; i < host.size(); ++i)
    host[i] = float(i % 2 ? 100 + i : -1);
  ASSERT_TRUE(cuda::copyToHost(*staged, even));
  for (size_t i = 0; i < host.size(); ++i)
    EXPECT_EQ(host[i], i % 2 ? float(100 + i) : 0.0f) << i;
}

TEST_F(CudaRuntime, CubinsAreCached) {
  int builds = 0;
  auto build = [&]() -> Result<std::string> {
    ++builds;
    return std::string("\x7f" "ELF\0bytes", 10);
  };
  std::string key = KernelCache::key("ptx text " + std::to_string(getpid()), "cubin test");
  bool fromCache = true;
  Result<std::string> first = KernelCache::getOrBuildFile(key, "cubin", build, &fromCache);
  ASSERT_TRUE(first);
  EXPECT_FALSE(fromCache);
  EXPECT_EQ(first->size(), 10u);
  Result<std::string> second = KernelCache::getOrBuildFile(key, "cubin", build, &fromCache);
  EXPECT_TRUE(fromCache);
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(builds, 1);
  std::ifstream file(KernelCache::directory() + "/" + key + ".cubin", std::ios::binary);
  std::string onDisk((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(onDisk, *first);
}

} // namespace

int main(int argc, char **argv) {
  // Before anything loads a driver: the stand-in, and a private kernel cache.
  setenv("ATTNC_CUDA_DRIVER", ATTNC_FAKE_CUDA_DRIVER, 1);
  std::string cache = "/tmp/attnc-cuda-runtime-test-" + std::to_string(getpid());
  setenv("ATTNC_CACHE_DIR", cache.c_str(), 1);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  std::system(("rm -rf " + cache).c_str());
  return rc;
}
