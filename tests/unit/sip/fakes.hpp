// Test doubles for the B2BUA: a SIP stack that records what it was asked to
// do, and a relay that hands out port pairs from a small pool.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sip/stack.hpp"
#include "voxfork/media.hpp"

namespace voxfork::sip::test {

struct Action {
    std::string what;  // invite, reinvite, respond, bye, cancel, info, release
    HandleId handle = 0;
    RequestId request = 0;
    int status = 0;
    Body body;
    ResponseHeaders headers;  // of a respond
    OutgoingInvite invite;
};

class FakeStack : public Stack {
public:
    HandleId invite(const OutgoingInvite& invite) override {
        if (refuse_invites) return 0;
        HandleId h = next_handle++;
        record("invite", h, 0, 0, invite.body).invite = invite;
        return h;
    }
    void reinvite(HandleId h, const Body& body) override { record("reinvite", h, 0, 0, body); }
    void respond(RequestId r, int status, std::string_view, const Body* body, const ResponseHeaders& headers) override {
        record("respond", 0, r, status, body ? *body : Body{}).headers = headers;
    }
    void bye(HandleId h) override { record("bye", h); }
    void cancel(HandleId h) override { record("cancel", h); }
    void info(HandleId h, const Body& body) override { record("info", h, 0, 0, body); }
    void release(HandleId h) override { record("release", h); }

    Action& record(std::string what, HandleId h, RequestId r = 0, int status = 0, Body body = {}) {
        Action a;
        a.what = std::move(what);
        a.handle = h;
        a.request = r;
        a.status = status;
        a.body = std::move(body);
        actions.push_back(std::move(a));
        return actions.back();
    }

    // The answers given to one incoming request, in order.
    std::vector<int> answers(RequestId r) const {
        std::vector<int> out;
        for (const auto& a : actions)
            if (a.what == "respond" && a.request == r) out.push_back(a.status);
        return out;
    }
    const Action* last(const std::string& what) const {
        for (auto it = actions.rbegin(); it != actions.rend(); ++it)
            if (it->what == what) return &*it;
        return nullptr;
    }
    std::size_t count(const std::string& what) const {
        std::size_t n = 0;
        for (const auto& a : actions) n += a.what == what;
        return n;
    }

    std::vector<Action> actions;
    HandleId next_handle = 1000000;
    bool refuse_invites = false;  // invite() fails, as sofia does on a From it cannot parse
};

class FakeRelay : public media::Relay {
public:
    explicit FakeRelay(std::size_t pairs = 4) : total(pairs) {}
    using media::Relay::allocate;
    void start() override {}
    void stop() override {}
    std::optional<media::SessionId> allocate(net::Family leg_a, net::Family leg_b) override {
        families = {leg_a, leg_b};
        if (sessions.size() >= total) {
            counters_.allocation_failures++;
            return std::nullopt;
        }
        media::SessionId id = next++;
        sessions.insert(id);
        return id;
    }
    std::optional<net::Address> address(net::Family family) const override {
        return family == net::Family::v6 ? ipv6 : ipv4;
    }
    bool set_addresses(const std::string& v4, const std::string& v6, std::string&) override {
        ipv4 = net::Address::parse(v4);
        ipv6 = net::Address::parse(v6);
        return true;
    }
    std::uint16_t local_rtp_port(media::SessionId id, media::Leg leg) const override {
        return static_cast<std::uint16_t>(20000 + id * 4 + (leg == media::Leg::b ? 2 : 0));
    }
    bool set_remote(media::SessionId id, media::Leg leg, net::Endpoint rtp, net::Endpoint rtcp) override {
        remotes[{id, leg}] = {rtp, rtcp};
        return true;
    }
    void release(media::SessionId id) override {
        if (!sessions.erase(id)) ++double_releases;
    }
    void set_tap(media::SessionId, media::Direction, media::TapSink*) override {}
    void set_latching(media::SessionId id, media::Leg leg, media::Latching mode) override {
        latching[{id, leg}] = mode;
    }
    const media::RelayCounters& counters() const override { return counters_; }
    std::size_t ports_free() const override { return total - sessions.size(); }
    std::size_t ports_total() const override { return total; }

    std::optional<net::Address> ipv4 = net::Address::loopback(net::Family::v4);
    std::optional<net::Address> ipv6;  // none until a test gives one
    std::size_t total;
    media::SessionId next = 1;
    std::set<media::SessionId> sessions;
    std::map<std::pair<media::SessionId, media::Leg>, std::pair<net::Endpoint, net::Endpoint>> remotes;
    std::pair<net::Family, net::Family> families{};  // of the last allocate
    std::map<std::pair<media::SessionId, media::Leg>, media::Latching> latching;
    int double_releases = 0;
    media::RelayCounters counters_;
};

}  // namespace voxfork::sip::test
