// Where a --junit / --result-json report goes: its directory is opened
// (O_PATH) when the boot test is set up, and the report is written through
// that descriptor when the VM ends. So the report lands where the command
// line named it even after keel has entered a --chroot jail, and a report
// is never half-written: it goes to a temporary name in the same directory
// first and is renamed over the target.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace keel::harness {

class ReportFile {
 public:
  // Opens `path`'s parent directory ("." for a bare name). Throws
  // keel::ConfigError naming `flag` and the path when it cannot.
  ReportFile(std::string_view flag, const std::filesystem::path& path);
  ~ReportFile();
  ReportFile(const ReportFile&) = delete;
  ReportFile& operator=(const ReportFile&) = delete;

  // Writes `text` as the whole report, replacing an existing file (a
  // symlink at the path is replaced, not followed). Throws
  // std::runtime_error naming the flag, the path and the system error.
  void write(std::string_view text) const;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::string flag_;
  std::filesystem::path path_;
  std::string name_;       // the file name inside the directory
  std::string temp_name_;  // ".NAME.keel-tmp", renamed to name_ once complete
  int dir_fd_ = -1;
};

}  // namespace keel::harness
