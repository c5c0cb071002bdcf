// Format detection and the public entry points. Detection order: a bzImage
// setup header ("HdrS" at 0x202); else an ELF with a PVH note; else a
// Multiboot header (ELF32 by program headers, or the a.out kludge).
#include "src/boot/boot.h"

#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/config_error.h"
#include "src/boot/bzimage_loader.h"
#include "src/boot/elf_reader.h"
#include "src/boot/image_file.h"
#include "src/boot/image_view.h"
#include "src/boot/multiboot_loader.h"
#include "src/boot/pvh_loader.h"

namespace keel::boot {
namespace {

BootEntry load_detected(GuestMemory& memory, const ImageView& image, const LoadRequest& request) {
  if (image.size() == 0) image.reject("is empty");
  if (looks_like_bzimage(image.bytes())) return load_bzimage(memory, image, request);

  std::optional<ElfImage> elf;
  if (has_elf_magic(image.bytes())) {
    elf = parse_elf(image);
    if (auto pvh_entry = find_pvh_entry(image, *elf)) return load_pvh(memory, image, *elf, *pvh_entry, request);
  }
  if (auto multiboot = find_multiboot_header(image)) {
    return load_multiboot(memory, image, *multiboot, elf ? &*elf : nullptr, request);
  }
  if (elf && elf->is_64bit) {
    image.reject("is a 64-bit ELF without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) or a Multiboot header");
  }
  if (elf) image.reject("is a 32-bit ELF without a Multiboot header or a PVH entry note");
  throw ConfigError(fmt::format("{} is not a bzImage, PVH ELF or Multiboot image", image.label()));
}

BootEntry load_checked(GuestMemory& memory, std::span<const std::byte> kernel_image, std::string label,
                       const std::optional<InputFile>& initrd, const BootConfig& config) {
  const ImageView image(kernel_image, std::move(label));
  const LoadRequest request{
      .initrd = initrd ? &*initrd : nullptr,
      .cmdline = config.cmdline,
      .cpu_count = config.cpu_count,
  };
  BootEntry entry = load_detected(memory, image, request);
  static constexpr const char* kFormatNames[] = {"Linux bzImage", "PVH ELF", "Multiboot"};
  spdlog::info("boot: {} loaded as {}, entry {:#x}", image.label(), kFormatNames[static_cast<int>(entry.format)],
               entry.rip);
  return entry;
}

std::optional<InputFile> open_initrd(const BootConfig& config) {
  if (!config.initrd) return std::nullopt;
  return std::optional<InputFile>(std::in_place, *config.initrd, "initrd");
}

}  // namespace

BootEntry load(GuestMemory& memory, const BootConfig& config) {
  const InputFile kernel_file(config.kernel, "kernel");
  const std::vector<std::byte> kernel_image = kernel_file.read_all(memory.total_size());
  const auto initrd = open_initrd(config);
  return load_checked(memory, kernel_image, kernel_file.label(), initrd, config);
}

BootEntry load_image(GuestMemory& memory, std::span<const std::byte> kernel_image, const BootConfig& config) {
  const auto initrd = open_initrd(config);
  return load_checked(memory, kernel_image, "kernel image", initrd, config);
}

ReloadableImage open_reloadable(const GuestMemory& memory, const BootConfig& config) {
  const InputFile kernel_file(config.kernel, "kernel");
  ReloadableImage image{.kernel = kernel_file.read_all(memory.total_size()), .label = kernel_file.label(),
                        .initrd = open_initrd(config)};
  return image;
}

ReloadableImage open_reloadable(std::span<const std::byte> kernel_image, const BootConfig& config) {
  return ReloadableImage{.kernel = std::vector<std::byte>(kernel_image.begin(), kernel_image.end()),
                         .label = "kernel image", .initrd = open_initrd(config)};
}

BootEntry load_reloadable(GuestMemory& memory, const ReloadableImage& image, const BootConfig& config) {
  return load_checked(memory, image.kernel, image.label, image.initrd, config);
}

}  // namespace keel::boot
