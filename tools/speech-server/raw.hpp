// Raw audio (docs/stream.md "raw"): bare G.711 binary frames, no header and no
// JSON. A connection whose query names `channel=caller` or `channel=callee`
// carries that one channel (layout separate); any other carries both,
// interleaved sample by sample, caller first (layout interleaved). Text from
// the client (its stop and keepalive messages) is recorded, not judged.
#pragma once

#include <vector>

#include "protocol.hpp"

namespace speech {

class Raw final : public Protocol {
public:
    Raw(const Options& options, Recorder& recorder, std::uint64_t conn, Replies& replies)
        : options_(options), rec_(recorder), conn_(conn), replies_(replies) {}

    // `Authorization: <--auth-scheme> <--token>`; no subprotocol offered; the
    // layout from the query.
    Verdict judge(const Upgrade& upgrade) override;
    void on_accepted() override;
    void on_text(std::string_view text) override;
    std::uint32_t on_binary(const std::uint8_t* data, std::size_t size) override;
    // Raw has no message that ends a channel.
    std::optional<std::string> server_stop(std::uint32_t, const std::string&) override { return std::nullopt; }
    std::vector<std::uint32_t> on_close() override;
    std::uint64_t frames() const override { return frames_; }

    // The channel a query names ("caller", "callee"), or "" for both.
    static std::string channel_of(std::string_view target);

private:
    const Options& options_;
    Recorder& rec_;
    std::uint64_t conn_;
    Replies& replies_;
    std::vector<std::string> legs_;          // the connection's channels, in interleaving order
    std::vector<ChannelRecord*> channels_;  // as legs_
    std::vector<std::uint8_t> samples_;     // one channel's bytes of an interleaved frame
    std::uint64_t frames_ = 0;
    bool closed_ = false;
};

}  // namespace speech
