//===- MaskTileClasses.cpp - the tile classes a kernel will use ------------===//
#include "compiler/MaskTileClasses.h"
#include "compiler/targets/cpu/CpuPipeline.h"
#include "compiler/transforms/MaskIntervals.h"
#include "dialect/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"

using namespace mlir;

namespace attnc {

Result<std::vector<TileClass>> maskTileClasses(ModuleOp module, int64_t blockQ, int64_t blockKV,
                                               int64_t qLen, int64_t kvLen, int64_t b, int64_t h,
                                               const std::vector<ScalarValue> &scalars) {
  auto variants = module.getOps<attn::VariantOp>();
  if (variants.empty())
    return Status::error("no attn.variant to classify tiles of");
  attn::VariantOp variant = *variants.begin();
  MLIRContext *ctx = module.getContext();
  // @classify(b, h, q0, q1, k0, k1, q_len, kv_len, scalars...) -> index, with the
  // packed interface (the scalars' types vary).
  OwningOpRef<ModuleOp> host = ModuleOp::create(UnknownLoc::get(ctx));
  host->getBody()->push_back(variant->clone());
  auto copy = *host->getOps<attn::VariantOp>().begin();
  OpBuilder builder(ctx);
  SmallVector<Type> inputs(8, builder.getIndexType());
  SmallVector<Value> scalarArgs;
  if (DictionaryAttr decls = copy.getScalarsAttr())
    for (NamedAttribute entry : decls.getValue())
      inputs.push_back(cast<TypeAttr>(entry.getValue()).getValue());
  builder.setInsertionPointToEnd(host->getBody());
  auto fn = func::FuncOp::create(builder, copy.getLoc(), "classify",
                                 builder.getFunctionType(inputs, {builder.getIndexType()}));
  fn->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  Block *entry = fn.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  ValueRange a = entry->getArguments();
  Value cls = emitMaskClass(builder, copy.getLoc(), copy, a[0], a[1], a[2], a[3], a[4], a[5],
                            a[6], a[7], a.drop_front(8));
  func::ReturnOp::create(builder, copy.getLoc(), cls);
  copy.erase();
  if (failed(attnc::runPipeline(*host, [](OpPassManager &pm) { cpu::buildCpuToLLVMPipeline(pm); })))
    return Status::error("lowering the tile classification failed");
  std::string error;
  std::unique_ptr<ExecutionEngine> engine = attnc::jitCompile(*host, error, false, {}, 1);
  if (!engine)
    return Status::error("compiling the tile classification failed: " + error);

  int64_t rows = (qLen + blockQ - 1) / blockQ, cols = (kvLen + blockKV - 1) / blockKV;
  std::vector<TileClass> classes;
  classes.reserve(size_t(rows * cols));
  std::vector<int64_t> slots(8 + scalars.size());
  for (size_t i = 0; i < scalars.size(); ++i)
    slots[8 + i] = scalars[i].type == DType::F32 ? 0 : scalars[i].i;
  std::vector<float> floats(scalars.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t values[8] = {b, h, r * blockQ, std::min(qLen, (r + 1) * blockQ) - 1, c * blockKV,
                           std::min(kvLen, (c + 1) * blockKV) - 1, qLen, kvLen};
      SmallVector<void *> args;
      for (int64_t &v : values)
        args.push_back(&v);
      std::vector<int32_t> narrow(scalars.size());
      for (size_t i = 0; i < scalars.size(); ++i) {
        if (scalars[i].type == DType::F32) {
          floats[i] = float(scalars[i].f);
          args.push_back(&floats[i]);
        } else if (scalars[i].type == DType::I32) {
          narrow[i] = int32_t(scalars[i].i);
          args.push_back(&narrow[i]);
        } else {
          args.push_back(&slots[8 + i]);
        }
      }
      int64_t result = 2;
      args.push_back(&result);
      if (llvm::Error e = engine->invokePacked("classify", args))
        return Status::error("running the tile classification failed: " +
                             llvm::toString(std::move(e)));
      classes.push_back(TileClass(result));
    }
  return classes;
}

} // namespace attnc
