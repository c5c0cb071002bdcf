// The replaced global operator new/delete behind AllocationCounter. The
// array, nothrow, sized and aligned forms of libstdc++ forward to these two
// (aligned new uses aligned_alloc and its delete free, which stays matched).
#include "tests/support/allocation_counter.h"

#include <cstdlib>
#include <new>

namespace {

thread_local bool counting = false;
thread_local uint64_t allocations = 0;

}  // namespace

void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (size == 0) size = 1;
  if (void* memory = std::malloc(size)) return memory;
  throw std::bad_alloc();
}

void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }

namespace keel::testing {

AllocationCounter::AllocationCounter() noexcept : start_(allocations), outer_(!counting) { counting = true; }

AllocationCounter::~AllocationCounter() {
  if (outer_) counting = false;
}

uint64_t AllocationCounter::count() const noexcept { return allocations - start_; }

}  // namespace keel::testing
