#include "metrics_wiring.hpp"

namespace voxfork {

namespace {

using Type = ops::MetricsWriter::Type;

// `show sip-ua statistics`: calls, and voxforkd's own answers by code.
void collect_sip(ops::MetricsWriter& w, const sip::B2bua& sip) {
    const sip::SipCounters& c = sip.counters();
    w.gauge("calls_active", "Calls up now (show call active voice brief: Total calls)", sip.active_calls());
    w.gauge("sip_dialogs_open", "SIP dialogs and pending requests' handles held", sip.dialogs_open());
    w.counter("sip_invites_received_total", "Initial INVITEs received", c.invites_received);
    w.counter("sip_calls_connected_total", "Calls answered on both legs", c.calls_connected);
    w.counter("sip_calls_failed_total", "Calls that ended before both legs answered", c.calls_failed);
    w.counter("sip_ack_timeouts_total", "Calls ended with BYE because a 200 was never acknowledged", c.ack_timeouts);
    w.family("sip_responses_sent_total", Type::counter,
             "Final error responses voxforkd answered on its own, by code and cause");
    w.sample(c.rejected_malformed, {{"code", "400"}, {"cause", "malformed"}});
    w.sample(c.rejected_untrusted, {{"code", "403"}, {"cause", "untrusted_source"}});
    w.sample(c.rejected_no_route, {{"code", "404"}, {"cause", "no_route"}});
    w.sample(c.rejected_no_dialog, {{"code", "481"}, {"cause", "no_dialog"}});
    w.sample(c.rejected_codec, {{"code", "488"}, {"cause", "no_common_codec"}});
    w.sample(c.glare, {{"code", "491"}, {"cause", "glare"}});
    w.sample(c.downstream_503_as_500, {{"code", "500"}, {"cause", "downstream_503"}});
    w.sample(c.rejected_no_ports, {{"code", "503"}, {"cause", "no_media_ports"}});
    w.sample(c.rejected_too_large, {{"code", "513"}, {"cause", "message_too_large"}});
    w.sample(c.rejected_overload, {{"code", "503"}, {"cause", "overload"}});
    const overload::Counters& o = sip.overload_counters();
    w.counter("overload_episodes_total", "Times the control-plane loop fell so far behind that new calls were refused",
              o.episodes);
    w.family("control_plane_lag_seconds", Type::gauge, "How late the control-plane loop ran its last 50 ms tick");
    w.sample_milliseconds_as_seconds(o.lag_ms_last);
    w.family("sip_receive_queue_fill_percent", Type::gauge,
             "How full the SIP UDP socket's receive queue was at the last 50 ms tick (new calls are refused above 50)");
    w.sample(o.queue_fill_pct_last);
    w.counter("sip_reinvites_relayed_total", "re-INVITEs relayed to the other leg", c.reinvites_relayed);
    w.counter("sip_infos_relayed_total", "INFOs relayed to the other leg", c.infos_relayed);
    w.counter("sip_fork_requests_total", "Forking requests received (INFO or re-INVITE)", c.fork_requests);
}

// `show platform hardware qfp active feature sbc fork global`: the relay's
// packets and what it dropped, the forked packets, per direction.
void collect_relay(ops::MetricsWriter& w, const media::Relay& relay, const fork::Controller& forks) {
    const media::RelayCounters& c = relay.counters();
    w.family("relay_port_pairs", Type::gauge, "RTP/RTCP port pairs of the relay, by whether they are free");
    w.sample(relay.ports_free(), {{"state", "free"}});
    w.sample(relay.ports_total() - relay.ports_free(), {{"state", "in_use"}});
    w.counter("relay_allocation_failures_total", "Calls refused because no port pair was free",
              c.allocation_failures.load());

    constexpr media::Direction directions[] = {media::Direction::caller, media::Direction::callee};
    auto name = [](media::Direction d) { return d == media::Direction::caller ? "caller" : "callee"; };
    auto counters = [&](media::Direction d) -> const media::DirectionCounters& {
        return c.direction[static_cast<int>(d)];
    };
    // A counter family of one sample per direction.
    auto by_direction = [&](std::string_view family, std::string_view help, auto value_of) {
        w.family(family, Type::counter, help);
        for (auto d : directions) w.sample(value_of(counters(d), forks.totals(d)), {{"direction", name(d)}});
    };
    by_direction("relay_rtp_packets_total", "RTP packets relayed, by the direction they travel",
                 [](const auto& relayed, const auto&) { return relayed.packets_relayed.load(); });
    by_direction("relay_rtp_bytes_total", "RTP bytes relayed",
                 [](const auto& relayed, const auto&) { return relayed.bytes_relayed.load(); });
    by_direction("relay_rtcp_packets_total", "RTCP packets relayed",
                 [](const auto& relayed, const auto&) { return relayed.rtcp_relayed.load(); });
    w.family("relay_packets_dropped_total", Type::counter, "Packets the relay did not forward, by why");
    for (auto d : directions) {
        const auto& dc = counters(d);
        w.sample(dc.dropped_unexpected_source.load(), {{"direction", name(d)}, {"reason", "unexpected_source"}});
        w.sample(dc.dropped_malformed.load(), {{"direction", name(d)}, {"reason", "malformed"}});
        w.sample(dc.dropped_no_destination.load(), {{"direction", name(d)}, {"reason", "no_destination"}});
        w.sample(dc.dropped_send_error.load(), {{"direction", name(d)}, {"reason", "send_error"}});
    }
    by_direction("relay_latches_total", "RTP sources latched on",
                 [](const auto& relayed, const auto&) { return relayed.latches.load(); });
    by_direction("relay_latch_moves_total", "Latched RTP sources that moved",
                 [](const auto& relayed, const auto&) { return relayed.latch_moves.load(); });

    by_direction("fork_packets_total", "RTP packets handed to forks",
                 [](const auto&, const auto& forked) { return forked.packets_forked; });
    by_direction("fork_bytes_total", "Bytes forked, as framed by the profile's protocol",
                 [](const auto&, const auto& forked) { return forked.bytes_forked; });
    by_direction("fork_frames_dropped_total", "Forked frames dropped before they reached a socket",
                 [](const auto&, const auto& forked) { return forked.frames_dropped; });
}

// The fork controller's calls and the license counts.
void collect_forks(ops::MetricsWriter& w, const fork::Controller& forks, const ws::Statistics& s) {
    const fork::LiveCounts live = forks.live_counts();
    w.family("forks", Type::gauge, "Calls' forks by state (the Fork column of show call active voice brief)");
    w.sample(live.forks_connecting, {{"state", "connecting"}});
    w.sample(live.forks_active, {{"state", "active"}});
    w.sample(live.forks_paused, {{"state", "paused"}});
    w.sample(live.forks_stopped, {{"state", "stopped"}});
    w.counter("forks_started_total", "Forks whose session with the speech server began", s.forks_started);
    w.counter("forks_failed_total", "Forks that never reached their speech server", s.forks_failed);
    w.family("license_calls", Type::gauge, "Licensed calls now, by kind");
    w.sample(live.standard_calls, {{"kind", "standard"}});
    w.sample(live.enhanced_calls, {{"kind", "enhanced"}});
    w.sample(live.aggregate_calls, {{"kind", "aggregate"}});
}

// `show voip stream-service statistics` and the connection tables.
void collect_websocket(ops::MetricsWriter& w, const ws::Statistics& s) {
    w.family("websocket_connections", Type::gauge, "WebSocket connections to speech servers, by state");
    w.sample(s.connections_connecting, {{"state", "connecting"}});
    w.sample(s.connections_active, {{"state", "active"}});
    w.sample(s.connections_closing, {{"state", "closing"}});
    w.counter("websocket_connections_created_total", "WebSocket connections opened", s.connections_created);
    w.counter("websocket_connections_closed_total", "WebSocket connections closed", s.connections_closed);
    w.family("websocket_frames_sent_total", Type::counter, "Binary frames sent to speech servers, by protocol");
    for (const auto& [protocol, frames] : s.by_protocol) w.sample(frames.sent, {{"protocol", protocol}});
    w.family("websocket_bytes_sent_total", Type::counter, "Binary frame bytes sent to speech servers, by protocol");
    for (const auto& [protocol, frames] : s.by_protocol) w.sample(frames.bytes_sent, {{"protocol", protocol}});
    w.family("websocket_frames_dropped_total", Type::counter,
             "Binary frames dropped under back-pressure, by protocol");
    for (const auto& [protocol, frames] : s.by_protocol) w.sample(frames.dropped, {{"protocol", protocol}});
    // The four alarmed counters: `clear voip stream-service statistics`
    // zeroes them, which Prometheus reads as a counter reset.
    w.counter("websocket_tcp_connection_failures_total", "Connection attempts that never reached TCP established (alarmed)",
              s.tcp_connection_failures);
    w.counter("websocket_http_connection_failures_total", "Connections that reached TCP but not a WebSocket: proxy, TLS or upgrade refused (alarmed)",
              s.http_connection_failures);
    w.counter("websocket_remote_closures_total", "Close frames from speech servers (alarmed)",
              s.remote_websocket_closures);
    w.counter("websocket_tcp_closures_total", "Connections whose TCP ended without a close frame (alarmed)",
              s.tcp_closures);
    // Continuity (connection reconnect window).
    w.counter("websocket_reconnect_attempts_total", "Attempts to reconnect a lost connection", s.reconnect_attempts);
    w.counter("websocket_reconnects_total", "Lost connections reconnected within the window", s.reconnects_succeeded);
    w.counter("forks_resumed_total", "Forks re-established on a reconnected connection", s.forks_resumed);
    w.counter("websocket_frames_replayed_total", "Frames of an outage sent after the reconnect", s.frames_replayed);
}

}  // namespace

void add_metric_collectors(ops::Metrics& metrics, const sip::B2bua& sip, const media::Relay& relay,
                           const ws::Pool& pool, const fork::Controller& forks) {
    metrics.add([&sip](ops::MetricsWriter& w) { collect_sip(w, sip); });
    metrics.add([&relay, &forks](ops::MetricsWriter& w) { collect_relay(w, relay, forks); });
    metrics.add([&pool, &forks](ops::MetricsWriter& w) {
        const ws::Statistics s = pool.statistics();
        collect_forks(w, forks, s);
        collect_websocket(w, s);
    });
}

}  // namespace voxfork
