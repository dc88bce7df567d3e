#pragma once

// The shared-memory transport's entry points, for core/src/channel.cpp only. Not installed.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "brine/channel_options.hpp"
#include "brine/transport.hpp"

namespace brine::shm {

std::unique_ptr<transport::sender_link> open_sender(transport::pattern p,
                                                    const transport::endpoint& where,
                                                    const channel_options& opts,
                                                    std::uint64_t fingerprint);
std::unique_ptr<transport::receiver_link> open_receiver(transport::pattern p,
                                                        const transport::endpoint& where,
                                                        const channel_options& opts,
                                                        std::uint64_t fingerprint);

std::unique_ptr<transport::client_link> open_client(const transport::endpoint& where,
                                                    const channel_options& opts);
std::unique_ptr<transport::server_link> open_server(const transport::endpoint& where,
                                                    const channel_options& opts);

/// The operating system's name of the segment of shm://`name`. Throws: transport_error.
std::string os_name(const std::string& name);
}  // namespace brine::shm
