//===- SassProfile.cpp - the key loop's machine code, counted --------------===//
//
// nvdisasm text → instructions with their labels and branches → innermost mma
// loops (a backward branch's target to the branch) → the cheapest and costliest
// instruction count of one iteration, by dynamic programming over the loop body in
// address order (its forward branches form a DAG once inner back edges are cut).
//
//===----------------------------------------------------------------------===//
#include "compiler/targets/cuda/SassProfile.h"

#include "compiler/targets/cuda/ExternalTool.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <regex>
#include <sstream>

namespace attnc::cuda {
namespace {

/// One SASS instruction as the profile needs it.
struct Instruction {
  int64_t address = 0;
  std::string opcode;      ///< without modifiers: "HMMA" of "HMMA.16816.F32.BF16"
  bool predicated = false; ///< guarded by a predicate other than PT
  std::string target;      ///< a jump's label, else empty
  bool ends = false;       ///< unconditional BRA/EXIT/RET/BRX: no fall-through
};

/// A function's instructions and where its labels point (instruction index).
struct Function {
  std::string name;
  std::vector<Instruction> code;
  std::map<std::string, size_t> labels;
};

bool isMma(const std::string &op) { return op == "HMMA" || op == "HGMMA" || op == "IMMA"; }

/// Parses "/*0450*/ @!P0 BRA `(.L_x_1) ;" (nullopt for anything else).
std::optional<Instruction> parseInstruction(const std::string &line) {
  static const std::regex form(R"(^\s*/\*([0-9a-fA-F]+)\*/\s+(@!?U?P[T0-9]+\s+)?([A-Z0-9_]+)([^;]*);)");
  std::smatch m;
  if (!std::regex_search(line, m, form))
    return std::nullopt;
  Instruction inst;
  inst.address = std::stoll(m[1], nullptr, 16);
  std::string guard = m[2], full = m[3], operands = m[4];
  inst.opcode = full.substr(0, full.find('.'));
  inst.predicated = !guard.empty() && guard.find("PT") == std::string::npos;
  // Only jumps: BSSY names its reconvergence label the same way.
  static const std::regex label(R"(`\((\.L\w+)\))");
  std::smatch t;
  bool jump = inst.opcode == "BRA" || inst.opcode == "JMP";
  if (jump && std::regex_search(operands, t, label))
    inst.target = t[1];
  bool conditional = inst.predicated || (inst.opcode == "BRA" &&
                                         llvm::StringRef(operands).trim().starts_with("P"));
  bool terminator = inst.opcode == "BRA" || inst.opcode == "EXIT" || inst.opcode == "RET" ||
                    inst.opcode == "BRX" || inst.opcode == "JMX" || inst.opcode == "JMP";
  inst.ends = terminator && !conditional;
  return inst;
}

/// Splits the disassembly into functions ("NAME:" after ".type NAME,@function").
std::vector<Function> parseFunctions(const std::string &text) {
  static const std::regex function(R"(^\s*\.type\s+([A-Za-z_$][\w$]*),\s*@function)"),
      label(R"(^(\.L\w+):)");
  std::vector<Function> functions;
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> pending; // labels waiting for their instruction
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, function)) {
      functions.push_back({std::string(m[1]), {}, {}});
      pending.clear();
    } else if (functions.empty()) {
      continue;
    } else if (std::regex_search(line, m, label)) {
      pending.push_back(m[1]);
    } else if (std::optional<Instruction> inst = parseInstruction(line)) {
      Function &f = functions.back();
      for (const std::string &l : pending)
        f.labels[l] = f.code.size();
      pending.clear();
      f.code.push_back(*inst);
    }
  }
  return functions;
}

/// `path` extended by one instruction.
SassPath extend(SassPath path, const Instruction &inst) {
  if (inst.opcode == "NOP")
    return path;
  ++path.instructions;
  path.mma += isMma(inst.opcode);
  path.ldmatrix += inst.opcode == "LDSM";
  ++path.opcodes[inst.opcode];
  return path;
}

