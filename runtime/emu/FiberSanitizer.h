//===- FiberSanitizer.h - tell ASan and TSan about the emulator's fibers ---===//
//
// The emulator runs each emulated GPU thread on a ucontext fiber with its own stack.
// AddressSanitizer and ThreadSanitizer follow one stack per OS thread; a plain
// swapcontext makes ASan warn (and can make it report false stack overflows) and
// makes TSan attribute every fiber's accesses to the scheduler. Each switch is
// therefore bracketed by the sanitizers' fiber API:
//
//   scheduler → fiber:  FiberSwitch::toFiber      ... swapcontext ... arrived()
//   fiber → scheduler:  FiberSwitch::toScheduler  ... swapcontext ... arrived()
//   fiber exits:        FiberSwitch::leaveForever  (its fake stack is released)
//
// and the switch itself is FiberSwitch::swap: under ASan, libc's swapcontext called
// directly, past ASan's interceptor, which exists for code that does not annotate its
// switches (it only warns, and unpoisons the whole target stack on every switch).
//
// Without a sanitizer every function here is empty and inlines away.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_EMU_FIBERSANITIZER_H
#define ATTNC_RUNTIME_EMU_FIBERSANITIZER_H

#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ATTNC_FIBER_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define ATTNC_FIBER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(ATTNC_FIBER_ASAN)
#define ATTNC_FIBER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(ATTNC_FIBER_TSAN)
#define ATTNC_FIBER_TSAN 1
#endif

#ifdef ATTNC_FIBER_ASAN
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#include <ucontext.h>
#ifdef ATTNC_FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace attnc::emu {

/// What the sanitizers need to know about one stack: where it is, and their own
/// per-fiber state (ASan's fake stack, TSan's fiber handle).
struct FiberStack {
  const void *bottom = nullptr;
  size_t size = 0;
  void *asanFakeStack = nullptr;
  void *tsanFiber = nullptr;
};

/// The sanitizer half of every stack switch between a block's scheduler and its fibers.
struct FiberSwitch {
  /// Registers a fiber's stack (TSan gets a fiber of its own).
  static void create(FiberStack &fiber, const void *bottom, size_t size) {
    fiber.bottom = bottom;
    fiber.size = size;
#ifdef ATTNC_FIBER_TSAN
    fiber.tsanFiber = __tsan_create_fiber(0);
#endif
  }
  /// Saves the current context in `from` and resumes `to`.
  static int swap(ucontext_t *from, const ucontext_t *to) {
#ifdef ATTNC_FIBER_ASAN
    using SwapFn = int (*)(ucontext_t *, const ucontext_t *);
    static SwapFn libcSwap = [] {
      void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
      void *symbol = libc ? dlsym(libc, "swapcontext") : nullptr;
      return symbol ? reinterpret_cast<SwapFn>(symbol) : &swapcontext;
    }();
    return libcSwap(from, to);
#else
    return swapcontext(from, to);
#endif
  }
  /// Releases what create() registered. The stack may still hold the poisoned
  /// redzones of frames that never returned (a fiber's entry function, or a fiber
  /// abandoned after an error); they are cleared before the memory is freed.
  static void destroy(FiberStack &fiber) {
#ifdef ATTNC_FIBER_ASAN
    if (fiber.bottom) {
#ifdef ATTNC_CMAKE_ASANUNINSTRUMENTEDLLVM_H
      attncAsanUnpoison(fiber.bottom, fiber.size); // the real one, not LLVM's no-op
#else
      __asan_unpoison_memory_region(fiber.bottom, fiber.size);
#endif
    }
#endif
#ifdef ATTNC_FIBER_TSAN
    if (fiber.tsanFiber)
      __tsan_destroy_fiber(fiber.tsanFiber);
    fiber.tsanFiber = nullptr;
#endif
  }
  /// The scheduler: the OS thread's own stack (ASan learns its bounds on the first
  /// switch; TSan names the thread's current fiber).
  static void initScheduler(FiberStack &scheduler) {
#ifdef ATTNC_FIBER_TSAN
    scheduler.tsanFiber = __tsan_get_current_fiber();
#endif
  }
  /// Called just before swapcontext from `from` to `to`.
  static void leave(FiberStack &from, const FiberStack &to) {
#ifdef ATTNC_FIBER_ASAN
    __sanitizer_start_switch_fiber(&from.asanFakeStack, to.bottom, to.size);
#endif
#ifdef ATTNC_FIBER_TSAN
    __tsan_switch_to_fiber(to.tsanFiber, 0);
#endif
  }
  /// Called just before the last swapcontext of a fiber that has finished: its fake
  /// stack is released.
  static void leaveForever(const FiberStack &to) {
#ifdef ATTNC_FIBER_ASAN
    __sanitizer_start_switch_fiber(nullptr, to.bottom, to.size);
#endif
#ifdef ATTNC_FIBER_TSAN
    __tsan_switch_to_fiber(to.tsanFiber, 0);
#endif
  }
  /// Called first thing on the stack of `self` after a switch to it; records the
  /// bounds of the stack switched from into `from` (the scheduler's become known so).
  static void arrived(FiberStack &self, FiberStack *from) {
#ifdef ATTNC_FIBER_ASAN
    const void *bottom = nullptr;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(self.asanFakeStack, &bottom, &size);
    if (from) {
      from->bottom = bottom;
      from->size = size;
    }
#endif
  }
};

} // namespace attnc::emu

#endif // ATTNC_RUNTIME_EMU_FIBERSANITIZER_H
