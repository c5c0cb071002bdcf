// Reading the kernel and initrd files, with one-line ConfigError messages
// that name the file ("cannot open kernel '/x': No such file or directory").
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keel::boot {

// "kernel '/x'": how messages name a file in `role`.
std::string file_label(std::string_view role, const std::filesystem::path& path);

// "300 MiB", "12 KiB", "17 bytes".
std::string describe_size(uint64_t bytes);

// An open, regular, non-empty file. Move-only; closes its descriptor.
class InputFile {
 public:
  // Throws ConfigError when the file cannot be opened, is not a regular file
  // or is empty.
  InputFile(const std::filesystem::path& path, std::string_view role);
  ~InputFile();
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const noexcept { return size_; }
  const std::string& label() const noexcept { return label_; }
  const std::filesystem::path& path() const noexcept { return path_; }

  // Reads the whole file into `out` (exactly size() bytes), e.g. straight
  // into guest RAM. Throws ConfigError on a read error or a short file.
  void read_into(std::span<std::byte> out) const;
  // Reads the whole file into a new buffer. Throws ConfigError when the file
  // is larger than `max_size` (checked before anything is allocated).
  std::vector<std::byte> read_all(uint64_t max_size) const;

 private:
  std::filesystem::path path_;
  std::string role_;
  std::string label_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace keel::boot
