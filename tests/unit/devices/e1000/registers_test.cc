// Register file: PCI identity, EEPROM (EERD and bit-banged EECD), PHY via
// MDIC, interrupt cause/mask and the INTx level, statistics, CTRL.RST,
// unknown registers and the I/O window.
#include <chrono>

#include "tests/unit/devices/e1000/e1000_test_support.h"

namespace keel::devices::e1000::test {
namespace {

TEST_F(E1000Test, PciIdentityAndBars) {
  uint32_t id = 0;
  device_->config_read(0, std::as_writable_bytes(std::span(&id, 1)));
  EXPECT_EQ(id, 0x100E8086u);
  uint32_t klass = 0;
  device_->config_read(8, std::as_writable_bytes(std::span(&klass, 1)));
  EXPECT_EQ(klass >> 8, 0x020000u);
  uint8_t pin = 0;
  device_->config_read(0x3D, std::as_writable_bytes(std::span(&pin, 1)));
  EXPECT_EQ(pin, 1);
  const auto bars = device_->bar_layout();
  EXPECT_EQ(bars[0].kind, PciBarKind::memory32);
  EXPECT_EQ(bars[0].size, 128u * 1024);
  EXPECT_EQ(bars[1].kind, PciBarKind::io);
  EXPECT_TRUE(backend_->offloads_set);
  EXPECT_EQ(backend_->guest_offloads, net::Offloads{});
}


class E1000Eeprom : public E1000Test {
 protected:
  uint16_t eerd(uint16_t index) {
    write(reg::kEerd, eerd::kStart | uint32_t{index} << eerd::kAddrShift);
    const uint32_t value = read(reg::kEerd);
    EXPECT_TRUE(value & eerd::kDone);
    return static_cast<uint16_t>(value >> eerd::kDataShift);
  }
  // Linux's Microwire read: request, CS, opcode 110, 6 address bits, 16
  // data bits clocked in on rising SK, standby.
  uint16_t microwire(uint16_t index) {
    uint32_t eecd_value = read(reg::kEecd);
    write(reg::kEecd, eecd_value | eecd::kReq);
    EXPECT_TRUE(read(reg::kEecd) & eecd::kGnt);
    eecd_value = (read(reg::kEecd) & ~(eecd::kSk | eecd::kDi)) | eecd::kReq;
    write(reg::kEecd, eecd_value | eecd::kCs);
    eecd_value |= eecd::kCs;
    auto shift_out = [&](uint32_t bits, int count) {
      for (int i = count - 1; i >= 0; --i) {
        eecd_value = (bits >> i & 1) ? eecd_value | eecd::kDi : eecd_value & ~eecd::kDi;
        write(reg::kEecd, eecd_value);
        write(reg::kEecd, eecd_value | eecd::kSk);
        write(reg::kEecd, eecd_value);
      }
      eecd_value &= ~eecd::kDi;
      write(reg::kEecd, eecd_value);
    };
    shift_out(0b110, 3);
    shift_out(index, 6);
    uint16_t data = 0;
    for (int i = 0; i < 16; ++i) {
      write(reg::kEecd, eecd_value | eecd::kSk);
      data = static_cast<uint16_t>(data << 1 | ((read(reg::kEecd) & eecd::kDo) ? 1 : 0));
      write(reg::kEecd, eecd_value);
    }
    write(reg::kEecd, eecd_value & ~eecd::kCs);  // standby / release
    write(reg::kEecd, 0);
    return data;
  }
};

TEST_F(E1000Eeprom, EerdHoldsMacAndValidChecksum) {
  EXPECT_EQ(eerd(0), 0x5452);
  EXPECT_EQ(eerd(1), 0x1200);
  EXPECT_EQ(eerd(2), 0x5634);
  uint16_t sum = 0;
  for (uint16_t i = 0; i < 64; ++i) sum = static_cast<uint16_t>(sum + eerd(i));
  EXPECT_EQ(sum, 0xBABA);
  EXPECT_EQ(eerd(0x0D), 0x100E);  // device id
  EXPECT_EQ(eerd(0x0E), 0x8086);  // vendor id
}

TEST_F(E1000Eeprom, MicrowireBitBangReadsTheSameWords) {
  EXPECT_TRUE(read(reg::kEecd) & eecd::kPres);
  uint16_t sum = 0;
  for (uint16_t i = 0; i < 64; ++i) {
    const uint16_t word = microwire(i);
    EXPECT_EQ(word, eerd(i)) << "word " << i;
    sum = static_cast<uint16_t>(sum + word);
  }
  EXPECT_EQ(sum, 0xBABA);
}


class E1000Phy : public E1000Test {
 protected:
  uint32_t mdic(uint32_t op, uint8_t phy, uint8_t regnum, uint16_t data = 0) {
    write(reg::kMdic, op | uint32_t{phy} << mdic::kPhyShift | uint32_t{regnum} << mdic::kRegShift | data);
    const uint32_t value = read(reg::kMdic);
    EXPECT_TRUE(value & mdic::kReady);
    return value;
  }
};

TEST_F(E1000Phy, ReportsM88LinkUpAndAutonegComplete) {
  EXPECT_EQ(mdic(mdic::kOpRead, 1, 2) & 0xFFFF, 0x0141u);
  EXPECT_EQ(mdic(mdic::kOpRead, 1, 3) & 0xFFF0, 0x0C20u);
  const uint32_t status = mdic(mdic::kOpRead, 1, 1);
  EXPECT_FALSE(status & mdic::kError);
  EXPECT_TRUE(status & 0x0004) << "link";
  EXPECT_TRUE(status & 0x0020) << "autoneg complete";
  EXPECT_EQ(mdic(mdic::kOpRead, 1, 5) & 0xFFFF, 0x45E1u);
  EXPECT_TRUE(mdic(mdic::kOpRead, 1, 10) & 0x0800) << "partner 1000FD";
  // Writable register keeps what was written; reset self-clears.
  mdic(mdic::kOpWrite, 1, 4, 0x01E1);
  EXPECT_EQ(mdic(mdic::kOpRead, 1, 4) & 0xFFFF, 0x01E1u);
  mdic(mdic::kOpWrite, 1, 0, 0x9140);
  EXPECT_EQ(mdic(mdic::kOpRead, 1, 0) & 0x8000, 0u);
  // Another PHY address is an error.
  EXPECT_TRUE(mdic(mdic::kOpRead, 2, 1) & mdic::kError);
}

TEST_F(E1000Phy, MdicInterruptRaisesMdac) {
  write(reg::kIms, irq::kMdac);
  mdic(mdic::kOpRead | mdic::kInterrupt, 1, 1);
  EXPECT_TRUE(line_->level());
  EXPECT_EQ(read(reg::kIcr), irq::kMdac);
  EXPECT_FALSE(line_->level());
}

TEST_F(E1000Test, StatusReportsLinkUpGigabitFullDuplex) {
  const uint32_t s = read(reg::kStatus);
  EXPECT_TRUE(s & status::kLu);
  EXPECT_TRUE(s & status::kFd);
  EXPECT_EQ(s & (3u << 6), status::kSpeed1000);
}

TEST_F(E1000Test, InterruptCauseMaskClearOnReadAndLevel) {
  write(reg::kIcs, irq::kLsc | irq::kRxt0);
  EXPECT_FALSE(line_->level()) << "masked";
  EXPECT_FALSE(device_->intx_asserted());
  write(reg::kIms, irq::kRxt0);
  EXPECT_EQ(read(reg::kIms), irq::kRxt0);
  EXPECT_TRUE(line_->level());
  write(reg::kImc, irq::kRxt0);
  EXPECT_FALSE(line_->level());
  EXPECT_EQ(read(reg::kIms), 0u);
  write(reg::kIms, irq::kLsc);
  EXPECT_TRUE(line_->level());
  // Write-1-to-clear of one cause keeps the other.
  write(reg::kIcr, irq::kRxt0);
  EXPECT_TRUE(line_->level());
  EXPECT_EQ(read(reg::kIcr), irq::kLsc);
  EXPECT_FALSE(line_->level());
  EXPECT_EQ(read(reg::kIcr), 0u) << "cleared by the read";
  // Interrupt Disable in the PCI command register lowers the pin.
  write(reg::kIcs, irq::kLsc);
  EXPECT_TRUE(line_->level());
  const uint16_t command = pci_reg::kCommandIntxDisable | pci_reg::kCommandMemory;
  device_->config_write(pci_reg::kCommand, std::as_bytes(std::span(&command, 1)));
  EXPECT_FALSE(line_->level());
  EXPECT_TRUE(device_->intx_asserted());
}

TEST_F(E1000Test, ItrThrottlesTheRisingEdge) {
  using namespace std::chrono_literals;
  write(reg::kItr, 1000);  // 256 us between interrupts
  EXPECT_EQ(read(reg::kItr), 1000u);
  write(reg::kIms, irq::kRxt0);
  clock_.advance(1ms);
  write(reg::kIcs, irq::kRxt0);
  EXPECT_TRUE(line_->level()) << "the first interrupt is not held back";
  EXPECT_EQ(read(reg::kIcr), irq::kRxt0);
  EXPECT_FALSE(line_->level()) << "lowering is never delayed";
  clock_.advance(100us);
  write(reg::kIcs, irq::kRxt0);
  EXPECT_FALSE(line_->level()) << "too soon";
  clock_.advance(150us);
  EXPECT_FALSE(line_->level());
  clock_.advance(10us);
  EXPECT_TRUE(line_->level()) << "released at 256 us";
  EXPECT_EQ(read(reg::kIcr), irq::kRxt0);
  // A cause that is cleared while held back never raises the line.
  clock_.advance(10us);
  write(reg::kIcs, irq::kRxt0);
  EXPECT_EQ(read(reg::kIcr), irq::kRxt0);
  clock_.advance(1ms);
  EXPECT_FALSE(line_->level());
  // ITR 0: no throttling.
  write(reg::kItr, 0);
  write(reg::kIcs, irq::kRxt0);
  EXPECT_TRUE(line_->level());
  EXPECT_EQ(read(reg::kIcr), irq::kRxt0);
  write(reg::kIcs, irq::kRxt0);
  EXPECT_TRUE(line_->level());
}

TEST_F(E1000Test, UnknownRegistersReadZeroAndIgnoreWrites) {
  write(0x1F000, 0xDEADBEEF);
  EXPECT_EQ(read(0x1F000), 0u);
  write(0x0004, 0xDEADBEEF);  // reserved slot between CTRL and STATUS
  EXPECT_EQ(read(0x0004), 0u);
  // Narrow and unaligned accesses do not crash.
  uint8_t byte = 0xAA;
  device_->bar_write(kMmioBar, 0x0101, std::as_bytes(std::span(&byte, 1)));
  device_->bar_read(kMmioBar, 0x0008, std::as_writable_bytes(std::span(&byte, 1)));
  EXPECT_EQ(byte, static_cast<uint8_t>(read(reg::kStatus)));
}

TEST_F(E1000Test, IoWindowReachesRegisters) {
  auto io_write = [&](uint64_t offset, uint32_t value) {
    device_->bar_write(kIoBar, offset, std::as_bytes(std::span(&value, 1)));
  };
  auto io_read = [&](uint64_t offset) {
    uint32_t value = 0;
    device_->bar_read(kIoBar, offset, std::as_writable_bytes(std::span(&value, 1)));
    return value;
  };
  io_write(0, reg::kRa + 4);
  EXPECT_EQ(io_read(0), reg::kRa + 4);
  EXPECT_EQ(io_read(4), 0x5634u | kRahAv);
  io_write(0, reg::kItr);
  io_write(4, 1234);
  EXPECT_EQ(read(reg::kItr), 1234u);
  io_write(0, 0xFFFFFFFF);  // beyond the register file: masked, harmless
  EXPECT_EQ(io_read(4), 0u);
}

TEST_F(E1000Test, StatisticsClearOnRead) {
  setup_tx(8);
  const Bytes frame = ipv4_frame(100, false);
  put(kTxBuffers, frame);
  tx_put(legacy(kTxBuffers, static_cast<uint16_t>(frame.size()), 0x01 | 0x08));
  tx_put(legacy(kTxBuffers, static_cast<uint16_t>(frame.size()), 0x01 | 0x08));
  tx_kick();
  ASSERT_EQ(backend_->sent.size(), 2u);
  EXPECT_EQ(read(stat::kGptc), 2u);
  EXPECT_EQ(read(stat::kGptc), 0u);
  EXPECT_EQ(read(stat::kTpt), 2u);
  EXPECT_EQ(read(stat::kGotcl), 2 * (frame.size() + 4));
  EXPECT_EQ(read(stat::kGotcl), 2 * (frame.size() + 4)) << "low half clears with the high half";
  EXPECT_EQ(read(stat::kGotch), 0u);
  EXPECT_EQ(read(stat::kGotcl), 0u);
  write(stat::kGptc, 55);
  EXPECT_EQ(read(stat::kGptc), 0u) << "read-only";
  EXPECT_EQ(read(stat::kCrcerrs), 0u);
  EXPECT_EQ(read(stat::kMpc), 0u);
}

TEST_F(E1000Test, CtrlResetRestoresDefaults) {
  write(reg::kIms, irq::kLsc);
  write(reg::kIcs, irq::kLsc);
  ASSERT_TRUE(line_->level());
  setup_rx(8);
  write(reg::kRa + 8, 0x11223344);
  write(reg::kRa + 12, 0x5566 | kRahAv);
  write(reg::kMta, 0xFFFF);
  write(reg::kCtrl, read(reg::kCtrl) | ctrl::kRst);
  EXPECT_FALSE(line_->level());
  EXPECT_EQ(read(reg::kIms), 0u);
  EXPECT_EQ(read(reg::kIcr), 0u);
  EXPECT_EQ(read(reg::kCtrl) & ctrl::kRst, 0u);
  EXPECT_EQ(read(reg::kRctl), 0u);
  EXPECT_EQ(read(reg::kRdlen), 0u);
  EXPECT_EQ(read(reg::kRa + 12), 0u);
  EXPECT_EQ(read(reg::kMta), 0u);
  // RAL0/RAH0 come back from the EEPROM.
  EXPECT_EQ(read(reg::kRa), 0x12005452u);
  EXPECT_EQ(read(reg::kRa + 4), 0x5634u | kRahAv);
  EXPECT_TRUE(read(reg::kStatus) & status::kLu);
}

}  // namespace
}  // namespace keel::devices::e1000::test
