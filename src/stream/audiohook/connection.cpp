#include "connection.hpp"

#include <cstring>

#include <spdlog/spdlog.h>

#include <voxfork/reasons.hpp>

#include "../session.hpp"

namespace voxfork::stream::audiohook {
namespace {
constexpr std::size_t latest_event_max = 4096;
constexpr std::uint64_t samples_per_second = 8000;
// The audio kept through a reconnect the server asked for, with or without a
// reconnect window (the pool tries for at least as long).
constexpr int server_reconnect_buffer_seconds = 5;

std::uint64_t samples_between(Clock::time_point from, Clock::time_point to) {
    if (to <= from) return 0;
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(to - from).count()) *
           samples_per_second / 1'000'000;
}
}  // namespace

Connection::Connection(OpenRequest open)
    : open_(std::move(open)), continuity_(open_.reconnect_window, 0, 2, server_reconnect_buffer_seconds) {}

std::uint64_t Connection::drain(ws::Output&) {
    if (!audio_) return 0;
    const std::uint64_t refused = audio_->take_ring();
    const std::uint64_t lost = continuity_.take_dropped();
    discarded_frames_ += lost;
    return refused + lost;
}

void Connection::on_interrupted() {
    server_reconnect_ = false;
    // A loss while a resumed session was opening goes on continuing the first.
    if (!resuming_) lost_ = Lost{open_.session_id, serverseq_, seq_, audio_ ? audio_->position() : 0};
    out_ = nullptr;
    phase_ = Phase::connecting;
    resuming_ = true;
    continuity_.lost();
}

bool Connection::on_unsent(std::uint32_t, std::span<const std::uint8_t> frame) {
    continuity_.keep(audio_stream, frame);
    return true;
}

std::uint64_t Connection::keep() {
    if (!audio_) return 0;
    const std::uint64_t refused = audio_->take_ring();
    send_frames(Clock::now(), Until::groups);  // on the clock, into the outage buffer
    const std::uint64_t lost = continuity_.take_dropped();
    discarded_frames_ += lost;
    return refused + lost;
}

void Connection::prepare_reconnect(std::vector<std::pair<std::string, std::string>>& headers) {
    open_.session_id = random_uuid();
    if (open_.headers_for) headers = open_.headers_for(open_.session_id);
}

void Connection::send(std::string_view type, nlohmann::ordered_json parameters) {
    send(type, std::move(parameters), audio_ ? audio_->position() : 0);
}

void Connection::send(std::string_view type, nlohmann::ordered_json parameters, std::uint64_t position) {
    if (out_ == nullptr) return;
    const Envelope e{open_.session_id, ++seq_, serverseq_, position};
    out_->send_text(detail::message_text(message(e, type, std::move(parameters))));
}

// A kept message: its position (8 bytes), its type, a NUL, its parameters.
void Connection::send_in_order(std::string_view type, nlohmann::ordered_json parameters) {
    if (!keeps_messages()) return send(type, std::move(parameters));
    const std::uint64_t position = audio_ ? audio_->position() : 0;
    const std::string text = parameters.dump();
    std::vector<std::uint8_t> kept(sizeof position + type.size() + 1 + text.size());
    std::memcpy(kept.data(), &position, sizeof position);
    std::memcpy(kept.data() + sizeof position, type.data(), type.size());
    std::memcpy(kept.data() + sizeof position + type.size() + 1, text.data(), text.size());
    continuity_.keep_control(message_stream, kept);
}

bool Connection::replay_kept(std::uint32_t stream, std::span<const std::uint8_t> kept) {
    if (stream == audio_stream) {
        out_->send_binary(audio_stream, kept);
        return true;
    }
    std::uint64_t position = 0;
    std::memcpy(&position, kept.data(), sizeof position);
    const std::string_view rest(reinterpret_cast<const char*>(kept.data()) + sizeof position,
                                kept.size() - sizeof position);
    const std::size_t nul = rest.find('\0');
    const std::string_view type = rest.substr(0, nul);
    // An `update` waits for its `updated` from when it is sent.
    if (type == "update") updates_due_.push_back(Clock::now() + updated_timeout);
    send(type, nlohmann::ordered_json::parse(rest.substr(nul + 1)), position);
    return false;
}

void Connection::on_open(ws::Output& out) {
    out_ = &out;
    phase_ = Phase::opening;
    deadline_ = Clock::now() + open_timeout;
    auto parameters = open_parameters(open_.organization_id, open_.conversation_id, open_.participant,
                                      open_.custom_config);
    if (resuming_ && lost_) {
        // A new session: seq from 1, naming the one it continues.
        seq_ = 0;
        serverseq_ = 0;
        parameters["continuedSessions"] = nlohmann::ordered_json::array(
            {{{"id", lost_->id}, {"serverseq", lost_->serverseq}, {"clientseq", lost_->clientseq}}});
    }
    send("open", std::move(parameters));
}

