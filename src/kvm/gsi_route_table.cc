#include "src/kvm/gsi_route_table.h"

#include <algorithm>
#include <cerrno>
#include <new>
#include <string>

#include "keel/config_error.h"

namespace keel::kvm {

namespace {

uint32_t first_free_gsi(const std::vector<GsiRoute>& irqchip_routes) {
  uint32_t first = kIoApicPins;
  for (const GsiRoute& route : irqchip_routes) first = std::max(first, route.gsi + 1);
  return first;
}

}  // namespace

GsiRouteTable::GsiRouteTable(std::unique_ptr<GsiRouteSink> sink, std::vector<GsiRoute> irqchip_routes,
                             uint32_t max_routes)
    : sink_(std::move(sink)),
      irqchip_routes_(std::move(irqchip_routes)),
      max_routes_(max_routes),
      first_msi_gsi_(first_free_gsi(irqchip_routes_)),
      next_gsi_(first_msi_gsi_) {
  if (irqchip_routes_.size() > max_routes_ || first_msi_gsi_ > max_routes_) {
    throw ConfigError("GSI routing: " + std::to_string(irqchip_routes_.size()) +
                      " irqchip routes do not fit KVM's table of " + std::to_string(max_routes_));
  }
}

uint32_t GsiRouteTable::allocate_gsi() {
  std::lock_guard guard(lock_);
  bool table_full = irqchip_routes_.size() + allocated_.size() >= max_routes_;
  if (table_full || (released_.empty() && next_gsi_ >= max_routes_)) {
    throw ConfigError("GSI routing: KVM's table of " + std::to_string(max_routes_) +
                      " routes is full; too many MSI/MSI-X vectors");
  }
  uint32_t gsi;
  if (!released_.empty()) {
    gsi = *released_.begin();
    released_.erase(released_.begin());
  } else {
    gsi = next_gsi_++;
  }
  allocated_.emplace(gsi, std::nullopt);
  return gsi;
}

void GsiRouteTable::release_gsi(uint32_t gsi) noexcept {
  std::lock_guard guard(lock_);
  auto it = allocated_.find(gsi);
  if (it == allocated_.end()) return;
  if (it->second) dirty_.store(true, std::memory_order_release);  // KVM still has its route
  allocated_.erase(it);
  try {
    released_.insert(gsi);
  } catch (const std::bad_alloc&) {
    // The GSI is lost for reuse; the table stays correct.
  }
}

void GsiRouteTable::set_msi(uint32_t gsi, const MsiMessage& message) noexcept {
  std::lock_guard guard(lock_);
  auto it = allocated_.find(gsi);
  if (it == allocated_.end() || it->second == message) return;
  it->second = message;
  dirty_.store(true, std::memory_order_release);
}

int GsiRouteTable::commit() noexcept {
  if (!dirty()) return 0;  // the hot path of every trigger(): no lock
  std::lock_guard guard(lock_);
  if (!dirty()) return 0;
  std::vector<MsiRoute> msi;
  try {
    msi.reserve(allocated_.size());
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
  for (const auto& [gsi, message] : allocated_) {
    if (message) msi.push_back({gsi, *message});
  }
  int error = sink_->set_routes(irqchip_routes_, msi);
  if (error == 0) dirty_.store(false, std::memory_order_release);
  return error;
}

size_t GsiRouteTable::allocated_count() const {
  std::lock_guard guard(lock_);
  return allocated_.size();
}

std::vector<MsiRoute> GsiRouteTable::msi_routes() const {
  std::lock_guard guard(lock_);
  std::vector<MsiRoute> routes;
  for (const auto& [gsi, message] : allocated_) {
    if (message) routes.push_back({gsi, *message});
  }
  return routes;
}

}  // namespace keel::kvm
