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
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <vector>

using namespace attnc;
using namespace attnc::emu;

namespace {

/// A 1-D memref descriptor for the packed interface.
struct MemRef1D {
  float *allocated, *aligned;
  int64_t offset, size, stride;
  void *self = nullptr;
  explicit MemRef1D(std::vector<float> &v)
      : allocated(v.data()), aligned(v.data()), offset(0), size(int64_t(v.size())),
        stride(1) {
    self = this;
  }
  void *arg() { return &self; }
};

Result<std::unique_ptr<EmuModule>> compileKernels(mlir::MLIRContext &ctx, const std::string &source) {
  ctx.loadDialect<mlir::arith::ArithDialect, mlir::func::FuncDialect, mlir::gpu::GPUDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect, mlir::scf::SCFDialect,
                  mlir::vector::VectorDialect>();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, &ctx, "kernels.mlir");
  if (!module)
    return Status::error("parse error");
  return EmuModule::compile(module.release());
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

TEST(EmuKernels, UnknownKernelIsAnError) {
  mlir::MLIRContext ctx;
  auto module = compileKernels(ctx, withBarrier(kReduce, "gpu.barrier"));
  ASSERT_TRUE(module) << module.status().message();
  Status s = (*module)->launch("nope", {1, 1, 1}, {32, 1, 1}, {});
  ASSERT_FALSE(s);
  EXPECT_NE(s.message().find("no kernel named 'nope'"), std::string::npos) << s.message();
}

} // namespace
