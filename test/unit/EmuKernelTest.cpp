//===- EmuKernelTest.cpp - gpu.func kernels under cuda-emu ------------------===//
//
// Real MLIR GPU kernels (gpu dialect, before NVVM conversion) lowered by
// attn-gpu-to-emu, JIT-compiled and run by the emulator: a block reduction with
// shuffles and workgroup memory, a tiled transpose with a barrier, and broken
// versions (missing barrier, divergent barrier, out-of-bounds workgroup index) that
// must be reported with the kernel's source location.
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/emu/EmuRunner.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include "runtime/Tensor.h"

#include <random>
#include <vector>

using namespace attnc;
using namespace attnc::emu;

namespace {

/// A 1-D memref descriptor for the packed interface.
template <typename T> struct MemRef1DOf {
  T *allocated, *aligned;
  int64_t offset, size, stride;
  void *self = nullptr;
  explicit MemRef1DOf(std::vector<T> &v)
      : allocated(v.data()), aligned(v.data()), offset(0), size(int64_t(v.size())),
        stride(1) {
    self = this;
  }
  void *arg() { return &self; }
};
using MemRef1D = MemRef1DOf<float>;
using MemRef1DU16 = MemRef1DOf<uint16_t>;

Result<std::unique_ptr<EmuModule>> compileKernels(mlir::MLIRContext &ctx, const std::string &source) {
  ctx.loadDialect<mlir::arith::ArithDialect, mlir::func::FuncDialect, mlir::gpu::GPUDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect, mlir::scf::SCFDialect,
                  mlir::vector::VectorDialect, mlir::nvgpu::NVGPUDialect>();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, &ctx, "kernels.mlir");
  if (!module)
    return Status::error("parse error");
  return EmuModule::compile(*module); // the module is freed here
}

const char *kReduce = R"mlir(
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @reduce(%in: memref<?xf32>, %out: memref<?xf32>)
        workgroup(%sums: memref<2xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %v0 = memref.load %in[%t] : memref<?xf32>
      %c32 = arith.constant 32 : i32
      %o16 = arith.constant 16 : i32
      %o8 = arith.constant 8 : i32
      %o4 = arith.constant 4 : i32
      %o2 = arith.constant 2 : i32
      %o1 = arith.constant 1 : i32
      %r16, %ok16 = gpu.shuffle xor %v0, %o16, %c32 : f32
      %v1 = arith.addf %v0, %r16 : f32
      %r8, %ok8 = gpu.shuffle xor %v1, %o8, %c32 : f32
      %v2 = arith.addf %v1, %r8 : f32
      %r4, %ok4 = gpu.shuffle xor %v2, %o4, %c32 : f32
      %v3 = arith.addf %v2, %r4 : f32
      %r2, %ok2 = gpu.shuffle xor %v3, %o2, %c32 : f32
      %v4 = arith.addf %v3, %r2 : f32
      %r1, %ok1 = gpu.shuffle xor %v4, %o1, %c32 : f32
      %v5 = arith.addf %v4, %r1 : f32
      %lane = gpu.lane_id
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c32i = arith.constant 32 : index
      %w = arith.divui %t, %c32i : index
      %first = arith.cmpi eq, %lane, %c0 : index
      scf.if %first {
        memref.store %v5, %sums[%w] : memref<2xf32, #gpu.address_space<workgroup>>
      }
      BARRIER
      %is0 = arith.cmpi eq, %t, %c0 : index
      scf.if %is0 {
        %a = memref.load %sums[%c0] : memref<2xf32, #gpu.address_space<workgroup>>
        %b = memref.load %sums[%c1] : memref<2xf32, #gpu.address_space<workgroup>>
        %s = arith.addf %a, %b : f32
        memref.store %s, %out[%c0] : memref<?xf32>
      }
      gpu.return
    }
  }
}
)mlir";

std::string withBarrier(const std::string &source, const std::string &barrier) {
  std::string s = source;
  s.replace(s.find("BARRIER"), 7, barrier);
  return s;
}

