// The rules around the 12-byte virtio_net_hdr_v1 (virtio 1.2, 5.1.6) and
// the feature bits that govern it: which features keel offers for a
// backend's capabilities, which combinations a driver may accept (5.1.3.1),
// whether a transmitted header is one the negotiated features allow
// (5.1.6.2.1) and how a received header is fitted to what the guest accepts
// (5.1.6.3.1). Pure functions: no guest memory, no state.
#pragma once

#include <cstddef>
#include <cstdint>

#include "keel/net_backend.h"

namespace keel::virtio::net {

// Offload features the backend's capabilities allow (each only with the
// features it depends on).
uint64_t offload_features(const keel::net::BackendCapabilities& caps) noexcept;

// 5.1.3.1 feature dependencies: false when `features` breaks one.
bool features_consistent(uint64_t features) noexcept;

// GUEST_* feature bits <-> what the guest accepts on receive.
keel::net::Offloads guest_offloads(uint64_t guest_feature_bits) noexcept;

// A header the driver sent with an Ethernet frame of `frame_length` bytes:
// flags only NEEDS_CSUM, and only with CSUM; checksum start/offset inside
// the frame; gso types only with their HOST_* feature (ECN with HOST_ECN),
// a gso frame with a non-zero gso_size; hdr_len not beyond the frame.
bool valid_tx_header(const keel::net::VnetHeader& header, uint64_t features, size_t frame_length) noexcept;

// A header the backend delivered with a frame of `frame_length` bytes, to
// be given to a guest that accepts `accepted`: false when the frame needs
// an offload the guest did not accept (or the header lies about the frame);
// otherwise flags the guest cannot interpret are cleared (DATA_VALID only
// with GUEST_CSUM) and num_buffers is left for the caller.
bool fit_rx_header(keel::net::VnetHeader& header, const keel::net::Offloads& accepted, size_t frame_length) noexcept;

}  // namespace keel::virtio::net
