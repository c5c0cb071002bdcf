// The VM's one GSI routing table: the fixed PC irqchip routes (gsi_routing.h)
// plus an MSI route for each GSI handed to an MSI vector. KVM only accepts
// the whole table at once (KVM_SET_GSI_ROUTING replaces it), so changes are
// staged here and sent by commit() in one call: a guest that rewrites many
// MSI-X table entries costs one ioctl, made at the latest before the next
// interrupt is triggered (see MsiVector in include/keel/interrupts.h).
//
// Pure: the ioctl sits behind GsiRouteSink (KvmGsiRouteSink in
// kvm_gsi_route_sink.h), so the allocation and batching logic is unit
// tested without /dev/kvm. Thread-safe: vCPU threads stage messages while
// the event-loop thread commits and triggers.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "keel/interrupts.h"
#include "src/kvm/gsi_routing.h"

namespace keel::kvm {

struct MsiRoute {
  uint32_t gsi;
  MsiMessage message;
  friend bool operator==(const MsiRoute&, const MsiRoute&) = default;
};

// Where a committed table goes (KVM_SET_GSI_ROUTING in production).
class GsiRouteSink {
 public:
  virtual ~GsiRouteSink() = default;
  // Replace the whole routing table. Returns 0, or the errno value of the
  // failure.
  virtual int set_routes(std::span<const GsiRoute> irqchip_routes,
                         std::span<const MsiRoute> msi_routes) noexcept = 0;
};

class GsiRouteTable {
 public:
  // KVM_MAX_IRQ_ROUTES (kernel-internal, include/linux/kvm_host.h, so not
  // in the uapi header): KVM refuses a table with more entries, and any
  // entry whose GSI is not below it.
  static constexpr uint32_t kMaxRoutes = 4096;

  // `irqchip_routes` are kept for the VM's life. MSI GSIs are handed out
  // from just above the highest irqchip GSI, and at least from 24 (the
  // IOAPIC pins). The table starts dirty: nothing has been sent yet.
  GsiRouteTable(std::unique_ptr<GsiRouteSink> sink, std::vector<GsiRoute> irqchip_routes,
                uint32_t max_routes = kMaxRoutes);
  GsiRouteTable(const GsiRouteTable&) = delete;
  GsiRouteTable& operator=(const GsiRouteTable&) = delete;

  // A free GSI for an MSI vector, the lowest one first (released GSIs are
  // reused). It has no route until set_msi. Each allocated GSI reserves a
  // table entry, so set_msi can never overflow the table later. Start-up
  // only: throws ConfigError when the table is full.
  uint32_t allocate_gsi();
  // Give `gsi` back; its route (if any) is dropped at the next commit.
  void release_gsi(uint32_t gsi) noexcept;

  // Stage `gsi`'s MSI route. Marks the table dirty unless the route is
  // unchanged. Ignored for a GSI this table did not allocate.
  void set_msi(uint32_t gsi, const MsiMessage& message) noexcept;

  // When dirty: one sink call with the whole table; clean on success.
  // Returns 0 (also when there was nothing to send) or the sink's errno,
  // and then stays dirty so the next commit retries.
  [[nodiscard]] int commit() noexcept;

  bool dirty() const noexcept { return dirty_.load(std::memory_order_acquire); }

  // For tests and diagnostics.
  uint32_t first_msi_gsi() const noexcept { return first_msi_gsi_; }
  size_t allocated_count() const;
  std::vector<MsiRoute> msi_routes() const;
  const std::vector<GsiRoute>& irqchip_routes() const noexcept { return irqchip_routes_; }

 private:
  const std::unique_ptr<GsiRouteSink> sink_;
  const std::vector<GsiRoute> irqchip_routes_;
  const uint32_t max_routes_;
  const uint32_t first_msi_gsi_;

  mutable std::mutex lock_;
  // Allocated GSIs and their staged messages (none until set_msi).
  std::map<uint32_t, std::optional<MsiMessage>> allocated_;
  std::set<uint32_t> released_;  // below next_gsi_ and free again
  uint32_t next_gsi_;
  std::atomic<bool> dirty_{true};
};

}  // namespace keel::kvm
