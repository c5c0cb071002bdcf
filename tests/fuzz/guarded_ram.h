// Guest RAM for fuzz targets: real host memory of any size (not only whole
// pages) at any guest base, with inaccessible guard pages on both sides, so
// a device that reads or writes past guest RAM faults at once. The end of
// RAM abuts the upper guard page; the bytes between the lower guard page
// and the start of RAM ("slack", when the size is not a page multiple) hold
// a pattern that slack_intact() checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "keel/guest_memory.h"
#include "tests/fuzz/fuzz_input.h"

namespace keel::fuzz {

class GuardedRam {
 public:
  static constexpr std::byte kSlackPattern{0x5A};

  // size >= 1. Aborts if the host cannot map it (not an input's fault).
  GuardedRam(uint64_t guest_base, size_t size);
  ~GuardedRam();
  GuardedRam(const GuardedRam&) = delete;
  GuardedRam& operator=(const GuardedRam&) = delete;

  GuestMemory& memory() { return *memory_; }
  uint64_t base() const { return guest_base_; }
  size_t size() const { return size_; }
  std::span<std::byte> bytes() { return {host_, size_}; }
  // Copies `image` to the start of RAM (truncated to the RAM size).
  void load(std::span<const uint8_t> image);
  bool slack_intact() const;

 private:
  uint64_t guest_base_;
  size_t size_;
  std::byte* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  std::byte* slack_ = nullptr;
  size_t slack_size_ = 0;
  std::byte* host_ = nullptr;
  std::unique_ptr<GuestMemory> memory_;
};

// Where a target's guest RAM lies: 1..max_size bytes at a base of 0, 64,
// 128 or 192 KiB (so guest addresses differ from offsets). Every target
// draws it first, in this order, so their seeds share a layout.
struct RamShape {
  uint64_t base;
  size_t size;
};
RamShape choose_ram(FuzzInput& in, size_t max_size);

// A device-ring address for the device targets: an offset inside RAM or up
// to 64 bytes past it, 16-byte aligned unless the input says otherwise.
uint64_t pick_ring_address(FuzzInput& in, uint64_t base, size_t ram_size);

}  // namespace keel::fuzz
