// SlirpBackend on a real EventLoop: DHCP, ARP, a UDP host forward both
// ways, the bounded queue, back-pressure and hostile frames. Only loopback
// host sockets are used.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "keel/config_error.h"
#include "src/net/slirp_backend.h"
#include "src/vmm/loop/event_loop.h"

namespace keel::net {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace std::chrono_literals;

constexpr uint8_t kGuestMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint8_t kBroadcastMac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr uint32_t kGuestIp = 0x0a00020f;    // 10.0.2.15
constexpr uint32_t kGatewayIp = 0x0a000202;  // 10.0.2.2

class CountingListener final : public NetBackendListener {
 public:
  void frames_waiting() noexcept override { ++frames_waiting_calls; }
  void send_possible() noexcept override { ++send_possible_calls; }
  std::atomic<int> frames_waiting_calls{0};
  std::atomic<int> send_possible_calls{0};
};

void put16(Bytes& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}
void put32(Bytes& out, uint32_t value) {
  put16(out, static_cast<uint16_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value));
}
uint16_t get16(const Bytes& in, size_t at) { return static_cast<uint16_t>(in.at(at) << 8 | in.at(at + 1)); }
uint32_t get32(const Bytes& in, size_t at) { return uint32_t{get16(in, at)} << 16 | get16(in, at + 2); }

void put_ethernet(Bytes& out, const uint8_t* destination, uint16_t ethertype) {
  out.insert(out.end(), destination, destination + 6);
  out.insert(out.end(), kGuestMac, kGuestMac + 6);
  put16(out, ethertype);
}

