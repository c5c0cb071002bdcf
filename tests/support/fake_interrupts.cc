#include "tests/support/fake_interrupts.h"

namespace keel::testing {

namespace {
class FakeDoorbell final : public Doorbell {
 public:
  FakeDoorbell(std::weak_ptr<void> state, std::function<void()> on_destroy)
      : state_(std::move(state)), on_destroy_(std::move(on_destroy)) {}
  ~FakeDoorbell() override {
    if (!state_.expired()) on_destroy_();
  }

 private:
  std::weak_ptr<void> state_;
  std::function<void()> on_destroy_;
};
}  // namespace

std::unique_ptr<Doorbell> FakeDoorbellRegistrar::register_doorbell(const DoorbellSpec& spec) noexcept {
  if (failing_) return nullptr;
  std::lock_guard guard(state_->lock);
  uint64_t id = state_->next_id++;
  state_->live[id] = spec;
  State* state = state_.get();
  return std::make_unique<FakeDoorbell>(std::weak_ptr<void>(state_), [state, id] {
    std::lock_guard inner(state->lock);
    state->live.erase(id);
  });
}

std::vector<DoorbellSpec> FakeDoorbellRegistrar::live() const {
  std::lock_guard guard(state_->lock);
  std::vector<DoorbellSpec> specs;
  for (const auto& [id, spec] : state_->live) specs.push_back(spec);
  return specs;
}

void FakeFdPoller::add(int fd, uint32_t epoll_events, Handler handler) {
  handlers_[fd] = std::move(handler);
  events_[fd] = epoll_events;
}
void FakeFdPoller::remove(int fd) noexcept {
  handlers_.erase(fd);
  events_.erase(fd);
}
bool FakeFdPoller::modify(int fd, uint32_t epoll_events) noexcept {
  if (!handlers_.contains(fd)) return false;
  events_[fd] = epoll_events;
  return true;
}
uint32_t FakeFdPoller::events(int fd) const {
  auto it = events_.find(fd);
  return it == events_.end() ? 0 : it->second;
}
bool FakeFdPoller::watching(int fd) const { return handlers_.contains(fd); }
bool FakeFdPoller::fire(int fd, uint32_t epoll_events) {
  auto it = handlers_.find(fd);
  if (it == handlers_.end()) return false;
  Handler handler = it->second;  // the handler may remove itself
  handler(epoll_events);
  return true;
}

}  // namespace keel::testing
