#include "src/boot/image_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::boot {

std::string file_label(std::string_view role, const std::filesystem::path& path) {
  return fmt::format("{} '{}'", role, path.string());
}

std::string describe_size(uint64_t bytes) {
  constexpr uint64_t kKiB = 1024;
  constexpr uint64_t kMiB = 1024 * kKiB;
  if (bytes >= kMiB) return fmt::format("{} MiB", (bytes + kMiB - 1) / kMiB);
  if (bytes >= kKiB) return fmt::format("{} KiB", (bytes + kKiB - 1) / kKiB);
  return fmt::format("{} bytes", bytes);
}

InputFile::InputFile(const std::filesystem::path& path, std::string_view role)
    : path_(path), role_(role), label_(file_label(role, path)) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw ConfigError(fmt::format("cannot open {}: {}", label_, std::strerror(errno)));
  }
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    const int error = errno;
    ::close(fd_);
    throw ConfigError(fmt::format("cannot read {}: {}", label_, std::strerror(error)));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd_);
    const char* why = S_ISDIR(info.st_mode) ? std::strerror(EISDIR) : "not a regular file";
    throw ConfigError(fmt::format("cannot read {}: {}", label_, why));
  }
  if (info.st_size <= 0) {
    ::close(fd_);
    throw ConfigError(fmt::format("{} is empty", label_));
  }
  size_ = static_cast<uint64_t>(info.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

InputFile::InputFile(InputFile&& other) noexcept
    : path_(std::move(other.path_)),
      role_(std::move(other.role_)),
      label_(std::move(other.label_)),
      fd_(other.fd_),
      size_(other.size_) {
  other.fd_ = -1;
}

void InputFile::read_into(std::span<std::byte> out) const {
  if (out.size() != size_) {
    throw ConfigError(fmt::format("internal error reading {}: buffer of {} bytes for {} bytes", label_,
                                  out.size(), size_));
  }
  uint64_t done = 0;
  while (done < size_) {
    const ssize_t got = ::pread(fd_, out.data() + done, size_ - done, static_cast<off_t>(done));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw ConfigError(fmt::format("cannot read {}: {}", label_, std::strerror(errno)));
    }
    if (got == 0) {
      throw ConfigError(fmt::format("cannot read {}: file shrank to {} bytes while being read", label_, done));
    }
    done += static_cast<uint64_t>(got);
  }
}

std::vector<std::byte> InputFile::read_all(uint64_t max_size) const {
  if (size_ > max_size) {
    throw ConfigError(fmt::format("{} ({}) is larger than guest RAM ({})", label_, describe_size(size_),
                                  describe_size(max_size)));
  }
  std::vector<std::byte> bytes(size_);
  read_into(bytes);
  return bytes;
}

}  // namespace keel::boot