TEST(EmuKernels, BlockReductionWithShufflesAndWorkgroupMemory) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, withBarrier(kReduce, "gpu.barrier"));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<float> in(64), out(1, -1);
  double expected = 0;
  for (int i = 0; i < 64; ++i) {
    in[size_t(i)] = 0.25f * float(i) - 3.0f;
    expected += in[size_t(i)];
  }
  MemRef1D inRef(in), outRef(out);
  Status s = (*module)->launch("reduce", {1, 1, 1}, {64, 1, 1}, {inRef.arg(), outRef.arg()});
  ASSERT_TRUE(s) << s.message();
  EXPECT_FLOAT_EQ(out[0], float(expected));
}

TEST(EmuKernels, MissingBarrierIsARaceWithTheKernelsLocation) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, withBarrier(kReduce, ""));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<float> in(64, 1.0f), out(1, -1);
  MemRef1D inRef(in), outRef(out);
  Status s = (*module)->launch("reduce", {1, 1, 1}, {64, 1, 1}, {inRef.arg(), outRef.arg()});
  ASSERT_FALSE(s);
  // Thread 0 reads sums[1] before warp 1 writes it; warp 1's write is reported.
  EXPECT_NE(s.message().find("kernels.mlir:31:9: kernel 'reduce', block (0, 0, 0), thread (32, 0, 0)"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("data race on workgroup memory"), std::string::npos) << s.message();
}

TEST(EmuKernels, DivergentBarrierIsReported) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(
      ctx, withBarrier(kReduce, "%few = arith.cmpi ult, %t, %c32i : index\n"
                                "      scf.if %few { gpu.barrier }"));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<float> in(64, 1.0f), out(1, -1);
  MemRef1D inRef(in), outRef(out);
  Status s = (*module)->launch("reduce", {1, 1, 1}, {64, 1, 1}, {inRef.arg(), outRef.arg()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("barrier reached by 32 of 64 threads"), std::string::npos)
      << s.message();
}

TEST(EmuKernels, OutOfBoundsWorkgroupIndexIsReported) {
  mlir::MLIRContext ctx;
  // 96 threads: warp 2 writes sums[2] of a 2-element allocation.
  auto module = compileKernels(ctx, withBarrier(kReduce, "gpu.barrier"));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<float> in(96, 1.0f), out(1, -1);
  MemRef1D inRef(in), outRef(out);
  Status s = (*module)->launch("reduce", {1, 1, 1}, {96, 1, 1}, {inRef.arg(), outRef.arg()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("thread (64, 0, 0): write of 4 bytes outside every workgroup "
                             "memory allocation"),
            std::string::npos)
      << s.message();
}

/// One warp: A (16x16) and Bᵀ (8x16) staged in workgroup memory, fragments loaded with
/// ldmatrix (x4 for A, x2 for B), one mma.sync m16n8k16, D written by fragment.
const char *kMma = R"mlir(
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma(%a: memref<256xELT>, %bt: memref<128xELT>, %d: memref<128xf32>)
        workgroup(%sa: memref<16x16xELT, #gpu.address_space<workgroup>>,
                  %sb: memref<8x16xELT, #gpu.address_space<workgroup>>) kernel {
      %l = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      scf.for %i = %c0 to %c8 step %c1 {
        %l8 = arith.muli %l, %c8 : index
        %idx = arith.addi %l8, %i : index
        %r = arith.divui %idx, %c16 : index
        %col = arith.remui %idx, %c16 : index
        %v = memref.load %a[%idx] : memref<256xELT>
        memref.store %v, %sa[%r, %col] : memref<16x16xELT, #gpu.address_space<workgroup>>
      }
      scf.for %i = %c0 to %c4 step %c1 {
        %l4 = arith.muli %l, %c4 : index
        %idx = arith.addi %l4, %i : index
        %r = arith.divui %idx, %c16 : index
        %col = arith.remui %idx, %c16 : index
        %v = memref.load %bt[%idx] : memref<128xELT>
        memref.store %v, %sb[%r, %col] : memref<8x16xELT, #gpu.address_space<workgroup>>
      }
      BARRIER
      %arow = arith.remui %l, %c16 : index
      %ahalf = arith.divui %l, %c16 : index
      %acol = arith.muli %ahalf, %c8 : index
      %fa = nvgpu.ldmatrix %sa[%arow, %acol] {numTiles = 4 : i32, transpose = false}
          : memref<16x16xELT, #gpu.address_space<workgroup>> -> vector<4x2xELT>
      %brow = arith.remui %l, %c8 : index
      %bq = arith.divui %l, %c8 : index
      %bh = arith.remui %bq, %c2 : index
      %bcol = arith.muli %bh, %c8 : index
      %fb = nvgpu.ldmatrix %sb[%brow, %bcol] {numTiles = 2 : i32, transpose = false}
          : memref<8x16xELT, #gpu.address_space<workgroup>> -> vector<2x2xELT>
      %zero = arith.constant dense<0.0> : vector<2x2xf32>
      %fd = nvgpu.mma.sync (%fa, %fb, %zero) {mmaShape = [16, 8, 16]}
          : (vector<4x2xELT>, vector<2x2xELT>, vector<2x2xf32>) -> vector<2x2xf32>
      %g = arith.divui %l, %c4 : index
      %t = arith.remui %l, %c4 : index
      %t2 = arith.muli %t, %c2 : index
      %row0 = arith.muli %g, %c8 : index
      %o0 = arith.addi %row0, %t2 : index
      %o1 = arith.addi %o0, %c1 : index
      %c64 = arith.constant 64 : index
      %o2g = arith.addi %o0, %c64 : index
      %o3 = arith.addi %o2g, %c1 : index
      %d0 = vector.extract %fd[0, 0] : f32 from vector<2x2xf32>
      %d1 = vector.extract %fd[0, 1] : f32 from vector<2x2xf32>
      %d2 = vector.extract %fd[1, 0] : f32 from vector<2x2xf32>
      %d3 = vector.extract %fd[1, 1] : f32 from vector<2x2xf32>
      memref.store %d0, %d[%o0] : memref<128xf32>
      memref.store %d1, %d[%o1] : memref<128xf32>
      memref.store %d2, %d[%o2g] : memref<128xf32>
      memref.store %d3, %d[%o3] : memref<128xf32>
      gpu.return
    }
  }
}
)mlir";

