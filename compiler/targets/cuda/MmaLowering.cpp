//===- MmaLowering.cpp - staging tiles and quad reductions for mma kernels -===//
#include "compiler/codegen/OnlineSoftmax.h"
#include "compiler/targets/cuda/MmaLowering.h"

using namespace mlir;

namespace attnc::cuda::detail {

Value MmaLowering::quadReduce(Value v, bool isMax) {
  for (int64_t offset : {1, 2}) {
    Value o = arith::ConstantIntOp::create(b, loc, offset, 32);
    Value w = arith::ConstantIntOp::create(b, loc, 32, 32);
    Value other = gpu::ShuffleOp::create(b, loc, v, o, w, gpu::ShuffleMode::XOR).getShuffleResult();
    v = isMax ? codegen::combineMax(b, loc, v, other)
              : Value(arith::AddFOp::create(b, loc, v, other));
  }
  return v;
}

void MmaLowering::stageF16(Value tensor, Value tile, const SharedTileLayout &layout,
                           ValueRange prefix, Value batch, Value head, Value r0,
                           int64_t rows, int64_t cols, int64_t valid, Value limit) {
  forEach(tid, idx(rows * cols), idx(threadsPerBlock()), [&](Value e) {
    Value r = divc(e, cols), c = remc(e, cols);
    Value row = add(r0, r);
    Value in = andi(ult(row, limit), ult(c, idx(valid)));
    Value x = ifElse(
        in, half(), [&] { return load(tensor, {batch, head, row, c}); },
        [&] { return Value(arith::ConstantOp::create(b, loc, half(), b.getZeroAttr(half()))); });
    SmallVector<Value> at(prefix);
    at.append({r, layout.column(*this, r, c)});
    store(x, tile, at);
  });
}

} // namespace attnc::cuda::detail
