// Fakes of the fork part's surroundings: the SIP side, the WebSocket pool, the
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

class FakeSink : public FrameSink {
public:
    struct Frame {
        std::uint32_t channel, seq, position;
        std::vector<std::uint8_t> payload;
    };
    bool send(std::uint32_t channel, std::uint32_t seq, std::uint32_t position,
              std::span<const std::uint8_t> payload) noexcept override {
        if (refuse) return false;
        frames.push_back({channel, seq, position, {payload.begin(), payload.end()}});
        return true;
    }
    std::vector<Frame> frames;
    bool refuse = false;
};

class FakeTransport : public ForkTransport {
public:
    struct Attach {
        ServerTarget target;
        CallId anchor;
        std::uint64_t session;
        std::function<void(const AttachOutcome&)> done;
        TransportHandle handle;
    };
    TransportHandle attach(const ServerTarget& target, CallId anchor, std::uint64_t session,
                           std::function<void(const AttachOutcome&)> done) override {
        const TransportHandle h = next_handle++;
        attaches.push_back({target, anchor, session, std::move(done), h});
        return h;
    }
    void send_control(TransportHandle handle, const nlohmann::ordered_json& message) override {
        control.push_back({handle, nlohmann::json(message)});
    }
    void detach(TransportHandle handle) override { detached.push_back(handle); }
    std::optional<ChannelDelivery> delivered(TransportHandle, std::uint32_t channel) const override {
        if (delivery.empty()) return std::nullopt;  // a transport that does not count
        auto it = delivery.find(channel);
        return it == delivery.end() ? ChannelDelivery{} : it->second;
    }
    void fork_started() override { ++started; }
    void fork_failed() override { ++failed; }
    void fork_ended() override { ++ended; }

    // Completes the last attach with channels 17/18 on connection 60.
    void succeed(std::uint32_t connection = 60, std::uint32_t caller = 17, std::uint32_t callee = 18) {
        AttachOutcome o;
        o.connection_id = connection;
        o.caller_channel = caller;
        o.callee_channel = callee;
        o.audio = sink;
        attaches.back().done(o);
    }
    void fail(std::string reason) {
        AttachOutcome o;
        o.reason = std::move(reason);
        attaches.back().done(o);
    }
    std::vector<nlohmann::json> take() {
        std::vector<nlohmann::json> out;
        for (auto& c : control) out.push_back(c.second);
        control.clear();
        return out;
    }

    std::vector<Attach> attaches;
    std::vector<std::pair<TransportHandle, nlohmann::json>> control;
    std::vector<TransportHandle> detached;
    std::map<std::uint32_t, ChannelDelivery> delivery;  // empty: delivered() knows nothing
    int started = 0, failed = 0, ended = 0;
    TransportHandle next_handle = 100;
    std::shared_ptr<FakeSink> sink = std::make_shared<FakeSink>();
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
    std::vector<std::string> log;

    Environment make(int interval = 3600) {
        Environment env;
        env.monotonic_ns = [this] { return mono_ns; };
        env.utc_now = [this] { return utc; };
        env.trace_call = [this](CallId call, std::string_view text) {
            trace.push_back("callid " + std::to_string(call) + " : " + std::string(text));
        };
        env.log_info = [this](std::string_view text) { log.emplace_back(text); };
        env.license_interval_seconds = interval;
        return env;
    }
};

}  // namespace voxfork::fork::testing
