//===- SafeTensors.h - read and write .safetensors files ----------*- C++ -*-===//
//
// The tensor file format of docs/spec.md, "Tensor files": an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}}, then raw
// little-endian data. Dtypes F32, F16, BF16, I32, I64. Every malformed file is an
// error naming the file and what is wrong; nothing is read outside the file.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_SAFETENSORS_H
#define ATTNC_RUNTIME_SAFETENSORS_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"

#include <map>
#include <string>

namespace attnc {

using TensorMap = std::map<std::string, Tensor>;

/// Parses safetensors bytes; `what` names the source in error messages.
Result<TensorMap> parseSafeTensors(const std::string &bytes, const std::string &what);
Result<TensorMap> readSafeTensors(const std::string &path);

/// Serialises tensors (any strides; written contiguous) in name order.
std::string serializeSafeTensors(const std::map<std::string, TensorView> &tensors);
Status writeSafeTensors(const std::string &path,
                        const std::map<std::string, TensorView> &tensors);

} // namespace attnc

#endif // ATTNC_RUNTIME_SAFETENSORS_H