Bytes arp_request(uint32_t sender_ip, uint32_t target_ip) {
  Bytes frame;
  put_ethernet(frame, kBroadcastMac, 0x0806);
  put16(frame, 1);       // Ethernet
  put16(frame, 0x0800);  // IPv4
  frame.push_back(6);
  frame.push_back(4);
  put16(frame, 1);  // request
  frame.insert(frame.end(), kGuestMac, kGuestMac + 6);
  put32(frame, sender_ip);
  frame.insert(frame.end(), 6, 0);
  put32(frame, target_ip);
  return frame;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// IPv4 around a transport header + payload (`l4`). TCP gets its checksum
// (slirp verifies it); UDP is sent with checksum 0 (none).
Bytes ip_frame(const uint8_t* destination_mac, uint8_t protocol, uint32_t source_ip,
               uint32_t destination_ip, Bytes l4) {
  Bytes frame;
  put_ethernet(frame, destination_mac, 0x0800);
  const size_t ip_start = frame.size();
  frame.push_back(0x45);
  frame.push_back(0);
  put16(frame, static_cast<uint16_t>(20 + l4.size()));
  put16(frame, 0x1234);  // id
  put16(frame, 0);       // no fragmentation
  frame.push_back(64);   // ttl
  frame.push_back(protocol);
  put16(frame, 0);  // checksum, below
  put32(frame, source_ip);
  put32(frame, destination_ip);
  uint32_t sum = 0;
  for (size_t i = ip_start; i < ip_start + 20; i += 2) sum += get16(frame, i);
  const uint16_t ip_checksum = fold(sum);
  frame[ip_start + 10] = static_cast<uint8_t>(ip_checksum >> 8);
  frame[ip_start + 11] = static_cast<uint8_t>(ip_checksum);
  if (protocol == 6) {
    uint32_t pseudo = (source_ip >> 16) + (source_ip & 0xffff) + (destination_ip >> 16) +
                      (destination_ip & 0xffff) + protocol + static_cast<uint32_t>(l4.size());
    Bytes padded = l4;
    if (padded.size() % 2) padded.push_back(0);
    for (size_t i = 0; i < padded.size(); i += 2) pseudo += get16(padded, i);
    const uint16_t tcp_checksum = fold(pseudo);
    l4[16] = static_cast<uint8_t>(tcp_checksum >> 8);
    l4[17] = static_cast<uint8_t>(tcp_checksum);
  }
  frame.insert(frame.end(), l4.begin(), l4.end());
  return frame;
}

Bytes udp_frame(const uint8_t* destination_mac, uint32_t source_ip, uint32_t destination_ip,
                uint16_t source_port, uint16_t destination_port, const Bytes& payload) {
  Bytes udp;
  put16(udp, source_port);
  put16(udp, destination_port);
  put16(udp, static_cast<uint16_t>(8 + payload.size()));
  put16(udp, 0);
  udp.insert(udp.end(), payload.begin(), payload.end());
  return ip_frame(destination_mac, 17, source_ip, destination_ip, std::move(udp));
}

Bytes tcp_syn(const uint8_t* destination_mac, uint32_t destination_ip, uint16_t source_port,
              uint16_t destination_port) {
  Bytes tcp;
  put16(tcp, source_port);
  put16(tcp, destination_port);
  put32(tcp, 1000);  // seq
  put32(tcp, 0);     // ack
  tcp.push_back(5 << 4);
  tcp.push_back(0x02);  // SYN
  put16(tcp, 65535);    // window
  put16(tcp, 0);        // checksum, filled by ip_frame
  put16(tcp, 0);
  return ip_frame(destination_mac, 6, kGuestIp, destination_ip, std::move(tcp));
}

Bytes dhcp_discover() {
  Bytes bootp(300, 0);  // op .. file (236) + options
  bootp[0] = 1;         // BOOTREQUEST
  bootp[1] = 1;         // Ethernet
  bootp[2] = 6;
  bootp[4] = 0xde, bootp[5] = 0xad, bootp[6] = 0xbe, bootp[7] = 0xef;  // xid
  std::memcpy(&bootp[28], kGuestMac, 6);
  const uint8_t options[] = {0x63, 0x82, 0x53, 0x63, 53, 1, 1 /* DISCOVER */, 255};
  std::memcpy(&bootp[236], options, sizeof options);
  return udp_frame(kBroadcastMac, 0, 0xffffffff, 68, 67, bootp);
}

Result<SendStatus> send_raw(SlirpBackend& backend, const VnetHeader& header, const Bytes& frame) {
  const iovec iovs[2] = {{const_cast<VnetHeader*>(&header), sizeof header},
                         {const_cast<uint8_t*>(frame.data()), frame.size()}};
  return backend.send(iovs);
}

void send_frame(SlirpBackend& backend, const Bytes& frame) {
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const auto status = send_raw(backend, VnetHeader{}, frame);
    ASSERT_TRUE(status.has_value()) << status.error().what;
    if (*status == SendStatus::sent) return;
    std::this_thread::sleep_for(1ms);
  }
  FAIL() << "send() stayed would_block";
}

// Receives frames until one satisfies `match` (others are skipped), with a
// deadline. Checks the all-zero vnet header on the way.
std::optional<Bytes> wait_frame(SlirpBackend& backend, const std::function<bool(const Bytes&)>& match,
                                std::chrono::milliseconds timeout = 3000ms) {
  std::vector<uint8_t> buffer(kVnetHeaderSize + kMaxFrameSize);
  const iovec iov{buffer.data(), buffer.size()};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto got = backend.receive(std::span(&iov, 1));
    if (!got.has_value()) {
      ADD_FAILURE() << got.error().what;
      return std::nullopt;
    }
    if (*got == 0) {
      std::this_thread::sleep_for(1ms);
      continue;
    }
    EXPECT_GE(*got, kVnetHeaderSize + 14);
    EXPECT_TRUE(std::all_of(buffer.begin(), buffer.begin() + kVnetHeaderSize, [](uint8_t b) { return b == 0; }));
    Bytes frame(buffer.begin() + kVnetHeaderSize, buffer.begin() + static_cast<ptrdiff_t>(*got));
    if (match(frame)) return frame;
  }
  return std::nullopt;
}

bool is_arp_reply(const Bytes& frame) { return frame.size() >= 42 && get16(frame, 12) == 0x0806 && get16(frame, 20) == 2; }

bool is_udp(const Bytes& frame, uint16_t destination_port) {
  return frame.size() >= 42 && get16(frame, 12) == 0x0800 && frame[23] == 17 &&
         get16(frame, 14 + (frame[14] & 0xf) * 4 + 2) == destination_port;
}

