// Constants from the virtio 1.2 specification used by the transport, the
// queues and the devices. Names follow the spec.
#pragma once

#include <cstdint>

namespace keel::virtio {

// 5 Device Types
inline constexpr uint16_t kDeviceTypeNet = 1;
inline constexpr uint16_t kDeviceTypeBlock = 2;

// 2.1 Device Status Field
namespace status {
inline constexpr uint8_t kAcknowledge = 1;
inline constexpr uint8_t kDriver = 2;
inline constexpr uint8_t kDriverOk = 4;
inline constexpr uint8_t kFeaturesOk = 8;
inline constexpr uint8_t kDeviceNeedsReset = 64;
inline constexpr uint8_t kFailed = 128;
}  // namespace status

// 6 Reserved Feature Bits
namespace feature {
inline constexpr uint64_t kRingIndirectDesc = 1ull << 28;
inline constexpr uint64_t kRingEventIdx = 1ull << 29;
inline constexpr uint64_t kVersion1 = 1ull << 32;
inline constexpr uint64_t kAccessPlatform = 1ull << 33;
inline constexpr uint64_t kRingPacked = 1ull << 34;
}  // namespace feature

// 2.7 Split Virtqueues
namespace ring {
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;
inline constexpr uint16_t kUsedFlagNoNotify = 1;
inline constexpr uint32_t kMaxQueueSize = 32768;
inline constexpr uint64_t kDescAlign = 16;
inline constexpr uint64_t kAvailAlign = 2;
inline constexpr uint64_t kUsedAlign = 4;
}  // namespace ring

// 4.1.4.3 / 4.1.5.1.2: "no MSI-X vector"
inline constexpr uint16_t kNoVector = 0xFFFF;

}  // namespace keel::virtio
