// The reason strings of docs/controller.md ("Reason strings"), exact: one list for every part that
// produces them (ws for transport failures, fork for request validation and
// the state table). Status INFOs carry them in `reason`.
#pragma once

#include <string_view>

namespace voxfork::reason {

// Requests (docs/controller.md, "How a request is checked").
inline constexpr std::string_view json_parse_failure = "JSON parse failure";
inline constexpr std::string_view unexpected_format = "Unexpected format or content in JSON";
inline constexpr std::string_view mandatory_missing = "Mandatory parameter missing in JSON";
inline constexpr std::string_view method_not_supported = "Method not supported";
inline constexpr std::string_view invalid_start = "Invalid Start Fork Request";
inline constexpr std::string_view invalid_stop = "Invalid Stop Fork Request";
inline constexpr std::string_view invalid_update = "Invalid Update Fork Request";
inline constexpr std::string_view guid_mismatch = "GUID Mismatch";
inline constexpr std::string_view unsupported_flow = "Unsupported flow";
inline constexpr std::string_view codec_not_supported = "Codec is not supported";

// The fork's end and the transport.
inline constexpr std::string_view forking_stopped = "Forking stopped";
inline constexpr std::string_view dns_failed = "DNS lookup failed";
inline constexpr std::string_view proxy_dns_failed = "Proxy DNS lookup failed";
inline constexpr std::string_view connection_failed = "Connection failed";
inline constexpr std::string_view auth_invalid = "Authentication token invalid";
inline constexpr std::string_view connection_closed = "Connection closed";
inline constexpr std::string_view tcp_closed = "TCP Connection closed";
inline constexpr std::string_view internal_error = "Internal error";
// Never produced: voxforkd has no high-availability pair (docs/forking.md).
inline constexpr std::string_view ha_switchover = "High availability Switchover";

// STOP reasons towards the speech server only (docs/speech-server-protocol.md).
inline constexpr std::string_view call_ended = "Call ended";
inline constexpr std::string_view stopped_by_server = "Stopped by server";

}  // namespace voxfork::reason