UserNetConfig config_with(std::initializer_list<std::pair<std::string_view, std::string_view>> options) {
  UserNetConfig config;
  for (const auto& [key, value] : options) parse_user_net_option(key, value, config);
  finish_user_net_config(config);
  return config;
}

// A loopback port nobody uses right now.
uint16_t unused_port(int type) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

class SlirpBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { loop_.start(); }
  void TearDown() override {
    backend_.reset();
    loop_.stop();
  }
  SlirpBackend& make(const UserNetConfig& config = UserNetConfig{}) {
    backend_ = SlirpBackend::create(config, loop_, loop_);
    backend_->attach(listener_);
    return *backend_;
  }
  void wait_until(const std::function<bool()>& condition) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!condition() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(condition());
  }

  vmm::EventLoop loop_;
  CountingListener listener_;
  std::unique_ptr<SlirpBackend> backend_;
};

TEST_F(SlirpBackendTest, NoOffloadsOffered) {
  EXPECT_EQ(make().capabilities().tx, Offloads{});
  EXPECT_EQ(backend_->capabilities().rx, Offloads{});
}

TEST_F(SlirpBackendTest, DhcpDiscoverGetsAnOfferFromTheGateway) {
  SlirpBackend& backend = make();
  send_frame(backend, dhcp_discover());
  const auto offer = wait_frame(backend, [](const Bytes& f) { return is_udp(f, 68); });
  ASSERT_TRUE(offer.has_value());
  EXPECT_GT(listener_.frames_waiting_calls.load(), 0);
  const Bytes& frame = *offer;
  EXPECT_EQ(get32(frame, 26), kGatewayIp);  // IPv4 source
  const size_t udp = 14 + (frame[14] & 0xf) * 4;
  EXPECT_EQ(get16(frame, udp), 67);
  const size_t bootp = udp + 8;
  ASSERT_GE(frame.size(), bootp + 244);
  EXPECT_EQ(frame[bootp], 2);  // BOOTREPLY
  EXPECT_EQ(get32(frame, bootp + 4), 0xdeadbeefu);
  EXPECT_EQ(get32(frame, bootp + 16), kGuestIp);  // yiaddr
  EXPECT_EQ(get32(frame, bootp + 236), 0x63825363u);
  std::optional<uint8_t> message_type;
  std::optional<uint32_t> server;
  for (size_t at = bootp + 240; at + 1 < frame.size() && frame[at] != 255;) {
    if (frame[at] == 0) {
      ++at;
      continue;
    }
    const uint8_t length = frame[at + 1];
    if (frame[at] == 53 && length == 1) message_type = frame.at(at + 2);
    if (frame[at] == 54 && length == 4) server = get32(frame, at + 2);
    at += 2 + length;
  }
  EXPECT_EQ(message_type, 2);  // DHCPOFFER
  EXPECT_EQ(server, kGatewayIp);
}

TEST_F(SlirpBackendTest, ArpRequestForTheGatewayGetsAReply) {
  SlirpBackend& backend = make();
  send_frame(backend, arp_request(kGuestIp, kGatewayIp));
  const auto reply = wait_frame(backend, is_arp_reply);
  ASSERT_TRUE(reply.has_value());
  const Bytes& frame = *reply;
  EXPECT_TRUE(std::equal(kGuestMac, kGuestMac + 6, frame.begin()));  // to the guest
  EXPECT_EQ(get32(frame, 28), kGatewayIp);                           // sender IP
  EXPECT_TRUE(std::equal(kGuestMac, kGuestMac + 6, frame.begin() + 32));
  EXPECT_EQ(get32(frame, 38), kGuestIp);
}

