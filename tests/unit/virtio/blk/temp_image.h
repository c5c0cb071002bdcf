// A temporary disk image file for tests, deleted at the end of the test.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace keel::virtio::blk::testing {

class TempImage {
 public:
  // In $TMPDIR (or /tmp), or in `directory` when given.
  explicit TempImage(uint64_t size, const char* directory = nullptr) {
    const char* dir = directory != nullptr ? directory : std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/keel-blk-test-XXXXXX";
    int fd = mkstemp(path_.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      ::close(fd);
      throw std::runtime_error("ftruncate failed");
    }
    ::close(fd);
  }
  ~TempImage() { ::unlink(path_.c_str()); }
  TempImage(const TempImage&) = delete;
  TempImage& operator=(const TempImage&) = delete;

  const std::string& path() const { return path_; }

  std::vector<uint8_t> read(uint64_t offset, size_t length) const {
    std::vector<uint8_t> bytes(length);
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    ssize_t got = pread(fd, bytes.data(), length, static_cast<off_t>(offset));
    ::close(fd);
    if (got != static_cast<ssize_t>(length)) throw std::runtime_error("pread failed");
    return bytes;
  }
  void write(uint64_t offset, const std::vector<uint8_t>& bytes) const {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    ssize_t put = pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    ::close(fd);
    if (put != static_cast<ssize_t>(bytes.size())) throw std::runtime_error("pwrite failed");
  }

 private:
  std::string path_;
};

}  // namespace keel::virtio::blk::testing
