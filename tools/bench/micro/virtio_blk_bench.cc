// virtio_blk_bench: keel's own cost per virtio-blk request, without KVM or
// an emulated guest. A fake driver (tests/unit/virtio/blk/fake_driver.h) lays
// out a real split virtqueue in host memory posing as guest RAM; a real
// Virtqueue and a real VirtioBlk serve it, on the io_uring backend over a
// file in the temp directory or on a null backend that completes every request
// at once (the device model alone: parsing, bookkeeping, used ring, no I/O).
//
// One iteration: the driver makes `depth` 4 KiB requests available, rings
// the doorbell (VirtioBlk::queue_notified under the context lock, as the
// transport would), then plays the event loop: poll(2) on the backend's
// eventfd, run the completion handler, until every request is in the used
// ring. At depth 1 the time per request is the doorbell -> used-ring round
// trip. Interrupt delivery (an eventfd write into KVM) is not included:
// the fake context only counts signal_used() calls.
//
// Usage: virtio_blk_bench [--requests N] [--runs R] [--dir DIR]
// Prints one table; medians of R runs. The image's file system matters:
// io_uring completes a page-cache read on ext4 inline, but hands reads on
// tmpfs and writes on ext4 to a worker thread, so --dir /dev/shm and the
// default (usually ext4 /tmp) give different io_uring rows.
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/statfs.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "keel/config_error.h"
#include "tests/support/fake_interrupts.h"
#include "tests/support/fakes.h"
#include "tests/unit/virtio/blk/fake_driver.h"
#include "tests/unit/virtio/blk/immediate_backend.h"
#include "virtio/blk/blk_spec.h"
#include "virtio/core/virtio_spec.h"
#include "virtio/blk/disk_image.h"
#include "virtio/blk/uring_backend.h"
#include "virtio/blk/virtio_blk.h"

