// keel ctl against keel's own QMP server (src/qmp) on keel's event loop:
// the real greeting, negotiation, argument checks and events.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "src/ctl/ctl_command.h"
#include "src/ctl/qmp_client.h"
#include "src/qmp/server.h"
#include "src/sockets/unix_listener.h"
#include "src/vmm/loop/event_loop.h"

namespace keel::ctl {
namespace {

class SystemClock final : public Clock {
 public:
  std::chrono::nanoseconds monotonic() const noexcept override { return std::chrono::steady_clock::now().time_since_epoch(); }
  std::chrono::nanoseconds realtime() const noexcept override { return std::chrono::system_clock::now().time_since_epoch(); }
};

class CtlAgainstQmpServer : public ::testing::Test {
 protected:
  CtlAgainstQmpServer() {
    qmp::add_core_commands(registry_, qmp::VersionInfo{7, 2, 0, "keel test"});
    registry_.add("query-status", {}, [this](const qmp::Json&) -> qmp::CommandResult {
      return qmp::Json{{"status", running_ ? "running" : "paused"}, {"singlestep", false}, {"running", running_}};
    });
    registry_.add("stop", {}, [this](const qmp::Json&) -> qmp::CommandResult {
      running_ = false;
      server_->emit_event("STOP");  // precedes the reply, as in QEMU
      return qmp::Json::object();
    });
    registry_.add("send-key", {{"keys", qmp::ArgType::array, true}}, [this](const qmp::Json& arguments) -> qmp::CommandResult {
      keys_.push_back(arguments["keys"]);
      return qmp::Json::object();
    });
    loop_.start();
    server_ = std::make_unique<qmp::QmpServer>(loop_, registry_, qmp::VersionInfo{7, 2, 0, "keel test"}, clock_);
    server_->serve_listener(sockets::open_unix_listener(path_, "QMP socket"), path_);
  }
  ~CtlAgainstQmpServer() override {
    server_.reset();
    loop_.stop();
    std::filesystem::remove(path_);
  }

  std::pair<int, std::string> run(const std::string& command, bool json = false, const std::string& keys = "") {
    CtlOptions options;
    options.qmp_path = path_;
    options.command = command;
    options.json = json;
    options.keys = keys;
    options.timeout = "5s";
    char* text = nullptr;
    size_t size = 0;
    std::FILE* out = open_memstream(&text, &size);
    const int status = run_ctl(options, out, stderr);
    std::fclose(out);
    std::string printed(text, size);
    std::free(text);
    return {status, printed};
  }

  std::string path_ = (std::filesystem::temp_directory_path() /
                       ("keel-ctl-real-" + std::to_string(getpid()) + ".sock")).string();
  qmp::CommandRegistry registry_;
  SystemClock clock_;
  vmm::EventLoop loop_;
  std::unique_ptr<qmp::QmpServer> server_;
  bool running_ = true;
  std::vector<qmp::Json> keys_;
};

TEST_F(CtlAgainstQmpServer, StatusPauseStatusAndErrors) {
  EXPECT_EQ(run("status"), std::make_pair(kExitOk, std::string("running\n")));
  EXPECT_EQ(run("pause"), std::make_pair(kExitOk, std::string()));  // the STOP event is skipped
  EXPECT_EQ(run("status", true),
            std::make_pair(kExitOk, std::string("{\"status\":\"paused\",\"singlestep\":false,\"running\":false}\n")));
  EXPECT_EQ(run("resume").first, kExitVmError);  // not registered here: CommandNotFound
  EXPECT_EQ(run("stats").first, kExitVmError);
  EXPECT_EQ(run("send-key", false, "ctrl-alt-delete").first, kExitOk);
  ASSERT_EQ(keys_.size(), 1u);
  EXPECT_EQ(keys_[0][2], qmp::Json::parse(R"({"type": "qcode", "data": "delete"})"));
}

}  // namespace
}  // namespace keel::ctl
