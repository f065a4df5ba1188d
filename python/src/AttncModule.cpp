//===- AttncModule.cpp - the Python extension attnc._attnc -----------------===//
//
// nanobind bindings of the compiler and runtime for the `attnc` package
// (python/attnc/__init__.py wraps them): compile a spec for a target, call the
// kernel on DLPack tensors (numpy and any other producer; CPU memory), and read the
// registry. Errors become SpecError (a spec's diagnostics, with the first one's
// file, line and column) and CallError (a ValueError: a call the kernel refuses,
// with the runtime's message). The GIL is released while a kernel runs.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "runtime/AttentionInterface.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <limits>
#include <mutex>
#include <regex>

namespace nb = nanobind;
using namespace attnc;

namespace {

/// The process's compiler: one MLIR context for every compile, kept for the
/// process's lifetime (compiled kernels may hold code that refers to it).
struct SharedCompiler {
  std::mutex mutex;
  Compiler compiler{Compiler::DiagnosticMode::Collect};
};
SharedCompiler &sharedCompiler() {
  static SharedCompiler *shared = new SharedCompiler;
  return *shared;
}

nb::object specErrorType, callErrorType;

/// Raises SpecError with `diagnostics` ("FILE:LINE:COL: error: ..." lines).
[[noreturn]] void raiseSpecError(const std::string &diagnostics) {
  std::string text = diagnostics.empty() ? "the spec did not compile" : diagnostics;
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  nb::object error = specErrorType(text);
  std::smatch m;
  std::string first = text.substr(0, text.find('\n'));
  if (std::regex_search(first, m, std::regex(R"(^(.*):(\d+):(\d+): error: )"))) {
    error.attr("file") = m[1].str();
    error.attr("line") = std::stoi(m[2].str());
    error.attr("col") = std::stoi(m[3].str());
  }
  PyErr_SetObject(specErrorType.ptr(), error.ptr());
  throw nb::python_error();
}

[[noreturn]] void raiseCallError(const std::string &message) {
  PyErr_SetString(callErrorType.ptr(), message.c_str());
  throw nb::python_error();
}

using AnyArray = nb::ndarray<nb::ro>;

/// The runtime dtype of a DLPack dtype, or an error naming `what`.
DType dtypeOf(const AnyArray &a, const char *what) {
  nb::dlpack::dtype t = a.dtype();
  if (t.lanes == 1) {
    if (t == nb::dtype<float>())
      return DType::F32;
    if (t.code == uint8_t(nb::dlpack::dtype_code::Float) && t.bits == 16)
      return DType::F16;
    if (t.code == uint8_t(nb::dlpack::dtype_code::Bfloat) && t.bits == 16)
      return DType::BF16;
    if (t == nb::dtype<int32_t>())
      return DType::I32;
    if (t == nb::dtype<int64_t>())
      return DType::I64;
  }
  raiseCallError(std::string(what) + ": unsupported dtype (code " + std::to_string(t.code) +
                 ", " + std::to_string(t.bits) + " bits); expected float32, float16, bfloat16, "
                 "int32 or int64");
}

/// A view of a CPU DLPack tensor (its strides kept).
TensorView viewOf(const AnyArray &a, const char *what) {
  if (a.device_type() != nb::device::cpu::value)
    raiseCallError(std::string(what) + ": only CPU tensors are supported by this build of "
                   "the Python package");
  TensorView v;
  v.data = const_cast<void *>(a.data());
  v.dtype = dtypeOf(a, what);
  for (size_t d = 0; d < a.ndim(); ++d) {
    v.shape.push_back(int64_t(a.shape(d)));
    v.strides.push_back(int64_t(a.stride(d)));
  }
  return v;
}

/// A new C-contiguous numpy array of `shape` and `dtype`, every element NaN (so an
/// element the kernel does not write shows).
nb::ndarray<nb::numpy> poisonedArray(std::vector<int64_t> shape, DType dtype, TensorView &view) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  size_t bytes = size_t(n) * dtypeSize(dtype);
  auto *data = static_cast<uint8_t *>(std::malloc(bytes ? bytes : 1));
  if (!data)
    throw std::bad_alloc();
  view.data = data;
  view.dtype = dtype;
  view.shape = shape;
  view.strides = contiguousStrides(shape);
  std::vector<int64_t> index(shape.size(), 0);
  if (n > 0)
    do
      view.set(index.data(), std::numeric_limits<double>::quiet_NaN());
    while (nextIndex(index, shape));
  nb::capsule owner(data, [](void *p) noexcept { std::free(p); });
  std::vector<size_t> dims(shape.begin(), shape.end());
  nb::dlpack::dtype t = dtype == DType::F32 ? nb::dtype<float>()
                        : nb::dlpack::dtype{uint8_t(nb::dlpack::dtype_code::Float), 16, 1};
  return nb::ndarray<nb::numpy>(data, dims.size(), dims.data(), owner, nullptr, t);
}

/// A compiled variant and the target it runs on.
struct Kernel {
  std::shared_ptr<CompiledVariant> compiled;
  std::string target;

  const VariantDesc &desc() const { return compiled->desc; }

