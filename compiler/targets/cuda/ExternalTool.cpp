//===- ExternalTool.cpp - running the CUDA toolkit's programs --------------===//
#include "compiler/targets/cuda/ExternalTool.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <fstream>
#include <optional>
#include <sstream>

namespace attnc::cuda {

Result<std::string> runOnFile(const std::string &program, std::vector<std::string> args,
                              const std::string &input, const std::string &extension) {
  llvm::SmallString<128> inputFile, logFile;
  llvm::sys::fs::createTemporaryFile("attnc", extension, inputFile);
  llvm::sys::fs::createTemporaryFile("attnc", "log", logFile);
  {
    std::ofstream out(inputFile.c_str(), std::ios::binary);
    out << input;
  }
  for (std::string &a : args)
    if (a == "{input}")
      a = std::string(inputFile);
  llvm::SmallVector<llvm::StringRef> argv{program};
  argv.append(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(logFile),
                                                llvm::StringRef(logFile)};
  std::string error;
  int rc = llvm::sys::ExecuteAndWait(program, argv, std::nullopt, redirects, 0, 0, &error);
  std::ifstream in(logFile.c_str());
  std::stringstream log;
  log << in.rdbuf();
  llvm::sys::fs::remove(inputFile);
  llvm::sys::fs::remove(logFile);
  if (rc != 0)
    return Status::error(llvm::sys::path::filename(program).str() + " failed" +
                         (error.empty() ? "" : ": " + error) + "\n" + log.str());
  return log.str();
}

} // namespace attnc::cuda
