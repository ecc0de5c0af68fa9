#include "raw.hpp"

namespace speech {

using nlohmann::json;

std::string Raw::channel_of(std::string_view target) {
    const auto query = target.find('?');
    if (query == std::string_view::npos) return {};
    std::string_view rest = target.substr(query + 1);
    std::string found;
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        if (pair == "channel=caller" || pair == "channel=callee") found = std::string(pair.substr(8));
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return found;
}

Verdict Raw::judge(const Upgrade& upgrade) {
    if (options_.token) {
        const std::string authorization = header(upgrade, "authorization");
        if (authorization != options_.auth_scheme + " " + *options_.token)
            return {401, upgrade.headers.contains("authorization") ? "wrong token" : "missing token", {}};
    }
    if (upgrade.headers.contains("sec-websocket-protocol"))
        rec_.violation(conn_, std::nullopt, "subprotocol", "a raw upgrade offers no subprotocol",
                       {{"subprotocols", upgrade.headers["sec-websocket-protocol"]}});
    const std::string one = channel_of(upgrade.target);
    legs_ = one.empty() ? std::vector<std::string>{"caller", "callee"} : std::vector<std::string>{one};
    return {};
}

void Raw::on_accepted() {
    for (std::size_t i = 0; i < legs_.size(); ++i) {
        // Ids name the leg whatever the layout: 1 the caller, 2 the callee.
        ChannelRecord& ch = rec_.open_channel(conn_, legs_[i] == "callee" ? 2 : 1, legs_[i]);
        ch.codec = options_.raw_codec == "PCMA" ? Codec::pcma : Codec::pcmu;
        channels_.push_back(&ch);
    }
    rec_.event({{"event", "layout"},
                {"conn", conn_},
                {"layout", legs_.size() == 1 ? "separate" : "interleaved"},
                {"channels", legs_}});
}

void Raw::on_text(std::string_view text) {
    rec_.event({{"event", "control"}, {"conn", conn_}, {"type", nullptr}, {"text", std::string(text)}});
}

std::uint32_t Raw::on_binary(const std::uint8_t* data, std::size_t size) {
    ++frames_;
    if (channels_.empty()) return 0;
    if (size == 0) {
        rec_.violation(conn_, channels_[0]->channel, "empty-payload", "a binary frame without audio");
        return channels_[0]->channel;
    }
    const std::size_t n = channels_.size();
    if (size % n != 0)
        rec_.violation(conn_, std::nullopt, "partial-sample",
                       "an interleaved frame of " + std::to_string(size) + " bytes is not whole samples");
    if (n == 1) {
        rec_.append_audio(*channels_[0], data, size);
    } else {
        for (std::size_t c = 0; c < n; ++c) {
            samples_.clear();
            for (std::size_t i = c; i + (n - 1 - c) < size; i += n) samples_.push_back(data[i]);
            rec_.append_audio(*channels_[c], samples_.data(), samples_.size());
        }
    }
    const std::uint32_t channel = channels_[0]->channel;
    if (options_.reply_every && frames_ % options_.reply_every == 0)
        replies_.send_text(json{{"transcript", "frame " + std::to_string(frames_)}}.dump());
    return channel;
}

std::vector<std::uint32_t> Raw::on_close() {
    if (!closed_)
        for (ChannelRecord* ch : channels_) rec_.end_channel(*ch);
    closed_ = true;
    return {};
}

std::unique_ptr<Protocol> make_raw(const Options& options, Recorder& recorder, std::uint64_t conn,
                                   Replies& replies) {
    return std::make_unique<Raw>(options, recorder, conn, replies);
}

}  // namespace speech
