// A VirtioPciDevice around a FakeVirtioDevice with fake interrupts,
// doorbells and poller, plus the driver-side steps tests need: register
// accesses by width, feature negotiation, queue setup and a ring with one
// request the device can complete.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "tests/support/fake_interrupts.h"
#include "tests/support/fakes.h"
#include "tests/unit/virtio/pci/fake_virtio_device.h"
#include "virtio/pci/virtio_pci_device.h"
#include "virtio/pci/virtio_pci_layout.h"

namespace keel::testing {

namespace vp = virtio::pci;
namespace st = virtio::status;

class VirtioPciTest : public ::testing::Test {
 protected:
  static constexpr uint16_t kRingSize = 8;
  static constexpr uint64_t kRingBase = 0x10000;

  void SetUp() override { make(); }
  void make() {
    pci.reset();
    pci = std::make_unique<virtio::VirtioPciDevice>(fake, guest.memory(), interrupts, registrar, poller);
  }

  // PCI configuration space.
  uint64_t cfg_read(uint16_t offset, size_t size) {
    std::array<std::byte, 8> bytes{};
    pci->config_read(offset, std::span(bytes).first(size));
    uint64_t value = 0;
    for (size_t i = 0; i < size; ++i) value |= std::to_integer<uint64_t>(bytes[i]) << (8 * i);
    return value;
  }
  void cfg_write(uint16_t offset, size_t size, uint64_t value) {
    std::array<std::byte, 8> bytes{};
    for (size_t i = 0; i < size; ++i) bytes[i] = std::byte(value >> (8 * i));
    pci->config_write(offset, std::span(bytes).first(size));
  }

  // BAR accesses.
  uint64_t bar_read(uint8_t bar, uint64_t offset, size_t size) {
    std::array<std::byte, 8> bytes;
    bytes.fill(std::byte{0xAA});
    pci->bar_read(bar, offset, std::span(bytes).first(size));
    uint64_t value = 0;
    for (size_t i = 0; i < size; ++i) value |= std::to_integer<uint64_t>(bytes[i]) << (8 * i);
    return value;
  }
  void bar_write(uint8_t bar, uint64_t offset, size_t size, uint64_t value) {
    std::array<std::byte, 8> bytes{};
    for (size_t i = 0; i < size; ++i) bytes[i] = std::byte(value >> (8 * i));
    pci->bar_write(bar, offset, std::span(bytes).first(size));
  }
  uint64_t common(uint16_t offset, size_t size) { return bar_read(vp::kVirtioBar, vp::kCommonCfgOffset + offset, size); }
  void set_common(uint16_t offset, size_t size, uint64_t value) {
    bar_write(vp::kVirtioBar, vp::kCommonCfgOffset + offset, size, value);
  }
  uint8_t status() { return static_cast<uint8_t>(common(vp::common::kDeviceStatus, 1)); }
  void set_status(uint8_t value) { set_common(vp::common::kDeviceStatus, 1, value); }
  uint8_t read_isr() { return static_cast<uint8_t>(bar_read(vp::kVirtioBar, vp::kIsrOffset, 1)); }