const char *kAsyncStage = R"mlir(      %l8 = arith.muli %l, %c8 : index
      %ar = arith.divui %l8, %c16 : index
      %ac = arith.remui %l8, %c16 : index
      %tokA = nvgpu.device_async_copy %a[%l8], %sa[%ar, %ac], 8
          : memref<256xELT> to memref<16x16xELT, #gpu.address_space<workgroup>>
      %l4 = arith.muli %l, %c4 : index
      %br = arith.divui %l4, %c16 : index
      %bc = arith.remui %l4, %c16 : index
      %tokB = nvgpu.device_async_copy %bt[%l4], %sb[%br, %bc], 4
          : memref<128xELT> to memref<8x16xELT, #gpu.address_space<workgroup>>
      %grp = nvgpu.device_async_create_group %tokA, %tokB
      WAIT
)mlir";

/// The same kernel staging A and Bᵀ with cp.async (one group, then WAIT).
std::string asyncMmaSource(const std::string &elt, const std::string &wait) {
  std::string s = kMma;
  size_t from = s.find("      scf.for %i = %c0 to %c8 step %c1 {");
  size_t to = s.find("      BARRIER");
  std::string stage = kAsyncStage;
  stage.replace(stage.find("WAIT"), 4, wait);
  s.replace(from, to - from, stage);
  for (size_t at; (at = s.find("ELT")) != std::string::npos;)
    s.replace(at, 3, elt);
  return withBarrier(s, "gpu.barrier");
}

std::string mmaSource(const std::string &elt, const std::string &barrier) {
  std::string s = kMma;
  for (size_t at; (at = s.find("ELT")) != std::string::npos;)
    s.replace(at, 3, elt);
  return withBarrier(s, barrier);
}


void runMma(bool bf16) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, mmaSource(bf16 ? "bf16" : "f16", "gpu.barrier"));
  ASSERT_TRUE(module) << module.status().message();
  std::mt19937 rng(bf16 ? 5 : 4);
  std::uniform_real_distribution<float> dist(-1, 1);
  auto encode = [&](float x) { return bf16 ? floatToBf16(x) : floatToHalf(x); };
  auto decode = [&](uint16_t h) { return bf16 ? bf16ToFloat(h) : halfToFloat(h); };
  std::vector<uint16_t> a(256), bt(128);
  for (uint16_t &x : a)
    x = encode(dist(rng));
  for (uint16_t &x : bt)
    x = encode(dist(rng));
  std::vector<float> d(128, -999.0f);
  MemRef1DU16 aRef(a), btRef(bt);
  MemRef1D dRef(d);
  Status s = (*module)->launch("mma", {1, 1, 1}, {32, 1, 1}, {aRef.arg(), btRef.arg(), dRef.arg()});
  ASSERT_TRUE(s) << s.message();
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double ref = 0;
      for (int k = 0; k < 16; ++k)
        ref += double(decode(a[size_t(m * 16 + k)])) * double(decode(bt[size_t(n * 16 + k)]));
      EXPECT_NEAR(d[size_t(m * 8 + n)], ref, 1e-4) << m << "," << n;
    }
}

