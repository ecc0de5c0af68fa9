#include "voxfork_v1.hpp"

#include <algorithm>
#include <initializer_list>

namespace speech {
namespace {

using nlohmann::json;

enum class Kind { channel, text, object, integer, boolean };

struct FieldRule {
    const char* name;
    Kind kind;
    std::vector<std::string_view> allowed{};  // text: the only values allowed (empty = any)
    std::int64_t lo = 0, hi = 0;              // integer range; text length range
    bool optional = false;
};

struct MessageRule {
    const char* type;
    std::vector<FieldRule> fields;
};

// The messages of docs/speech-server-protocol.md, field by field. Every field listed is required
// unless marked optional, and no other field is allowed.
const std::vector<MessageRule>& message_rules() {
    static const std::vector<MessageRule> rules = {
        {"START",
         {{"channel", Kind::channel},
          {"call-guid", Kind::text, {}, 1, 64},
          {"call-id", Kind::text, {}, 1, 1 << 20},
          {"leg", Kind::text, {"caller", "callee"}},
          {"codec", Kind::text, {"PCMU", "PCMA"}},
          {"rate", Kind::integer, {}, 8000, 8000},
          {"metadata", Kind::object},
          // Continuity (docs/speech-server-protocol.md): a channel re-established after a lost connection.
          {"resumed", Kind::boolean, {}, 0, 0, true}}},
        {"PAUSE", {{"channel", Kind::channel}, {"reason", Kind::text, {"hold", "codec-change"}}}},
        {"RESUME", {{"channel", Kind::channel}, {"codec", Kind::text, {"PCMU", "PCMA"}}}},
        {"UPDATE", {{"channel", Kind::channel}, {"metadata", Kind::object}}},
        {"STOP",
         {{"channel", Kind::channel},
          {"reason", Kind::text, {"Forking stopped", "Call ended", "Stopped by server", "Internal error"}}}},
        {"DTMF",
         {{"channel", Kind::channel},
          {"digit", Kind::text, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D"}},
          {"duration", Kind::integer, {}, 0, 65535}}},
    };
    return rules;
}

const MessageRule* rule_for(const std::string& type) {
    for (const auto& r : message_rules())
        if (type == r.type) return &r;
    return nullptr;
}

// Returns "" when the value fits the rule, else the violation kind.
std::string_view check_value(const FieldRule& rule, const json& v) {
    switch (rule.kind) {
        case Kind::channel:
            if (!v.is_number_unsigned() && !v.is_number_integer()) return "bad-type";
            if (v.is_number_integer() && v.get<std::int64_t>() < 0) return "bad-value";
            if (v.get<std::uint64_t>() > 0xFFFFFFFFull) return "bad-value";
            if (v.get<std::uint64_t>() == 0) return "channel-zero";
            return "";
        case Kind::text: {
            if (!v.is_string()) return "bad-type";
            const auto& s = v.get_ref<const std::string&>();
            if (!rule.allowed.empty())
                return std::find(rule.allowed.begin(), rule.allowed.end(), s) == rule.allowed.end() ? "bad-value" : "";
            auto len = static_cast<std::int64_t>(s.size());
            return len < rule.lo || len > rule.hi ? "bad-value" : "";
        }
        case Kind::object:
            return v.is_object() ? "" : "bad-type";
        case Kind::boolean:
            return v.is_boolean() ? "" : "bad-type";
        case Kind::integer:
            if (!v.is_number_integer()) return "bad-type";
            if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(rule.hi))
                return "bad-value";
            return v.get<std::int64_t>() < rule.lo || v.get<std::int64_t>() > rule.hi ? "bad-value" : "";
    }
    return "";
}

std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::string str(const json& msg, const char* field) {
    auto it = msg.find(field);
    return it != msg.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The leg as it goes into file names: anything else than the protocol's two is "unknown".
std::string leg_name(const json& msg) {
    std::string leg = str(msg, "leg");
    return leg == "caller" || leg == "callee" ? leg : "unknown";
}

}  // namespace

void VoxforkV1::violation(std::uint32_t channel, std::string_view kind, const std::string& detail, json extra) {
    rec_.violation(conn_, channel ? std::optional<std::uint32_t>(channel) : std::nullopt, kind, detail,
                   std::move(extra));
}

ChannelRecord* VoxforkV1::find(std::uint32_t channel) {
    auto it = channels_.find(channel);
    return it == channels_.end() ? nullptr : it->second;
}

bool VoxforkV1::check_fields(const std::string& type, const json& msg) {
    const MessageRule* rule = rule_for(type);
    std::uint32_t channel = 0;
    if (auto it = msg.find("channel"); it != msg.end() && it->is_number_integer() && it->get<std::int64_t>() > 0 &&
                                       it->get<std::uint64_t>() <= 0xFFFFFFFFull)
        channel = it->get<std::uint32_t>();
    bool channel_ok = true;
    for (const auto& field : rule->fields) {
        auto it = msg.find(field.name);
        std::string where = type + "." + field.name;
        if (it == msg.end()) {
            if (field.optional) continue;
            violation(channel, "missing-field", where + " is missing", {{"field", field.name}, {"type", type}});
            if (field.kind == Kind::channel) channel_ok = false;
            continue;
        }
        auto bad = check_value(field, *it);
        if (!bad.empty()) {
            violation(channel, bad, where + " has a wrong type or value: " + it->dump(),
                      {{"field", field.name}, {"type", type}});
            if (field.kind == Kind::channel) channel_ok = false;
        }
    }
    for (const auto& [key, value] : msg.items()) {
        if (key == "type") continue;
        bool known =
            std::any_of(rule->fields.begin(), rule->fields.end(), [&key](const FieldRule& f) { return key == f.name; });
        if (!known)
            violation(channel, "unknown-field", type + " has a field the voxfork.v1 protocol does not define: " + key,
                      {{"field", key}, {"type", type}});
    }
    return channel_ok;
}

void VoxforkV1::on_text(std::string_view text) {
    json msg = json::parse(text, nullptr, false);
    if (msg.is_discarded()) {
        violation(0, "not-json", "text frame is not JSON", {{"text", std::string(text.substr(0, 512))}});
        return;
    }
    if (!msg.is_object()) {
        violation(0, "not-object", "text frame is JSON but not an object",
                  {{"text", std::string(text.substr(0, 512))}});
        return;
    }
    std::string type = str(msg, "type");
    json line = {{"event", "control"}, {"conn", conn_}, {"type", type}, {"msg", msg}};
    if (auto it = msg.find("channel"); it != msg.end()) line["channel"] = *it;
    if (!rule_for(type)) {
        rec_.event(std::move(line));
        violation(0, "unknown-type",
                  "message type is missing or not one of voxfork.v1's: " + msg.value("type", json()).dump(),
                  {{"msg", msg}});
        return;
    }
    std::uint32_t channel = 0;
    if (auto it = msg.find("channel");
        it != msg.end() && it->is_number_unsigned() && it->get<std::uint64_t>() <= 0xFFFFFFFFull)
        channel = it->get<std::uint32_t>();
    if (type == "START" && channel && !find(channel)) {
        std::string base = Recorder::file_base(conn_, channel, leg_name(msg));
        line["wav"] = base + ".wav";
        line["raw"] = base + ".raw";
    }
    // The control line goes first so a violation line always follows the message it is about.
    rec_.event(std::move(line));
    check_start_order(type, msg, channel);
    if (!check_fields(type, msg) || channel == 0) return;

    if (type == "START") {
        on_start(msg, channel);
        return;
    }
    ChannelRecord* ch = find(channel);
    if (!ch) {
        violation(channel, "unknown-channel", type + " for a channel never started on this connection");
        return;
    }
    on_channel_message(type, msg, *ch);
}

void VoxforkV1::check_start_order(const std::string& type, const json& msg, std::uint32_t channel) {
    bool is_callee_start = type == "START" && str(msg, "leg") == "callee";
    std::string guid = str(msg, "call-guid");
    if (pending_caller_ && !(is_callee_start && guid == pending_caller_guid_))
        violation(channel, "start-order",
                  "the caller START of call " + pending_caller_guid_ + " is not followed at once by its callee START");
    else if (!pending_caller_ && is_callee_start)
        violation(channel, "start-order", "callee START of call " + guid + " without its caller START just before");
    pending_caller_ = type == "START" && str(msg, "leg") == "caller";
    pending_caller_guid_ = guid;
}

void VoxforkV1::on_start(const json& msg, std::uint32_t channel) {
    if (ChannelRecord* old = find(channel)) {
        violation(channel, "duplicate-start",
                  old->stopped ? "START for a channel already stopped on this connection"
                               : "START for a channel already started on this connection");
        return;
    }
    const auto resumed = msg.find("resumed");
    ChannelRecord* earlier = resumed != msg.end() && resumed->is_boolean() && resumed->get<bool>()
                                 ? rec_.earlier_record(channel, conn_)
                                 : nullptr;
    // A resumed START may carry an id an earlier connection used: it continues that channel.
    if (rec_.channel_seen(channel) && earlier == nullptr)
        violation(channel, "channel-reused", "START for a channel id another connection already used");
    if (earlier != nullptr && (earlier->stopped || earlier->stopped_by_server)) {
        violation(channel, "channel-reused", "resumed START for a channel that was stopped");
        earlier = nullptr;
    }
    std::string leg = leg_name(msg);
    ChannelRecord& ch = rec_.open_channel(conn_, channel, leg);
    if (earlier != nullptr) {
        // Its sequence goes on: a replayed frame the server had is a repeat.
        ch.resumed_from = earlier->conn;
        ch.has_frames = earlier->has_frames;
        ch.next_seq = earlier->next_seq;
        ch.last_position = earlier->last_position;
        ch.last_length = earlier->last_length;
        rec_.event({{"event", "resumed"},
                    {"conn", conn_},
                    {"channel", channel},
                    {"from_conn", earlier->conn},
                    {"next_seq", earlier->next_seq}});
    }
    ch.call_guid = str(msg, "call-guid");
    ch.call_id = str(msg, "call-id");
    ch.codec = str(msg, "codec") == "PCMA" ? Codec::pcma : Codec::pcmu;
    channels_[channel] = &ch;

    Call& call = calls_[ch.call_guid];
    std::uint32_t& slot = leg == "callee" ? call.callee : call.caller;
    if (slot && leg != "unknown")
        violation(channel, "start-order",
                  "call " + ch.call_guid + " already has a live " + leg + " channel " + std::to_string(slot));
    else if (leg != "unknown")
        slot = channel;
}

void VoxforkV1::on_channel_message(const std::string& type, const json& msg, ChannelRecord& ch) {
    if (ch.stopped || ch.stopped_by_server) {
        if (type == "STOP" && ch.stopped_by_server && !ch.stopped)
            violation(ch.channel, "stop-after-server-stop", "STOP for a channel the server stopped itself");
        else
            violation(ch.channel, "after-stop", type + " for a stopped channel");
        if (type == "STOP") ch.stopped = true;
        return;
    }
    if (type == "PAUSE") {
        if (ch.paused) violation(ch.channel, "already-paused", "PAUSE for a paused channel");
        ch.paused = true;
    } else if (type == "RESUME") {
        if (!ch.paused) violation(ch.channel, "not-paused", "RESUME for a channel that is not paused");
        ch.paused = false;
        ch.codec = str(msg, "codec") == "PCMA" ? Codec::pcma : Codec::pcmu;
    } else if (type == "DTMF") {
        ++ch.dtmf;
    } else if (type == "STOP") {
        ch.stopped = true;
        ch.stop_reason = str(msg, "reason");
        end(ch);
    }
}

void VoxforkV1::end(ChannelRecord& ch) {
    rec_.end_channel(ch);
    auto it = calls_.find(ch.call_guid);
    if (it == calls_.end()) return;
    if (it->second.caller == ch.channel) it->second.caller = 0;
    if (it->second.callee == ch.channel) it->second.callee = 0;
    if (!it->second.caller && !it->second.callee) calls_.erase(it);
}

std::optional<std::string> VoxforkV1::server_stop(std::uint32_t channel, const std::string& reason) {
    if (ChannelRecord* ch = find(channel); ch && !ch->stopped_by_server) {
        ch->stopped_by_server = true;
        end(*ch);
    }
    return json{{"type", "STOP"}, {"channel", channel}, {"reason", reason}}.dump();
}

Verdict VoxforkV1::judge(const Upgrade& upgrade) {
    if (options_.token) {
        const std::string authorization = header(upgrade, "authorization");
        if (authorization != "Bearer " + *options_.token)
            return {401, upgrade.headers.contains("authorization") ? "wrong token" : "missing token", {}};
    }
    if (!lists(header(upgrade, "sec-websocket-protocol"), voxfork_v1_subprotocol)) {
        rec_.violation(conn_, std::nullopt, "subprotocol", "upgrade does not offer Sec-WebSocket-Protocol: voxfork.v1",
                       {{"subprotocols", upgrade.headers.value("sec-websocket-protocol", json())}});
        return {};
    }
    return {0, {}, std::string(voxfork_v1_subprotocol)};
}

std::unique_ptr<Protocol> make_voxfork_v1(const Options& options, Recorder& recorder, std::uint64_t conn) {
    return std::make_unique<VoxforkV1>(options, recorder, conn);
}

std::uint32_t VoxforkV1::on_binary(const std::uint8_t* data, std::size_t size) {
    ++frames_;
    if (size < 12) {
        violation(0, "short-frame", "binary frame of " + std::to_string(size) + " bytes (< 12)");
        return 0;
    }
    std::uint32_t channel = be32(data), seq = be32(data + 4), position = be32(data + 8);
    std::size_t n = size - 12;
    rec_.frame_event(conn_, channel, seq, position, n);
    if (channel == 0) {
        violation(0, "channel-zero", "audio frame for channel 0");
        return 0;
    }
    ChannelRecord* ch = find(channel);
    if (!ch) {
        violation(channel, "unknown-channel", "audio frame for a channel never started on this connection");
        return channel;
    }
    if (ch->stopped) {
        violation(channel, "after-stop", "audio frame after the channel's STOP", {{"seq", seq}});
        return channel;
    }
    if (ch->stopped_by_server) {  // frames already in flight when the server's STOP left
        ++ch->late_frames;
        return channel;
    }
    if (ch->resumed_from && ch->has_frames && seq < ch->next_seq) {
        ++ch->repeated;  // replayed from before the loss, and received then
        return channel;
    }
    if (n == 0) violation(channel, "empty-payload", "audio frame without payload", {{"seq", seq}});
    if (ch->paused) violation(channel, "paused-frame", "audio frame while the channel is paused", {{"seq", seq}});
    check_sequence(*ch, seq, position, n);
    ++ch->frames;
    ch->bytes += n;
    std::uint64_t at = position >= ch->wav_shift ? position - ch->wav_shift : 0;
    rec_.write_audio(*ch, at, data + 12, n);
    return channel;
}

void VoxforkV1::check_sequence(ChannelRecord& ch, std::uint32_t seq, std::uint32_t position,
                                       std::size_t length) {
    std::uint32_t expected_seq = ch.has_frames ? ch.next_seq : 0;
    if (seq > expected_seq) {
        ch.dropped += seq - expected_seq;
        rec_.event({{"event", "drop-gap"},
                    {"conn", conn_},
                    {"channel", ch.channel},
                    {"expected_seq", expected_seq},
                    {"seq", seq},
                    {"dropped", seq - expected_seq}});
    } else if (seq < expected_seq) {
        violation(ch.channel, "seq-not-increasing",
                  "seq " + std::to_string(seq) + " where " + std::to_string(expected_seq) + " or more was due",
                  {{"seq", seq}, {"expected_seq", expected_seq}});
    }
    if (!ch.has_frames || seq >= expected_seq) ch.next_seq = seq + 1;

    const std::uint64_t max_gap = std::uint64_t{rec_.options().max_gap_seconds} * 8000;
    std::uint64_t expected_pos = ch.has_frames ? std::uint64_t{ch.last_position} + ch.last_length : 0;
    if (ch.has_frames && position < ch.last_position) {
        violation(ch.channel, "position-backwards",
                  "position " + std::to_string(position) + " below the previous " + std::to_string(ch.last_position),
                  {{"seq", seq}, {"position", position}, {"previous", ch.last_position}});
    } else if (ch.has_frames && position != expected_pos) {
        ++ch.position_steps;
        rec_.event({{"event", "position-step"},
                    {"conn", conn_},
                    {"channel", ch.channel},
                    {"seq", seq},
                    {"position", position},
                    {"expected", expected_pos},
                    {"step", static_cast<std::int64_t>(position) - static_cast<std::int64_t>(expected_pos)}});
    }
    if (position > expected_pos && position - expected_pos > max_gap) {
        violation(ch.channel, "position-jump",
                  "position steps " + std::to_string(position - expected_pos) + " samples (more than --max-gap)",
                  {{"seq", seq}, {"position", position}, {"expected", expected_pos}});
        ch.wav_shift += position - expected_pos - max_gap;
    }
    ch.has_frames = true;
    ch.last_position = position;
    ch.last_length = static_cast<std::uint32_t>(length);
}

std::vector<std::uint32_t> VoxforkV1::on_close() {
    std::vector<std::uint32_t> open;
    for (auto& [id, ch] : channels_) {
        if (!ch->stopped && !ch->stopped_by_server) open.push_back(id);
        rec_.end_channel(*ch);
    }
    std::sort(open.begin(), open.end());
    return open;
}

}  // namespace speech
