#pragma once

// CURVE keys for encrypted, authenticated ZeroMQ channels (docs/channels.md, "Across machines").

#include <string>
#include <vector>

namespace brine {

/// A CURVE key pair, each key as 40 characters of Z85 text.
struct curve_keys {
  std::string public_key;
  std::string secret_key;
};

/// Makes a new random key pair. Throws: transport_error if the ZeroMQ library lacks CURVE.
curve_keys curve_keypair();

/// CURVE settings of one channel. The side that binds is the CURVE server unless `server_key`
/// is set, which makes this side a client of the server holding that public key.
struct curve_options {
  /// This side's key pair.
  curve_keys keys;
  /// Client side: the server's public key. Empty on the server side.
  std::string server_key;
  /// Server side: public keys of the clients allowed in. Empty allows any client that knows the
  /// server's public key; a client with another server key never completes the handshake.
  std::vector<std::string> allowed_clients;
};

}  // namespace brine
