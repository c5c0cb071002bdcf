#include "src/kvm/gsi_route_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "keel/config_error.h"

namespace keel::kvm {
namespace {

// Records every table it is sent; fails with `error` when set.
class FakeSink final : public GsiRouteSink {
 public:
  struct Call {
    std::vector<GsiRoute> irqchip;
    std::vector<MsiRoute> msi;
  };
  int set_routes(std::span<const GsiRoute> irqchip, std::span<const MsiRoute> msi) noexcept override {
    calls->push_back({{irqchip.begin(), irqchip.end()}, {msi.begin(), msi.end()}});
    return *error;
  }
  std::shared_ptr<std::vector<Call>> calls = std::make_shared<std::vector<Call>>();
  std::shared_ptr<int> error = std::make_shared<int>(0);
};

struct Fixture {
  explicit Fixture(uint32_t max_routes = GsiRouteTable::kMaxRoutes) {
    auto sink = std::make_unique<FakeSink>();
    calls = sink->calls;
    error = sink->error;
    table = std::make_unique<GsiRouteTable>(std::move(sink), pc_gsi_routes(), max_routes);
  }
  std::shared_ptr<std::vector<FakeSink::Call>> calls;
  std::shared_ptr<int> error;
  std::unique_ptr<GsiRouteTable> table;
};

const MsiMessage kMessageA{0xFEE0'0000, 0x41};
const MsiMessage kMessageB{0x1'FEE0'1000, 0x4052};

TEST(GsiRouteTable, FirstCommitSendsThePcRoutesOnce) {
  Fixture f;
  EXPECT_TRUE(f.table->dirty());
  EXPECT_EQ(f.table->commit(), 0);
  ASSERT_EQ(f.calls->size(), 1u);
  EXPECT_EQ(f.calls->at(0).irqchip, pc_gsi_routes());
  EXPECT_TRUE(f.calls->at(0).msi.empty());
  EXPECT_FALSE(f.table->dirty());
  EXPECT_EQ(f.table->commit(), 0);
  EXPECT_EQ(f.calls->size(), 1u) << "a clean table is not sent again";
}

TEST(GsiRouteTable, AllocatesFrom24Upward) {
  Fixture f;
  EXPECT_EQ(f.table->first_msi_gsi(), 24u);
  EXPECT_EQ(f.table->allocate_gsi(), 24u);
  EXPECT_EQ(f.table->allocate_gsi(), 25u);
  EXPECT_EQ(f.table->allocate_gsi(), 26u);
  EXPECT_EQ(f.table->allocated_count(), 3u);
}

TEST(GsiRouteTable, ManyMessagesOneCommit) {
  Fixture f;
  ASSERT_EQ(f.table->commit(), 0);
  std::vector<uint32_t> gsis;
  for (int i = 0; i < 32; ++i) gsis.push_back(f.table->allocate_gsi());
  EXPECT_FALSE(f.table->dirty()) << "a GSI without a message has no route to send";
  for (uint32_t i = 0; i < gsis.size(); ++i) f.table->set_msi(gsis[i], {0xFEE0'0000, 0x30 + i});
  EXPECT_TRUE(f.table->dirty());
  EXPECT_EQ(f.calls->size(), 1u) << "set_msi only stages";
  EXPECT_EQ(f.table->commit(), 0);
  ASSERT_EQ(f.calls->size(), 2u);
  const FakeSink::Call& call = f.calls->back();
  EXPECT_EQ(call.irqchip, pc_gsi_routes()) << "the PC routes stay in every table";
  ASSERT_EQ(call.msi.size(), 32u);
  for (uint32_t i = 0; i < gsis.size(); ++i) {
    EXPECT_EQ(call.msi[i], (MsiRoute{gsis[i], {0xFEE0'0000, 0x30 + i}}));
  }
}

TEST(GsiRouteTable, LatestMessageWinsAndUnchangedIsNotDirty) {
  Fixture f;
  ASSERT_EQ(f.table->commit(), 0);
  uint32_t gsi = f.table->allocate_gsi();
  f.table->set_msi(gsi, kMessageA);
  f.table->set_msi(gsi, kMessageB);
  ASSERT_EQ(f.table->commit(), 0);
  EXPECT_EQ(f.calls->back().msi, (std::vector<MsiRoute>{{gsi, kMessageB}}));
  f.table->set_msi(gsi, kMessageB);
  EXPECT_FALSE(f.table->dirty()) << "rewriting the same message costs no ioctl";
}

TEST(GsiRouteTable, SetMsiOnUnallocatedGsiIsIgnored) {
  Fixture f;
  ASSERT_EQ(f.table->commit(), 0);
  f.table->set_msi(4, kMessageA);  // an irqchip GSI
  f.table->set_msi(99, kMessageA);  // never allocated
  EXPECT_FALSE(f.table->dirty());
  EXPECT_TRUE(f.table->msi_routes().empty());
}

TEST(GsiRouteTable, ReleasedGsiIsReusedLowestFirstAndItsRouteDropped) {
  Fixture f;
  uint32_t a = f.table->allocate_gsi();
  uint32_t b = f.table->allocate_gsi();
  uint32_t c = f.table->allocate_gsi();
  f.table->set_msi(b, kMessageA);
  f.table->set_msi(c, kMessageB);
  ASSERT_EQ(f.table->commit(), 0);
  f.table->release_gsi(c);
  f.table->release_gsi(b);
  EXPECT_TRUE(f.table->dirty()) << "KVM still holds the released routes";
  ASSERT_EQ(f.table->commit(), 0);
  EXPECT_TRUE(f.calls->back().msi.empty());
  EXPECT_EQ(f.table->allocate_gsi(), b);
  EXPECT_EQ(f.table->allocate_gsi(), c);
  EXPECT_EQ(f.table->allocate_gsi(), c + 1);
  f.table->release_gsi(a);
  EXPECT_FALSE(f.table->dirty()) << "a GSI without a route costs no commit";
  f.table->release_gsi(a);  // twice: ignored
  EXPECT_EQ(f.table->allocate_gsi(), a);
}

TEST(GsiRouteTable, ExhaustionThrowsConfigError) {
  // KVM's real limit: 4096 entries, 38 of them the PC routes.
  Fixture f;
  size_t allocated = 0;
  try {
    for (;;) {
      uint32_t gsi = f.table->allocate_gsi();
      EXPECT_LT(gsi, GsiRouteTable::kMaxRoutes);
      ++allocated;
      ASSERT_LT(allocated, 5000u);
    }
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("full"), std::string::npos) << error.what();
  }
  EXPECT_EQ(allocated, GsiRouteTable::kMaxRoutes - pc_gsi_routes().size());
  // Every route fits what KVM accepts.
  for (uint32_t gsi = 24; gsi < 24 + allocated; ++gsi) f.table->set_msi(gsi, kMessageA);
  ASSERT_EQ(f.table->commit(), 0);
  EXPECT_EQ(f.calls->back().irqchip.size() + f.calls->back().msi.size(), GsiRouteTable::kMaxRoutes);
  EXPECT_LT(f.calls->back().msi.back().gsi, GsiRouteTable::kMaxRoutes);
  // A released GSI can be allocated again.
  f.table->release_gsi(100);
  EXPECT_EQ(f.table->allocate_gsi(), 100u);
  EXPECT_THROW(f.table->allocate_gsi(), ConfigError);
}

TEST(GsiRouteTable, GsiNumberLimitAlsoBounds) {
  // With few irqchip routes the GSI number (< max) is the binding limit.
  auto sink = std::make_unique<FakeSink>();
  GsiRouteTable table(std::move(sink), {{0, IrqChip::ioapic, 2}}, 30);
  for (uint32_t gsi = 24; gsi < 30; ++gsi) EXPECT_EQ(table.allocate_gsi(), gsi);
  EXPECT_THROW(table.allocate_gsi(), ConfigError);
}

TEST(GsiRouteTable, FailedCommitStaysDirtyAndRetries) {
  Fixture f;
  *f.error = EINVAL;
  EXPECT_EQ(f.table->commit(), EINVAL);
  EXPECT_TRUE(f.table->dirty());
  *f.error = 0;
  EXPECT_EQ(f.table->commit(), 0);
  EXPECT_FALSE(f.table->dirty());
  EXPECT_EQ(f.calls->size(), 2u);
}

TEST(GsiRouteTable, IrqchipRoutesAboveTheIoApicMoveTheFirstMsiGsi) {
  GsiRouteTable table(std::make_unique<FakeSink>(), {{30, IrqChip::ioapic, 1}});
  EXPECT_EQ(table.first_msi_gsi(), 31u);
  EXPECT_EQ(table.allocate_gsi(), 31u);
}

TEST(GsiRouteTable, ConcurrentStagingEndsInOneConsistentTable) {
  // vCPU threads stage while another thread commits: the final committed
  // table holds every last message.
  Fixture f;
  std::vector<uint32_t> gsis;
  for (int i = 0; i < 8; ++i) gsis.push_back(f.table->allocate_gsi());
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < gsis.size(); ++t) {
    threads.emplace_back([&, t] {
      for (uint32_t i = 0; i < 500; ++i) f.table->set_msi(gsis[t], {0xFEE0'0000, i});
    });
  }
  std::thread committer([&] {
    for (int i = 0; i < 200; ++i) EXPECT_EQ(f.table->commit(), 0);
  });
  for (auto& thread : threads) thread.join();
  committer.join();
  ASSERT_EQ(f.table->commit(), 0);
  const FakeSink::Call& last = f.calls->back();
  ASSERT_EQ(last.msi.size(), gsis.size());
  for (const MsiRoute& route : last.msi) EXPECT_EQ(route.message.data, 499u);
}

}  // namespace
}  // namespace keel::kvm
