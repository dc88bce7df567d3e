#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace brine {

/// Base of every exception brine throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bytes that are not a valid encoding of the expected type: truncated, corrupt, over a limit.
class decode_error : public error {
 public:
  decode_error(const std::string& what, std::size_t offset);
  /// Byte offset in the frame where decoding failed.
  std::size_t offset() const noexcept { return offset_; }

 protected:
  struct raw_message {};
  decode_error(raw_message, const std::string& what, std::size_t offset)
      : error(what), offset_(offset) {}

 private:
  std::size_t offset_;
};

/// A frame written for one type was read as another; the message names both.
class type_mismatch : public decode_error {
 public:
  explicit type_mismatch(const std::string& what) : decode_error(raw_message{}, what, 0) {}
};

/// A value that cannot be encoded (too deep, an unregistered polymorphic type, ...).
class encode_error : public error {
 public:
  using error::error;
};

/// A file or stream could not be read or written.
class io_error : public error {
 public:
  using error::error;
};

/// An operation did not complete before its deadline.
class timeout_error : public error {
 public:
  using error::error;
};

/// The channel reached end of stream, or was closed locally.
class channel_closed : public error {
 public:
  using error::error;
};

/// A remote handler threw; carries the remote exception's type name and message.
class remote_error : public error {
 public:
  remote_error(std::string type, std::string message)
      : error(type + ": " + message), type_(std::move(type)), message_(std::move(message)) {}
  const std::string& type() const noexcept { return type_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string type_;
  std::string message_;
};

/// A transport failed: bad URL, address in use, peer unreachable, segment unusable.
class transport_error : public error {
 public:
  using error::error;
};

}  // namespace brine