namespace {

using keel::virtio::Virtqueue;
using keel::virtio::blk::BackendCompletion;
using keel::virtio::blk::BlkOptions;
using keel::virtio::blk::BlockBackend;
using keel::virtio::blk::DiskImage;
using keel::virtio::blk::RequestHeader;
using keel::virtio::blk::UringBackend;
using keel::virtio::blk::VirtioBlk;
using keel::virtio::blk::testing::DriverBuffer;
using keel::virtio::blk::testing::FakeContext;
using keel::virtio::blk::testing::FakeDriver;
// Completes every operation at once with full success: what is left is the
// device model's own work plus one eventfd write/read per batch.
using keel::virtio::blk::testing::ImmediateBackend;
namespace request_type = keel::virtio::blk::request_type;
namespace blk_status = keel::virtio::blk::status;

constexpr uint64_t kDiskBytes = 64ull << 20;
constexpr uint32_t kBlock = 4096;
constexpr uint16_t kQueueSize = 256;
constexpr uint64_t kGuestBytes = 4ull << 20;  // rings + 32 request slots
constexpr int kPollTimeoutMs = 5000;

// A disk image file filled with non-zero data (so reads copy real pages),
// removed at exit.
class ImageFile {
 public:
  explicit ImageFile(const std::string& directory) : path_(directory + "/keel-blk-bench-XXXXXX") {
    int fd = mkstemp(path_.data());
    if (fd < 0) throw std::runtime_error("mkstemp in " + directory + ": " + std::strerror(errno));
    std::vector<char> chunk(1 << 20);
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 7 + 1);
    for (uint64_t at = 0; at < kDiskBytes; at += chunk.size()) {
      if (pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(chunk.size())) {
        ::close(fd);
        ::unlink(path_.c_str());
        throw std::runtime_error("writing " + path_ + " failed");
      }
    }
    ::close(fd);
  }
  ~ImageFile() { ::unlink(path_.c_str()); }
  ImageFile(const ImageFile&) = delete;
  ImageFile& operator=(const ImageFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Slot {
  uint64_t header;
  uint64_t data;
  uint64_t status;
};

// One device with its queue, its fake driver and its request slots.
class Rig {
 public:
  Rig(std::unique_ptr<BlockBackend> backend, uint32_t max_depth) {
    event_fd_ = backend->event_fd();
    // VERSION_1 + FLUSH, as Linux and the end-to-end guest negotiate: writes
    // are write-back (without FLUSH keel writes through, RWF_DSYNC).
    context_.emplace(guest_.memory(), keel::virtio::feature::kVersion1 | keel::virtio::blk::feature::kFlush);
    auto created = Virtqueue::create(guest_.memory(), driver_.config(), {}, kQueueSize);
    if (!created) throw std::runtime_error("Virtqueue::create failed");
    queue_.emplace(std::move(*created));
    context_->set_queue(&*queue_);
    device_ = std::make_shared<VirtioBlk>(std::move(backend),
                                          BlkOptions{kDiskBytes / 512, false, "keel-bench"}, poller_);
    {
      std::lock_guard guard(context_->lock());
      if (!device_->activate(*context_)) throw std::runtime_error("VirtioBlk::activate refused");
    }
    for (uint32_t i = 0; i < max_depth; ++i)
      slots_.push_back({driver_.alloc(sizeof(RequestHeader)), driver_.alloc(kBlock), driver_.alloc(1)});
  }
  ~Rig() { device_.reset(); }  // before the poller and the queue it uses
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // `requests` requests of `type`, `depth` at a time; returns seconds.
  double run(uint32_t type, uint32_t depth, uint32_t requests) {
    auto start = std::chrono::steady_clock::now();
    for (uint32_t done = 0; done < requests; done += depth) batch(type, depth, done);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  void batch(uint32_t type, uint32_t depth, uint32_t first) {
    for (uint32_t i = 0; i < depth; ++i) {
      const Slot& slot = slots_[i];
      // Knuth's multiplicative hash spreads the blocks over the disk.
      uint64_t block = (static_cast<uint64_t>(first + i) * 2654435761u) % (kDiskBytes / kBlock);
      RequestHeader header{type, 0, block * (kBlock / 512)};
      std::memcpy(driver_.host(slot.header), &header, sizeof(header));
      *driver_.host(slot.status) = std::byte{0xFF};
      driver_.add_chain({{slot.header, sizeof(header), false},
                         {slot.data, kBlock, type == request_type::kIn},
                         {slot.status, 1, true}},
                        false);
    }
    driver_.publish();
    {
      std::lock_guard guard(context_->lock());
      device_->queue_notified(0);
    }
    target_ += static_cast<uint16_t>(depth);
    while (driver_.used_idx() != target_) {
      pollfd ready{event_fd_, POLLIN, 0};
      if (::poll(&ready, 1, kPollTimeoutMs) <= 0) throw std::runtime_error("no completion within 5 s");
      poller_.fire(event_fd_);
    }
    for (uint32_t i = 0; i < depth; ++i) {
      if (!driver_.next_used()) throw std::runtime_error("used ring shorter than used.idx");
      if (static_cast<uint8_t>(*driver_.host(slots_[i].status)) != blk_status::kOk)
        throw std::runtime_error("a request did not complete with status OK");
    }
  }

  keel::testing::TestGuestMemory guest_{kGuestBytes};
  FakeDriver driver_{guest_, kQueueSize};
  keel::testing::FakeFdPoller poller_;
  std::optional<FakeContext> context_;
  std::optional<Virtqueue> queue_;
  std::shared_ptr<VirtioBlk> device_;
  std::vector<Slot> slots_;
  int event_fd_ = -1;
  uint16_t target_ = 0;
};

struct Options {
  uint32_t requests = 20000;
  int runs = 3;
  std::string dir;
};

Options parse(int argc, char** argv) {
  Options options;
  const char* temp = std::getenv("TMPDIR");
  options.dir = temp != nullptr && *temp != '\0' ? temp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--requests" && has_value) {
      options.requests = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (arg == "--runs" && has_value) {
      options.runs = std::atoi(argv[++i]);
    } else if (arg == "--dir" && has_value) {
      options.dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--requests N] [--runs R] [--dir DIR]\n", argv[0]);
      std::exit(2);
    }
  }
  // Whole batches of 32, at least one.
  options.requests = std::max<uint32_t>(32, options.requests / 32 * 32);
  options.runs = std::max(1, options.runs);
  return options;
}

const char* file_system(const std::string& path) {
  struct statfs info {};
  if (statfs(path.c_str(), &info) != 0) return "?";
  switch (info.f_type) {
    case TMPFS_MAGIC: return "tmpfs";
    case EXT4_SUPER_MAGIC: return "ext4";  // also ext2/ext3: one magic
    case XFS_SUPER_MAGIC: return "xfs";
    case BTRFS_SUPER_MAGIC: return "btrfs";
    default: return "other";
  }
}

struct Row {
  const char* backend;
  const char* op;
  uint32_t depth;
  double seconds;  // median
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  std::vector<Row> rows;
  try {
    ImageFile image(options.dir);
    for (const char* backend : {"io_uring", "null"}) {
      auto make_backend = [&]() -> std::unique_ptr<BlockBackend> {
        if (std::strcmp(backend, "null") == 0) return std::make_unique<ImmediateBackend>();
        return UringBackend::create(DiskImage::open({image.path(), false, false, ""}), kQueueSize);
      };
      Rig rig(make_backend(), 32);
      rig.run(request_type::kIn, 1, 1000);  // warm up: page cache, allocator, branch predictors
      for (uint32_t type : {request_type::kIn, request_type::kOut}) {
        for (uint32_t depth : {1u, 32u}) {
          std::vector<double> times;
          for (int run = 0; run < options.runs; ++run) times.push_back(rig.run(type, depth, options.requests));
          std::sort(times.begin(), times.end());
          rows.push_back({backend, type == request_type::kIn ? "read" : "write", depth, times[times.size() / 2]});
        }
      }
    }
  } catch (const keel::ConfigError& error) {
    std::printf("SKIPPED: %s\n", error.what());
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "virtio_blk_bench: %s\n", error.what());
    return 1;
  }
  std::printf("virtio-blk in-process request path (no KVM, no guest): 4 KiB requests, %u per run, median of %d, "
              "image in %s (%s)\n",
              options.requests, options.runs, options.dir.c_str(), file_system(options.dir));
  std::printf("%-9s %-6s %6s %10s %12s %11s %9s\n", "backend", "op", "depth", "median s", "requests/s", "us/request",
              "MiB/s");
  for (const Row& row : rows) {
    double rate = options.requests / row.seconds;
    std::printf("%-9s %-6s %6u %10.4f %12.0f %11.2f %9.1f\n", row.backend, row.op, row.depth, row.seconds, rate,
                row.seconds / options.requests * 1e6, rate * kBlock / (1 << 20));
  }
  return 0;
}
