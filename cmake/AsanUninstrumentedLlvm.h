// AsanUninstrumentedLlvm.h - included first in every C++ file of an ASan build.
//
// Compiled with ASan, LLVM's headers poison the free part of each BumpPtrAllocator
// slab and unpoison what they hand out (llvm/Support/Allocator.h). attnc links
// Debian's libLLVM/libMLIR, which are not instrumented and allocate from the same
// slabs without unpoisoning: a slab started by inline code in attnc (a uniqued
// attribute's storage, say) would then hold memory that MLIR handed out still
// poisoned, and the next memcpy of it is a false use-after-poison report. The
// poisoning calls in LLVM's headers are therefore made no-ops; code of attnc that
// poisons on purpose calls ASan through attncAsanUnpoison (runtime/emu/FiberSanitizer.h).
#ifndef ATTNC_CMAKE_ASANUNINSTRUMENTEDLLVM_H
#define ATTNC_CMAKE_ASANUNINSTRUMENTEDLLVM_H
#include <stddef.h>
#include <sanitizer/asan_interface.h>
static inline void attncAsanUnpoison(void const volatile *addr, size_t size) {
  __asan_unpoison_memory_region(addr, size);
}
static inline void attncLlvmSlabPoisonNoOp(void const volatile *, size_t) {}
#define __asan_poison_memory_region attncLlvmSlabPoisonNoOp
#define __asan_unpoison_memory_region attncLlvmSlabPoisonNoOp
#endif
