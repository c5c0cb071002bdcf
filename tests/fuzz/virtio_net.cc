// Fuzz target: virtio-net (virtio/net) over random rings. A VirtioNet with
// the unit tests' FakeNetBackend is activated on three queues (rx, tx,
// control) the input places in guest RAM the input fills, with negotiated
// features the input picks; a script of doorbells, backend frames of any
// content and length, backend back-pressure and errors, config accesses,
// racing guest writes, reschedules and resets follows.
//
// Input: [ram size u16, base u8][3 x queue: size u8, desc/driver/device
//        (u8 mode + u16 offset each)][features u64][frame pool length u16]
//        [script_len u8][script: 4 bytes/op][frame pool][RAM image].
//
// Invariants, beyond "no crash": on every queue the pushes never outrun
// the pops (last_avail - used_idx == in_flight <= size); frames sent are
// exactly what the backend accepted and, with the tx drops, never more
// than the tx chains popped; frames received are never more than the
// frames the backend handed over nor than the rx chains popped; config
// space still reads the MAC it was given (unless the driver may set it); nothing outside guest RAM is
// touched (guard pages + slack check).
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/guarded_ram.h"
#include "tests/unit/virtio/net/fake_net_backend.h"
#include "virtio/core/virtio_spec.h"
#include "virtio/net/net_spec.h"
#include "virtio/net/virtio_net.h"

namespace {

using keel::fuzz::FuzzInput;
using keel::fuzz::GuardedRam;
using keel::virtio::QueueConfig;
using keel::virtio::Virtqueue;
namespace net = keel::virtio::net;

constexpr size_t kMaxRam = 64 * 1024;
constexpr std::array<uint8_t, 6> kMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// Three real queues; signal_used and reschedule are recorded.
class Context final : public keel::virtio::VirtioContext {
 public:
  Context(const keel::GuestMemory& memory, uint64_t features) : memory_(memory), features_(features) {}
  std::mutex& lock() noexcept override { return lock_; }
  const keel::GuestMemory& memory() const noexcept override { return memory_; }
  uint64_t negotiated_features() const noexcept override { return features_; }
  Virtqueue* queue(uint16_t index) noexcept override {
    return index < queues.size() && queues[index] ? &*queues[index] : nullptr;
  }
  void signal_used(uint16_t) noexcept override {}
  void needs_reset(const char*) noexcept override { broken = true; }
  void config_changed() noexcept override {}
  void reschedule(uint16_t index) noexcept override {
    if (index < rescheduled.size()) rescheduled[index] = true;
  }

  std::array<std::optional<Virtqueue>, net::kQueueCount> queues;
  std::array<bool, net::kQueueCount> rescheduled{};
  bool broken = false;

 private:
  std::mutex lock_;
  const keel::GuestMemory& memory_;
  uint64_t features_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const auto [base, ram_size] = keel::fuzz::choose_ram(in, kMaxRam);
  GuardedRam ram(base, ram_size);

