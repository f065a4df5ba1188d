//===- CApi.cpp - the attnc runtime's C API (include/attnc/attnc.h) -------===//
#include "attnc/attnc.h"
#include "runtime/AttentionInterface.h"
#include "runtime/library/KernelLibrary.h"

#include <memory>
#include <string>
#include <vector>

using namespace attnc;

struct attnc_library {
  std::shared_ptr<KernelLibrary> library;
};

namespace {

std::string &lastError() {
  thread_local std::string message;
  return message;
}

/// Records `s` as this thread's last error; the C return code.
int record(const Status &s) {
  lastError() = s ? "" : s.message();
  return s ? 0 : -1;
}

/// The runtime's view of a C tensor description.
Result<TensorView> viewOf(const attnc_tensor &t, const char *what) {
  if (t.rank < 0 || t.rank > 8 || (t.rank > 0 && (!t.shape || !t.strides)))
    return Status::error(std::string("tensor '") + what + "': rank must be 0 to 8, with "
                         "shape and strides");
  if (int(t.dtype) < 0 || int(t.dtype) > 4 || (t.device != ATTNC_DEVICE_CPU &&
                                               t.device != ATTNC_DEVICE_CUDA))
    return Status::error(std::string("tensor '") + what + "': unknown dtype or device");
  TensorView v;
  v.data = t.data;
  v.dtype = DType(t.dtype);
  v.device = t.device == ATTNC_DEVICE_CUDA ? Device::Cuda : Device::Cpu;
  v.shape.assign(t.shape, t.shape + t.rank);
  v.strides.assign(t.strides, t.strides + t.rank);
  return v;
}

/// The runtime's call for `args`.
Result<AttentionCall> callOf(const attnc_call_args &args) {
  AttentionCall call;
  for (auto [src, dst, what] : {std::make_tuple(&args.q, &call.q, "q"),
                                std::make_tuple(&args.k, &call.k, "k"),
                                std::make_tuple(&args.v, &call.v, "v"),
                                std::make_tuple(&args.out, &call.out, "out"),
                                std::make_tuple(&args.lse, &call.lse, "lse")}) {
    Result<TensorView> v = viewOf(*src, what);
    if (!v)
      return v.status();
    *dst = v.take();
  }
  if (args.num_scalars < 0 || (args.num_scalars > 0 && !args.scalars) ||
      args.num_buffers < 0 || (args.num_buffers > 0 && !args.buffers))
    return Status::error("num_scalars/num_buffers do not match the scalars/buffers given");
  for (int32_t i = 0; i < args.num_scalars; ++i) {
    const attnc_scalar &s = args.scalars[i];
    if (!s.name)
      return Status::error("scalar " + std::to_string(i) + " has no name");
    ScalarValue v;
    v.type = DType(s.type);
    v.i = s.int_value;
    v.f = s.float_value;
    call.scalars[s.name] = v;
  }
  for (int32_t i = 0; i < args.num_buffers; ++i) {
    const attnc_buffer &b = args.buffers[i];
    if (!b.name)
      return Status::error("buffer " + std::to_string(i) + " has no name");
    Result<TensorView> v = viewOf(b.tensor, b.name);
    if (!v)
      return v.status();
    call.buffers[b.name] = v.take();
  }
  call.stream = args.stream;
  return call;
}

/// The runtime's backward call for `args`.
Result<BackwardCall> backwardCallOf(const attnc_backward_args &args) {
  Result<AttentionCall> forward = callOf(args.forward);
  if (!forward)
    return forward.status();
  BackwardCall call;
  call.forward = forward.take();
  for (auto [src, dst, what] : {std::make_tuple(&args.dout, &call.dout, "dout"),
                                std::make_tuple(&args.dq, &call.dq, "dq"),
                                std::make_tuple(&args.dk, &call.dk, "dk"),
                                std::make_tuple(&args.dv, &call.dv, "dv")}) {
    Result<TensorView> v = viewOf(*src, what);
    if (!v)
      return v.status();
    *dst = v.take();
  }
  if (args.num_grads < 0 || (args.num_grads > 0 && !args.grads))
    return Status::error("num_grads is " + std::to_string(args.num_grads) + " with " +
                         (args.grads ? "gradients" : "no gradients"));
  for (int32_t i = 0; i < args.num_grads; ++i) {
    const attnc_buffer &g = args.grads[i];
    if (!g.name)
      return Status::error("gradient " + std::to_string(i) + " has no name");
    Result<TensorView> v = viewOf(g.tensor, g.name);
    if (!v)
      return v.status();
    call.dbuffers[g.name] = v.take();
  }
  return call;
}

} // namespace

extern "C" {

const char *attnc_version(void) { return ATTNC_VERSION; }

const char *attnc_last_error(void) { return lastError().c_str(); }

attnc_library *attnc_library_open(const char *path) {
  if (!path) {
    record(Status::error("attnc_library_open: no path"));
    return nullptr;
  }
  Result<std::shared_ptr<KernelLibrary>> library = KernelLibrary::open(path);
  if (!library) {
    record(library.status());
    return nullptr;
  }
  record(Status::ok());
  return new attnc_library{library.take()};
}

void attnc_library_close(attnc_library *library) { delete library; }

int32_t attnc_library_num_variants(const attnc_library *library) {
  return library ? int32_t(library->library->variants().size()) : 0;
}

const char *attnc_library_variant_name(const attnc_library *library, int32_t i) {
  if (!library || i < 0 || size_t(i) >= library->library->variants().size())
    return nullptr;
  return library->library->variants()[size_t(i)].desc.name.c_str();
}

int attnc_call(const char *name, const attnc_call_args *args) {
  if (!name || !args)
    return record(Status::error("attnc_call: no name or no arguments"));
  if (!ALL_ATTENTION_FUNCTIONS.contains(name))
    return record(Status::error("no attention function registered as '" + std::string(name) +
                                "'"));
  Result<AttentionCall> call = callOf(*args);
  if (!call)
    return record(call.status());
  return record(ALL_ATTENTION_FUNCTIONS[name](*call));
}

int attnc_call_backward(const char *name, const attnc_backward_args *args) {
  if (!name || !args)
    return record(Status::error("attnc_call_backward: no name or no arguments"));
  if (!ALL_ATTENTION_FUNCTIONS.contains(name))
    return record(Status::error("no attention function registered as '" + std::string(name) +
                                "'"));
  BackwardFunction backward = ALL_ATTENTION_FUNCTIONS.getBackward(name);
  if (!backward)
    return record(Status::error("'" + std::string(name) +
                                "' has no backward pass (compile its library with --backward)"));
  Result<BackwardCall> call = backwardCallOf(*args);
  if (!call)
    return record(call.status());
  return record(backward(*call));
}

} // extern "C"
