#include "metrics_wiring.hpp"

namespace voxfork {

namespace {

using Type = ops::MetricsWriter::Type;

// `show sip-ua statistics`: calls, and voxforkd's own answers by code.
void collect_sip(ops::MetricsWriter& w, const sip::B2bua& sip) {
    const sip::SipCounters& c = sip.counters();
    w.family("calls_active", Type::gauge, "Calls up now (show call active voice brief: Total calls)");
    w.sample(sip.active_calls());
    w.family("sip_dialogs_open", Type::gauge, "SIP dialogs and pending requests' handles held");
    w.sample(sip.dialogs_open());
    w.family("sip_invites_received_total", Type::counter, "Initial INVITEs received");
    w.sample(c.invites_received);
    w.family("sip_calls_connected_total", Type::counter, "Calls answered on both legs");
    w.sample(c.calls_connected);
    w.family("sip_calls_failed_total", Type::counter, "Calls that ended before both legs answered");
    w.sample(c.calls_failed);
    w.family("sip_ack_timeouts_total", Type::counter, "Calls ended with BYE because a 200 was never acknowledged");
    w.sample(c.ack_timeouts);
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
    w.sample(c.rejected_overload, {{"code", "503"}, {"cause", "overload"}});
    const overload::Counters& o = sip.overload_counters();
    w.family("overload_episodes_total", Type::counter,
             "Times the control-plane loop fell so far behind that new calls were refused");
    w.sample(o.episodes);
    w.family("control_plane_lag_seconds", Type::gauge, "How late the control-plane loop ran its last 50 ms tick");
    w.sample_milliseconds_as_seconds(o.lag_ms_last);
    w.family("sip_reinvites_relayed_total", Type::counter, "re-INVITEs relayed to the other leg");
    w.sample(c.reinvites_relayed);
    w.family("sip_infos_relayed_total", Type::counter, "INFOs relayed to the other leg");
    w.sample(c.infos_relayed);
    w.family("sip_fork_requests_total", Type::counter, "Forking requests received (INFO or re-INVITE)");
    w.sample(c.fork_requests);
}

// `show platform hardware qfp active feature sbc fork global`: the relay's
// packets and what it dropped, the forked packets, per direction.
void collect_relay(ops::MetricsWriter& w, const media::Relay& relay, const fork::Controller& forks) {
    const media::RelayCounters& c = relay.counters();
    w.family("relay_port_pairs", Type::gauge, "RTP/RTCP port pairs of the relay, by whether they are free");
    w.sample(relay.ports_free(), {{"state", "free"}});
    w.sample(relay.ports_total() - relay.ports_free(), {{"state", "in_use"}});
    w.family("relay_allocation_failures_total", Type::counter, "Calls refused because no port pair was free");
    w.sample(c.allocation_failures.load());

    constexpr media::Direction directions[] = {media::Direction::caller, media::Direction::callee};
    auto name = [](media::Direction d) { return d == media::Direction::caller ? "caller" : "callee"; };
    auto counters = [&](media::Direction d) -> const media::DirectionCounters& {
        return c.direction[static_cast<int>(d)];
    };
    w.family("relay_rtp_packets_total", Type::counter, "RTP packets relayed, by the direction they travel");
    for (auto d : directions) w.sample(counters(d).packets_relayed.load(), {{"direction", name(d)}});
    w.family("relay_rtp_bytes_total", Type::counter, "RTP bytes relayed");
    for (auto d : directions) w.sample(counters(d).bytes_relayed.load(), {{"direction", name(d)}});
    w.family("relay_rtcp_packets_total", Type::counter, "RTCP packets relayed");
    for (auto d : directions) w.sample(counters(d).rtcp_relayed.load(), {{"direction", name(d)}});
    w.family("relay_packets_dropped_total", Type::counter, "Packets the relay did not forward, by why");
    for (auto d : directions) {
        const auto& dc = counters(d);
        w.sample(dc.dropped_unexpected_source.load(), {{"direction", name(d)}, {"reason", "unexpected_source"}});
        w.sample(dc.dropped_malformed.load(), {{"direction", name(d)}, {"reason", "malformed"}});
        w.sample(dc.dropped_no_destination.load(), {{"direction", name(d)}, {"reason", "no_destination"}});
        w.sample(dc.dropped_send_error.load(), {{"direction", name(d)}, {"reason", "send_error"}});
    }
    w.family("relay_latches_total", Type::counter, "RTP sources latched on");
    for (auto d : directions) w.sample(counters(d).latches.load(), {{"direction", name(d)}});
    w.family("relay_latch_moves_total", Type::counter, "Latched RTP sources that moved");
    for (auto d : directions) w.sample(counters(d).latch_moves.load(), {{"direction", name(d)}});

    w.family("fork_packets_total", Type::counter, "RTP packets handed to forks");
    for (auto d : directions) w.sample(forks.totals(d).packets_forked, {{"direction", name(d)}});
    w.family("fork_bytes_total", Type::counter, "Bytes forked, as framed by the profile's protocol");
    for (auto d : directions) w.sample(forks.totals(d).bytes_forked, {{"direction", name(d)}});
    w.family("fork_frames_dropped_total", Type::counter, "Forked frames dropped before they reached a socket");
    for (auto d : directions) w.sample(forks.totals(d).frames_dropped, {{"direction", name(d)}});
}

// The fork controller's calls and the license counts.
void collect_forks(ops::MetricsWriter& w, const fork::Controller& forks, const ws::Statistics& s) {
    const fork::LiveCounts live = forks.live_counts();
    w.family("forks", Type::gauge, "Calls' forks by state (the Fork column of show call active voice brief)");
    w.sample(live.forks_connecting, {{"state", "connecting"}});
    w.sample(live.forks_active, {{"state", "active"}});
    w.sample(live.forks_paused, {{"state", "paused"}});
    w.sample(live.forks_stopped, {{"state", "stopped"}});
    w.family("forks_started_total", Type::counter, "Forks whose session with the speech server began");
    w.sample(s.forks_started);
    w.family("forks_failed_total", Type::counter, "Forks that never reached their speech server");
    w.sample(s.forks_failed);
    w.family("license_calls", Type::gauge, "Licensed calls now, by kind (operations.md Licensing)");
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
    w.family("websocket_connections_created_total", Type::counter, "WebSocket connections opened");
    w.sample(s.connections_created);
    w.family("websocket_connections_closed_total", Type::counter, "WebSocket connections closed");
    w.sample(s.connections_closed);
    w.family("websocket_frames_sent_total", Type::counter, "Binary frames sent to speech servers, by protocol");
    for (const auto& [protocol, frames] : s.by_protocol) w.sample(frames.sent, {{"protocol", protocol}});
    w.family("websocket_bytes_sent_total", Type::counter, "Binary frame bytes sent to speech servers, by protocol");
    for (const auto& [protocol, frames] : s.by_protocol) w.sample(frames.bytes_sent, {{"protocol", protocol}});
    w.family("websocket_frames_dropped_total", Type::counter,
             "Binary frames dropped under back-pressure, by protocol");
    for (const auto& [protocol, frames] : s.by_protocol) w.sample(frames.dropped, {{"protocol", protocol}});
    // The four alarmed counters: `clear voip stream-service statistics`
    // zeroes them, which Prometheus reads as a counter reset.
    w.family("websocket_tcp_connection_failures_total", Type::counter,
             "Connection attempts that never reached TCP established (alarmed)");
    w.sample(s.tcp_connection_failures);
    w.family("websocket_http_connection_failures_total", Type::counter,
             "Connections that reached TCP but not a WebSocket: proxy, TLS or upgrade refused (alarmed)");
    w.sample(s.http_connection_failures);
    w.family("websocket_remote_closures_total", Type::counter, "Close frames from speech servers (alarmed)");
    w.sample(s.remote_websocket_closures);
    w.family("websocket_tcp_closures_total", Type::counter, "Connections whose TCP ended without a close frame (alarmed)");
    w.sample(s.tcp_closures);
    // Continuity (connection reconnect window).
    w.family("websocket_reconnect_attempts_total", Type::counter, "Attempts to reconnect a lost connection");
    w.sample(s.reconnect_attempts);
    w.family("websocket_reconnects_total", Type::counter, "Lost connections reconnected within the window");
    w.sample(s.reconnects_succeeded);
    w.family("forks_resumed_total", Type::counter, "Forks re-established on a reconnected connection");
    w.sample(s.forks_resumed);
    w.family("websocket_frames_replayed_total", Type::counter, "Frames of an outage sent after the reconnect");
    w.sample(s.frames_replayed);
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
