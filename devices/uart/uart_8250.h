// 8250/16550A UART (COM1 at 0x3f8, IRQ 4). Registers per the National
// Semiconductor PC16550D datasheet: RBR/THR, IER, IIR/FCR, LCR, MCR, LSR,
// MSR, SCR and the divisor latch (DLAB), 16-byte FIFOs, loopback mode.
// Behaviour choices (instant transmit, immediate character timeout, OUT2
// gating the IRQ, byte-wise wide accesses) are explained in uart_8250.cc and
// devices/uart/README.md.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include "keel/bus_device.h"
#include "keel/char_io.h"
#include "keel/irq_line.h"
#include "keel/resettable.h"

namespace keel::devices {

class Uart8250 final : public BusDevice, public CharReceiver, public Resettable {
 public:
  static constexpr uint16_t kCom1Port = 0x3f8;
  static constexpr uint64_t kPortCount = 8;
  static constexpr uint32_t kCom1Irq = 4;

  // Throws ConfigError if `irq` or `output` is null.
  Uart8250(std::shared_ptr<IrqLine> irq, std::shared_ptr<CharSink> output);

  void read(uint64_t offset, std::span<std::byte> data) noexcept override;
  void write(uint64_t offset, std::span<const std::byte> data) noexcept override;

  // Host input (console backend). Bytes wait in a bounded host-side buffer
  // (kHostInputLimit) and move into the 16-byte RX FIFO as the guest reads;
  // beyond the limit they are dropped and counted.
  void receive(std::span<const std::byte> bytes) noexcept override;
  // Master reset (the MR pin): every register, both FIFOs and the host
  // bytes not yet in the RX FIFO as at construction, IRQ low. The count of
  // dropped host input is kept (it is keel's statistic, not the chip's).
  void reset() noexcept override;
  static constexpr size_t kHostInputLimit = 4096;

  // Host input bytes dropped so far because the host-side buffer was full.
  uint64_t dropped_input_bytes() const noexcept;

 private:
  // Implementation detail: defined in uart_8250.cc.
  struct State;
  std::shared_ptr<IrqLine> irq_;
  std::shared_ptr<CharSink> output_;
  mutable std::mutex lock_;
  std::unique_ptr<State> state_;

 public:
  ~Uart8250() override;
};

}  // namespace keel::devices