TEST(EmuKernels, LdmatrixAndMmaSyncF16ComputeTheProduct) { runMma(false); }
TEST(EmuKernels, LdmatrixAndMmaSyncBF16ComputeTheProduct) { runMma(true); }

TEST(EmuKernels, MmaKernelWithoutBarrierIsARace) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, mmaSource("f16", ""));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<uint16_t> a(256, 0), bt(128, 0);
  std::vector<float> d(128);
  MemRef1DU16 aRef(a), btRef(bt);
  MemRef1D dRef(d);
  Status s = (*module)->launch("mma", {1, 1, 1}, {32, 1, 1}, {aRef.arg(), btRef.arg(), dRef.arg()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("data race on workgroup memory"), std::string::npos) << s.message();
}

TEST(EmuKernels, CpAsyncStagingWithWaitIsCorrect) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(
      ctx, asyncMmaSource("f16", "nvgpu.device_async_wait %grp {numGroups = 0 : i32}"));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<uint16_t> a(256), bt(128);
  for (int i = 0; i < 256; ++i)
    a[size_t(i)] = floatToHalf(float((i * 7) % 13) - 6.0f);
  for (int i = 0; i < 128; ++i)
    bt[size_t(i)] = floatToHalf(float((i * 5) % 11) - 5.0f);
  std::vector<float> d(128, -999.0f);
  MemRef1DU16 aRef(a), btRef(bt);
  MemRef1D dRef(d);
  Status s = (*module)->launch("mma", {1, 1, 1}, {32, 1, 1}, {aRef.arg(), btRef.arg(), dRef.arg()});
  ASSERT_TRUE(s) << s.message();
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double ref = 0;
      for (int k = 0; k < 16; ++k)
        ref += double(halfToFloat(a[size_t(m * 16 + k)])) * double(halfToFloat(bt[size_t(n * 16 + k)]));
      EXPECT_EQ(d[size_t(m * 8 + n)], float(ref)) << m << "," << n;
    }
}

TEST(EmuKernels, CpAsyncWithoutWaitIsReported) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, asyncMmaSource("f16", ""));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<uint16_t> a(256, 0), bt(128, 0);
  std::vector<float> d(128);
  MemRef1DU16 aRef(a), btRef(bt);
  MemRef1D dRef(d);
  Status s = (*module)->launch("mma", {1, 1, 1}, {32, 1, 1}, {aRef.arg(), btRef.arg(), dRef.arg()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("whose cp.async (issued at kernels.mlir:"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("has not completed: missing nvgpu.device_async_wait"),
            std::string::npos)
      << s.message();
}

TEST(EmuKernels, OutOfBoundsGlobalIndexIsReported) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, withBarrier(kReduce, "gpu.barrier"));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<float> in(40, 1.0f), out(1, -1); // 64 threads read in[t]
  MemRef1D inRef(in), outRef(out);
  Status s = (*module)->launch("reduce", {1, 1, 1}, {64, 1, 1}, {inRef.arg(), outRef.arg()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("kernels.mlir:7:13: kernel 'reduce', block (0, 0, 0), thread (40, 0, 0): "
                             "read outside a global-memory buffer"),
            std::string::npos)
      << s.message();
}

