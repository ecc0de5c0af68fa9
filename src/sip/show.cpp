#include "show.hpp"

#include <cstdio>

namespace voxfork::sip {
namespace {

// Left-aligned in `width`, and never run into the next column.
void column(std::string& out, const std::string& text, std::size_t width) {
    out += text;
    out.append(text.size() < width ? width - text.size() : 1, ' ');
}

void counter_line(std::string& out, nlohmann::json& data, const char* indent, const std::string& label,
                  std::uint64_t value, const std::string& key) {
    out += indent + label + ": " + std::to_string(value) + "\n";
    data[key] = value;
}

std::string endpoint_text(const net::Endpoint& e) {
    return e.address.is_unspecified() ? std::string("-") : e.to_string();
}

}  // namespace

// Rows come two by two, leg a then leg b of one call (CallManager::rows).
ops::CommandOutput show_call_details(const std::vector<LegRow>& rows) {
    ops::CommandOutput out;
    out.data["calls"] = nlohmann::json::array();
    for (std::size_t i = 0; i + 1 < rows.size(); i += 2) {
        out.text += "Call " + std::to_string(rows[i].anchor) + "\n";
        nlohmann::json call = {{"anchor", rows[i].anchor}, {"legs", nlohmann::json::array()}};
        for (const LegRow* r : {&rows[i], &rows[i + 1]}) {
            const char* way = r == &rows[i] ? "inbound" : "outbound";
            out.text += " Callid " + std::to_string(r->callid) + " (" + way + "), dial-peer " +
                        std::to_string(r->dial_peer) + ", SIP " + r->remote + ", codec " + r->codec + ", state " +
                        r->state + "\n";
            out.text += "  Relay RTP port: " + std::to_string(r->relay_port) + "\n";
            out.text += "  RTP latching: " + std::string(config::to_string(r->latching)) + "\n";
            out.text += "  RTP signalled: " + endpoint_text(r->rtp_signalled) +
                        ", latched: " + endpoint_text(r->rtp_latched) + "\n";
            out.text += "  RTCP signalled: " + endpoint_text(r->rtcp_signalled) +
                        ", latched: " + endpoint_text(r->rtcp_latched) + "\n";
            out.text +=
                "  Latches: " + std::to_string(r->latches) + ", moves: " + std::to_string(r->latch_moves) + "\n";
            call["legs"].push_back({{"callid", r->callid},
                                    {"direction", way},
                                    {"dial_peer", r->dial_peer},
                                    {"remote", r->remote},
                                    {"codec", r->codec},
                                    {"state", r->state},
                                    {"relay_rtp_port", r->relay_port},
                                    {"rtp_latching", config::to_string(r->latching)},
                                    {"rtp_signalled", endpoint_text(r->rtp_signalled)},
                                    {"rtp_latched", endpoint_text(r->rtp_latched)},
                                    {"rtcp_signalled", endpoint_text(r->rtcp_signalled)},
                                    {"rtcp_latched", endpoint_text(r->rtcp_latched)},
                                    {"latches", r->latches},
                                    {"latch_moves", r->latch_moves}});
        }
        out.data["calls"].push_back(std::move(call));
    }
    out.text += "Total calls: " + std::to_string(rows.size() / 2) + "\n";
    out.data["total_calls"] = rows.size() / 2;
    return out;
}

ops::CommandOutput show_calls(const std::vector<LegRow>& rows) {
    ops::CommandOutput out;
    out.text = "Callid  Peer-leg  Dial-peer  Remote            Codec     State   Fork\n";
    out.data["calls"] = nlohmann::json::array();
    for (const auto& r : rows) {
        column(out.text, std::to_string(r.callid), 8);
        column(out.text, std::to_string(r.peer), 10);
        column(out.text, std::to_string(r.dial_peer), 11);
        column(out.text, r.remote, 18);
        column(out.text, r.codec, 10);
        column(out.text, r.state, 8);
        out.text += r.fork + "\n";
        out.data["calls"].push_back({{"callid", r.callid},
                                     {"peer_leg", r.peer},
                                     {"dial_peer", r.dial_peer},
                                     {"remote", r.remote},
                                     {"codec", r.codec},
                                     {"state", r.state},
                                     {"fork", r.fork}});
    }
    out.text += "Total calls: " + std::to_string(rows.size() / 2) + "\n";
    out.data["total_calls"] = rows.size() / 2;
    return out;
}

ops::CommandOutput show_statistics(const SipCounters& c, std::size_t dialogs, const overload::Counters& overload) {
    ops::CommandOutput out;
    const std::pair<const char*, std::uint64_t> lines[] = {
        {"INVITEs received", c.invites_received},
        {"Calls connected", c.calls_connected},
        {"Calls failed", c.calls_failed},
        {"Calls ended, 200 not ACKed", c.ack_timeouts},
        {"Rejected untrusted source (403)", c.rejected_untrusted},
        {"Rejected no route (404)", c.rejected_no_route},
        {"Rejected no common codec (488)", c.rejected_codec},
        {"Rejected malformed (400)", c.rejected_malformed},
        {"Rejected message too large (513)", c.rejected_too_large},
        {"Rejected no dialog (481)", c.rejected_no_dialog},
        {"Rejected no media ports (503)", c.rejected_no_ports},
        {"Rejected overload (503)", c.rejected_overload},
        {"Downstream 503 sent as 500", c.downstream_503_as_500},
        {"Glare (491)", c.glare},
        {"re-INVITEs relayed", c.reinvites_relayed},
        {"INFOs relayed", c.infos_relayed},
        {"Forking requests", c.fork_requests},
    };
    out.text = "SIP statistics\n";
    for (const auto& [label, value] : lines) counter_line(out.text, out.data, " ", label, value, ops::json_key(label));
    counter_line(out.text, out.data, " ", "Dialogs open", dialogs, "dialogs_open");
    counter_line(out.text, out.data, " ", "Overload episodes", overload.episodes, "overload_episodes");
    counter_line(out.text, out.data, " ", "Control-plane lag ms (last)", overload.lag_ms_last, "control_plane_lag_ms_last");
    counter_line(out.text, out.data, " ", "Control-plane lag ms (max)", overload.lag_ms_max, "control_plane_lag_ms_max");
    counter_line(out.text, out.data, " ", "SIP receive queue % full (last)", overload.queue_fill_pct_last,
                 "sip_receive_queue_fill_pct_last");
    counter_line(out.text, out.data, " ", "SIP receive queue % full (max)", overload.queue_fill_pct_max,
                 "sip_receive_queue_fill_pct_max");
    return out;
}

ops::CommandOutput show_fork_global(const media::Relay& relay, const ExtraCounters& extra) {
    ops::CommandOutput out;
    const media::RelayCounters& c = relay.counters();
    out.text = "SBC fork global statistics\n";
    counter_line(out.text, out.data, " ", "Relay port pairs total", relay.ports_total(), "port_pairs_total");
    counter_line(out.text, out.data, " ", "Relay port pairs free", relay.ports_free(), "port_pairs_free");
    counter_line(out.text, out.data, " ", "Ports skipped in use", c.ports_skipped_in_use.load(),
                 "ports_skipped_in_use");
    counter_line(out.text, out.data, " ", "Allocation failures", c.allocation_failures.load(), "allocation_failures");
    for (media::Direction d : {media::Direction::caller, media::Direction::callee}) {
        const char* name = d == media::Direction::caller ? "caller" : "callee";
        const media::DirectionCounters& dc = c.direction[static_cast<int>(d)];
        nlohmann::json& data = out.data[name];
        out.text += std::string(" Direction ") + name + "\n";
        counter_line(out.text, data, "  ", "RTP packets relayed", dc.packets_relayed.load(), "rtp_packets_relayed");
        counter_line(out.text, data, "  ", "RTP bytes relayed", dc.bytes_relayed.load(), "rtp_bytes_relayed");
        counter_line(out.text, data, "  ", "RTCP packets relayed", dc.rtcp_relayed.load(), "rtcp_packets_relayed");
        counter_line(out.text, data, "  ", "Dropped unexpected source", dc.dropped_unexpected_source.load(),
                     "dropped_unexpected_source");
        counter_line(out.text, data, "  ", "Dropped malformed", dc.dropped_malformed.load(), "dropped_malformed");
        counter_line(out.text, data, "  ", "Dropped no destination", dc.dropped_no_destination.load(),
                     "dropped_no_destination");
        counter_line(out.text, data, "  ", "Dropped send error", dc.dropped_send_error.load(), "dropped_send_error");
        counter_line(out.text, data, "  ", "Latches", dc.latches.load(), "latches");
        counter_line(out.text, data, "  ", "Latch moves", dc.latch_moves.load(), "latch_moves");
        // The fork part's per-direction lines (packets/bytes forked, frames dropped) go here.
        if (extra)
            for (const auto& [label, value] : extra(d))
                counter_line(out.text, data, "  ", label, value, ops::json_key(label));
    }
    return out;
}

}  // namespace voxfork::sip