void Connection::fail_open(std::string_view why, std::string_view log) {
    spdlog::warn("audiohook: session {}: {}", open_.session_id, log);
    phase_ = Phase::closing;
    deadline_ = Clock::now() + close_timeout;
    send("close", {{"reason", "error"}});
    if (events_) events_->on_open_failed(why);
}

void Connection::on_opened(const ServerMessage& m) {
    if (resuming_) {
        // The fork goes on as it was (its media, its clock); what was kept
        // goes first, and what the buffer could not keep is told.
        resuming_ = false;
        phase_ = Phase::open;
        last_ping_ = last_pong_ = Clock::now();
        continuity_.reconnected();
        if (out_ != nullptr) out_->restored();  // the fork is RESUMED now, not at the upgrade
        if (discarded_frames_ > 0 && lost_)
            send("discarded", {{"start", duration(lost_->position)},
                               {"discarded", duration(discarded_frames_ * detail::samples_per_frame)}});
        discarded_frames_ = 0;
        lost_.reset();
        return;
    }
    const auto media = chosen_media(m.parameters);
    if (!media) return fail_open(reason::connection_failed, "`opened` chose media voxforkd did not offer");
    phase_ = Phase::open;
    sends_audio_ = media->any();
    audio_ = std::make_unique<detail::PacedAudio>(
        media->external == media->internal, media->external ? media::Direction::caller : media::Direction::callee);
    audio_->convert_alaw(true);  // AudioHook takes PCMU only
    last_ping_ = last_pong_ = Clock::now();
    if (events_) events_->on_opened(*media);
}

void Connection::start(Clock::time_point now, Codec codec) {
    codec_ = codec;
    if (audio_ && sends_audio_) audio_->start(now, codec);
}

// The audio stops at `now`, for the fork or the server: what was due by
// then goes out first (a frame does not wait for the rest of its group).
void Connection::stop_audio(Clock::time_point now) {
    send_frames(now, Until::due);
    audio_->pause();
    paused_at_position_ = audio_->position();
    paused_since_ = now;
}

void Connection::pause(Clock::time_point now) {
    const bool was_paused = fork_paused_ || server_paused_;
    fork_paused_ = true;
    if (was_paused || !audio_) return;
    stop_audio(now);
    send_in_order("paused");
}

void Connection::resume(Clock::time_point now, Codec codec) {
    codec_ = codec;
    fork_paused_ = false;
    if (server_paused_ || !audio_) return;
    if (sends_audio_) audio_->resume(now, codec);
    send_in_order("resumed", {{"start", duration(paused_at_position_)},
                              {"discarded", duration(samples_between(paused_since_, now))}});
}

void Connection::server_pause(Clock::time_point now) {
    const bool was_paused = fork_paused_ || server_paused_;
    server_paused_ = true;
    if (!was_paused && audio_) stop_audio(now);
    send_in_order("paused");
    if (events_) events_->on_server_pause();
}

void Connection::server_resume(Clock::time_point now) {
    if (!server_paused_) return;
    server_paused_ = false;
    if (!fork_paused_ && audio_) {
        if (sends_audio_) audio_->resume(now, codec_);
        send_in_order("resumed", {{"start", duration(paused_at_position_)},
                                  {"discarded", duration(samples_between(paused_since_, now))}});
    }
    if (events_) events_->on_server_resume();
}

void Connection::update(Clock::time_point now, std::string_view language) {
    if (keeps_messages()) return send_in_order("update", {{"language", language}});
    updates_due_.push_back(now + updated_timeout);
    send("update", {{"language", language}});
}

void Connection::send_frames(Clock::time_point now, Until until) {
    if (!audio_ || !sends_audio_) return;
    if (out_ == nullptr && !continuity_.holding()) return;
    // Kept while the connection is lost, the resumed session not yet open, or
    // the old one closing for a reconnect.
    ws::Output* out =
        phase_ == Phase::open || (phase_ == Phase::closing && !server_reconnect_) ? out_ : nullptr;
    audio_->send_due(now, until, [&](std::span<const std::uint8_t> frame) { continuity_.send(out, audio_stream, frame); });
}

void Connection::finish(Clock::time_point now, std::string_view reason) {
    if (phase_ == Phase::closing && server_reconnect_) {
        // Ended while closing for the server's `reconnect`: the `close` has
        // gone, and no new session follows for a fork that is gone. What was
        // kept for it goes as an outage's does when its fork ends.
        server_reconnect_ = false;
        if (audio_) audio_->stop();
        return;
    }
    if (phase_ != Phase::open && phase_ != Phase::opening) return;
    if (audio_) {
        audio_->take_ring();
        send_frames(now, Until::end);
        if (out_ != nullptr && phase_ == Phase::open)
            continuity_.replay_all(*out_, [&](std::uint32_t stream, std::span<const std::uint8_t> kept) {
                return replay_kept(stream, kept);
            });
        audio_->stop();
    }
    phase_ = Phase::closing;
    deadline_ = now + close_timeout;
    send("close", {{"reason", reason}});
}

