//===- WorkspacePool.h - buffers a CPU kernel keeps between its calls -*- C++ -*-===//
//
// The CPU kernels pack their inputs into panels (PackedRows.h) whose allocation is
// worth keeping from one call to the next (page faults and zeroing on every call
// dominate short sequences otherwise). A kernel may be called from several threads
// at once, so it keeps a pool: each call leases a workspace (a free one, or a new
// one) and returns it when it ends. At most as many workspaces exist as calls ever
// ran at the same time.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_RUNTIME_CPU_WORKSPACEPOOL_H
#define ATTNC_RUNTIME_CPU_WORKSPACEPOOL_H

#include <memory>
#include <mutex>
#include <vector>

namespace attnc {

template <typename Workspace> class WorkspacePool {
public:
  /// A workspace for one call, returned to the pool at the end of its scope.
  class Lease {
  public:
    explicit Lease(const WorkspacePool &pool) : pool_(pool) {
      std::lock_guard<std::mutex> lock(pool_.mutex_);
      if (!pool_.free_.empty()) {
        ws_ = std::move(pool_.free_.back());
        pool_.free_.pop_back();
      }
      if (!ws_)
        ws_ = std::make_unique<Workspace>();
    }
    Lease(const Lease &) = delete;
    Lease &operator=(const Lease &) = delete;
    ~Lease() {
      std::lock_guard<std::mutex> lock(pool_.mutex_);
      pool_.free_.push_back(std::move(ws_));
    }
    Workspace &operator*() const { return *ws_; }
    Workspace *operator->() const { return ws_.get(); }

  private:
    const WorkspacePool &pool_;
    std::unique_ptr<Workspace> ws_;
  };

  /// Leases a workspace (the pool is logically const: calls through a const kernel).
  Lease lease() const { return Lease(*this); }

private:
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<Workspace>> free_;
};

} // namespace attnc

#endif // ATTNC_RUNTIME_CPU_WORKSPACEPOOL_H
