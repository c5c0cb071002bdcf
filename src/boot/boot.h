// What the boot layer gives the machine builder: guest memory filled with a
// kernel, its boot data and the firmware tables, and the register state the
// boot vCPU starts with. Everything here works on GuestMemory only (no KVM),
// so it is unit-tested without /dev/kvm.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keel/guest_memory.h"
#include "src/boot/image_file.h"

namespace keel::boot {

enum class KernelFormat { linux_bzimage, elf_pvh, multiboot };

// How the boot vCPU enters the kernel. The loader also writes, in guest
// memory, the GDT (flat code selector 0x10, data selector 0x18) and for
// long_mode_64 the identity page tables (2 MiB pages only: 1 GiB pages fault
// on PVM hosts).
enum class EntryMode { protected_mode_32, long_mode_64 };

struct BootEntry {
  KernelFormat format;
  EntryMode mode;
  uint64_t rip = 0;
  uint64_t rsp = 0;
  uint64_t rsi = 0;  // Linux 64-bit protocol: boot_params
  uint64_t rax = 0;  // Multiboot: 0x2BADB002
  uint64_t rbx = 0;  // Multiboot: info block; PVH: hvm_start_info
  uint64_t gdt_base = 0;
  uint16_t gdt_limit = 0;
  uint64_t cr3 = 0;  // long_mode_64 only
  uint64_t facs_address = 0;  // where the firmware tables put the FACS (ACPI S3 wake); 0: none
  static constexpr uint16_t kCodeSelector = 0x10;
  static constexpr uint16_t kDataSelector = 0x18;
};

struct BootConfig {
  std::filesystem::path kernel;
  std::optional<std::filesystem::path> initrd;
  std::string cmdline;
  uint32_t cpu_count = 1;
};

// Detects the format (bzImage setup header, ELF with a Xen PVH note, ELF or
// a.out-kludge image with a Multiboot v1 header in its first 8 KiB, in that
// order of preference), loads the kernel and initrd, writes boot_params /
// hvm_start_info / multiboot info with an E820 map matching `memory`, the
// command line, ACPI tables (RSDP, XSDT, MADT, FADT, DSDT) and an MP table.
// Throws ConfigError with a one-line message for a malformed image, an
// unreadable file, an initrd that does not fit or overlaps the kernel, etc.
BootEntry load(GuestMemory& memory, const BootConfig& config);

// Same, for a kernel image already in memory (the embedded default guest).
BootEntry load_image(GuestMemory& memory, std::span<const std::byte> kernel_image,
                     const BootConfig& config);

// A boot image kept for the VM's lifetime so a machine reset can load it
// again without opening files (the thread serving QMP may not, under
// --seccomp / --chroot): the kernel bytes in memory (as QEMU keeps its
// kernel and initrd blobs for reset) and the initrd open, read again with
// pread.
struct ReloadableImage {
  std::vector<std::byte> kernel;
  std::string label;  // how messages name the kernel ("kernel '/x'")
  std::optional<InputFile> initrd;
};

// Reads `config.kernel` (at most the size of `memory`) and opens the
// initrd. Throws ConfigError as load() does.
ReloadableImage open_reloadable(const GuestMemory& memory, const BootConfig& config);
// The same for the embedded default guest image.
ReloadableImage open_reloadable(std::span<const std::byte> kernel_image, const BootConfig& config);
// load() from a ReloadableImage: at start-up and on every machine reset.
// Throws ConfigError as load() does.
BootEntry load_reloadable(GuestMemory& memory, const ReloadableImage& image, const BootConfig& config);

}  // namespace keel::boot
