#include "virtio/pci/common_config.h"

#include <bit>

#include "virtio/pci/virtio_pci_layout.h"

namespace keel::virtio::pci {

namespace {

using namespace common;

struct Field {
  uint16_t offset;
  uint8_t width;
};

// 4.1.4.3: every field of struct virtio_pci_common_cfg with its width.
constexpr Field kFields[] = {
    {kDeviceFeatureSelect, 4}, {kDeviceFeature, 4},   {kDriverFeatureSelect, 4}, {kDriverFeature, 4},
    {kConfigMsixVector, 2},    {kNumQueues, 2},       {kDeviceStatus, 1},        {kConfigGeneration, 1},
    {kQueueSelect, 2},         {kQueueSize, 2},       {kQueueMsixVector, 2},     {kQueueEnable, 2},
    {kQueueNotifyOff, 2},      {kQueueDesc, 8},       {kQueueDriver, 8},         {kQueueDevice, 8},
    {kQueueNotifyData, 2},     {kQueueReset, 2},
};

// Which part of a field an access covers.
enum Half : unsigned { kLow = 0, kHigh = 1, kWhole = 2 };

struct Decoded {
  Field field;
  Half half;
};

// 4.1.3.1: the driver accesses each field with its natural width; 64-bit
// fields may be accessed as two 32-bit halves (low first, but we do not
// insist on the order). Anything else does not decode.
std::optional<Decoded> decode(uint16_t offset, size_t size) noexcept {
  for (const Field& field : kFields) {
    if (offset == field.offset && size == field.width) return Decoded{field, kWhole};
    if (field.width == 8 && size == 4) {
      if (offset == field.offset) return Decoded{field, kLow};
      if (offset == field.offset + 4) return Decoded{field, kHigh};
    }
  }
  return std::nullopt;
}

uint64_t replace_half(uint64_t old_value, uint64_t value, Half half) noexcept {
  switch (half) {
    case kLow:
      return (old_value & 0xFFFF'FFFF'0000'0000ull) | (value & 0xFFFF'FFFFull);
    case kHigh:
      return (old_value & 0xFFFF'FFFFull) | (value << 32);
    case kWhole:
      break;
  }
  return value;
}

}  // namespace

CommonConfig::CommonConfig(uint64_t offered_features, uint16_t queue_count, uint16_t queue_max_size,
                           uint16_t msix_vectors) noexcept
    : offered_features_(offered_features),
      queue_max_size_(queue_max_size),
      msix_vectors_(msix_vectors),
      queues_(queue_count) {
  reset();
}

void CommonConfig::reset() noexcept {
  device_feature_select_ = 0;
  driver_feature_select_ = 0;
  driver_features_ = 0;
  config_msix_vector_ = kNoVector;
  status_ = 0;
  queue_select_ = 0;
  for (QueueRegisters& queue : queues_) queue = QueueRegisters{.size = queue_max_size_};
}

QueueRegisters* CommonConfig::selected_queue() noexcept {
  return queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
}

const QueueRegisters* CommonConfig::selected_queue() const noexcept {
  return queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
}

// 4.1.4.3.2 / 4.1.5.1.2.1: a vector the function does not have maps to
// NO_VECTOR, which the driver reads back to learn the mapping failed.
uint16_t CommonConfig::checked_vector(uint64_t value) const noexcept {
  return value < msix_vectors_ ? static_cast<uint16_t>(value) : kNoVector;
}

uint64_t CommonConfig::read(uint16_t offset, size_t size) const noexcept {
  const auto decoded = decode(offset, size);
  if (!decoded) return 0;
  const uint64_t value = read_field(decoded->field.offset);
  switch (decoded->half) {
    case kLow:
      return value & 0xFFFF'FFFFull;
    case kHigh:
      return value >> 32;
    case kWhole:
      break;
  }
  return value;
}

uint64_t CommonConfig::read_field(uint16_t field) const noexcept {
  const QueueRegisters* queue = selected_queue();
  switch (field) {
    case kDeviceFeatureSelect:
      return device_feature_select_;
    case kDeviceFeature:
      // Two 32-bit pages exist; higher selectors read 0 (no such features).
      return device_feature_select_ < 2 ? (offered_features_ >> (32 * device_feature_select_)) & 0xFFFF'FFFFull : 0;
    case kDriverFeatureSelect:
      return driver_feature_select_;
    case kDriverFeature:
      return driver_feature_select_ < 2 ? (driver_features_ >> (32 * driver_feature_select_)) & 0xFFFF'FFFFull : 0;
    case kConfigMsixVector:
      return config_msix_vector_;
    case kNumQueues:
      return queues_.size();
    case kDeviceStatus:
      return status_;
    case kConfigGeneration:
      return config_generation_;
    case kQueueSelect:
      return queue_select_;
    default:
      break;
  }
  // Queue registers of a queue that does not exist read 0 (queue_size 0
  // tells the driver the queue is unavailable, 4.1.4.3.2).
  if (queue == nullptr) return 0;
  switch (field) {
    case kQueueSize:
      return queue->size;
    case kQueueMsixVector:
      return queue->msix_vector;
    case kQueueEnable:
      return queue->enabled ? 1 : 0;
    case kQueueNotifyOff:
      return queue_select_;  // doorbell N sits at N * notify_off_multiplier
    case kQueueDesc:
      return queue->desc;
    case kQueueDriver:
      return queue->driver;
    case kQueueDevice:
      return queue->device;
    default:
      // queue_notify_data (no VIRTIO_F_NOTIF_CONFIG_DATA) and queue_reset
      // (no VIRTIO_F_RING_RESET) read 0.
      return 0;
  }
}

std::optional<uint8_t> CommonConfig::write(uint16_t offset, size_t size, uint64_t value) noexcept {
  const auto decoded = decode(offset, size);
  if (!decoded) return std::nullopt;
  switch (decoded->field.offset) {
    case kDeviceFeatureSelect:
      device_feature_select_ = static_cast<uint32_t>(value);
      break;
    case kDriverFeatureSelect:
      driver_feature_select_ = static_cast<uint32_t>(value);
      break;
    case kDriverFeature:
      write_driver_feature(static_cast<uint32_t>(value));
      break;
    case kConfigMsixVector:
      config_msix_vector_ = checked_vector(value);
      break;
    case kDeviceStatus:
      return static_cast<uint8_t>(value);
    case kQueueSelect:
      queue_select_ = static_cast<uint16_t>(value);
      break;
    default:
      write_queue_field(decoded->field.offset, value, decoded->half);
      break;
  }
  return std::nullopt;
}

// 3.1.1 steps 4-5: the driver writes the features it accepts after DRIVER
// and before FEATURES_OK; later changes are ignored (the negotiated set is
// frozen). Bits the device did not offer are dropped.
void CommonConfig::write_driver_feature(uint32_t value) noexcept {
  const bool negotiating = (status_ & status::kDriver) && !(status_ & status::kFeaturesOk);
  if (!negotiating || driver_feature_select_ >= 2) return;
  const unsigned shift = 32 * driver_feature_select_;
  const uint64_t page_mask = 0xFFFF'FFFFull << shift;
  const uint64_t accepted = (uint64_t{value} << shift) & offered_features_;
  driver_features_ = (driver_features_ & ~page_mask) | accepted;
}

void CommonConfig::write_queue_field(uint16_t field, uint64_t value, unsigned half) noexcept {
  QueueRegisters* queue = selected_queue();
  if (queue == nullptr) return;
  if (field == kQueueMsixVector) {
    // The vector only picks where interrupts go; changing it is harmless at
    // any time, so it is not frozen with the ring addresses.
    queue->msix_vector = checked_vector(value);
    return;
  }
  // 4.1.4.3.2: the driver must not change a queue once it is enabled (and
  // keel does not offer VIRTIO_F_RING_RESET); nor may anything change under
  // live queues after DRIVER_OK. Such writes are ignored.
  if (queue->enabled || (status_ & status::kDriverOk)) return;
  switch (field) {
    case kQueueSize:
      // Validated again by Virtqueue::create; rejecting here lets the
      // driver read back that its value did not stick.
      if (value != 0 && value <= queue_max_size_ && std::has_single_bit(value)) {
        queue->size = static_cast<uint16_t>(value);
      }
      break;
    case kQueueEnable:
      // Only 1 enables; writing 0 is not a way to disable (4.1.4.3.2).
      if (value == 1) queue->enabled = true;
      break;
    case kQueueDesc:
      queue->desc = replace_half(queue->desc, value, static_cast<Half>(half));
      break;
    case kQueueDriver:
      queue->driver = replace_half(queue->driver, value, static_cast<Half>(half));
      break;
    case kQueueDevice:
      queue->device = replace_half(queue->device, value, static_cast<Half>(half));
      break;
    default:
      break;  // read-only: queue_notify_off, queue_notify_data, queue_reset
  }
}

}  // namespace keel::virtio::pci