/// A tiled GEMM, C[16x8] = A[16x64] · B[64x8], with cp.async double buffering: the
/// next k-tile is copied into the other buffer while the current one feeds
/// ldmatrix + mma.sync. LASTWAIT is the wait of the last iteration.
const char *kGemm = R"mlir(
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @gemm(%a: memref<1024xf16>, %bt: memref<512xf16>, %d: memref<128xf32>)
        workgroup(%sa: memref<2x16x16xf16, #gpu.address_space<workgroup>>,
                  %sb: memref<2x8x16xf16, #gpu.address_space<workgroup>>) kernel {
      %l = gpu.thread_id x
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c4 = arith.constant 4 : index
      %c8 = arith.constant 8 : index
      %c16 = arith.constant 16 : index
      %c64 = arith.constant 64 : index
      %l8 = arith.muli %l, %c8 : index
      %ar = arith.divui %l8, %c16 : index
      %ac = arith.remui %l8, %c16 : index
      %l4 = arith.muli %l, %c4 : index
      %br = arith.divui %l4, %c16 : index
      %bc = arith.remui %l4, %c16 : index
      %arow64 = arith.muli %ar, %c64 : index
      %brow64 = arith.muli %br, %c64 : index
      // Prologue: tile 0 into buffer 0.
      %ga0 = arith.addi %arow64, %ac : index
      %gb0 = arith.addi %brow64, %bc : index
      %p0 = nvgpu.device_async_copy %a[%ga0], %sa[%c0, %ar, %ac], 8
          : memref<1024xf16> to memref<2x16x16xf16, #gpu.address_space<workgroup>>
      %q0 = nvgpu.device_async_copy %bt[%gb0], %sb[%c0, %br, %bc], 4
          : memref<512xf16> to memref<2x8x16xf16, #gpu.address_space<workgroup>>
      %g0 = nvgpu.device_async_create_group %p0, %q0
      %zero = arith.constant dense<0.0> : vector<2x2xf32>
      %acc = scf.for %kt = %c0 to %c4 step %c1 iter_args(%accIn = %zero) -> (vector<2x2xf32>) {
        %buf = arith.remui %kt, %c2 : index
        %next = arith.addi %kt, %c1 : index
        %more = arith.cmpi ult, %next, %c4 : index
        scf.if %more {
          %nbuf = arith.remui %next, %c2 : index
          %koff = arith.muli %next, %c16 : index
          %ga = arith.addi %ga0, %koff : index
          %gb = arith.addi %gb0, %koff : index
          %p = nvgpu.device_async_copy %a[%ga], %sa[%nbuf, %ar, %ac], 8
              : memref<1024xf16> to memref<2x16x16xf16, #gpu.address_space<workgroup>>
          %q = nvgpu.device_async_copy %bt[%gb], %sb[%nbuf, %br, %bc], 4
              : memref<512xf16> to memref<2x8x16xf16, #gpu.address_space<workgroup>>
          %g = nvgpu.device_async_create_group %p, %q
          nvgpu.device_async_wait %g {numGroups = 1 : i32}
        } else {
          LASTWAIT
        }
        gpu.barrier
        %arow = arith.remui %l, %c16 : index
        %ahalf = arith.divui %l, %c16 : index
        %acol = arith.muli %ahalf, %c8 : index
        %fa = nvgpu.ldmatrix %sa[%buf, %arow, %acol] {numTiles = 4 : i32, transpose = false}
            : memref<2x16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
        %brow = arith.remui %l, %c8 : index
        %bq = arith.divui %l, %c8 : index
        %bh = arith.remui %bq, %c2 : index
        %bcol = arith.muli %bh, %c8 : index
        %fb = nvgpu.ldmatrix %sb[%buf, %brow, %bcol] {numTiles = 2 : i32, transpose = false}
            : memref<2x8x16xf16, #gpu.address_space<workgroup>> -> vector<2x2xf16>
        %accOut = nvgpu.mma.sync (%fa, %fb, %accIn) {mmaShape = [16, 8, 16]}
            : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
        gpu.barrier
        scf.yield %accOut : vector<2x2xf32>
      }
      %g = arith.divui %l, %c4 : index
      %t = arith.remui %l, %c4 : index
      %t2 = arith.muli %t, %c2 : index
      %row0 = arith.muli %g, %c8 : index
      %o0 = arith.addi %row0, %t2 : index
      %o1 = arith.addi %o0, %c1 : index
      %o2 = arith.addi %o0, %c64 : index
      %o3 = arith.addi %o2, %c1 : index
      %d0 = vector.extract %acc[0, 0] : f32 from vector<2x2xf32>
      %d1 = vector.extract %acc[0, 1] : f32 from vector<2x2xf32>
      %d2 = vector.extract %acc[1, 0] : f32 from vector<2x2xf32>
      %d3 = vector.extract %acc[1, 1] : f32 from vector<2x2xf32>
      memref.store %d0, %d[%o0] : memref<128xf32>
      memref.store %d1, %d[%o1] : memref<128xf32>
      memref.store %d2, %d[%o2] : memref<128xf32>
      memref.store %d3, %d[%o3] : memref<128xf32>
      gpu.return
    }
  }
}
)mlir";