TEST_F(SlirpBackendTest, UdpHostForwardBothWays) {
  const uint16_t port = unused_port(SOCK_DGRAM);
  const std::string forward = "udp:127.0.0.1:" + std::to_string(port) + "-:7";
  SlirpBackend& backend = make(config_with({{"hostfwd", forward}}));

  // slirp must know the guest's MAC before it can address a frame to it.
  send_frame(backend, arp_request(kGuestIp, kGatewayIp));
  ASSERT_TRUE(wait_frame(backend, is_arp_reply).has_value());

  const int host = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in loopback{};
  loopback.sin_family = AF_INET;
  loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(host, reinterpret_cast<sockaddr*>(&loopback), sizeof loopback), 0);
  sockaddr_in forwarded = loopback;
  forwarded.sin_port = htons(port);
  const std::string hello = "hello from the host";
  ASSERT_EQ(sendto(host, hello.data(), hello.size(), 0, reinterpret_cast<sockaddr*>(&forwarded), sizeof forwarded),
            static_cast<ssize_t>(hello.size()));

  const auto datagram = wait_frame(backend, [](const Bytes& f) { return is_udp(f, 7); });
  ASSERT_TRUE(datagram.has_value());
  const Bytes& in = *datagram;
  EXPECT_TRUE(std::equal(kGuestMac, kGuestMac + 6, in.begin()));
  EXPECT_EQ(get32(in, 30), kGuestIp);
  const size_t udp = 14 + (in[14] & 0xf) * 4;
  EXPECT_EQ(std::string(in.begin() + static_cast<ptrdiff_t>(udp + 8), in.end()), hello);

  // The guest echoes to whoever slirp says sent it.
  const Bytes reply_payload = {'e', 'c', 'h', 'o'};
  send_frame(backend, udp_frame(&in[6], kGuestIp, get32(in, 26), 7, get16(in, udp), reply_payload));
  pollfd readable{host, POLLIN, 0};
  ASSERT_EQ(poll(&readable, 1, 3000), 1);
  char received[64];
  sockaddr_in sender{};
  socklen_t sender_length = sizeof sender;
  const ssize_t got = recvfrom(host, received, sizeof received, 0, reinterpret_cast<sockaddr*>(&sender), &sender_length);
  close(host);
  ASSERT_EQ(got, 4);
  EXPECT_EQ(std::string(received, 4), "echo");
  EXPECT_EQ(ntohs(sender.sin_port), port);
}

// A guest that has not announced itself: slirp holds the forwarded datagram,
// asks who has the guest's address, and must send the datagram as soon as
// the guest answers — not at its next timer pass, by when its 1 s ARP limit
// has dropped it (a bug the probe guest's user-mode test found).
TEST_F(SlirpBackendTest, ForwardHeldForArpGoesOutWhenTheGuestAnswers) {
  const uint16_t port = unused_port(SOCK_DGRAM);
  SlirpBackend& backend = make(config_with({{"hostfwd", "udp:127.0.0.1:" + std::to_string(port) + "-:7"}}));

  const int host = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in forwarded{};
  forwarded.sin_family = AF_INET;
  forwarded.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  forwarded.sin_port = htons(port);
  const std::string hello = "held for ARP";
  ASSERT_EQ(sendto(host, hello.data(), hello.size(), 0, reinterpret_cast<sockaddr*>(&forwarded), sizeof forwarded),
            static_cast<ssize_t>(hello.size()));
  close(host);

  const auto who_has = wait_frame(backend, [](const Bytes& f) {
    return f.size() >= 42 && get16(f, 12) == 0x0806 && get16(f, 20) == 1 && get32(f, 38) == kGuestIp;
  });
  ASSERT_TRUE(who_has.has_value());
  Bytes reply;
  put_ethernet(reply, &(*who_has)[6], 0x0806);
  put16(reply, 1);
  put16(reply, 0x0800);
  reply.push_back(6);
  reply.push_back(4);
  put16(reply, 2);  // reply
  reply.insert(reply.end(), kGuestMac, kGuestMac + 6);
  put32(reply, kGuestIp);
  reply.insert(reply.end(), who_has->begin() + 22, who_has->begin() + 32);  // the asker's MAC and IP
  send_frame(backend, reply);

  const auto datagram = wait_frame(backend, [](const Bytes& f) { return is_udp(f, 7); }, 500ms);
  ASSERT_TRUE(datagram.has_value()) << "the held datagram did not follow the ARP reply";
  const size_t udp = 14 + ((*datagram)[14] & 0xf) * 4;
  EXPECT_EQ(std::string(datagram->begin() + static_cast<ptrdiff_t>(udp + 8), datagram->end()), hello);
}

