//===- attnc.cpp - the attnc command line ----------------------------------===//
//
// `attnc check SPEC` and `attnc compile SPEC --emit attn [-o FILE]` (SPEC.md §4).
// Exit status: 0 on success, 1 on a user error, reported as FILE:LINE:COL: error:
// lines on stderr (with the offending source line and a caret).
//
//===----------------------------------------------------------------------===//
#include "compiler/frontend/Frontend.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;

namespace {

cl::OptionCategory attncCategory("attnc options");

cl::SubCommand checkCmd("check", "Parse and verify a spec; print diagnostics");
cl::SubCommand compileCmd("compile", "Compile a spec and print the requested IR");

cl::opt<std::string> specPath(cl::Positional, cl::desc("<spec.json>"), cl::Required,
                              cl::sub(checkCmd), cl::sub(compileCmd),
                              cl::cat(attncCategory));

enum class EmitKind { Attn };
cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to emit"), cl::init(EmitKind::Attn),
    cl::values(clEnumValN(EmitKind::Attn, "attn", "the attn dialect after import")),
    cl::sub(compileCmd), cl::cat(attncCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::sub(compileCmd), cl::cat(attncCategory));

int fail(const Twine &message) {
  WithColor::error(errs(), "") << message << "\n";
  return 1;
}

/// Loads and imports the spec; diagnostics go to stderr with source context.
mlir::OwningOpRef<mlir::ModuleOp> loadSpec(mlir::MLIRContext &ctx,
                                           SourceMgr &sourceMgr) {
  std::string errorMessage;
  std::unique_ptr<MemoryBuffer> file = mlir::openInputFile(specPath, &errorMessage);
  if (!file) {
    fail(errorMessage);
    return nullptr;
  }
  StringRef text = file->getBuffer();
  sourceMgr.AddNewSourceBuffer(std::move(file), SMLoc());
  return attnc::frontend::importSpec(specPath, text, &ctx);
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter(
      [](raw_ostream &os) { os << "attnc " << ATTNC_VERSION << "\n"; });
  cl::HideUnrelatedOptions(attncCategory);
  std::string cliErrors;
  raw_string_ostream cliErrorStream(cliErrors);
  if (!cl::ParseCommandLineOptions(argc, argv,
                                   "attnc: a compiler for attention variants\n",
                                   &cliErrorStream)) {
    // Report command-line mistakes in the same "error: MESSAGE" form as the rest.
    StringRef message = StringRef(cliErrors).trim();
    message.consume_front((StringRef(argv[0]) + ": ").str());
    message.consume_front("attnc: ");
    message = message.split("  Try:").first;
    message = message.split('\n').first.trim();
    if (message.empty())
      message = "invalid command-line arguments"; // cl printed the details itself
    return fail(message + " (see attnc --help)");
  }

  if (!checkCmd && !compileCmd)
    return fail("expected a command: check or compile (see attnc --help)");

  mlir::MLIRContext ctx;
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);
  mlir::OwningOpRef<mlir::ModuleOp> module = loadSpec(ctx, sourceMgr);
  if (!module)
    return 1;

  if (checkCmd) {
    outs() << specPath << ": ok\n";
    return 0;
  }

  std::string errorMessage;
  std::unique_ptr<ToolOutputFile> output =
      mlir::openOutputFile(outputPath, &errorMessage);
  if (!output)
    return fail(errorMessage);
  switch (emitKind) {
  case EmitKind::Attn:
    module->print(output->os());
    break;
  }
  output->keep();
  return 0;
}
