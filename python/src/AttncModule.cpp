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
#ifndef ATTNC_PYTHON_RUNTIME_ONLY
#include "compiler/Compiler.h"
#endif
#include "runtime/AttentionInterface.h"
#include "runtime/library/KernelLibrary.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <limits>
#include <mutex>
#include <regex>
#include <stdexcept>

namespace nb = nanobind;
using namespace attnc;

namespace {

#ifndef ATTNC_PYTHON_RUNTIME_ONLY
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
#endif

nb::object specErrorType, callErrorType;

/// The descriptions of the variants registered from Python (by compile, load or
/// register), for lookups by name.
std::mutex &knownMutex() {
  static std::mutex *m = new std::mutex;
  return *m;
}
std::map<std::string, VariantDesc> &knownDescs() {
  static auto *m = new std::map<std::string, VariantDesc>;
  return *m;
}
void remember(const std::string &name, const std::optional<VariantDesc> &desc) {
  std::lock_guard<std::mutex> lock(knownMutex());
  if (desc)
    knownDescs()[name] = *desc;
  else
    knownDescs().erase(name);
}

/// Raises SpecError with `diagnostics` ("FILE:LINE:COL: error: ..." lines).
[[noreturn, maybe_unused]] void raiseSpecError(const std::string &diagnostics) {
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

/// Any DLPack tensor: numpy's, PyTorch's (CPU or CUDA), or another producer's.
/// Inputs are only read (a read-only numpy array is accepted); outputs are written.
using AnyArray = nb::ndarray<nb::ro>;
using OutputArray = nb::ndarray<>;

/// The runtime dtype of a DLPack dtype, or an error naming `what`.
template <typename Array> DType dtypeOf(const Array &a, const char *what) {
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

/// A view of a DLPack tensor (its strides kept) in host memory or in CUDA device
/// 0's memory (the device attnc's runtime uses).
template <typename Array> TensorView viewOf(const Array &a, const char *what) {
  TensorView v;
  if (a.device_type() == nb::device::cuda::value) {
    if (a.device_id() != 0)
      raiseCallError(std::string(what) + ": the tensor is on CUDA device " +
                     std::to_string(a.device_id()) + "; attnc's runtime runs on device 0 "
                     "(set CUDA_VISIBLE_DEVICES to choose which GPU that is)");
    v.device = Device::Cuda;
  } else if (a.device_type() != nb::device::cpu::value) {
    raiseCallError(std::string(what) + ": the tensor is on an unsupported device (DLPack "
                   "device type " + std::to_string(a.device_type()) + "); attnc takes CPU "
                   "and CUDA tensors");
  }
  v.data = const_cast<void *>(static_cast<const void *>(a.data()));
  v.dtype = dtypeOf(a, what);
  for (size_t d = 0; d < a.ndim(); ++d) {
    v.shape.push_back(int64_t(a.shape(d)));
    v.strides.push_back(int64_t(a.stride(d)));
  }
  return v;
}

/// A tensor as PyTorch describes it without DLPack (whose export costs ~3 us a
/// tensor from Python): data pointer, dtype name ("f32", ...), device index (-1:
/// host memory), shape and strides in elements.
using RawTensor = std::tuple<uintptr_t, std::string, int, std::vector<int64_t>,
                             std::vector<int64_t>>;

TensorView viewOf(const RawTensor &t, const char *what) {
  const auto &[data, dtype, device, shape, strides] = t;
  TensorView v;
  if (!parseDType(dtype, v.dtype))
    raiseCallError(std::string(what) + ": unsupported dtype " + dtype + "; expected float32, "
                   "float16, bfloat16, int32 or int64");
  if (device > 0)
    raiseCallError(std::string(what) + ": the tensor is on CUDA device " +
                   std::to_string(device) + "; attnc's runtime runs on device 0 "
                   "(set CUDA_VISIBLE_DEVICES to choose which GPU that is)");
  v.device = device < 0 ? Device::Cpu : Device::Cuda;
  v.data = reinterpret_cast<void *>(data);
  v.shape = shape;
  v.strides = strides;
  return v;
}

/// Fills a contiguous host f32/f16/bf16 tensor with NaN (others are left alone).
void poisonHostTensor(const TensorView &t) {
  if (t.device != Device::Cpu || t.strides != contiguousStrides(t.shape) || !t.data)
    return;
  int64_t n = t.numel();
  if (t.dtype == DType::F32)
    std::fill_n(static_cast<float *>(t.data), n, std::numeric_limits<float>::quiet_NaN());
  else if (t.dtype == DType::F16 || t.dtype == DType::BF16)
    std::fill_n(static_cast<uint16_t *>(t.data), n,
                uint16_t(t.dtype == DType::F16 ? 0x7e00 : 0x7fc0));
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
  if (dtype == DType::F32)
    std::fill_n(reinterpret_cast<float *>(data), n, std::numeric_limits<float>::quiet_NaN());
  else // f16 (bf16 outputs are refused before): a quiet NaN
    std::fill_n(reinterpret_cast<uint16_t *>(data), n, uint16_t(0x7e00));
  nb::capsule owner(data, [](void *p) noexcept { std::free(p); });
  std::vector<size_t> dims(shape.begin(), shape.end());
  nb::dlpack::dtype t = dtype == DType::F32 ? nb::dtype<float>()
                        : nb::dlpack::dtype{uint8_t(nb::dlpack::dtype_code::Float), 16, 1};
  return nb::ndarray<nb::numpy>(data, dims.size(), dims.data(), owner, nullptr, t);
}

/// A kernel Python can call: a registry function (a compiled variant, a library's,
/// a built-in) with the description of its variant where there is one, and what
/// keeps its code alive (the compiled variant or the library).
struct Kernel {
  std::string name, target;
  std::optional<VariantDesc> desc; ///< absent for built-ins such as "eager"
  AttentionFunction fn;
  Device device = Device::Cpu; ///< where fn's kernel runs (it stages host tensors)
  std::shared_ptr<const void> keepAlive;
  /// The backward kernel (a CPU variant compiled with backward=True, or a library's
  /// written with --backward), else null.
  std::function<Status(const BackwardCall &)> backwardFn;

  /// A scalar argument: an int or a float, converted to the declared type.
  ScalarValue scalarValue(const std::string &name, const nb::object &value) const {
    ScalarValue s;
    if (nb::isinstance<nb::bool_>(value) || nb::isinstance<nb::int_>(value)) {
      s.type = DType::I64;
      if (!nb::try_cast<int64_t>(value, s.i))
        raiseCallError("scalar '" + name + "': " + nb::cast<std::string>(nb::str(value)) +
                       " does not fit in 64 bits");
    } else if (nb::isinstance<nb::float_>(value)) {
      s.type = DType::F32;
      s.f = nb::cast<double>(value);
    } else {
      raiseCallError("scalar '" + name + "': expected an int or a float");
    }
    if (desc)
      for (const ScalarDecl &decl : desc->scalars) {
        if (decl.name != name)
          continue;
        if (decl.type == DType::F32 && s.type != DType::F32)
          s = ScalarValue{DType::F32, 0, double(s.i)};
        else if (decl.type != DType::F32 && s.type == DType::F32)
          raiseCallError("scalar '" + name + "' is an integer; got a float");
        else
          s.type = decl.type;
      }
    return s;
  }

  /// The inputs of a call: q, k, v, the scalars and the buffers as views.
  template <typename Array>
  AttentionCall inputs(const Array &q, const Array &k, const Array &v,
                       const std::map<std::string, nb::object> &scalars,
                       const std::map<std::string, Array> &buffers) const {
    AttentionCall call;
    call.q = viewOf(q, "q");
    call.k = viewOf(k, "k");
    call.v = viewOf(v, "v");
    for (const auto &[what, view] : {std::pair<const char *, const TensorView *>{"q", &call.q},
                                     {"v", &call.v}})
      if (view->rank() != 4)
        raiseCallError(std::string(what) + ": expected 4 dimensions [B, H, LEN, D], got " +
                       view->shapeString());
    for (const auto &[scalar, value] : scalars)
      call.scalars[scalar] = scalarValue(scalar, value);
    for (const auto &[buffer, array] : buffers)
      call.buffers[buffer] = viewOf(array, ("buffer '" + buffer + "'").c_str());
    return call;
  }

  /// Runs `call` without the GIL; CallError with the runtime's message if refused.
  void run(AttentionCall &call) const {
    Status status;
    {
      nb::gil_scoped_release release;
      status = fn(call);
    }
    if (!status)
      raiseCallError(status.message());
  }

  /// out, lse = kernel(q, k, v): new numpy outputs (host tensors only).
  nb::tuple call(const AnyArray &q, const AnyArray &k, const AnyArray &v,
                 const std::map<std::string, nb::object> &scalars,
                 const std::map<std::string, AnyArray> &buffers) const {
    AttentionCall call = inputs(q, k, v, scalars, buffers);
    if (call.q.device != Device::Cpu)
      raiseCallError("q: a CUDA tensor needs outputs on the GPU: pass PyTorch tensors, or "
                     "CUDA tensors out= and lse= to write into");
    // out [B, H, Q_LEN, DV] in the variant's dtype (q's for a built-in); the
    // runtime checks everything else against the variant.
    DType outType = desc ? desc->dtype : call.q.dtype;
    if (outType == DType::BF16)
      raiseCallError("'" + name + "' returns bfloat16, which numpy cannot hold: pass "
                     "PyTorch tensors (or out= and lse= to write into)");
    std::vector<int64_t> qs = call.q.shape;
    nb::ndarray<nb::numpy> out =
        poisonedArray({qs[0], qs[1], qs[2], call.v.shape[3]}, outType, call.out);
    nb::ndarray<nb::numpy> lse = poisonedArray({qs[0], qs[1], qs[2]}, DType::F32, call.lse);
    run(call);
    return nb::make_tuple(out, lse);
  }

  /// kernel(q, k, v) into the caller's out and lse (any DLPack tensors on the
  /// inputs' device), on `stream` (a CUstream; 0: the runtime's own) for CUDA ones.
  void callInto(const AnyArray &q, const AnyArray &k, const AnyArray &v,
                const OutputArray &out, const OutputArray &lse, const std::map<std::string, nb::object> &scalars,
                const std::map<std::string, AnyArray> &buffers, uintptr_t stream) const {
    AttentionCall call = inputs(q, k, v, scalars, buffers);
    call.out = viewOf(out, "out");
    call.lse = viewOf(lse, "lse");
    call.stream = reinterpret_cast<void *>(stream);
    run(call);
  }

  /// callInto on PyTorch tensors described as RawTensors; host outputs are filled
  /// with NaN first (so an element the kernel does not write shows).
  void callRaw(const RawTensor &q, const RawTensor &k, const RawTensor &v, const RawTensor &out,
               const RawTensor &lse, const std::map<std::string, nb::object> &scalars,
               const std::map<std::string, RawTensor> &buffers, uintptr_t stream) const {
    AttentionCall call = inputs(q, k, v, scalars, buffers);
    call.out = viewOf(out, "out");
    call.lse = viewOf(lse, "lse");
    poisonHostTensor(call.out);
    poisonHostTensor(call.lse);
    call.stream = reinterpret_cast<void *>(stream);
    run(call);
  }
};

/// The backward pass on PyTorch tensors described as RawTensors: writes dq, dk, dv
/// and the requires_grad buffers' gradients (host ones filled with NaN first); GPU
/// tensors on `stream` (a CUstream; 0: the thread's own).
void backwardRaw(const Kernel &kernel, const RawTensor &q, const RawTensor &k,
                 const RawTensor &v, const RawTensor &out, const RawTensor &lse,
                 const RawTensor &dout, const RawTensor &dq, const RawTensor &dk,
                 const RawTensor &dv, const std::map<std::string, nb::object> &scalars,
                 const std::map<std::string, RawTensor> &buffers,
                 const std::map<std::string, RawTensor> &dbuffers, uintptr_t stream) {
  if (!kernel.backwardFn)
    raiseCallError("'" + kernel.name + "' has no backward kernel: compile it with "
                   "attnc.compile(spec, backward=True) (CPU target), or write its library "
                   "with attnc compile --emit library --backward");
  BackwardCall call;
  call.forward = kernel.inputs(q, k, v, scalars, buffers);
  call.forward.out = viewOf(out, "out");
  call.forward.lse = viewOf(lse, "lse");
  call.forward.stream = reinterpret_cast<void *>(stream); // GPU tensors: the caller's stream
  call.dout = viewOf(dout, "dout");
  call.dq = viewOf(dq, "dq");
  call.dk = viewOf(dk, "dk");
  call.dv = viewOf(dv, "dv");
  for (const auto &[name, t] : dbuffers)
    call.dbuffers[name] = viewOf(t, ("the gradient of buffer '" + name + "'").c_str());
  for (const TensorView *t : {&call.dq, &call.dk, &call.dv})
    poisonHostTensor(*t);
  for (const auto &[name, t] : call.dbuffers)
    poisonHostTensor(t);
  Status status;
  {
    nb::gil_scoped_release release;
    status = kernel.backwardFn(call);
  }
  if (!status)
    raiseCallError(status.message());
}

/// A numpy array viewing a host tensor in place (no copy; valid during the call).
nb::object numpyView(const TensorView &t, const std::string &what) {
  if (t.device != Device::Cpu)
    throw std::invalid_argument(what + " is in GPU memory; Python attention functions "
                                "take host tensors");
  if (t.dtype == DType::BF16)
    throw std::invalid_argument(what + " is bfloat16, which numpy cannot hold");
  nb::dlpack::dtype type = t.dtype == DType::F32   ? nb::dtype<float>()
                           : t.dtype == DType::F16 ? nb::dlpack::dtype{uint8_t(nb::dlpack::dtype_code::Float), 16, 1}
                           : t.dtype == DType::I32 ? nb::dtype<int32_t>()
                                                   : nb::dtype<int64_t>();
  std::vector<size_t> shape(t.shape.begin(), t.shape.end());
  return nb::cast(nb::ndarray<nb::numpy>(t.data, shape.size(), shape.data(), nb::handle(),
                                         t.strides.data(), type));
}

/// Copies a result the Python function returned (anything numpy.asarray takes) into
/// `dest`, element by element (any strides; the shapes must agree).
void copyResult(const nb::handle &result, const TensorView &dest, const std::string &what) {
  // As float32 (the output types' common ground: f16 outputs are rounded from it).
  nb::object asFloat;
  try {
    asFloat = nb::module_::import_("numpy").attr("asarray")(result, "float32");
  } catch (nb::python_error &) {
    throw std::invalid_argument(what + " is not an array of numbers");
  }
  AnyArray array;
  if (!nb::try_cast(asFloat, array))
    throw std::invalid_argument(what + " is not an array");
  TensorView src = viewOf(array, what.c_str());
  if (src.device != Device::Cpu || src.shape != dest.shape)
    throw std::invalid_argument(what + " must be a host array of shape " + dest.shapeString() +
                                ", got " + src.shapeString());
  std::vector<int64_t> index(dest.shape.size(), 0);
  if (dest.numel() > 0)
    do
      dest.set(index.data(), src.get(index.data()));
    while (nextIndex(index, dest.shape));
}

/// An attention function that calls the Python callable `fn(q, k, v, scalars,
/// buffers) -> (out, lse)` with numpy views of host tensors, for the registry. The
/// callable is kept for the process's life (the registry's lifetime: it is never
/// released, so no reference is dropped after the interpreter is gone).
AttentionFunction pythonFunction(const std::string &name, nb::object fn) {
  auto *callable = new nb::object(std::move(fn));
  return [name, callable](const AttentionCall &call) -> Status {
    nb::gil_scoped_acquire gil;
    try {
      nb::dict scalars, buffers;
      for (const auto &[scalar, value] : call.scalars)
        scalars[scalar.c_str()] = value.type == DType::F32 ? nb::cast(value.f) : nb::cast(value.i);
      for (const auto &[buffer, view] : call.buffers)
        buffers[buffer.c_str()] = numpyView(view, "buffer '" + buffer + "'");
      nb::object result = (*callable)(numpyView(call.q, "q"), numpyView(call.k, "k"),
                                      numpyView(call.v, "v"), scalars, buffers);
      nb::tuple pair;
      if (!nb::try_cast(result, pair) || pair.size() != 2)
        throw std::invalid_argument("it must return (out, lse)");
      copyResult(pair[0], call.out, "out");
      copyResult(pair[1], call.lse, "lse");
      return Status::ok();
    } catch (nb::python_error &e) {
      std::string message = e.what();
      e.restore();
      PyErr_Clear();
      return Status::error("Python attention function '" + name + "' raised " + message);
    } catch (std::exception &e) {
      return Status::error("Python attention function '" + name + "': " + e.what());
    }
  };
}

#ifndef ATTNC_PYTHON_RUNTIME_ONLY
Target parseTarget(const std::string &target) {
  if (target == "cpu")
    return Target::Cpu;
  if (target == "cuda-emu")
    return Target::CudaEmu;
  if (target == "cuda")
    return Target::Cuda;
  throw nb::value_error(("unknown target '" + target + "' (expected cpu, cuda or cuda-emu)").c_str());
}

Kernel compileSpec(const std::string &source, bool isText, const std::string &target,
                   bool backward) {
  Target t = parseTarget(target);
  KernelTileOptions options;
  options.backward = backward;
  SharedCompiler &shared = sharedCompiler();
  std::shared_ptr<CompiledVariant> compiled;
  std::string diagnostics;
  {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(shared.mutex);
    compiled = isText ? shared.compiler.compileText("<spec>", source, options)
                      : t == Target::Cpu ? shared.compiler.compileFileFor(source, t, options)
                                         : shared.compiler.compileFileFor(source, t, options);
    diagnostics = shared.compiler.takeDiagnostics();
  }
  if (!compiled)
    raiseSpecError(diagnostics);
  compiled->registerIn();
  Kernel kernel{compiled->desc.name, target, compiled->desc, compiled->function(),
                compiled->device(), compiled, {}};
  if (compiled->hasBackward())
    kernel.backwardFn = [compiled](const BackwardCall &call) {
      return compiled->runBackward(call);
    };
  return kernel;
}
#else
Kernel compileSpec(const std::string &, bool, const std::string &, bool) {
  throw std::runtime_error(
      "this attnc package holds the runtime only (it was built without LLVM/MLIR 22): "
      "kernel libraries load and run (attnc.load), but compiling a spec needs the full "
      "build (docs/python.md)");
}
#endif

/// Opens a kernel library (which registers its variants) and returns a kernel per
/// variant; the library stays loaded while any of them lives.
std::vector<Kernel> loadLibrary(const std::string &path) {
  Result<std::shared_ptr<KernelLibrary>> library = KernelLibrary::open(path);
  if (!library)
    raiseCallError(library.status().message());
  std::vector<Kernel> kernels;
  for (const LibraryVariant &variant : (*library)->variants()) {
    std::vector<Device> devices = ALL_ATTENTION_FUNCTIONS.devices(variant.desc.name);
    bool cpu = std::find(devices.begin(), devices.end(), Device::Cpu) != devices.end();
    kernels.push_back(Kernel{variant.desc.name, cpu ? "cpu" : "cuda", variant.desc,
                             ALL_ATTENTION_FUNCTIONS.get(variant.desc.name),
                             cpu ? Device::Cpu : Device::Cuda, *library,
                             ALL_ATTENTION_FUNCTIONS.getBackward(variant.desc.name)});
  }
  return kernels;
}

/// The kernel registered as `name` (KeyError naming the registered ones if none).
Kernel lookup(const std::string &name) {
  if (!ALL_ATTENTION_FUNCTIONS.contains(name)) {
    std::string names;
    for (const std::string &key : ALL_ATTENTION_FUNCTIONS.keys())
      names += (names.empty() ? "" : ", ") + key;
    throw nb::key_error(("no attention function '" + name + "' is registered (registered: " +
                         names + ")").c_str());
  }
  std::vector<Device> devices = ALL_ATTENTION_FUNCTIONS.devices(name);
  Device device = devices.empty() ? Device::Cpu : devices.front();
  std::optional<VariantDesc> desc;
  {
    std::lock_guard<std::mutex> lock(knownMutex());
    if (auto it = knownDescs().find(name); it != knownDescs().end())
      desc = it->second;
  }
  return Kernel{name, device == Device::Cpu ? "cpu" : "cuda", desc,
                ALL_ATTENTION_FUNCTIONS.get(name), device, nullptr,
                ALL_ATTENTION_FUNCTIONS.getBackward(name)};
}

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
      .def_ro("name", &Kernel::name)
      .def_ro("target", &Kernel::target)
      .def_prop_ro("described", [](const Kernel &k) { return k.desc.has_value(); })
      .def_prop_ro("heads", [](const Kernel &k) -> nb::object {
        if (!k.desc)
          return nb::none();
        return nb::make_tuple(k.desc->headsQ, k.desc->headsKV);
      })
      .def_prop_ro("head_dim", [](const Kernel &k) -> nb::object {
        if (!k.desc)
          return nb::none();
        return nb::make_tuple(k.desc->headDim, k.desc->headDimV);
      })
      .def_prop_ro("dtype", [](const Kernel &k) -> nb::object {
        if (!k.desc)
          return nb::none();
        return nb::str(dtypeName(k.desc->dtype));
      })
      .def_prop_ro("scale", [](const Kernel &k) -> nb::object {
        if (!k.desc)
          return nb::none();
        return nb::float_(k.desc->scale);
      })
      .def_prop_ro("scalars", [](const Kernel &k) {
        std::map<std::string, std::string> out;
        if (k.desc)
          for (const ScalarDecl &s : k.desc->scalars)
            out[s.name] = dtypeName(s.type);
        return out;
      })
      .def_prop_ro("buffers", [](const Kernel &k) {
        std::vector<std::string> out;
        if (k.desc)
          for (const BufferDecl &b : k.desc->buffers)
            out.push_back(b.name);
        return out;
      })
      .def_prop_ro("has_backward", [](const Kernel &k) { return bool(k.backwardFn); })
      .def_prop_ro("requires_grad", [](const Kernel &k) {
        std::vector<std::string> out;
        if (k.desc)
          for (const BufferDecl &b : k.desc->buffers)
            if (b.requiresGrad)
              out.push_back(b.name);
        return out;
      })
      .def("_backward_raw", &backwardRaw, nb::arg("q"), nb::arg("k"), nb::arg("v"),
           nb::arg("out"), nb::arg("lse"), nb::arg("dout"), nb::arg("dq"), nb::arg("dk"),
           nb::arg("dv"), nb::arg("scalars"), nb::arg("buffers"), nb::arg("dbuffers"),
           nb::arg("stream") = 0)
      .def("_call", &Kernel::call, nb::arg("q"), nb::arg("k"), nb::arg("v"),
           nb::arg("scalars"), nb::arg("buffers"))
      .def("_call_into", &Kernel::callInto, nb::arg("q"), nb::arg("k"), nb::arg("v"),
           nb::arg("out"), nb::arg("lse"), nb::arg("scalars"), nb::arg("buffers"),
           nb::arg("stream"))
      .def("_call_raw", &Kernel::callRaw, nb::arg("q"), nb::arg("k"), nb::arg("v"),
           nb::arg("out"), nb::arg("lse"), nb::arg("scalars"), nb::arg("buffers"),
           nb::arg("stream"));

  m.def("_compile", [](const std::string &source, bool isText, const std::string &target,
                       bool backward) {
    Kernel k = compileSpec(source, isText, target, backward);
    remember(k.name, k.desc);
    return k;
  }, nb::arg("source"), nb::arg("is_text"), nb::arg("target"), nb::arg("backward") = false);
  m.def("_load", [](const std::string &path) {
    std::vector<Kernel> kernels = loadLibrary(path);
    for (const Kernel &k : kernels)
      remember(k.name, k.desc);
    return kernels;
  }, nb::arg("path"));
  m.def("_lookup", &lookup, nb::arg("name"));
  m.def("_register", [](const std::string &name, const Kernel &kernel) {
    ALL_ATTENTION_FUNCTIONS.registerFunction(name, kernel.fn, kernel.device);
    if (kernel.backwardFn)
      if (Status s = ALL_ATTENTION_FUNCTIONS.registerBackward(name, kernel.backwardFn,
                                                              kernel.device);
          !s)
        raiseCallError(s.message());
    remember(name, kernel.desc);
  }, nb::arg("name"), nb::arg("kernel"));
  m.def("_register_callable", [](const std::string &name, nb::object fn) {
    ALL_ATTENTION_FUNCTIONS.registerFunction(name, pythonFunction(name, std::move(fn)),
                                             Device::Cpu);
    remember(name, std::nullopt);
  }, nb::arg("name"), nb::arg("fn"));
  m.def("_registered", [] { return ALL_ATTENTION_FUNCTIONS.keys(); });
  m.def("_contains", [](const std::string &name) { return ALL_ATTENTION_FUNCTIONS.contains(name); });
}
