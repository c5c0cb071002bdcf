#include "src/sandbox/rlimits.h"

#include <cerrno>
#include <string>

#include <gtest/gtest.h>

#include "keel/config_error.h"

namespace keel::sandbox {
namespace {

// A fake RLIMIT_NOFILE: what get returns and what set was last asked.
struct FakeLimits {
  rlimit nofile{};
  int get_error = 0;
  int set_error = 0;
  int sets = 0;

  RlimitOps ops() {
    return RlimitOps{
        .get =
            [this](int resource, rlimit* out) {
              EXPECT_EQ(resource, RLIMIT_NOFILE);
              if (get_error != 0) {
                errno = get_error;
                return -1;
              }
              *out = nofile;
              return 0;
            },
        .set =
            [this](int resource, const rlimit* in) {
              EXPECT_EQ(resource, RLIMIT_NOFILE);
              ++sets;
              if (set_error != 0) {
                errno = set_error;
                return -1;
              }
              nofile = *in;
              return 0;
            },
    };
  }
};

TEST(EstimateFdNeed, BaseAndPerDevice) {
  EXPECT_EQ(estimate_fd_need(FdDemand{.vcpus = 1}), 66u);
  EXPECT_EQ(estimate_fd_need(FdDemand{.vcpus = 4, .disks = 2, .tap_nics = 1, .user_nics = 1, .output_files = 3}),
            64u + 4 * 2 + 2 * 16 + 16 + 256 + 3);
  // Each device adds at least what the builder opens for it.
  const uint64_t base = estimate_fd_need(FdDemand{.vcpus = 1});
  EXPECT_GE(estimate_fd_need(FdDemand{.vcpus = 2}) - base, 1u);
  EXPECT_GE(estimate_fd_need(FdDemand{.vcpus = 1, .disks = 1}) - base, 8u);
  EXPECT_GE(estimate_fd_need(FdDemand{.vcpus = 1, .tap_nics = 1}) - base, 10u);
  EXPECT_GE(estimate_fd_need(FdDemand{.vcpus = 64, .disks = 16, .tap_nics = 8}), 64u + 64 + 16 * 8 + 8 * 10);
}

TEST(EnsureFdLimit, EnoughAlreadyChangesNothing) {
  FakeLimits fake{.nofile = {.rlim_cur = 1024, .rlim_max = 4096}};
  EXPECT_EQ(ensure_fd_limit(1024, fake.ops()), 1024u);
  EXPECT_EQ(fake.sets, 0);
  fake.nofile = {.rlim_cur = RLIM_INFINITY, .rlim_max = RLIM_INFINITY};
  EXPECT_EQ(ensure_fd_limit(100000, fake.ops()), RLIM_INFINITY);
  EXPECT_EQ(fake.sets, 0);
}

TEST(EnsureFdLimit, RaisesTheSoftLimitToTheNeedOnly) {
  FakeLimits fake{.nofile = {.rlim_cur = 256, .rlim_max = 524288}};
  EXPECT_EQ(ensure_fd_limit(379, fake.ops()), 379u);
  EXPECT_EQ(fake.sets, 1);
  EXPECT_EQ(fake.nofile.rlim_cur, 379u);
  EXPECT_EQ(fake.nofile.rlim_max, 524288u);
  fake.nofile = {.rlim_cur = 256, .rlim_max = RLIM_INFINITY};
  EXPECT_EQ(ensure_fd_limit(379, fake.ops()), 379u);
  EXPECT_EQ(fake.nofile.rlim_max, RLIM_INFINITY);
}

TEST(EnsureFdLimit, HardLimitTooLowIsOneLineNamingEverything) {
  FakeLimits fake{.nofile = {.rlim_cur = 128, .rlim_max = 200}};
  try {
    ensure_fd_limit(379, fake.ops());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("RLIMIT_NOFILE"), std::string::npos) << text;
    EXPECT_NE(text.find("200"), std::string::npos) << text;
    EXPECT_NE(text.find("379"), std::string::npos) << text;
    EXPECT_NE(text.find("ulimit -n"), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos);
  }
  EXPECT_EQ(fake.sets, 0);
}

TEST(EnsureFdLimit, FailuresOfTheCallsAreErrors) {
  FakeLimits fake{.nofile = {.rlim_cur = 128, .rlim_max = 4096}, .get_error = EPERM};
  EXPECT_THROW(ensure_fd_limit(379, fake.ops()), ConfigError);
  fake.get_error = 0;
  fake.set_error = EPERM;
  try {
    ensure_fd_limit(379, fake.ops());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot raise RLIMIT_NOFILE from 128 to 379"), std::string::npos) << e.what();
  }
}

TEST(EnsureFdLimit, RealLimitsCoverASmallMachine) {
  const uint64_t need = estimate_fd_need(FdDemand{.vcpus = 1});
  EXPECT_GE(ensure_fd_limit(need), need);
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_TRUE(now.rlim_cur == RLIM_INFINITY || now.rlim_cur >= need);
}

}  // namespace
}  // namespace keel::sandbox
