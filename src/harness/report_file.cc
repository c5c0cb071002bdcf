#include "src/harness/report_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "keel/config_error.h"

namespace keel::harness {
namespace {

std::string errno_text(int error) { return std::generic_category().message(error); }

}  // namespace

ReportFile::ReportFile(std::string_view flag, const std::filesystem::path& path)
    : flag_(flag), path_(path), name_(path.filename().string()), temp_name_("." + name_ + ".keel-tmp") {
  if (name_.empty() || name_ == "." || name_ == "..") {
    throw ConfigError(fmt::format("{} '{}': not a file name", flag, path.string()));
  }
  const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : ".";
  dir_fd_ = ::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) {
    throw ConfigError(fmt::format("{} '{}': cannot open directory '{}': {}", flag, path.string(), parent.string(),
                                  errno_text(errno)));
  }
}

ReportFile::~ReportFile() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void ReportFile::write(std::string_view text) const {
  const auto fail = [&](std::string_view what, int error) {
    return std::runtime_error(
        fmt::format("cannot write {} file '{}': {}: {}", flag_, path_.string(), what, errno_text(error)));
  };
  // O_NOFOLLOW: a symlink someone placed at the temporary name must not
  // redirect keel's write.
  const int fd = ::openat(dir_fd_, temp_name_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) throw fail("create", errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
      throw fail("write", error);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
    throw fail("close", error);
  }
  if (::renameat(dir_fd_, temp_name_.c_str(), dir_fd_, name_.c_str()) != 0) {
    const int error = errno;
    ::unlinkat(dir_fd_, temp_name_.c_str(), 0);
    throw fail("rename", error);
  }
}

}  // namespace keel::harness
