#pragma once

// The ZeroMQ transport's entry points, for core/src/channel.cpp only. Not installed.

#include <memory>
#include <vector>

#include "brine/channel_options.hpp"
#include "brine/curve.hpp"
#include "brine/transport.hpp"

namespace brine::zmq_transport {

std::unique_ptr<transport::sender_link> open_sender(transport::pattern p,
                                                    std::vector<transport::endpoint> eps,
                                                    const channel_options& opts);
std::unique_ptr<transport::receiver_link> open_receiver(transport::pattern p,
                                                        std::vector<transport::endpoint> eps,
                                                        const channel_options& opts);
std::unique_ptr<transport::client_link> open_client(std::vector<transport::endpoint> eps,
                                                    const channel_options& opts);
std::unique_ptr<transport::server_link> open_server(std::vector<transport::endpoint> eps,
                                                    const channel_options& opts);
void shutdown() noexcept;
curve_keys curve_keypair();

}  // namespace brine::zmq_transport