/// The cheapest and costliest paths from `head` to a branch back to it, over the
/// body [head, back], among those that issue the most mma (a path around the
/// mma is a skipped tile, not the work per tile): forward branches inside the body
/// are edges, branches out of it exits, inner backward branches are cut (their
/// loops counted once).
std::pair<SassPath, SassPath> iterationPaths(const Function &f, size_t head, size_t back) {
  size_t n = back - head + 1;
  std::vector<std::optional<SassPath>> lo(n + 1), hi(n + 1); // n: the back edge taken
  lo[0] = hi[0] = SassPath();
  auto cheaper = [](const SassPath &x, const SassPath &y) {
    return x.mma != y.mma ? x.mma > y.mma : x.instructions < y.instructions;
  };
  auto costlier = [](const SassPath &x, const SassPath &y) {
    return x.mma != y.mma ? x.mma > y.mma : x.instructions > y.instructions;
  };
  auto reach = [&](size_t to, const SassPath &a, const SassPath &b) {
    if (!lo[to] || cheaper(a, *lo[to]))
      lo[to] = a;
    if (!hi[to] || costlier(b, *hi[to]))
      hi[to] = b;
  };
  for (size_t i = 0; i < n; ++i) {
    if (!lo[i])
      continue;
    const Instruction &inst = f.code[head + i];
    SassPath a = extend(*lo[i], inst), b = extend(*hi[i], inst);
    if (!inst.target.empty()) {
      auto it = f.labels.find(inst.target);
      if (it != f.labels.end() && it->second == head)
        reach(n, a, b);
      else if (it != f.labels.end() && it->second > head + i && it->second <= back)
        reach(it->second - head, a, b);
    }
    if (!inst.ends && i + 1 < n)
      reach(i + 1, a, b);
  }
  return {lo[n].value_or(SassPath()), hi[n].value_or(SassPath())};
}

/// The loops of `f`: (head, last backward branch to it), outermost first. A
/// backward branch over an unconditional EXIT is out-of-line code returning into
/// the kernel (a slow path placed after it), not a loop.
std::vector<std::pair<size_t, size_t>> findLoops(const Function &f) {
  std::map<size_t, size_t> backOf;
  for (size_t i = 0; i < f.code.size(); ++i) {
    auto it = f.code[i].target.empty() ? f.labels.end() : f.labels.find(f.code[i].target);
    if (it != f.labels.end() && it->second <= i)
      backOf[it->second] = std::max(backOf[it->second], i);
  }
  std::vector<std::pair<size_t, size_t>> loops;
  for (auto [head, back] : backOf) {
    bool exits = false;
    for (size_t i = head; i < back && !exits; ++i)
      exits = f.code[i].ends && (f.code[i].opcode == "EXIT" || f.code[i].opcode == "RET");
    if (!exits)
      loops.push_back({head, back});
  }
  return loops;
}

/// The profile of one function: its innermost loops with mma.
SassKernelProfile profileFunction(const Function &f) {
  SassKernelProfile profile{f.name, {}, 0};
  for (const Instruction &inst : f.code)
    profile.localMemoryInstructions += inst.opcode == "LDL" || inst.opcode == "STL";
  auto loops = findLoops(f);
  auto hasMma = [&](size_t head, size_t back) {
    for (size_t i = head; i <= back; ++i)
      if (isMma(f.code[i].opcode))
        return true;
    return false;
  };
  for (auto [head, back] : loops) {
    if (!hasMma(head, back))
      continue;
    SassLoop loop;
    bool innermost = true;
    for (auto [h, b] : loops) {
      bool nested = h >= head && b <= back && (h != head || b != back);
      if (nested && hasMma(h, b))
        innermost = false;
      loop.innerLoops += nested;
    }
    if (!innermost)
      continue;
    loop.headAddress = f.code[head].address;
    loop.backAddress = f.code[back].address;
    for (size_t i = head; i <= back; ++i)
      loop.asyncCopies |= f.code[i].opcode == "LDGSTS";
    std::tie(loop.cheapest, loop.costliest) = iterationPaths(f, head, back);
    profile.loops.push_back(std::move(loop));
  }
  return profile;
}

