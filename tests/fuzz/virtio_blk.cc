// Fuzz target: virtio-blk requests (virtio/blk) over random rings. A
// VirtioBlk with the unit tests' ImmediateBackend (every operation
// completes at the next submit, successfully or with a forced error) is
// activated on a queue the input configures in guest RAM the input fills;
// a script of doorbells, completions, config accesses, racing guest writes
// and resets follows.
//
// Input: [header 20 bytes][script_len u8][script: 4 bytes/op][RAM image].
//
// Invariants, beyond "no crash": the queue's pushes never outrun its pops
// (last_avail - used_idx == in_flight <= size); the device never has more
// requests in flight than the queue holds; reset() finishes at once and
// leaves nothing in flight (this backend has nothing still running); the config space still reads the capacity it was given; nothing
// outside guest RAM is touched (guard pages + slack check).
#include <cstdint>
#include <memory>
#include <optional>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/guarded_ram.h"
#include "tests/support/fake_interrupts.h"
#include "tests/unit/virtio/blk/fake_driver.h"
#include "tests/unit/virtio/blk/immediate_backend.h"
#include "virtio/blk/virtio_blk.h"
#include "virtio/core/virtio_spec.h"

namespace {

using keel::fuzz::FuzzInput;
using keel::fuzz::GuardedRam;
using keel::virtio::QueueConfig;
using keel::virtio::Virtqueue;
namespace blk = keel::virtio::blk;
namespace feature = keel::virtio::feature;

constexpr size_t kMaxRam = 64 * 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const auto [base, ram_size] = keel::fuzz::choose_ram(in, kMaxRam);
  GuardedRam ram(base, ram_size);

  QueueConfig config;
  config.size = static_cast<uint16_t>(1u << (in.u8() % 9));  // 1..256, the device's maximum
  config.desc = keel::fuzz::pick_ring_address(in, base, ram_size);
  config.driver = keel::fuzz::pick_ring_address(in, base, ram_size);
  config.device = keel::fuzz::pick_ring_address(in, base, ram_size);
  const uint8_t choices = in.u8();
  const uint64_t capacity = in.u16();
  const bool readonly = (choices & 4) != 0;
  std::optional<int32_t> forced;
  if ((choices & 8) != 0) forced = -static_cast<int32_t>(in.u8());  // -EIO and friends, or 0: a short transfer
  const uint32_t feature_mask = in.u32();
  const size_t script_ops = in.u8() % 64;
  FuzzInput script(in.bytes(script_ops * 4));
  ram.load(in.rest());

  keel::testing::FakeFdPoller poller;
  auto backend = std::make_unique<blk::testing::ImmediateBackend>(forced);
  const int event_fd = backend->event_fd();
  blk::VirtioBlk device(std::move(backend), blk::BlkOptions{capacity, readonly, "fuzz", 1 << 20}, poller);
  uint64_t features = feature::kVersion1 | (device.device_features() & feature_mask);
  if ((choices & 1) != 0) features |= feature::kRingIndirectDesc;
  if ((choices & 2) != 0) features |= feature::kRingEventIdx;
  blk::testing::FakeContext context(ram.memory(), features);

  std::optional<Virtqueue> queue;
  auto activate = [&]() -> bool {
    auto created = Virtqueue::create(ram.memory(), config,
                                     {(features & feature::kRingEventIdx) != 0,
                                      (features & feature::kRingIndirectDesc) != 0},
                                     blk::VirtioBlk::kQueueMaxSize);
    if (!created) return false;
    queue.emplace(std::move(*created));
    context.set_queue(&*queue);
    std::lock_guard guard(context.lock());
    return device.activate(context);
  };
  auto deactivate = [&] {
    bool finished = false;
    {
      std::lock_guard guard(context.lock());
      finished = device.reset();
    }
    // ImmediateBackend has finished everything submitted, so the reset
    // (which no longer waits for I/O) must be done at once.
    FUZZ_CHECK(finished, "reset with nothing still running finishes at once");
    FUZZ_CHECK(device.requests_in_flight() == 0 && device.bytes_in_flight() == 0, "reset leaves nothing in flight");
    context.set_queue(nullptr);
    queue.reset();
  };
  if (!activate()) return 0;

  while (!script.empty()) {
    const uint8_t op = script.u8();
    switch (op % 6) {
      case 0:
      case 1: {
        std::lock_guard guard(context.lock());
        device.queue_notified(0);
        break;
      }
      case 2:
        poller.fire(event_fd);
        break;
      case 3: {  // the guest writes a byte anywhere
        const uint64_t offset = script.u16() % ram_size;
        ram.bytes()[offset] = std::byte{script.u8()};
        break;
      }
      case 4: {  // device config space, any offset and width
        std::array<std::byte, 8> bytes{};
        const uint8_t offset = script.u8();
        const uint8_t width = static_cast<uint8_t>(script.u8() % 9);
        if ((op & 0x80) != 0) {
          device.config_write(offset, std::span(bytes).first(width));
        } else {
          device.config_read(offset, std::span(bytes).first(width));
        }
        break;
      }
      case 5:  // driver reset and a fresh activation on the same rings
        deactivate();
        if (!activate()) return 0;
        break;
    }
    if (queue) {
      FUZZ_CHECK(queue->in_flight() <= queue->size(), "no more chains outstanding than the ring holds");
      FUZZ_CHECK(static_cast<uint16_t>(queue->last_avail_idx() - queue->used_idx()) == queue->in_flight(),
                 "used entries never outnumber chains made available");
      FUZZ_CHECK(device.requests_in_flight() <= queue->in_flight(), "requests in flight are chains in flight");
    }
  }
  // Let whatever was handed to the backend complete, then reset.
  poller.fire(event_fd);
  deactivate();

  uint64_t read_capacity = 0;
  device.config_read(0, std::as_writable_bytes(std::span(&read_capacity, 1)));
  FUZZ_CHECK(read_capacity == capacity, "config space still answers with the capacity");
  FUZZ_CHECK(ram.slack_intact(), "nothing written below guest RAM");
  return 0;
}