std::string gemmSource(const std::string &lastWait, const std::string &elt = "f16") {
  std::string s = kGemm;
  s.replace(s.find("LASTWAIT"), 8, lastWait);
  for (size_t at = 0; (at = s.find("xf16", at)) != std::string::npos; at += 1 + elt.size())
    s.replace(at, 4, "x" + elt);
  return s;
}

Status runGemm(const std::string &lastWait, std::vector<float> &d, std::vector<uint16_t> &a,
               std::vector<uint16_t> &bt, bool bf16 = false) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, gemmSource(lastWait, bf16 ? "bf16" : "f16"));
  if (!module)
    return module.status();
  a.resize(1024);
  bt.resize(512);
  auto encode = [&](float x) { return bf16 ? floatToBf16(x) : floatToHalf(x); };
  for (int i = 0; i < 1024; ++i)
    a[size_t(i)] = encode(float((i * 7) % 17) / 8.0f - 1.0f);
  for (int i = 0; i < 512; ++i)
    bt[size_t(i)] = encode(float((i * 5) % 13) / 8.0f - 0.75f);
  d.assign(128, -999.0f);
  MemRef1DU16 aRef(a), btRef(bt);
  MemRef1D dRef(d);
  return (*module)->launch("gemm", {1, 1, 1}, {32, 1, 1}, {aRef.arg(), btRef.arg(), dRef.arg()});
}

TEST(EmuKernels, DoubleBufferedTiledGemmIsCorrect) {
  for (bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16" : "f16");
    std::vector<float> d;
    std::vector<uint16_t> a, bt;
    Status s = runGemm("nvgpu.device_async_wait %g0 {numGroups = 0 : i32}", d, a, bt, bf16);
    ASSERT_TRUE(s) << s.message();
    auto decode = [&](uint16_t h) { return double(bf16 ? bf16ToFloat(h) : halfToFloat(h)); };
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n) {
        double ref = 0;
        for (int k = 0; k < 64; ++k)
          ref += decode(a[size_t(m * 64 + k)]) * decode(bt[size_t(n * 64 + k)]);
        EXPECT_NEAR(d[size_t(m * 8 + n)], ref, 1e-4) << m << "," << n;
      }
  }
}

/// A 32x32 transpose through workgroup memory allocated in the kernel body, with
/// a barrier between the writes and the transposed reads (BARRIER).
const char *kTranspose = R"mlir(
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @transpose(%in: memref<1024xf32>, %out: memref<1024xf32>) kernel {
      %tile = memref.alloca() : memref<32x32xf32, #gpu.address_space<workgroup>>
      %x = gpu.thread_id x
      %y = gpu.thread_id y
      %c0 = arith.constant 0 : index
      %c8 = arith.constant 8 : index
      %c32 = arith.constant 32 : index
      scf.for %r0 = %c0 to %c32 step %c8 {
        %r = arith.addi %r0, %y : index
        %rx = arith.muli %r, %c32 : index
        %i = arith.addi %rx, %x : index
        %v = memref.load %in[%i] : memref<1024xf32>
        memref.store %v, %tile[%r, %x] : memref<32x32xf32, #gpu.address_space<workgroup>>
      }
      BARRIER
      scf.for %r0 = %c0 to %c32 step %c8 {
        %r = arith.addi %r0, %y : index
        %v = memref.load %tile[%x, %r] : memref<32x32xf32, #gpu.address_space<workgroup>>
        %rx = arith.muli %r, %c32 : index
        %i = arith.addi %rx, %x : index
        memref.store %v, %out[%i] : memref<1024xf32>
      }
      gpu.return
    }
  }
}
)mlir";