std::string fixed2(double v) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(2);
  os << v;
  return os.str();
}

std::string hex(int64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

} // namespace

Result<std::vector<SassKernelProfile>> profileSass(const std::string &disassembly) {
  std::vector<Function> functions = parseFunctions(disassembly);
  if (functions.empty())
    return Status::error("the disassembly holds no function (is it nvdisasm -c output?)");
  std::vector<SassKernelProfile> profiles;
  for (const Function &f : functions)
    if (!llvm::StringRef(f.name).starts_with("$")) // ptxas's internal subroutines
      profiles.push_back(profileFunction(f));
  return profiles;
}

std::string findNvdisasm() {
  if (const char *env = std::getenv("ATTNC_NVDISASM"); env && *env)
    return llvm::sys::fs::can_execute(env) ? env : "";
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/nvdisasm"))
    return "/usr/local/cuda/bin/nvdisasm";
  // BUILD/bin/attnc → BUILD/venv/bin/nvdisasm (scripts/setup.sh).
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  if (!exe.empty()) {
    llvm::SmallString<256> path(llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
    llvm::sys::path::append(path, "venv", "bin", "nvdisasm");
    if (llvm::sys::fs::can_execute(path))
      return std::string(path);
  }
  if (auto path = llvm::sys::findProgramByName("nvdisasm"))
    return *path;
  return "";
}

Result<std::string> disassembleCubin(const std::string &nvdisasm, const std::string &cubin) {
  return runOnFile(nvdisasm, {"-c", "{input}"}, cubin, "cubin");
}

std::string formatSassProfile(const SassKernelProfile &profile, const std::string &chip) {
  std::string out;
  std::string head = profile.kernel + " (" + chip + ") SASS: ";
  if (profile.loops.empty())
    return head + "no loop issues mma\n";
  for (size_t i = 0; i < profile.loops.size(); ++i) {
    const SassLoop &l = profile.loops[i];
    double mma = double(std::max<int64_t>(l.cheapest.mma, 1));
    out += head + "key loop " + std::to_string(i + 1) + " of " +
           std::to_string(profile.loops.size()) + " (" + hex(l.headAddress) + "-" +
           hex(l.backAddress) + (l.asyncCopies ? ", cp.async" : ", plain loads") + "): " +
           std::to_string(l.cheapest.mma) + " mma, " + std::to_string(l.cheapest.ldmatrix) +
           " ldmatrix (" + fixed2(double(l.cheapest.ldmatrix) / mma) + " per mma), " +
           std::to_string(l.cheapest.instructions) + "-" +
           std::to_string(l.costliest.instructions) + " instructions per iteration (" +
           fixed2(double(l.cheapest.instructions) / mma) + "-" +
           fixed2(double(l.costliest.instructions) / std::max<int64_t>(l.costliest.mma, 1)) +
           " per mma)" +
           (l.innerLoops ? ", " + std::to_string(l.innerLoops) + " inner loop" +
                               (l.innerLoops > 1 ? "s" : "") + " counted once"
                         : "") +
           ", " + std::to_string(profile.localMemoryInstructions) +
           " local-memory instructions in the kernel\n";
    std::vector<std::pair<int64_t, std::string>> ops;
    for (const auto &[op, count] : l.cheapest.opcodes)
      ops.push_back({-count, op});
    std::sort(ops.begin(), ops.end());
    out += "  cheapest path:";
    for (size_t k = 0; k < ops.size() && k < 12; ++k)
      out += std::string(k ? ", " : " ") + ops[k].second + " " + std::to_string(-ops[k].first);
    out += "\n";
  }
  return out;
}

} // namespace attnc::cuda
