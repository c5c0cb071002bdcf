#include "keel/log_rate_limiter.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(LogRateLimiter, AllowsNPerWindowThenSuppresses) {
  LogRateLimiter limiter(3);
  const nanoseconds t0 = seconds(100);
  for (int i = 0; i < 3; ++i) {
    auto d = limiter.admit(t0 + milliseconds(i));
    EXPECT_TRUE(d.log);
    EXPECT_EQ(d.suppressed_before, 0u);
  }
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.admit(t0 + milliseconds(10 + i)).log);
}

TEST(LogRateLimiter, NextWindowReportsSuppressedCountOnce) {
  LogRateLimiter limiter(2);
  const nanoseconds t0 = seconds(5);
  limiter.admit(t0);
  limiter.admit(t0);
  for (int i = 0; i < 7; ++i) limiter.admit(t0 + milliseconds(500));
  auto first = limiter.admit(t0 + milliseconds(1000));
  EXPECT_TRUE(first.log);
  EXPECT_EQ(first.suppressed_before, 7u);
  auto second = limiter.admit(t0 + milliseconds(1001));
  EXPECT_TRUE(second.log);
  EXPECT_EQ(second.suppressed_before, 0u);
}

TEST(LogRateLimiter, ZeroAllowsNothingButKeepsCounting) {
  LogRateLimiter limiter(0);
  EXPECT_FALSE(limiter.admit(seconds(1)).log);
  EXPECT_FALSE(limiter.admit(seconds(3)).log);
}

}  // namespace
}  // namespace keel
