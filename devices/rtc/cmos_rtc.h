// MC146818 CMOS RTC and NVRAM at ports 0x70 (index, bit 7 = NMI disable) and
// 0x71 (data); IRQ 8. Time follows the host clock (UTC); binary/BCD and
// 12/24-hour modes, update-in-progress, periodic, alarm and update-ended
// interrupts, register C cleared on read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>

#include "keel/bus_device.h"
#include "keel/clock.h"
#include "keel/irq_line.h"
#include "keel/resettable.h"

namespace keel::devices {

class CmosRtc final : public BusDevice, public Resettable {
 public:
  static constexpr uint16_t kBasePort = 0x70;
  static constexpr uint64_t kPortCount = 2;
  static constexpr uint32_t kIrq = 8;

  CmosRtc(std::shared_ptr<IrqLine> irq, const Clock& clock, TimerFactory& timers);
  ~CmosRtc() override;

  // Fill the NVRAM bytes BIOSes and Linux read for memory size: 0x15/0x16
  // base memory (640 KiB), 0x17/0x18 and 0x30/0x31 extended memory in KiB
  // above 1 MiB (capped at 0xFFFF), 0x34/0x35 memory above 16 MiB in 64 KiB
  // units, 0x5b-0x5d memory above 4 GiB in 64 KiB units (as SeaBIOS/QEMU).
  void set_memory_size(uint64_t low_ram_bytes, uint64_t high_ram_bytes) noexcept;

  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;
  // The chip's RESET pin (MC146818A datasheet): PIE, AIE, UIE and SQWE in
  // register B and IRQF, PF, AF and UF in register C clear, IRQ 8 low. The
  // time keeps running and the rest of register A/B, the alarm and the
  // NVRAM are kept, as QEMU does on a machine reset.
  void reset() noexcept override;

  // Called when the alarm interrupt fires (AF with AIE raises IRQ 8): an
  // ACPI S3 machine wakes on it (QEMU's RTC asks for a wake-up there). It
  // runs with the RTC's lock held, on whichever thread noticed the alarm
  // (the loop's timer or a guest access): it must not block or call back
  // into the RTC. Start-up only, before the guest runs.
  void set_alarm_listener(std::function<void()> listener);

 private:
  struct State;
  std::shared_ptr<IrqLine> irq_;
  const Clock& clock_;
  std::mutex lock_;
  std::unique_ptr<State> state_;
  std::unique_ptr<Timer> timer_;
};

}  // namespace keel::devices
