// The common configuration structure (virtio 1.2, 4.1.4.3) as a register
// file: decoding of guest accesses by offset and width, feature pages,
// per-queue registers and the rules for when each may change. It holds no
// device and takes no locks; the owner (VirtioPciDevice) serializes and
// acts on device_status writes, which are returned to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "virtio/core/virtio_spec.h"

namespace keel::virtio::pci {

// What the driver programmed for one queue.
struct QueueRegisters {
  uint16_t size = 0;  // starts at the device's maximum (4.1.4.3.2)
  uint16_t msix_vector = kNoVector;
  bool enabled = false;
  uint64_t desc = 0;
  uint64_t driver = 0;
  uint64_t device = 0;
};

class CommonConfig {
 public:
  // `offered_features`: everything the device offers incl. the transport's
  // bits; `msix_vectors`: the MSI-X table size (vectors at or above it are
  // refused with NO_VECTOR).
  CommonConfig(uint64_t offered_features, uint16_t queue_count, uint16_t queue_max_size,
               uint16_t msix_vectors) noexcept;

  // A guest access of `size` bytes at `offset` (relative to the structure).
  // Only "natural" accesses decode (4.1.3.1: each field with its own width;
  // a 64-bit field also as two 32-bit halves); all others read 0 and are
  // ignored, as is every access outside the structure.
  uint64_t read(uint16_t offset, size_t size) const noexcept;
  // Returns the value written to device_status, which the owner applies
  // (the status machine needs the device); other writes are applied here.
  std::optional<uint8_t> write(uint16_t offset, size_t size, uint64_t value) noexcept;

  // Device reset (status 0): features, selectors, vectors and queue
  // registers back to their initial values; config_generation is kept.
  void reset() noexcept;

  uint8_t status() const noexcept { return status_; }
  void set_status(uint8_t status) noexcept { status_ = status; }
  uint64_t offered_features() const noexcept { return offered_features_; }
  uint64_t driver_features() const noexcept { return driver_features_; }
  uint16_t config_msix_vector() const noexcept { return config_msix_vector_; }
  uint8_t config_generation() const noexcept { return config_generation_; }
  void bump_config_generation() noexcept { ++config_generation_; }
  uint16_t queue_count() const noexcept { return static_cast<uint16_t>(queues_.size()); }
  uint16_t queue_max_size() const noexcept { return queue_max_size_; }
  // `index` < queue_count().
  const QueueRegisters& queue(uint16_t index) const noexcept { return queues_[index]; }

 private:
  uint64_t read_field(uint16_t field) const noexcept;
  void write_driver_feature(uint32_t value) noexcept;
  void write_queue_field(uint16_t field, uint64_t value, unsigned half) noexcept;
  QueueRegisters* selected_queue() noexcept;
  const QueueRegisters* selected_queue() const noexcept;
  uint16_t checked_vector(uint64_t value) const noexcept;

  const uint64_t offered_features_;
  const uint16_t queue_max_size_;
  const uint16_t msix_vectors_;
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  uint16_t config_msix_vector_ = kNoVector;
  uint8_t status_ = 0;
  uint8_t config_generation_ = 0;
  uint16_t queue_select_ = 0;
  std::vector<QueueRegisters> queues_;
};

}  // namespace keel::virtio::pci