// Outbound: slirp makes a host socket on demand (registered on the loop by
// the next pass) and carries the answer back to the guest.
TEST_F(SlirpBackendTest, OutboundUdpToTheHostLoopback) {
  SlirpBackend& backend = make();
  send_frame(backend, arp_request(kGuestIp, kGatewayIp));
  const auto arp = wait_frame(backend, is_arp_reply);
  ASSERT_TRUE(arp.has_value());
  const uint8_t* gateway_mac = &(*arp)[22];

  const int host = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(host, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  getsockname(host, reinterpret_cast<sockaddr*>(&address), &length);
  const uint16_t port = ntohs(address.sin_port);

  // The gateway address stands for the host's loopback.
  send_frame(backend, udp_frame(gateway_mac, kGuestIp, kGatewayIp, 5000, port, {'p', 'i', 'n', 'g'}));
  pollfd readable{host, POLLIN, 0};
  ASSERT_EQ(poll(&readable, 1, 3000), 1);
  char received[16];
  sockaddr_in sender{};
  socklen_t sender_length = sizeof sender;
  ASSERT_EQ(recvfrom(host, received, sizeof received, 0, reinterpret_cast<sockaddr*>(&sender), &sender_length), 4);
  EXPECT_EQ(std::string(received, 4), "ping");
  ASSERT_EQ(sendto(host, "pong", 4, 0, reinterpret_cast<sockaddr*>(&sender), sender_length), 4);
  close(host);

  const auto answer = wait_frame(backend, [](const Bytes& f) { return is_udp(f, 5000); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(get32(*answer, 26), kGatewayIp);
  EXPECT_EQ(get16(*answer, 34), port);
  EXPECT_EQ(std::string(answer->end() - 4, answer->end()), "pong");
}

// A guest SYN makes slirp connect() without blocking; only when the socket
// turns writable (EPOLLOUT through the poller) does the guest get SYN|ACK.
TEST_F(SlirpBackendTest, OutboundTcpConnectCompletesThroughThePoller) {
  SlirpBackend& backend = make();
  send_frame(backend, arp_request(kGuestIp, kGatewayIp));
  const auto arp = wait_frame(backend, is_arp_reply);
  ASSERT_TRUE(arp.has_value());

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const uint16_t port = ntohs(address.sin_port);

  send_frame(backend, tcp_syn(&(*arp)[22], kGatewayIp, 40000, port));
  const auto syn_ack = wait_frame(backend, [](const Bytes& f) {
    return f.size() >= 54 && get16(f, 12) == 0x0800 && f[23] == 6 && get16(f, 36) == 40000;
  });
  ASSERT_TRUE(syn_ack.has_value());
  EXPECT_EQ((*syn_ack)[47] & 0x12, 0x12);  // SYN|ACK
  EXPECT_EQ(get32(*syn_ack, 42), 1001u);    // acknowledges our SYN
  pollfd acceptable{listener, POLLIN, 0};
  EXPECT_EQ(poll(&acceptable, 1, 3000), 1);
  close(listener);
}

TEST_F(SlirpBackendTest, HostPortInUseIsAConfigError) {
  const int taken = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(taken, 1), 0);
  socklen_t length = sizeof address;
  getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string port = std::to_string(ntohs(address.sin_port));
  try {
    make(config_with({{"hostfwd", "tcp:127.0.0.1:" + port + "-:22"}}));
    ADD_FAILURE() << "a forward from a busy port was accepted";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("host port " + port + " is in use"), std::string::npos)
        << error.what();
  }
  close(taken);
}

TEST_F(SlirpBackendTest, BoundedQueueDropsAndCounts) {
  SlirpBackend& backend = make();  // the listener never drains
  constexpr size_t kRequests = SlirpBackend::kMaxQueuedFrames + 44;
  for (size_t i = 0; i < kRequests; ++i) send_frame(backend, arp_request(kGuestIp, kGatewayIp));
  wait_until([&] {
    const auto stats = backend.stats();
    return stats.rx_queued + stats.rx_dropped == kRequests;
  });
  EXPECT_EQ(backend.stats().rx_queued, SlirpBackend::kMaxQueuedFrames);
  EXPECT_EQ(backend.stats().rx_dropped, 44u);
  EXPECT_EQ(backend.stats().tx_frames, kRequests);

  // A buffer too small for the frame: that frame is dropped and counted.
  uint8_t small[20];
  const iovec iov{small, sizeof small};
  const auto got = backend.receive(std::span(&iov, 1));
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::out_of_bounds);
  EXPECT_EQ(backend.stats().rx_dropped, 45u);
  EXPECT_EQ(backend.stats().rx_queued, SlirpBackend::kMaxQueuedFrames - 1);
}

