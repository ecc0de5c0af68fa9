#include "connection.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace voxfork::stream::voxfork_v1 {

Connection::Channel* Connection::channel(std::uint32_t id) noexcept {
    return const_cast<Channel*>(std::as_const(*this).channel(id));
}

const Connection::Channel* Connection::channel(std::uint32_t id) const noexcept {
    for (const Channel& c : channels_)
        if (c.id == id) return &c;
    return nullptr;
}

void Connection::add_call(SessionHandle session, const std::uint32_t (&channels)[2], ServerEnded ended) {
    for (std::uint32_t id : channels) channels_.push_back({id, session, false, false, {}, {}, {}});
    calls_.push_back({session, std::move(ended)});
}

void Connection::remove_call(SessionHandle session) {
    for (const Channel& c : channels_) {
        if (c.session != session) continue;
        continuity_.forget(c.id);
        history_.forget(c.id);
    }
    std::erase_if(channels_, [&](const Channel& c) { return c.session == session; });
    std::erase_if(calls_, [&](const Call& c) { return c.session == session; });
    std::erase_if(held_stops_, [&](const HeldStop& s) { return s.session == session; });
}

void Connection::send(std::uint32_t id, Gate gate, const nlohmann::ordered_json& message) {
    Channel* ch = channel(id);
    if (ch == nullptr || ch->stopped) return;
    if (out_ == nullptr && !continuity_.holding()) return;
    // Audio the tee handed over before this message goes out before it, by
    // the gate as it was.
    move_audio(out_);
    if (continuity_.enabled()) note_for_resume(*ch, message);
    switch (gate) {
        case Gate::keep:
            break;
        case Gate::open:
            ch->paused = false;
            break;
        case Gate::close:
            ch->paused = true;
            break;
        case Gate::stop:
            ch->stopped = true;
            break;
    }
    // While the connection is lost only the gate changes: the channel is
    // re-established as it stands when it is back.
    if (out_ != nullptr) out_->send_text(detail::message_text(message));
}

void Connection::note_for_resume(Channel& ch, const nlohmann::ordered_json& message) {
    const std::string type = message.value("type", "");
    if (type == "START") {
        ch.start = message;
        ch.start["resumed"] = true;
    } else if (type == "RESUME") {
        if (!ch.start.is_null()) ch.start["codec"] = message["codec"];
    } else if (type == "UPDATE") {
        if (!ch.start.is_null()) ch.start["metadata"] = message["metadata"];
    } else if (type == "PAUSE") {
        ch.pause_reason = message.value("reason", "");
    }
}

Delivery Connection::delivery(std::uint32_t id) const {
    const Channel* ch = channel(id);
    return ch ? ch->delivery : Delivery{};
}

std::uint64_t Connection::drain(ws::Output& out) {
    if (!reestablishing_) continuity_.replay(out);
    move_audio(&out);
    return std::exchange(refused_, 0) + continuity_.take_dropped();
}

void Connection::move_audio(ws::Output* out) {
    refused_ += ring_->take_dropped();
    ws::Output* live = reestablishing_ ? nullptr : out;
    ring_->drain([&](const Framing::Record& frame) {
        const Channel* ch = channel(frame.channel);
        if (ch == nullptr || ch->stopped || ch->paused) return;
        emit(live, frame.channel, frame.frame());
    });
}

void Connection::emit(ws::Output* out, std::uint32_t id, std::span<const std::uint8_t> frame) {
    if (!continuity_.enabled()) return out->send_binary(id, frame);
    if (out != nullptr && !continuity_.holding()) history_.keep(id, frame);
    continuity_.send(out, id, frame);
}

void Connection::on_interrupted() {
    out_ = nullptr;
    continuity_.lost();
    // Replayed first: the last second the dead link may have swallowed (the
    // server drops the seq it had).
    history_.replay(UINT64_MAX, [&](std::uint32_t id, std::span<const std::uint8_t> frame) {
        continuity_.keep(id, frame);
    });
    history_.clear();
    // A STOP the server sent stands though its connection is gone: the loss
    // cuts its grace short, and its call is told at the next drain (keep()),
    // outside the pool's loss handling. Its channels are not re-established.
    for (HeldStop& stop : held_stops_) stop.read_at = Clock::time_point::min();
}

