// Fakes of the interrupt plane, doorbells and the fd poller for unit tests:
// MSI vectors that record their message and triggers, an interrupt
// controller that hands out FakeIrqLines / FakeMsiVectors and keeps them for
// inspection, a doorbell registrar that records registrations, and a poller
// whose handlers a test runs by hand.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "keel/doorbell.h"
#include "keel/fd_poller.h"
#include "keel/interrupts.h"
#include "tests/support/fakes.h"

namespace keel::testing {

class FakeMsiVector final : public MsiVector {
 public:
  struct Delivery {
    MsiMessage message;
  };
  void set_message(const MsiMessage& message) noexcept override {
    std::lock_guard guard(lock_);
    message_ = message;
    ++message_updates_;
  }
  void trigger() noexcept override {
    std::lock_guard guard(lock_);
    if (message_) deliveries_.push_back({*message_});
  }
  int eventfd() const noexcept override { return -1; }

  std::optional<MsiMessage> message() const {
    std::lock_guard guard(lock_);
    return message_;
  }
  std::vector<Delivery> deliveries() const {
    std::lock_guard guard(lock_);
    return deliveries_;
  }
  size_t delivery_count() const {
    std::lock_guard guard(lock_);
    return deliveries_.size();
  }
  int message_updates() const {
    std::lock_guard guard(lock_);
    return message_updates_;
  }

 private:
  mutable std::mutex lock_;
  std::optional<MsiMessage> message_;
  std::vector<Delivery> deliveries_;
  int message_updates_ = 0;
};

// Hands out vectors as unique_ptrs but keeps raw pointers (in creation
// order) so tests can look at them; the device under test owns them.
class FakeInterruptController final : public InterruptController {
 public:
  std::shared_ptr<IrqLine> level_line(uint32_t gsi) override {
    auto line = std::make_shared<FakeIrqLine>();
    lines_[gsi] = line;
    return line;
  }
  std::unique_ptr<MsiVector> create_msi_vector() override {
    auto vector = std::make_unique<FakeMsiVector>();
    vectors_.push_back(vector.get());
    return vector;
  }
  FakeMsiVector& vector(size_t index) { return *vectors_.at(index); }
  size_t vector_count() const { return vectors_.size(); }
  std::shared_ptr<FakeIrqLine> line(uint32_t gsi) const {
    auto it = lines_.find(gsi);
    return it == lines_.end() ? nullptr : it->second;
  }

 private:
  std::vector<FakeMsiVector*> vectors_;
  std::map<uint32_t, std::shared_ptr<FakeIrqLine>> lines_;
};

class FakeDoorbellRegistrar final : public DoorbellRegistrar {
 public:
  std::unique_ptr<Doorbell> register_doorbell(const DoorbellSpec& spec) noexcept override;
  // Registrations alive now.
  std::vector<DoorbellSpec> live() const;
  // Makes register_doorbell fail (return nullptr) like a host error.
  void set_failing(bool failing) { failing_ = failing; }

 private:
  struct State {
    std::mutex lock;
    std::map<uint64_t, DoorbellSpec> live;
    uint64_t next_id = 1;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  bool failing_ = false;
};

class FakeFdPoller final : public FdPoller {
 public:
  void add(int fd, uint32_t epoll_events, Handler handler) override;
  void remove(int fd) noexcept override;
  bool modify(int fd, uint32_t epoll_events) noexcept override;
  bool watching(int fd) const;
  // The events `fd` is watched for (add() or the last modify()); 0 when not
  // registered.
  uint32_t events(int fd) const;
  // Runs the handler of `fd` once with `epoll_events` (as the loop would
  // when the fd is ready). Returns false when `fd` is not registered.
  bool fire(int fd, uint32_t epoll_events = 1 /* EPOLLIN */);
  size_t size() const { return handlers_.size(); }

 private:
  std::map<int, Handler> handlers_;
  std::map<int, uint32_t> events_;
};

}  // namespace keel::testing