TEST_F(SlirpBackendTest, NoFramesWaitingWithoutInterest) {
  SlirpBackend& backend = make();
  backend.set_receive_interest(false);
  send_frame(backend, arp_request(kGuestIp, kGatewayIp));
  wait_until([&] { return backend.stats().rx_queued == 1; });
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(listener_.frames_waiting_calls.load(), 0);
  backend.set_receive_interest(true);
  wait_until([&] { return listener_.frames_waiting_calls.load() > 0; });
  EXPECT_TRUE(wait_frame(backend, is_arp_reply).has_value());
}

TEST_F(SlirpBackendTest, HostileFramesAreRefusedOrSurvived) {
  SlirpBackend& backend = make();
  const Bytes arp = arp_request(kGuestIp, kGatewayIp);
  // Too short for a vnet header and an Ethernet header.
  const Bytes short_frame(13, 0);
  auto status = send_raw(backend, VnetHeader{}, short_frame);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, Errc::invalid_argument);
  uint8_t header_only[kVnetHeaderSize] = {};
  const iovec just_header{header_only, 5};
  EXPECT_FALSE(backend.send(std::span(&just_header, 1)).has_value());
  // Offloads that were never offered.
  VnetHeader needs_csum;
  needs_csum.flags = VnetHeader::kNeedsCsum;
  needs_csum.csum_start = 60000;
  EXPECT_EQ(send_raw(backend, needs_csum, arp).error().code, Errc::invalid_argument);
  VnetHeader gso;
  gso.gso_type = VnetHeader::kGsoTcpv4;
  gso.gso_size = 1;
  EXPECT_EQ(send_raw(backend, gso, arp).error().code, Errc::invalid_argument);
  // Longer than any Ethernet frame.
  const Bytes huge(kMaxFrameSize + 1, 0);
  EXPECT_EQ(send_raw(backend, VnetHeader{}, huge).error().code, Errc::invalid_argument);

  // Frames slirp must parse and refuse: an IPv4 total length far beyond
  // the frame, a header length beyond it, a truncated ARP, a UDP length
  // that lies, a DHCP request cut short.
  Bytes lying_total = udp_frame(kBroadcastMac, kGuestIp, kGatewayIp, 1000, 53, Bytes(8, 'x'));
  lying_total[16] = 0xff, lying_total[17] = 0xff;
  Bytes lying_ihl = udp_frame(kBroadcastMac, kGuestIp, kGatewayIp, 1000, 53, Bytes(8, 'x'));
  lying_ihl[14] = 0x4f;
  Bytes truncated_arp(arp.begin(), arp.begin() + 20);
  Bytes lying_udp = udp_frame(kBroadcastMac, kGuestIp, kGatewayIp, 1000, 53, Bytes(8, 'x'));
  lying_udp[38] = 0xff, lying_udp[39] = 0xf0;
  Bytes short_dhcp = dhcp_discover();
  short_dhcp.resize(14 + 20 + 8 + 10);
  Bytes just_ethernet(arp.begin(), arp.begin() + 14);
  for (const Bytes* frame : {&lying_total, &lying_ihl, &truncated_arp, &lying_udp, &short_dhcp, &just_ethernet}) {
    send_frame(backend, *frame);
  }
  // Still alive and answering.
  send_frame(backend, arp);
  EXPECT_TRUE(wait_frame(backend, is_arp_reply).has_value());
}

}  // namespace
}  // namespace keel::net