  std::array<QueueConfig, net::kQueueCount> configs;
  for (QueueConfig& config : configs) {
    config.size = static_cast<uint16_t>(1u << (in.u8() % 9));  // 1..256, the device's maximum
    config.desc = keel::fuzz::pick_ring_address(in, base, ram_size);
    config.driver = keel::fuzz::pick_ring_address(in, base, ram_size);
    config.device = keel::fuzz::pick_ring_address(in, base, ram_size);
  }
  const uint64_t feature_choice = in.u64();
  const size_t pool_size = in.u16() % 4097;
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * 4));
  const auto pool = in.bytes(pool_size);
  ram.load(in.rest());

  auto owned = std::make_unique<net::testing::FakeNetBackend>();
  net::testing::FakeNetBackend& backend = *owned;
  net::VirtioNet device(std::move(owned), net::NetOptions{kMac, 1500});
  const uint64_t features = keel::virtio::feature::kVersion1 | (device.device_features() & feature_choice);
  if (!device.accept_features(features)) return 0;
  Context context(ram.memory(), features);

  auto activate = [&]() -> bool {
    const keel::virtio::QueueFeatures queue_features{(features & keel::virtio::feature::kRingEventIdx) != 0,
                                                     (features & keel::virtio::feature::kRingIndirectDesc) != 0};
    for (uint16_t q = 0; q < net::kQueueCount; ++q) {
      auto created = Virtqueue::create(ram.memory(), configs[q], queue_features, net::VirtioNet::kQueueMaxSize);
      if (!created) return false;
      context.queues[q].emplace(std::move(*created));
    }
    std::lock_guard guard(context.lock());
    return device.activate(context);
  };
  if (!activate()) return 0;

  // Chains popped per queue over the whole run (across resets), and frames
  // the backend handed over.
  std::array<uint64_t, net::kQueueCount> popped{};
  std::array<uint16_t, net::kQueueCount> last_avail{};
  uint64_t frames_offered = 0;
  auto account = [&] {
    for (uint16_t q = 0; q < net::kQueueCount; ++q) {
      const Virtqueue* queue = context.queue(q);
      if (queue == nullptr) continue;
      popped[q] += static_cast<uint16_t>(queue->last_avail_idx() - last_avail[q]);
      last_avail[q] = queue->last_avail_idx();
      FUZZ_CHECK(queue->in_flight() <= queue->size(), "no more chains outstanding than the ring holds");
      FUZZ_CHECK(static_cast<uint16_t>(queue->last_avail_idx() - queue->used_idx()) == queue->in_flight(),
                 "used entries never outnumber chains made available");
    }
    const net::NetStats stats = device.stats();
    FUZZ_CHECK(stats.tx_frames == backend.sent.size(), "frames sent are the frames the backend accepted");
    FUZZ_CHECK(stats.tx_frames + stats.tx_dropped_bad_header + stats.tx_dropped_short + stats.tx_dropped_oversized +
                       stats.tx_dropped_backend <=
                   popped[net::kTxQueue],
               "frames sent or dropped never outnumber tx chains popped");
    FUZZ_CHECK(stats.rx_frames <= frames_offered - backend.inbox.size(), "frames received were handed over");
    FUZZ_CHECK(stats.rx_frames <= popped[net::kRxQueue], "frames received never outnumber rx chains popped");
    FUZZ_CHECK(stats.ctrl_commands <= popped[net::kCtrlQueue], "commands answered never outnumber control chains");
  };

  while (!script.empty()) {
    const uint8_t op = script.u8();
    const uint8_t a = script.u8();
    const uint8_t b = script.u8();
    const uint8_t c = script.u8();
    switch (op % 9) {
      case 0:
      case 1: {  // a doorbell
        std::lock_guard guard(context.lock());
        device.queue_notified(a % net::kQueueCount);
        break;
      }
      case 2: {  // the backend gets a frame: any length (a few past the largest), content from the pool
        // At least one byte: the fake copies with memcpy from an empty
        // vector's null data() otherwise, and a real backend reports "no
        // frame" (0) rather than an empty one.
        size_t length = 1 + (size_t{b} << 8 | a) % 2048;
        if ((op & 0x80) != 0) length = keel::net::kVnetHeaderSize + keel::net::kMaxFrameSize - 64 + (a % 128);
        net::testing::Frame frame(length);
        for (size_t i = 0; i < length && !pool.empty(); ++i) {
          frame[i] = std::byte{pool[(c + i) % pool.size()]};
        }
        if (backend.inbox.size() < 64) {
          backend.inbox.push_back(std::move(frame));
          ++frames_offered;
        }
        break;
      }
      case 3:  // the event loop serves a level-triggered backend
        if (backend.listener() != nullptr) backend.pump(1 + a % 8);
        break;
      case 4:  // back-pressure and errors, then the backend says it can send again
        backend.block_sends = a % 3;
        backend.refuse_sends = b % 2;
        backend.receive_errors = c % 2;
        device.send_possible();
        break;
      case 5: {  // the guest writes a byte anywhere
        const uint64_t offset = (size_t{b} << 8 | a) % ram_size;
        ram.bytes()[offset] = std::byte{c};
        break;
      }
      case 6: {  // device config space, any offset and width
        std::array<std::byte, 8> bytes{std::byte{c}, std::byte{c}};
        const std::span<std::byte> window = std::span(bytes).first(b % 9);
        if ((op & 0x80) != 0) {
          device.config_write(a, window);
        } else {
          device.config_read(a, window);
        }
        break;
      }
      case 7: {  // the loop runs what the device asked to be called back for
        std::lock_guard guard(context.lock());
        for (uint16_t q = 0; q < net::kQueueCount; ++q) {
          if (!context.rescheduled[q]) continue;
          context.rescheduled[q] = false;
          device.queue_notified(q);
        }
        break;
      }
      default: {  // driver reset and a fresh activation on the same rings
        account();
        {
          std::lock_guard guard(context.lock());
          device.reset();
        }
        for (auto& queue : context.queues) queue.reset();
        last_avail = {};
        context.rescheduled = {};
        if (!activate()) return 0;
        break;
      }
    }
    account();
  }

  {
    std::lock_guard guard(context.lock());
    device.reset();
  }
  std::array<uint8_t, 6> mac{};
  device.config_read(net::config::kMac, std::as_writable_bytes(std::span(mac)));
  // (A driver with CTRL_MAC_ADDR may have set another one.)
  if ((features & net::feature::kCtrlMacAddr) == 0) FUZZ_CHECK(mac == kMac, "config space still answers with the MAC");
  FUZZ_CHECK(ram.slack_intact(), "nothing written below guest RAM");
  return 0;
}
