// brine-call: calls a method of a brine::server from the shell, with its arguments written as
// JSON and its result printed as JSON (docs/brine-call.md).

#include <brine/error.hpp>
#include <brine/frame.hpp>
#include <brine/inspect.hpp>
#include <brine/rpc.hpp>
#include <brine/schema_tree.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_encode.hpp"
#include "json_value.hpp"

namespace {

// Exit codes (docs/brine-call.md).
constexpr int exit_remote = 1;     // the method threw
constexpr int exit_usage = 2;      // bad usage, bad JSON, arguments of the wrong types, no method
constexpr int exit_transport = 3;  // no server, connection lost, timeout

void list_methods(std::FILE* to, const std::vector<brine::method_info>& methods) {
  std::size_t width = 0;
  for (const auto& m : methods)
    width = std::max(width, m.name.size());
  for (const auto& m : methods) {
    std::string pad(width - m.name.size() + 2, ' ');
    std::fprintf(to, "%s%s%s\n", m.name.c_str(), pad.c_str(), m.signature.c_str());
    try {
      std::string json = brine::to_text(brine::parse_schema(m.args_schema)) + " -> " +
                         brine::to_text(brine::parse_schema(m.result_schema));
      std::fprintf(to, "%s%s\n", std::string(width + 2, ' ').c_str(), json.c_str());
    } catch (const brine::decode_error&) {
      // A server of another version may describe its types in a way this one cannot read; its
      // signature is still worth showing.
    }
  }
  if (methods.empty()) std::fprintf(to, "(no methods)\n");
}

bool is_text(const brine::schema_node& n) {
  return n.tag == brine::schema_tag::string || n.tag == brine::schema_tag::path;
}

// The arguments as one JSON array: --args, or one ARG per parameter. An ARG for a string
// parameter that is not a JSON string is that string itself (`greet bob` as `greet '"bob"'`).
brine_call::json_value arguments(const brine::schema_node& params,
                                 const std::vector<std::string>& args,
                                 const brine_call::json_value* all) {
  using brine_call::json_value;
  json_value list;
  if (all != nullptr) {
    if (all->t != json_value::type::array) {
      throw brine_call::input_error("--args: expected a JSON array, got " +
                                    brine_call::describe(*all));
    }
    list = *all;
  } else {
    list.t = json_value::type::array;
    for (std::size_t i = 0; i < args.size(); ++i) {
      bool text = i < params.children.size() && is_text(params.children[i]);
      try {
        list.items.push_back(brine_call::parse_json(args[i]));
        if (text && list.items.back().t != json_value::type::string) {
          list.items.back() = json_value{json_value::type::string, false, 0, 0, args[i], {}, {}};
        }
      } catch (const brine_call::input_error& e) {
        if (!text) throw brine_call::input_error("args[" + std::to_string(i) + "]: " + e.what());
        list.items.push_back(json_value{json_value::type::string, false, 0, 0, args[i], {}, {}});
      }
    }
  }
  return list;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Call a method of a brine RPC server with JSON arguments and print its result as JSON.\n"
      "Without METHOD, list the server's methods."};
  std::string url;
  std::string method;
  std::vector<std::string> args;
  std::string args_json;
  int timeout_ms = 10'000;
  app.add_option("url", url, "the server's URL: shm://name, ipc://path, tcp://host:port")
      ->required();
  app.add_option("method", method, "the method to call");
  app.add_option("args", args,
                 "one JSON value per argument; for a string parameter, text that is not a JSON "
                 "string is the string itself. Put -- before arguments that start with -");
  auto* args_option =
      app.add_option("--args", args_json, "all arguments as one JSON array, instead of ARGS");
  app.add_option("--timeout", timeout_ms,
                 "milliseconds to wait for the server to be connected, and for each reply")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 3600 * 1000));
  // CLI11 parses the options, URL and METHOD; the ARGs are taken here as they are, because
  // CLI11 would split an argument in brackets into a list of its own ("[1,2]" as "1" and "2").
  std::vector<const char*> cli{argv[0]};
  std::vector<std::string> positionals;
  bool only_positionals = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    bool option = a.size() > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9') && a[1] != '.';
    if (only_positionals || !option) {
      positionals.emplace_back(a);
    } else if (a == "--") {
      only_positionals = true;
    } else {
      cli.push_back(argv[i]);
      if ((a == "--timeout" || a == "--args") && i + 1 < argc) cli.push_back(argv[++i]);
    }
  }
  for (std::size_t i = 0; i < positionals.size() && i < 2; ++i)
    cli.push_back(positionals[i].c_str());
  if (positionals.size() > 2) args.assign(positionals.begin() + 2, positionals.end());
  try {
    app.parse(static_cast<int>(cli.size()), cli.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_usage;
  }
  if (args_option->count() != 0 && !args.empty()) {
    std::fprintf(stderr, "brine-call: give the arguments either as ARGS or as --args, not both\n");
    return exit_usage;
  }
  if (method.empty() && args_option->count() != 0) {
    std::fprintf(stderr, "brine-call: --args needs a METHOD\n");
    return exit_usage;
  }

  std::optional<brine_call::json_value> all;
  try {
    if (args_option->count() != 0) all = brine_call::parse_json(args_json);
  } catch (const brine_call::input_error& e) {
    std::fprintf(stderr, "brine-call: --args: %s\n", e.what());
    return exit_usage;
  }

  std::chrono::milliseconds timeout{timeout_ms};
  brine::rpc_options opts;
  opts.timeout = timeout;
  opts.channel.connect_timeout = timeout;
  opts.channel.linger = std::chrono::milliseconds{0};  // nothing is left to send at exit
  bool calling = false;  // a decode_error then means the server could not read the arguments
  try {
    brine::client client(url, opts);
    std::vector<brine::method_info> methods = client.methods();
    if (method.empty()) {
      list_methods(stdout, methods);
      return 0;
    }
    auto it = std::find_if(methods.begin(), methods.end(),
                           [&](const brine::method_info& m) { return m.name == method; });
    if (it == methods.end()) {
      std::fprintf(stderr, "brine-call: %s has no method '%s'; its methods are:\n", url.c_str(),
                   method.c_str());
      list_methods(stderr, methods);
      return exit_usage;
    }
    const brine::method_info& info = *it;
    brine::schema_node params = brine::parse_schema(info.args_schema);
    brine_call::json_value list = arguments(params, args, all ? &*all : nullptr);
    if (params.tag == brine::schema_tag::tuple && list.items.size() != params.children.size()) {
      std::size_t n = params.children.size();
      std::fprintf(stderr, "brine-call: %s takes %zu argument%s %s, got %zu\n", method.c_str(), n,
                   n == 1 ? "" : "s", brine::to_text(params).c_str(), list.items.size());
      return exit_usage;
    }
    std::vector<std::byte> frame = brine_call::encode_frame(info.args_schema, list, "args");

    calling = true;
    std::vector<std::byte> result = client.call_frame(info, frame, timeout);
    calling = false;

    // The result's frame carries only its fingerprint (or its own schema, for types holding
    // evolvable records); inspect needs the schema beside the body.
    brine::frame_view f = brine::parse_frame(result);
    if (f.schema.empty()) {
      if (f.header.fingerprint != brine::fingerprint_of(info.result_schema)) {
        std::fprintf(stderr, "brine-call: the result of %s is not of the type the server listed\n",
                     method.c_str());
        return exit_transport;
      }
      result = brine_call::described_frame(info.result_schema, f.body);
    }
    brine::inspect_options io;
    io.fmt = brine::inspect_options::format::json;
    io.max_items = 0;
    std::string value = brine_call::inspect_value(brine::inspect(result, io));
    std::fprintf(stdout, "%s\n", value.c_str());
    return 0;
  } catch (const brine::remote_error& e) {
    if (e.type() == "brine::unknown_method") {
      std::fprintf(stderr, "brine-call: %s\n", e.message().c_str());
      return exit_usage;
    }
    std::fprintf(stderr, "brine-call: %s threw %s: %s\n", method.c_str(), e.type().c_str(),
                 e.message().c_str());
    return exit_remote;
  } catch (const brine_call::input_error& e) {
    std::fprintf(stderr, "brine-call: %s\n", e.what());
    return exit_usage;
  } catch (const brine::type_mismatch& e) {
    std::fprintf(stderr, "brine-call: %s\n", e.what());
    return exit_usage;
  } catch (const brine::decode_error& e) {
    std::fprintf(stderr, "brine-call: %s\n", e.what());
    return calling ? exit_usage : exit_transport;
  } catch (const brine::error& e) {
    // transport_error, timeout_error, channel_closed
    std::fprintf(stderr, "brine-call: %s\n", e.what());
    return exit_transport;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "brine-call: %s\n", e.what());
    return exit_transport;
  }
}