void Connection::on_text(std::string_view text) {
    const auto m = parse_server_message(text);
    if (!m) {
        ++server_errors_;
        spdlog::warn("audiohook: session {}: unreadable message from the server: {}", open_.session_id,
                     text.substr(0, 200));
        return;
    }
    if (m->seq != 0 && m->seq <= serverseq_)
        spdlog::warn("audiohook: session {}: server seq {} after {}", open_.session_id, m->seq, serverseq_);
    serverseq_ = std::max(serverseq_, m->seq);
    const auto now = Clock::now();
    if (m->type == "opened") {
        if (phase_ == Phase::opening) on_opened(*m);
    } else if (m->type == "pong") {
        last_pong_ = now;
    } else if (m->type == "closed") {
        if (phase_ == Phase::closing && out_ != nullptr && server_reconnect_) return out_->reconnect();
        if (phase_ == Phase::closing && out_ != nullptr) {
            phase_ = Phase::closed;
            out_->close_when_sent();
        }
    } else if (m->type == "reconnect") {
        // docs/stream.md, AudioHook: close with reason `reconnect`, then a new session
        // that continues this one; the fork hears nothing unless it fails.
        if (phase_ != Phase::open) return;
        audio_->take_ring();
        send_frames(now, Until::groups);
        phase_ = Phase::closing;
        server_reconnect_ = true;
        deadline_ = now + close_timeout;
        send("close", {{"reason", "reconnect"}});
    } else if (m->type == "disconnect") {
        const auto reason = m->parameters.find("reason");
        const std::string words = reason != m->parameters.end() && reason->is_string() ? reason->get<std::string>() : "";
        if (phase_ == Phase::opening && resuming_) {
            // The resumed session is refused: the fork ends as on any disconnect.
            resuming_ = false;
            phase_ = Phase::open;
        }
        if (phase_ == Phase::opening) return fail_open(reason::connection_failed, "`disconnect` before `opened`");
        if (phase_ != Phase::open) return;
        finish(now, "disconnect");
        if (events_) events_->on_disconnect(words);
    } else if (m->type == "pause") {
        if (phase_ == Phase::open) server_pause(now);
    } else if (m->type == "resume") {
        if (phase_ == Phase::open) server_resume(now);
    } else if (m->type == "updated") {
        if (updates_due_.empty()) return;  // none asked for
        updates_due_.pop_front();
        if (events_) events_->on_updated();
    } else if (m->type == "error") {
        ++server_errors_;
        spdlog::warn("audiohook: session {}: error from the server: {}", open_.session_id, text.substr(0, 500));
    } else if (m->type == "event") {
        ++server_events_;
        latest_event_ = std::string(text.substr(0, latest_event_max));
    } else {
        spdlog::debug("audiohook: session {}: ignored `{}` from the server", open_.session_id, m->type);
    }
}

// Between frames there is nothing to do, unless audio kept through an
// outage is being replayed (as fast as the connection drains).
Clock::time_point Connection::next_service(Clock::time_point now) const {
    if (continuity_.holding()) return now;
    return audio_ ? audio_->next_due(now) : now + detail::PacedAudio::frame_time;
}

void Connection::on_tick(Clock::time_point now) {
    if (out_ == nullptr) return;
    while (!updates_due_.empty() && updates_due_.front() <= now) {
        updates_due_.pop_front();
        spdlog::info("audiohook: session {}: no `updated` within 5 s; the update counts as done", open_.session_id);
        if (events_) events_->on_updated();
    }
    switch (phase_) {
        case Phase::opening:
            if (now >= deadline_ && resuming_) {
                // The new session did not open: a loss like any, within the same window.
                spdlog::warn("audiohook: session {}: no `opened` within 5 s after a reconnect", open_.session_id);
                return out_->drop();
            }
            if (now >= deadline_) fail_open(reason::connection_failed, "no `opened` within 5 s");
            return;
        case Phase::open:
            if (now - last_pong_ >= pong_timeout) {
                spdlog::warn("audiohook: session {}: no `pong` for 15 s", open_.session_id);
                return out_->drop();
            }
            if (now - last_ping_ >= ping_interval) {
                last_ping_ = now;
                send("ping");
            }
            continuity_.replay(*out_, [&](std::uint32_t stream, std::span<const std::uint8_t> kept) {
                return replay_kept(stream, kept);
            });
            return send_frames(now, Until::groups);
        case Phase::closing:
            if (server_reconnect_) {
                if (now >= deadline_) return out_->reconnect();  // no `closed`: go anyway
                send_frames(now, Until::groups);  // kept for the new session
                return;
            }
            if (now >= deadline_) {
                phase_ = Phase::closed;
                out_->close_when_sent();
            }
            return;
        case Phase::connecting:
        case Phase::closed:
            return;
    }
}

void Connection::on_closed() {
    out_ = nullptr;
    phase_ = Phase::closed;
    continuity_.clear();
    if (audio_) audio_->ring()->close();
}

}  // namespace voxfork::stream::audiohook
