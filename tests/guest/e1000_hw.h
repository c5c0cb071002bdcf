/* Intel 82540EM ("e1000") registers and descriptor formats, the subset the
 * probe's e1000 suite drives. Names follow the Intel 8254x Family of Gigabit
 * Ethernet Controllers Software Developer's Manual (chapter 13 registers,
 * chapter 3 descriptors) so they can be looked up there. */
#pragma once

#include "io.h"

#define E1000_VENDOR_ID 0x8086
#define E1000_DEVICE_ID 0x100E /* 82540EM desktop adapter */
#define E1000_MMIO_BAR_BYTES (128u * 1024)

/* Registers: byte offsets into BAR0 (13.4). */
#define E1000_CTRL 0x0000
#define E1000_STATUS 0x0008
#define E1000_EERD 0x0014
#define E1000_MDIC 0x0020
#define E1000_ICR 0x00C0
#define E1000_ITR 0x00C4
#define E1000_IMS 0x00D0
#define E1000_IMC 0x00D8
#define E1000_RCTL 0x0100
#define E1000_TCTL 0x0400
#define E1000_TIPG 0x0410
#define E1000_RDBAL 0x2800
#define E1000_RDBAH 0x2804
#define E1000_RDLEN 0x2808
#define E1000_RDH 0x2810
#define E1000_RDT 0x2818
#define E1000_RDTR 0x2820
#define E1000_RADV 0x282C
#define E1000_TDBAL 0x3800
#define E1000_TDBAH 0x3804
#define E1000_TDLEN 0x3808
#define E1000_TDH 0x3810
#define E1000_TDT 0x3818
#define E1000_TIDV 0x3820
#define E1000_TADV 0x382C
#define E1000_RXCSUM 0x5000
#define E1000_MTA 0x5200 /* 128 dwords */
#define E1000_MTA_ENTRIES 128
#define E1000_RAL0 0x5400
#define E1000_RAH0 0x5404

#define E1000_CTRL_LRST (1u << 3)
#define E1000_CTRL_SLU (1u << 6)
#define E1000_CTRL_RST (1u << 26)
#define E1000_CTRL_PHY_RST (1u << 31)
#define E1000_STATUS_LU (1u << 1)

/* EERD (13.4.4): start, done, word address, data. */
#define E1000_EERD_START (1u << 0)
#define E1000_EERD_DONE (1u << 4)
#define E1000_EERD_ADDR_SHIFT 8
#define E1000_EERD_DATA_SHIFT 16
#define E1000_EEPROM_WORDS 64      /* 0x00-0x3F are summed */
#define E1000_EEPROM_CHECKSUM 0xBABA

/* MDIC (13.4.7) and the PHY (the 82540EM's internal PHY answers at
 * address 1; register 1 is the IEEE status register, bit 2 link up). */
#define E1000_MDIC_REG_SHIFT 16
#define E1000_MDIC_PHY_SHIFT 21
#define E1000_MDIC_OP_READ (2u << 26)
#define E1000_MDIC_READY (1u << 28)
#define E1000_MDIC_ERROR (1u << 30)
#define E1000_PHY_ADDRESS 1
#define E1000_PHY_STATUS 1
#define E1000_PHY_ID1 2
#define E1000_PHY_ID2 3
#define E1000_PHY_STATUS_LINK (1u << 2)

/* Interrupt causes: ICR, IMS and IMC share the layout (13.4.17-21). */
#define E1000_ICR_TXDW (1u << 0)
#define E1000_ICR_TXQE (1u << 1)
#define E1000_ICR_LSC (1u << 2)
#define E1000_ICR_RXDMT0 (1u << 4)
#define E1000_ICR_RXO (1u << 6)
#define E1000_ICR_RXT0 (1u << 7)

#define E1000_RCTL_EN (1u << 1)
#define E1000_RCTL_BAM (1u << 15)
#define E1000_RCTL_BSIZE_2048 (0u << 16) /* with BSEX clear */
#define E1000_RCTL_SECRC (1u << 26)

#define E1000_TCTL_EN (1u << 1)
#define E1000_TCTL_PSP (1u << 3)
#define E1000_TCTL_CT(n) ((uint32_t)(n) << 4)
#define E1000_TCTL_COLD(n) ((uint32_t)(n) << 12)
/* TIPG for the 82540EM's copper interface (13.4.34): IPGT 10, IPGR1 8, IPGR2 6. */
#define E1000_TIPG_COPPER (10u | 8u << 10 | 6u << 20)

#define E1000_RAH_AV (1u << 31)

/* Legacy receive descriptor (3.2.3). */
struct e1000_rx_desc {
    uint64_t buffer;
    uint16_t length;
    uint16_t checksum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
};
#define E1000_RXD_STAT_DD (1u << 0)
#define E1000_RXD_STAT_EOP (1u << 1)
#define E1000_RXD_STAT_IXSM (1u << 2)
#define E1000_RXD_STAT_TCPCS (1u << 5)
#define E1000_RXD_STAT_IPCS (1u << 6)
/* Errors that mean the frame itself is bad (CE, SE, SEQ, CXE, RXE); TCPE
 * and IPE (bits 5, 6) only report the device's checksum verdict. */
#define E1000_RXD_ERR_FRAME 0x97u
#define E1000_RXD_ERR_TCPE (1u << 5)
#define E1000_RXD_ERR_IPE (1u << 6)

/* Transmit descriptors (3.3): 16 bytes, three layouts told apart by
 * DEXT (bit 29 of the third dword) and DTYP (bits 23:20). */
struct e1000_tx_desc {
    uint64_t buffer;      /* legacy and data; context: checksum offsets */
    uint32_t command;     /* legacy: length | CSO | CMD; extended: length/PAYLEN | DTYP | DCMD/TUCMD */
    uint8_t status;       /* STA (low nibble) */
    uint8_t options;      /* legacy: CSS; data: POPTS; context: HDRLEN */
    uint16_t special;     /* legacy, data: VLAN; context: MSS */
};
#define E1000_TXD_CMD_EOP (1u << 24)
#define E1000_TXD_CMD_IFCS (1u << 25)
#define E1000_TXD_CMD_RS (1u << 27)
#define E1000_TXD_CMD_DEXT (1u << 29)
#define E1000_TXD_DTYP_CONTEXT (0u << 20)
#define E1000_TXD_DTYP_DATA (1u << 20)
#define E1000_TXD_TUCMD_IP (1u << 25) /* context: an IPv4 packet */
#define E1000_TXD_STAT_DD (1u << 0)
#define E1000_TXD_STAT_EC (1u << 1)
#define E1000_TXD_STAT_LC (1u << 2)
#define E1000_TXD_POPTS_IXSM (1u << 0)
#define E1000_TXD_POPTS_TXSM (1u << 1)