  void write_driver_features(uint64_t features) {
    set_common(vp::common::kDriverFeatureSelect, 4, 0);
    set_common(vp::common::kDriverFeature, 4, features & 0xFFFF'FFFF);
    set_common(vp::common::kDriverFeatureSelect, 4, 1);
    set_common(vp::common::kDriverFeature, 4, features >> 32);
  }
  uint64_t read_driver_features() {
    set_common(vp::common::kDriverFeatureSelect, 4, 0);
    uint64_t low = common(vp::common::kDriverFeature, 4);
    set_common(vp::common::kDriverFeatureSelect, 4, 1);
    return low | (common(vp::common::kDriverFeature, 4) << 32);
  }
  // 3.1.1 steps 1-6.
  void negotiate(uint64_t features = virtio::feature::kVersion1) {
    set_status(st::kAcknowledge);
    set_status(st::kAcknowledge | st::kDriver);
    write_driver_features(features);
    set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk);
  }
  uint64_t desc_gpa(uint16_t queue) const { return kRingBase + queue * 0x1000; }
  uint64_t avail_gpa(uint16_t queue) const { return desc_gpa(queue) + 0x400; }
  uint64_t used_gpa(uint16_t queue) const { return desc_gpa(queue) + 0x800; }
  void setup_queue(uint16_t queue, uint64_t desc, uint64_t avail, uint64_t used, uint16_t size = kRingSize) {
    set_common(vp::common::kQueueSelect, 2, queue);
    set_common(vp::common::kQueueSize, 2, size);
    set_common(vp::common::kQueueDesc, 4, desc & 0xFFFF'FFFF);
    set_common(vp::common::kQueueDesc + 4, 4, desc >> 32);
    set_common(vp::common::kQueueDriver, 4, avail & 0xFFFF'FFFF);
    set_common(vp::common::kQueueDriver + 4, 4, avail >> 32);
    set_common(vp::common::kQueueDevice, 4, used & 0xFFFF'FFFF);
    set_common(vp::common::kQueueDevice + 4, 4, used >> 32);
    set_common(vp::common::kQueueEnable, 2, 1);
  }
  void setup_queue(uint16_t queue) { setup_queue(queue, desc_gpa(queue), avail_gpa(queue), used_gpa(queue)); }
  // Negotiates, enables every queue with valid rings, sets DRIVER_OK.
  void activate(uint64_t features = virtio::feature::kVersion1) {
    negotiate(features);
    for (uint16_t q = 0; q < fake->queues; ++q) setup_queue(q);
    set_status(st::kAcknowledge | st::kDriver | st::kFeaturesOk | st::kDriverOk);
  }

  // One one-descriptor request made available on `queue`.
  void offer_request(uint16_t queue, uint16_t avail_flags = 0) {
    struct Desc {
      uint64_t addr;
      uint32_t len;
      uint16_t flags;
      uint16_t next;
    } desc{0x80000, 16, 0, 0};
    std::memcpy(guest.host() + desc_gpa(queue), &desc, sizeof(desc));
    const uint16_t avail[3] = {avail_flags, 1, 0};  // flags, idx, ring[0]
    std::memcpy(guest.host() + avail_gpa(queue), avail, sizeof(avail));
  }
  // The device side: take the request, give it back, signal_used() —
  // with the context lock held, as a device does.
  void complete_request(uint16_t queue) {
    ASSERT_NE(fake->context, nullptr);
    std::lock_guard guard(fake->context->lock());
    virtio::Virtqueue* vq = fake->context->queue(queue);
    ASSERT_NE(vq, nullptr);
    auto chain = vq->pop();
    ASSERT_TRUE(chain.has_value());
    ASSERT_TRUE(chain->has_value());
    ASSERT_TRUE(vq->push_used((*chain)->head, 0).has_value());
    fake->context->signal_used(queue);
  }

  // MSI-X: program entry `vector` with a message and unmask it; enable.
  void program_msix_vector(uint16_t vector, uint32_t data) {
    const uint64_t entry = vp::kMsixTableOffset + 16 * vector;
    bar_write(vp::kMsixBar, entry + 0, 4, 0xFEE0'0000);
    bar_write(vp::kMsixBar, entry + 4, 4, 0);
    bar_write(vp::kMsixBar, entry + 8, 4, data);
    bar_write(vp::kMsixBar, entry + 12, 4, 0);  // unmasked
  }
  void enable_msix() {
    const uint16_t control = pci->msix_capability_offset() + 2;
    cfg_write(control, 2, cfg_read(control, 2) | devices::MsixCapability::kControlEnable);
  }

  std::shared_ptr<FakeVirtioDevice> fake = std::make_shared<FakeVirtioDevice>();
  TestGuestMemory guest{1 << 20};
  FakeInterruptController interrupts;
  FakeDoorbellRegistrar registrar;
  FakeFdPoller poller;
  std::unique_ptr<virtio::VirtioPciDevice> pci;  // last: destroyed first
};

}  // namespace keel::testing
