// Fuzz target: address-space routing (src/bus Bus) with a random, changing
// set of device ranges. The script inserts ranges (often overlapping,
// touching, zero-length or running off the top of the 64-bit space),
// removes them (by an existing base or any address), and makes reads and
// writes of size 0..9 at addresses near range edges, inside ranges, or
// anywhere. The harness keeps its own list of ranges.
//
// Input: [op count u8][ops: 20 bytes each].
//
// Invariants, beyond "no crash":
//  - insert() succeeds exactly when the range is non-empty, does not run
//    past 2^64 and overlaps no range in the list; remove() exactly when a
//    range starts at that address;
//  - an access of size 1/2/4/8 that lies wholly inside one range reaches
//    that range's device, once, with the offset relative to its base and
//    the access size, and offset + size never beyond the range's length;
//    read() / write() return true exactly then;
//  - every other access (other sizes, straddling an edge, in a gap)
//    reaches no device, returns false, and a read fills all-ones;
//  - a read returns the bytes the device produced.
#include <array>
#include <cstdint>
#include <map>
#include <memory>

#include "keel/bus.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using keel::fuzz::FuzzInput;

constexpr size_t kOpBytes = 20;

// Records the accesses it gets; reads answer with bytes derived from its
// id and the offset, so the harness can tell who answered.
class RecordingDevice final : public keel::BusDevice {
 public:
  explicit RecordingDevice(uint64_t id) : id_(id) {}
  void read(uint64_t offset, std::span<std::byte> data) noexcept override {
    record(offset, data.size());
    for (size_t i = 0; i < data.size(); ++i) data[i] = pattern(id_, offset, i);
  }
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override { record(offset, data.size()); }
  static std::byte pattern(uint64_t id, uint64_t offset, size_t i) {
    return std::byte(static_cast<uint8_t>(id * 37 + offset * 11 + i * 5 + 1));
  }
  uint64_t calls = 0;
  uint64_t last_offset = 0;
  size_t last_size = 0;

 private:
  void record(uint64_t offset, size_t size) {
    ++calls;
    last_offset = offset;
    last_size = size;
  }
  uint64_t id_;
};

struct Range {
  uint64_t length;
  std::shared_ptr<RecordingDevice> device;
  uint64_t id;
};

class Harness {
 public:
  // An address the fuzzer can aim: near a known range's edges, near 0 or
  // the top of the space, or anywhere.
  uint64_t pick_address(FuzzInput& op) {
    const uint8_t how = op.u8();
    const int64_t delta = static_cast<int8_t>(op.u8());
    const uint64_t any = op.u64();
    switch (how % 4) {
      case 0:
        if (!ranges_.empty()) {
          auto it = ranges_.begin();
          std::advance(it, static_cast<long>(any % ranges_.size()));
          return it->first + ((how & 4) ? it->second.length : 0) + static_cast<uint64_t>(delta);
        }
        return static_cast<uint64_t>(delta);
      case 1: return static_cast<uint64_t>(delta) & 0xFFFF;
      case 2: return ~uint64_t{0} - (static_cast<uint64_t>(delta) & 0xFF);
      default: return any;
    }
  }

  bool overlaps(uint64_t base, uint64_t last) const {
    for (const auto& [b, r] : ranges_) {
      const uint64_t l = b + (r.length - 1);
      if (b <= last && base <= l) return true;
    }
    return false;
  }

  void run(FuzzInput& op) {
    const uint8_t kind = op.u8();
    switch (kind % 4) {
      case 0: {  // insert
        const uint64_t base = pick_address(op);
        const uint8_t shape = op.u8();
        uint64_t length = (shape & 3) == 0 ? op.u8() : (shape & 3) == 1 ? op.u16() : (shape & 3) == 2 ? op.u32() : op.u64();
        const bool fits = length != 0 && base + (length - 1) >= base;
        const bool expected = fits && !overlaps(base, base + (length - 1));
        const uint64_t id = next_id_++;
        auto device = std::make_shared<RecordingDevice>(id);
        const bool ok = bus_.insert(base, length, device).has_value();
        FUZZ_CHECK(ok == expected, "insert succeeds exactly for a non-empty, in-space, non-overlapping range");
        if (ok) ranges_[base] = Range{length, device, id};
        break;
      }
      case 1: {  // remove
        uint64_t base = pick_address(op);
        if ((op.u8() & 1) && !ranges_.empty()) base = ranges_.begin()->first;
        const bool expected = ranges_.count(base) != 0;
        FUZZ_CHECK(bus_.remove(base).has_value() == expected, "remove succeeds exactly for a range's base");
        ranges_.erase(base);
        break;
      }
      default: {  // an access of any size 0..9
        const uint64_t address = pick_address(op);
        const size_t size = op.u8() % 10;
        access(address, size, kind % 4 == 2);
        break;
      }
    }
  }

  void access(uint64_t address, size_t size, bool is_read) {
    // The range that holds the whole access, if any.
    const Range* holder = nullptr;
    uint64_t holder_base = 0;
    const bool valid_size = size == 1 || size == 2 || size == 4 || size == 8;
    for (const auto& [b, r] : ranges_) {
      if (address >= b && address - b < r.length && size <= r.length - (address - b) && valid_size) {
        holder = &r;
        holder_base = b;
      }
    }
    std::array<uint64_t, 256> before{};  // at most 255 ops, so at most 255 ranges
    size_t index = 0;
    for (const auto& [b, r] : ranges_) {
      if (index < before.size()) before[index++] = r.device->calls;
    }
    std::array<std::byte, 9> bytes{};
    bytes.fill(std::byte{0x11});
    const bool hit = is_read ? bus_.read(address, std::span(bytes).first(size))
                             : bus_.write(address, std::span<const std::byte>(bytes).first(size));
    FUZZ_CHECK(hit == (holder != nullptr), "an access is claimed exactly when one range holds all of it");
    index = 0;
    for (const auto& [b, r] : ranges_) {
      if (index < before.size()) {
        const uint64_t calls = r.device->calls - before[index++];
        FUZZ_CHECK(calls == (&r == holder ? 1u : 0u), "exactly the holding device is called, once");
      }
    }
    if (holder) {
      const uint64_t offset = address - holder_base;
      FUZZ_CHECK(holder->device->last_offset == offset && holder->device->last_size == size,
                 "the device sees the offset from its base and the access size");
      FUZZ_CHECK(offset + size <= holder->length, "never beyond the device's range");
      if (is_read) {
        for (size_t i = 0; i < size; ++i) {
          FUZZ_CHECK(bytes[i] == RecordingDevice::pattern(holder->id, offset, i), "a read returns the device's bytes");
        }
      }
    } else if (is_read) {
      for (size_t i = 0; i < size; ++i) FUZZ_CHECK(bytes[i] == std::byte{0xFF}, "an unclaimed read is all-ones");
    }
  }

 private:
  keel::Bus bus_{"fuzz"};
  std::map<uint64_t, Range> ranges_;
  uint64_t next_id_ = 1;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const size_t script_ops = in.u8();
  FuzzInput script(in.bytes(script_ops * kOpBytes));

  Harness harness;
  while (!script.empty()) {
    FuzzInput op(script.bytes(kOpBytes));
    harness.run(op);
  }
  return 0;
}
