// Fuzz target: split-virtqueue chain walking (virtio/core). The input picks
// guest RAM (size, base), a QueueConfig and features that may be anything a
// driver can program, a script of device operations and racing guest
// writes, and the initial contents of guest RAM (rings, descriptors,
// indirect tables: whatever the bytes say).
//
// Input: [header 24 bytes][script_len u8][script: 4 bytes/op][RAM image].
//
// Invariants, beyond "no crash":
//  - every buffer of a chain lies wholly inside guest RAM, none is empty,
//    and the head is below the queue size;
//  - a chain is popped only when avail.idx said one was there;
//  - pushes never outrun pops: in_flight() == popped - pushed <= size, and
//    the ring positions agree with that count;
//  - the device writes guest RAM only inside the used ring (used.flags,
//    ring, avail_event), never outside RAM (guard pages + slack check).
#include <cstdint>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/guarded_ram.h"
#include "virtio/core/virtqueue.h"

namespace {

using keel::Gpa;
using keel::fuzz::FuzzInput;
using keel::fuzz::GuardedRam;
using keel::virtio::QueueConfig;
using keel::virtio::QueueFeatures;
using keel::virtio::Virtqueue;

constexpr size_t kMaxRam = 64 * 1024;

// A ring address: usually an offset inside RAM (aligned or not, as the
// input says), sometimes any 64-bit value.
uint64_t pick_address(FuzzInput& in, uint64_t base, size_t ram_size) {
  const uint8_t mode = in.u8();
  const uint32_t raw = in.u32();
  if ((mode & 0xF) == 0xF) return (uint64_t{raw} << 32) | in.u32();
  uint64_t offset = raw % (ram_size + 64);
  if ((mode & 0x10) == 0) offset &= ~uint64_t{0xF};
  return base + offset;
}

uint16_t read_u16(GuardedRam& ram, uint64_t gpa) {
  auto value = ram.memory().read_obj<uint16_t>(Gpa{gpa});
  return value ? *value : 0;
}

struct Popped {
  uint16_t head;
  uint32_t writable;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const auto [base, ram_size] = keel::fuzz::choose_ram(in, kMaxRam);
  GuardedRam ram(base, ram_size);

  QueueConfig config;
  const uint8_t size_choice = in.u8();
  config.size = (size_choice & 0x80) ? in.u16() : static_cast<uint16_t>(1u << (size_choice % 9));
  config.desc = pick_address(in, base, ram_size);
  config.driver = pick_address(in, base, ram_size);
  config.device = pick_address(in, base, ram_size);
  const uint8_t feature_bits = in.u8();
  const QueueFeatures features{(feature_bits & 1) != 0, (feature_bits & 2) != 0};
  const uint16_t max_size = (feature_bits & 4) ? 32768 : 256;

  const size_t script_ops = in.u8() % 64;
  FuzzInput script(in.bytes(script_ops * 4));
  ram.load(in.rest());

  auto created = Virtqueue::create(ram.memory(), config, features, max_size);
  if (!created) return 0;
  Virtqueue& queue = *created;
  FUZZ_CHECK(queue.size() == config.size, "queue size is what was configured");

  // What guest RAM must look like, but for the used ring, which the device
  // owns; the script's guest writes go to both.
  std::vector<std::byte> expected(ram.bytes().begin(), ram.bytes().end());
  const uint64_t used_offset = config.device - base;
  const uint64_t used_end = used_offset + 6 + 8 * uint64_t{config.size};

  std::vector<Popped> outstanding;
  uint32_t pops = 0;
  uint32_t pushes = 0;
  while (!script.empty()) {
    const uint8_t op = script.u8();
    switch (op % 6) {
      case 0: {  // pop
        const uint16_t avail_idx = read_u16(ram, config.driver + 2);
        const uint16_t before = queue.last_avail_idx();
        auto popped = queue.pop();
        if (!popped) {
          FUZZ_CHECK(queue.last_avail_idx() == before, "a failed pop consumes nothing");
          break;
        }
        if (!*popped) break;
        const auto& chain = **popped;
        FUZZ_CHECK(avail_idx != before, "a chain was popped that the driver did not make available");
        FUZZ_CHECK(chain.head < queue.size(), "head below the queue size");
        FUZZ_CHECK(queue.last_avail_idx() == static_cast<uint16_t>(before + 1), "one avail entry per chain");
        for (const auto* list : {&chain.readable, &chain.writable}) {
          for (const auto& buffer : *list) {
            FUZZ_CHECK(buffer.length > 0, "no empty buffer");
            FUZZ_CHECK(ram.memory().contains(buffer.address, buffer.length), "buffer inside guest RAM");
          }
        }
        FUZZ_CHECK(chain.readable_length() + chain.writable_length() <= (uint64_t{1} << 32),
                   "chain length bounded");
        ++pops;
        outstanding.push_back({chain.head, static_cast<uint32_t>(chain.writable_length())});
        break;
      }
      case 1:    // push a chain the device popped, as a well-behaved device does
      case 2: {  // or any head and length
        const uint8_t which = script.u8();
        const uint16_t raw_length = script.u16();
        uint16_t head = 0;
        uint32_t written = raw_length;
        const bool known = op % 6 == 1 && !outstanding.empty();
        if (known) {
          const size_t index = which % outstanding.size();
          head = outstanding[index].head;
          written = outstanding[index].writable;
          outstanding.erase(outstanding.begin() + static_cast<ptrdiff_t>(index));
        } else {
          head = static_cast<uint16_t>(which | (raw_length & 0xFF00));
        }
        const uint16_t in_flight = queue.in_flight();
        auto pushed = queue.push_used(head, written);
        if (pushed) {
          FUZZ_CHECK(in_flight > 0 && head < queue.size(), "push accepted only for a valid head with work out");
          ++pushes;
        }
        break;
      }
      case 3:
        (void)queue.needs_interrupt();
        break;
      case 4:
        (void)queue.set_notifications((script.u8() & 1) != 0);
        break;
      case 5: {  // the guest writes two bytes anywhere, as a racing driver can
        const uint64_t offset = script.u16() % ram_size;
        const uint8_t value = script.u8();
        ram.bytes()[offset] = std::byte{value};
        expected[offset] = std::byte{value};
        break;
      }
    }
    FUZZ_CHECK(pushes <= pops, "used entries never outnumber chains made available");
    FUZZ_CHECK(queue.in_flight() == pops - pushes, "in_flight counts popped minus pushed");
    FUZZ_CHECK(queue.in_flight() <= queue.size(), "no more chains outstanding than the ring holds");
    FUZZ_CHECK(static_cast<uint16_t>(queue.last_avail_idx() - queue.used_idx()) == queue.in_flight(),
               "ring positions agree with the in-flight count");
  }

  FUZZ_CHECK(ram.slack_intact(), "nothing written below guest RAM");
  for (size_t offset = 0; offset < ram_size; ++offset) {
    if (offset >= used_offset && offset < used_end) continue;
    FUZZ_CHECK(ram.bytes()[offset] == expected[offset], "device wrote guest RAM outside the used ring");
  }
  return 0;
}
