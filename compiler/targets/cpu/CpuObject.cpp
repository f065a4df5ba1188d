//===- CpuObject.cpp - a CPU kernel compiled ahead of time ----------------===//
#include "compiler/targets/cpu/CpuObject.h"
#include "compiler/targets/cpu/CpuPipeline.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;

namespace attnc::cpu {

namespace {

/// A position-independent target machine for this machine's triple at `llvmCpu`
/// with `features`.
std::unique_ptr<llvm::TargetMachine> targetMachineFor(llvm::StringRef llvmCpu,
                                                      llvm::StringRef features,
                                                      std::string &error) {
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, llvmCpu, features, llvm::TargetOptions(), llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    error = "no target machine for " + triple.str() + " " + llvmCpu.str();
  return tm;
}

/// Defines `void exportName(ptr args)`: loads argument i from the pointer args[i]
/// and calls `ciface` with them, as the JIT's packed wrappers do.
///
///   define hidden void @exportName(ptr %args) {
///     %p0 = load ptr, ptr %args            ; &argument 0
///     %a0 = load ptr, ptr %p0
///     ...
///     call void @ciface(ptr %a0, ...)
///     ret void
///   }
bool definePackedEntry(llvm::Module &module, llvm::StringRef cifaceName,
                       llvm::StringRef exportName, std::string &error) {
  llvm::Function *ciface = module.getFunction(cifaceName);
  if (!ciface || ciface->isDeclaration() || !ciface->getReturnType()->isVoidTy()) {
    error = "the kernel module has no function '" + cifaceName.str() + "' returning void";
    return false;
  }
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptrTy = llvm::PointerType::getUnqual(ctx);
  auto *entry = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy}, false),
      llvm::GlobalValue::ExternalLinkage, exportName, module);
  entry->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
  llvm::SmallVector<llvm::Value *> args;
  for (auto [i, param] : llvm::enumerate(ciface->args())) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptrTy, entry->getArg(0), i);
    llvm::Value *address = b.CreateLoad(ptrTy, slot);
    args.push_back(b.CreateLoad(param.getType(), address));
  }
  b.CreateCall(ciface, args);
  b.CreateRetVoid();
  return true;
}

/// Gives every definition but `exportName` internal linkage.
void internalizeAllBut(llvm::Module &module, llvm::StringRef exportName) {
  for (llvm::Function &f : module)
    if (!f.isDeclaration() && f.getName() != exportName)
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &g : module.globals())
    if (!g.isDeclaration())
      g.setLinkage(llvm::GlobalValue::InternalLinkage);
}

/// Runs the -O3 pipeline for `tm` and emits an object file.
std::optional<std::string> optimizeAndEmit(llvm::Module &module, llvm::TargetMachine &tm,
                                           std::string &error) {
  if (llvm::Error err = makeOptimizingTransformer(3, 0, &tm)(&module)) {
    error = llvm::toString(std::move(err));
    return std::nullopt;
  }
  llvm::SmallString<0> bytes;
  llvm::raw_svector_ostream os(bytes);
  llvm::legacy::PassManager codegen;
  if (tm.addPassesToEmitFile(codegen, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return std::nullopt;
  }
  codegen.run(module);
  return std::string(bytes.str());
}

} // namespace

std::optional<std::string> emitCpuObject(ModuleOp module, llvm::StringRef llvmCpu,
                                         llvm::StringRef features, llvm::StringRef cifaceName,
                                         llvm::StringRef exportName, std::string &error) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateToLLVMIR(module, llvmContext);
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return std::nullopt;
  }
  std::unique_ptr<llvm::TargetMachine> tm = targetMachineFor(llvmCpu, features, error);
  if (!tm)
    return std::nullopt;
  llvmModule->setTargetTriple(tm->getTargetTriple());
  llvmModule->setDataLayout(tm->createDataLayout());
  if (!definePackedEntry(*llvmModule, cifaceName, exportName, error))
    return std::nullopt;
  internalizeAllBut(*llvmModule, exportName);
  llvm::raw_string_ostream verifierOutput(error);
  if (llvm::verifyModule(*llvmModule, &verifierOutput))
    return std::nullopt;
  return optimizeAndEmit(*llvmModule, *tm, error);
}

} // namespace attnc::cpu
