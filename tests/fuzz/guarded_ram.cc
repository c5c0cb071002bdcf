#include "tests/fuzz/guarded_ram.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace keel::fuzz {

GuardedRam::GuardedRam(uint64_t guest_base, size_t size) : guest_base_(guest_base), size_(size) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t body = (size + page - 1) / page * page;
  mapping_size_ = body + 2 * page;
  void* mapping = ::mmap(nullptr, mapping_size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED || size == 0) {
    std::fprintf(stderr, "GuardedRam: cannot map %zu bytes\n", size);
    std::abort();
  }
  mapping_ = static_cast<std::byte*>(mapping);
  if (::mprotect(mapping_ + page, body, PROT_READ | PROT_WRITE) != 0) {
    std::fprintf(stderr, "GuardedRam: mprotect failed\n");
    std::abort();
  }
  slack_ = mapping_ + page;
  slack_size_ = body - size;
  host_ = slack_ + slack_size_;
  std::fill(slack_, host_, kSlackPattern);
  memory_ = std::make_unique<GuestMemory>(std::vector<MemoryRegion>{{Gpa{guest_base}, size, host_}});
}

GuardedRam::~GuardedRam() {
  memory_.reset();
  ::munmap(mapping_, mapping_size_);
}

void GuardedRam::load(std::span<const uint8_t> image) {
  // An empty span may carry a null pointer, which memcpy must not get even
  // for zero bytes (UBSan's nonnull check).
  if (image.empty()) return;
  std::memcpy(host_, image.data(), std::min(image.size(), size_));
}

bool GuardedRam::slack_intact() const {
  return std::all_of(slack_, host_, [](std::byte b) { return b == kSlackPattern; });
}

RamShape choose_ram(FuzzInput& in, size_t max_size) {
  const size_t size = in.range(1, max_size);
  const uint64_t base = static_cast<uint64_t>(in.u8() % 4) << 16;
  return {base, size};
}

uint64_t pick_ring_address(FuzzInput& in, uint64_t base, size_t ram_size) {
  const uint8_t mode = in.u8();
  uint64_t offset = in.u16() % (ram_size + 64);
  if ((mode & 1) == 0) offset &= ~uint64_t{0xF};
  return base + offset;
}

}  // namespace keel::fuzz
