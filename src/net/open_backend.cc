#include "src/net/open_backend.h"

#include "src/net/pcap_recorder.h"
#include "src/net/slirp_backend.h"
#include "src/net/tap_backend.h"

namespace keel::net {

std::unique_ptr<NetBackend> open_backend(const NetSpec& spec, FdPoller& poller, TimerFactory& timers) {
  std::unique_ptr<NetBackend> backend;
  switch (spec.backend) {
    case NetBackendKind::tap:
      backend = TapBackend::open(spec.tap_name, poller);
      break;
    case NetBackendKind::user:
      backend = SlirpBackend::create(spec.user, poller, timers);
      break;
  }
  if (spec.pcap) backend = PcapRecorder::create(std::move(backend), *spec.pcap);
  return backend;
}

}  // namespace keel::net
