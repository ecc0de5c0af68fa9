// Fakes of the fork part's surroundings: the SIP side, the stream layer, the
// relay's tap and the clocks. They record what the controller did to them.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "voxfork/fork.hpp"

namespace voxfork::fork::testing {

struct SentStatus {
    CallId leg;
    nlohmann::json body;
};

class FakeCalls : public CallPort {
public:
    bool send_status(CallId leg, std::string json) override {
        sent.push_back({leg, nlohmann::json::parse(json)});
        raw.push_back(std::move(json));
        return true;
    }
    std::optional<CallFacts> call_facts(CallId anchor) const override {
        auto it = calls.find(anchor);
        if (it == calls.end()) return std::nullopt;
        return it->second;
    }
    // The statuses sent so far, and forget them.
    std::vector<SentStatus> take() {
        raw.clear();
        return std::exchange(sent, {});
    }

    std::map<CallId, CallFacts> calls;
    std::vector<SentStatus> sent;
    std::vector<std::string> raw;
};

// A sink that frames like voxfork-v1 (12 bytes of header per frame).
class FakeSink : public stream::AudioSink {
public:
    static constexpr std::size_t header = 12;
    struct Frame {
        media::Direction direction;
        std::uint32_t seq, position;
        std::vector<std::uint8_t> payload;
    };
    std::size_t send(media::Direction direction, std::uint32_t seq, std::uint32_t position,
                     std::span<const std::uint8_t> payload) noexcept override {
        if (refuse) return 0;
        frames.push_back({direction, seq, position, {payload.begin(), payload.end()}});
        return header + payload.size();
    }
    std::vector<Frame> frames;
    bool refuse = false;
};

// The stream layer: records each neutral command as one JSON object
// ({"command": "pause", "reason": "hold"}, ...) and answers opens when told.
class FakeStreams : public stream::Service {
public:
    struct Open {
        stream::Target target;
        stream::CallInfo call;
        stream::SessionHandle session;
    };
    void set_events(stream::Events* e) override { events = e; }
    stream::SessionHandle open(const stream::Target& target, const stream::CallInfo& call) override {
        const stream::SessionHandle h = next_session++;
        opens.push_back({target, call, h});
        return h;
    }
    void start(stream::SessionHandle h, stream::Codec codec, const nlohmann::json& metadata) override {
        record(h, {{"command", "start"}, {"codec", codec_of(codec)}, {"metadata", metadata}});
    }
    void pause(stream::SessionHandle h, std::string_view reason) override {
        record(h, {{"command", "pause"}, {"reason", reason}});
    }
    void resume(stream::SessionHandle h, stream::Codec codec) override {
        record(h, {{"command", "resume"}, {"codec", codec_of(codec)}});
    }
    bool update(stream::SessionHandle h, const nlohmann::json& metadata) override {
        record(h, {{"command", "update"}, {"metadata", metadata}});
        return updates_confirmed;
    }
    void dtmf(stream::SessionHandle h, media::Direction d, char digit, std::uint16_t duration) override {
        record(h, {{"command", "dtmf"},
                   {"direction", d == media::Direction::caller ? "caller" : "callee"},
                   {"digit", std::string(1, digit)},
                   {"duration", duration}});
    }
    void stop(stream::SessionHandle h, std::string_view reason) override {
        record(h, {{"command", "stop"}, {"reason", reason}});
    }
    void close(stream::SessionHandle h) override { closed.push_back(h); }
    std::optional<stream::Delivery> delivered(stream::SessionHandle, media::Direction d) const override {
        if (delivery.empty()) return std::nullopt;  // a service that does not count
        auto it = delivery.find(d);
        return it == delivery.end() ? stream::Delivery{} : it->second;
    }
    std::optional<stream::Description> describe(stream::SessionHandle) const override { return description; }
    void fork_started() override { ++started; }
    void fork_failed() override { ++failed; }
    void fork_ended() override { ++ended; }

    // Answers the last open: up with channels 17/18 on connection 60.
    void succeed(std::uint32_t connection = 60, std::uint32_t caller = 17, std::uint32_t callee = 18) {
        stream::Established e;
        e.connection_id = connection;
        e.channel[0] = caller;
        e.channel[1] = callee;
        e.audio = sink;
        events->on_established(opens.back().session, e);
    }
    void fail(std::string_view reason) { events->on_failed(opens.back().session, reason); }
    // The server or the connection ended the last session.
    void end(std::string_view reason, bool by_server = false) {
        events->on_ended(opens.back().session, stream::Ending{reason, by_server, {}});
    }
    // The commands recorded so far, and forget them.
    std::vector<nlohmann::json> take() {
        std::vector<nlohmann::json> out;
        for (auto& c : commands) out.push_back(c.second);
        commands.clear();
        return out;
    }

    stream::Events* events = nullptr;
    std::vector<Open> opens;
    std::vector<std::pair<stream::SessionHandle, nlohmann::json>> commands;
    std::vector<stream::SessionHandle> closed;
    std::map<media::Direction, stream::Delivery> delivery;  // empty: delivered() knows nothing
    int started = 0, failed = 0, ended = 0;
    bool updates_confirmed = false;  // update() says the server will confirm
    std::optional<stream::Description> description;
    stream::SessionHandle next_session = 100;
    std::shared_ptr<FakeSink> sink = std::make_shared<FakeSink>();

private:
    static std::string codec_of(stream::Codec codec) { return codec == stream::Codec::alaw ? "alaw" : "ulaw"; }
    void record(stream::SessionHandle h, nlohmann::json command) { commands.emplace_back(h, std::move(command)); }
};

class FakeTaps : public TapControl {
public:
    void set_tap(media::SessionId session, media::Direction direction, media::TapSink* tap) override {
        taps[{session, static_cast<int>(direction)}] = tap;
        ++changes;
    }
    media::TapSink* tap(media::SessionId session, media::Direction direction) const {
        auto it = taps.find({session, static_cast<int>(direction)});
        return it == taps.end() ? nullptr : it->second;
    }
    std::map<std::pair<media::SessionId, int>, media::TapSink*> taps;
    int changes = 0;
};

// Clocks and output the tests control and read.
struct FakeEnvironment {
    std::int64_t mono_ns = 1'000'000'000;
    std::chrono::system_clock::time_point utc =
        std::chrono::system_clock::from_time_t(1795557600);  // 2026-11-24 22:00 UTC
    std::vector<std::string> trace;
    std::vector<std::string> trace_fields;  // each trace line's " : call-id X : call-guid Y"
    std::vector<std::string> log;

    Environment make(int interval = 3600) {
        Environment env;
        env.monotonic_ns = [this] { return mono_ns; };
        env.utc_now = [this] { return utc; };
        env.trace_call = [this](const ops::CallRef& call, std::string_view text) {
            trace.push_back("callid " + std::to_string(call.callid) + " : " + std::string(text));
            trace_fields.push_back(ops::call_fields(call));
        };
        env.log_info = [this](std::string_view text) { log.emplace_back(text); };
        env.license_interval_seconds = interval;
        return env;
    }
};

}  // namespace voxfork::fork::testing