bool Connection::on_unsent(std::uint32_t id, std::span<const std::uint8_t> frame) {
    const Channel* ch = channel(id);
    if (!continuity_.enabled() || frame.size() < header_size || ch == nullptr || ch->stopped) return false;
    const auto seq_of = [](std::span<const std::uint8_t> f) {
        return (std::uint32_t{f[4]} << 24) | (std::uint32_t{f[5]} << 16) | (std::uint32_t{f[6]} << 8) | f[7];
    };
    const std::span<const std::uint8_t> oldest = history_.front(id);
    if (oldest.size() < header_size || seq_of(frame) < seq_of(oldest)) continuity_.keep(id, frame);
    return true;
}

std::uint64_t Connection::keep() {
    tell_server_stops(Clock::time_point::max());
    move_audio(nullptr);
    return std::exchange(refused_, 0) + continuity_.take_dropped();
}

void Connection::on_open(ws::Output& out) {
    out_ = &out;
    if (!continuity_.holding()) return;
    continuity_.reconnected();
    // Each channel as it stands, caller before callee as they were added;
    // its audio waits behind its START.
    reestablishing_ = true;
    const std::vector<Channel> channels = channels_;
    for (const Channel& c : channels)
        if (!c.stopped && !c.start.is_null()) out.send_text(detail::message_text(c.start));
    for (const Channel& c : channels)
        if (!c.stopped && !c.start.is_null() && c.paused)
            out.send_text(detail::message_text(voxfork_v1::pause(c.id, c.pause_reason)));
    reestablishing_ = false;
}

void Connection::on_sent(std::uint32_t id, std::size_t bytes) {
    if (Channel* ch = channel(id)) {
        ++ch->delivery.frames_sent;
        ch->delivery.bytes_sent += bytes;
    }
}

void Connection::on_dropped(std::uint32_t id) {
    if (Channel* ch = channel(id)) ++ch->delivery.frames_dropped;
}

void Connection::on_text(std::string_view text) {
    const auto stop = parse_server_stop(text);
    Channel* ch = stop ? channel(stop->channel) : nullptr;
    if (ch == nullptr || ch->stopped) {
        spdlog::debug("voxfork-v1: ignored text frame: {}", text.substr(0, 200));
        return;
    }
    ch->stopped = true;
    held_stops_.push_back({ch->session, stop->reason, Clock::now()});
    tell_server_stops(Clock::time_point::min());
}

void Connection::tell_server_stops(Clock::time_point read_before) {
    if (held_stops_.empty()) return;
    const auto running = [&](SessionHandle session) {
        return std::ranges::any_of(channels_, [&](const Channel& c) { return c.session == session && !c.stopped; });
    };
    std::vector<HeldStop> due;
    std::erase_if(held_stops_, [&](HeldStop& stop) {
        if (stop.read_at >= read_before && running(stop.session)) return false;
        due.push_back(std::move(stop));
        return true;
    });
    std::vector<SessionHandle> told;
    for (const HeldStop& stop : due) {
        auto call = std::ranges::find(calls_, stop.session, &Call::session);
        // Gone, or told with its other channel's STOP already.
        if (call == calls_.end() || std::ranges::find(told, stop.session) != told.end()) continue;
        told.push_back(stop.session);
        // docs/speech-server-protocol.md: the call's channels the server did not stop get STOP back.
        for (const Channel& c : std::vector<Channel>(channels_)) {
            if (c.session == stop.session && !c.stopped)
                send(c.id, Gate::stop, voxfork_v1::stop(c.id, reason::stopped_by_server));
        }
        // A copy: the session takes its call off this connection while told.
        const ServerEnded ended = call->ended;
        ended(stop.reason);
    }
}

void Connection::on_closed() {
    out_ = nullptr;
    continuity_.clear();
    history_.clear();
    ring_->close();
    held_stops_.clear();  // its calls hear of the close instead
}

}  // namespace voxfork::stream::voxfork_v1