  nb::tuple call(const AnyArray &q, const AnyArray &k, const AnyArray &v,
                 const std::map<std::string, nb::object> &scalars,
                 const std::map<std::string, AnyArray> &buffers) const {
    AttentionCall call;
    call.q = viewOf(q, "q");
    call.k = viewOf(k, "k");
    call.v = viewOf(v, "v");
    if (call.q.rank() != 4)
      raiseCallError("q: expected 4 dimensions [B, H, Q_LEN, D], got " +
                     call.q.shapeString());
    if (desc().dtype == DType::BF16)
      raiseCallError("'" + desc().name + "' returns bfloat16, which numpy cannot hold: "
                     "bfloat16 outputs need PyTorch tensors (not supported yet)");
    for (const auto &[name, value] : scalars) {
      ScalarValue s;
      if (nb::isinstance<nb::bool_>(value) || nb::isinstance<nb::int_>(value)) {
        s.type = DType::I64;
        s.i = nb::cast<int64_t>(value);
      } else if (nb::isinstance<nb::float_>(value)) {
        s.type = DType::F32;
        s.f = nb::cast<double>(value);
      } else {
        raiseCallError("scalar '" + name + "': expected an int or a float");
      }
      // Declared types decide: an int given for a float scalar is converted.
      for (const ScalarDecl &decl : desc().scalars)
        if (decl.name == name && decl.type == DType::F32 && s.type != DType::F32)
          s = ScalarValue{DType::F32, 0, double(s.i)};
        else if (decl.name == name && decl.type != DType::F32 && s.type == DType::F32)
          raiseCallError("scalar '" + name + "' is an integer; got a float");
        else if (decl.name == name)
          s.type = decl.type;
      call.scalars[name] = s;
    }
    for (const auto &[name, buffer] : buffers)
      call.buffers[name] = viewOf(buffer, ("buffer '" + name + "'").c_str());
    std::vector<int64_t> qs = call.q.shape;
    nb::ndarray<nb::numpy> out =
        poisonedArray({qs[0], desc().headsQ, qs[2], desc().headDimV}, desc().dtype, call.out);
    nb::ndarray<nb::numpy> lse = poisonedArray({qs[0], desc().headsQ, qs[2]}, DType::F32, call.lse);
    Status status;
    {
      nb::gil_scoped_release release;
      status = compiled->run(call);
    }
    if (!status)
      raiseCallError(status.message());
    return nb::make_tuple(out, lse);
  }
};

Target parseTarget(const std::string &target) {
  if (target == "cpu")
    return Target::Cpu;
  if (target == "cuda-emu")
    return Target::CudaEmu;
  if (target == "cuda")
    return Target::Cuda;
  throw nb::value_error(("unknown target '" + target + "' (expected cpu, cuda or cuda-emu)").c_str());
}

Kernel compileSpec(const std::string &source, bool isText, const std::string &target) {
  Target t = parseTarget(target);
  SharedCompiler &shared = sharedCompiler();
  std::shared_ptr<CompiledVariant> compiled;
  std::string diagnostics;
  {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(shared.mutex);
    compiled = isText ? shared.compiler.compileText("<spec>", source)
                      : shared.compiler.compileFileFor(source, t);
    diagnostics = shared.compiler.takeDiagnostics();
  }
  if (!compiled)
    raiseSpecError(diagnostics);
  compiled->registerIn();
  return Kernel{compiled, target};
}

const char *dtypeString(DType d) { return dtypeName(d); }

} // namespace

NB_MODULE(_attnc, m) {
  m.doc() = "attnc's compiler and runtime (use the attnc package, not this module)";
  nb::module_ builtins = nb::module_::import_("builtins");
  specErrorType = m.attr("SpecError") = nb::steal(
      PyErr_NewExceptionWithDoc("attnc.SpecError",
                                "A spec that does not compile: the message holds every "
                                "diagnostic; file, line and col locate the first.",
                                builtins.attr("ValueError").ptr(), nullptr));
  callErrorType = m.attr("CallError") = nb::steal(
      PyErr_NewExceptionWithDoc("attnc.CallError",
                                "A kernel call the runtime refuses (shapes, dtypes, "
                                "scalars, buffers, a run-time error in the expressions).",
                                builtins.attr("ValueError").ptr(), nullptr));

  nb::class_<Kernel>(m, "Kernel")
      .def_prop_ro("name", [](const Kernel &k) { return k.desc().name; })
      .def_prop_ro("target", [](const Kernel &k) { return k.target; })
      .def_prop_ro("heads", [](const Kernel &k) {
        return nb::make_tuple(k.desc().headsQ, k.desc().headsKV);
      })
      .def_prop_ro("head_dim", [](const Kernel &k) {
        return nb::make_tuple(k.desc().headDim, k.desc().headDimV);
      })
      .def_prop_ro("dtype", [](const Kernel &k) { return std::string(dtypeString(k.desc().dtype)); })
      .def_prop_ro("scale", [](const Kernel &k) { return k.desc().scale; })
      .def_prop_ro("scalars", [](const Kernel &k) {
        std::map<std::string, std::string> out;
        for (const ScalarDecl &s : k.desc().scalars)
          out[s.name] = dtypeString(s.type);
        return out;
      })
      .def_prop_ro("buffers", [](const Kernel &k) {
        std::vector<std::string> out;
        for (const BufferDecl &b : k.desc().buffers)
          out.push_back(b.name);
        return out;
      })
      .def("_call", &Kernel::call, nb::arg("q"), nb::arg("k"), nb::arg("v"),
           nb::arg("scalars"), nb::arg("buffers"));

  m.def("_compile", &compileSpec, nb::arg("source"), nb::arg("is_text"), nb::arg("target"));
  m.def("_registered", [] { return ALL_ATTENTION_FUNCTIONS.keys(); });
  m.def("_contains", [](const std::string &name) { return ALL_ATTENTION_FUNCTIONS.contains(name); });
}