TEST(EmuKernels, SharedMemoryTransposeWithBarrierIsCorrect) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, withBarrier(kTranspose, "gpu.barrier"));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<float> in(1024), out(1024, -1.0f);
  for (int i = 0; i < 1024; ++i)
    in[size_t(i)] = float(i);
  MemRef1D inRef(in), outRef(out);
  Status s = (*module)->launch("transpose", {1, 1, 1}, {32, 8, 1}, {inRef.arg(), outRef.arg()});
  ASSERT_TRUE(s) << s.message();
  for (int r = 0; r < 32; ++r)
    for (int c = 0; c < 32; ++c)
      EXPECT_EQ(out[size_t(r * 32 + c)], float(c * 32 + r));
}

TEST(EmuKernels, SharedMemoryTransposeWithoutBarrierIsARace) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, withBarrier(kTranspose, ""));
  ASSERT_TRUE(module) << module.status().message();
  std::vector<float> in(1024, 1.0f), out(1024);
  MemRef1D inRef(in), outRef(out);
  Status s = (*module)->launch("transpose", {1, 1, 1}, {32, 8, 1}, {inRef.arg(), outRef.arg()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("kernels.mlir:16:9: kernel 'transpose'"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("data race on workgroup memory"), std::string::npos) << s.message();
}

TEST(EmuKernels, TooWeakWaitInTheLastIterationIsReported) {
  std::vector<float> d;
  std::vector<uint16_t> a, bt;
  // Waiting for "all but one" group when the last tile's group is the only one left
  // leaves it in flight: ldmatrix would read stale data.
  Status s = runGemm("nvgpu.device_async_wait %g0 {numGroups = 1 : i32}", d, a, bt);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("has not completed: missing nvgpu.device_async_wait"),
            std::string::npos)
      << s.message();
}

/// Thread t stores 1.0 to out[t + 1] (global) or to w[t + 1] of a 4-element
/// workgroup buffer: with 4 threads the last store is one element past its buffer.
const char *kStorePastTheEnd = R"mlir(
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @global_store(%out: memref<?xf32>) kernel {
      %t = gpu.thread_id x
      %c1 = arith.constant 1 : index
      %one = arith.constant 1.0 : f32
      %i = arith.addi %t, %c1 : index
      memref.store %one, %out[%i] : memref<?xf32>
      gpu.return
    }
    gpu.func @shared_store()
        workgroup(%w: memref<4xf32, #gpu.address_space<workgroup>>) kernel {
      %t = gpu.thread_id x
      %c1 = arith.constant 1 : index
      %one = arith.constant 1.0 : f32
      %i = arith.addi %t, %c1 : index
      memref.store %one, %w[%i] : memref<4xf32, #gpu.address_space<workgroup>>
      gpu.return
    }
  }
}
)mlir";

TEST(EmuKernels, AFaultingGlobalStoreLeavesTheMemoryBeyondUnchanged) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, kStorePastTheEnd);
  ASSERT_TRUE(module) << module.status().message();
  // The buffer the kernel sees has 4 elements; 4 more canaries lie behind it.
  const float canary = -7.25f;
  std::vector<float> memory(8, canary);
  MemRef1D out(memory);
  out.size = 4;
  Status s = (*module)->launch("global_store", {1, 1, 1}, {4, 1, 1}, {out.arg()});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("thread (3, 0, 0): write outside a global-memory buffer"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(memory[0], canary);
  for (int i = 1; i < 4; ++i) // threads 0..2 stored inside the buffer
    EXPECT_EQ(memory[size_t(i)], 1.0f) << i;
  for (int i = 4; i < 8; ++i)
    EXPECT_EQ(memory[size_t(i)], canary) << "the faulting store wrote element " << i;
}

TEST(EmuKernels, AFaultingWorkgroupStoreLeavesTheMemoryBeyondUnchanged) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, kStorePastTheEnd);
  ASSERT_TRUE(module) << module.status().message();
  // The emulator guards every workgroup allocation with bytes it checks when the
  // block ends; a store that reached them would be reported as a cuda-emu defect.
  Status s = (*module)->launch("shared_store", {1, 1, 1}, {4, 1, 1}, {});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("thread (3, 0, 0): write of 4 bytes outside every workgroup "
                             "memory allocation"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("guard bytes"), std::string::npos) << s.message();
}

TEST(EmuKernels, UnknownKernelIsAnError) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, withBarrier(kReduce, "gpu.barrier"));
  ASSERT_TRUE(module) << module.status().message();
  Status s = (*module)->launch("nope", {1, 1, 1}, {32, 1, 1}, {});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("no kernel named 'nope'"), std::string::npos) << s.message();
}

} // namespace
