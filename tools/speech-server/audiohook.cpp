#include "audiohook.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

namespace speech {
namespace {

using nlohmann::json;

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    for (char c : text)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=')) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    std::size_t padding = 0;
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) ++padding;
    out.resize(static_cast<std::size_t>(n) - std::min<std::size_t>(padding, 2));
    return out;
}

// Unix seconds as a signature parameter writes them: digits, within reason
// (a client's 400 digits are a wrong value, not an overflow).
std::optional<double> seconds(const std::string& text) {
    if (text.empty() || text.size() > 15 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    return std::stod(text);
}

std::string unquote(std::string_view v) {
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return std::string(v.substr(1, v.size() - 2));
    return std::string(v);
}

std::string str(const json& object, const char* field) {
    auto it = object.find(field);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double now_seconds() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
}

const std::set<std::string>& required_components() {
    static const std::set<std::string> names = {"@request-target",          "@authority",
                                                "audiohook-organization-id", "audiohook-session-id",
                                                "audiohook-correlation-id",  "x-api-key"};
    return names;
}

}  // namespace

bool audiohook_uuid(std::string_view t) {
    if (t.size() != 36) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (t[i] == '-')) return false;
        if (!dash && !((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f'))) return false;
    }
    return t[14] >= '1' && t[14] <= '5' && (t[19] == '8' || t[19] == '9' || t[19] == 'a' || t[19] == 'b');
}

std::optional<double> audiohook_duration(std::string_view t) {
    if (t.size() < 4 || t.size() > 24 || !t.starts_with("PT") || t.back() != 'S') return std::nullopt;
    const std::string_view number = t.substr(2, t.size() - 3);
    const auto dot = number.find('.');
    const auto digits = [](std::string_view d) {
        return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (dot == std::string_view::npos ? !digits(number) || number.empty()
                                      : !digits(number.substr(0, dot)) || !digits(number.substr(dot + 1)) ||
                                            dot + 1 == number.size())
        return std::nullopt;
    return std::stod(std::string(number));
}

std::string audiohook_signature_problem(const Upgrade& upgrade, const std::string& secret, double now) {
    const std::string input = header(upgrade, "signature-input"), signature = header(upgrade, "signature");
    // <label>=("c1" "c2" ...);param=value;...  and  <label>=:BASE64:
    const auto eq = input.find('=');
    if (eq == std::string::npos || eq + 1 >= input.size() || input[eq + 1] != '(') return "malformed Signature-Input";
    const std::string label = input.substr(0, eq), params_text = input.substr(eq + 1);
    const auto close = params_text.find(')');
    if (close == std::string::npos) return "malformed Signature-Input";
    if (!signature.starts_with(label + "=:") || !signature.ends_with(":") || signature.size() < label.size() + 3)
        return "malformed Signature";
    const auto mac_sent =
        base64_decode(std::string_view(signature).substr(label.size() + 2, signature.size() - label.size() - 3));
    if (!mac_sent) return "malformed Signature";

    std::vector<std::string> names;
    std::string_view list = std::string_view(params_text).substr(1, close - 1);
    while (!list.empty()) {
        const auto space = list.find(' ');
        const std::string_view item = list.substr(0, space);
        if (item.size() < 2 || item.front() != '"' || item.back() != '"') return "malformed component list";
        names.push_back(unquote(item));
        if (space == std::string_view::npos) break;
        list.remove_prefix(space + 1);
    }
    std::map<std::string, std::string> params;
    std::string_view rest = std::string_view(params_text).substr(close + 1);
    while (!rest.empty()) {
        if (rest.front() != ';') return "malformed signature parameters";
        rest.remove_prefix(1);
        const auto next = rest.find(';');
        const std::string_view pair = rest.substr(0, next);
        const auto peq = pair.find('=');
        if (peq == std::string_view::npos) return "malformed signature parameters";
        params[std::string(pair.substr(0, peq))] = std::string(pair.substr(peq + 1));
        rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
    }

    for (const auto& required : required_components())
        if (std::find(names.begin(), names.end(), required) == names.end()) return "does not cover " + required;
    for (const auto& name : names)
        if (name.starts_with("@") ? !required_components().count(name) : !upgrade.headers.contains(name))
            return "covers " + name + ", which it cannot";
    if (unquote(params["keyid"]) != header(upgrade, "x-api-key")) return "keyid is not the X-API-KEY";
    if (unquote(params["nonce"]).size() < 22) return "nonce missing or under 22 characters";
    if (params.count("alg") && params["alg"] != "\"hmac-sha256\"") return "alg is not hmac-sha256";
    const auto created = seconds(params["created"]);
    if (!created) return "no created";
    const double age = now - *created;
    if (age > 10 || age < -3) return "created is not now (" + std::to_string(static_cast<long long>(age)) + " s off)";
    if (params.count("expires")) {
        const auto expires = seconds(params["expires"]);
        if (!expires || *expires < now) return "expired";
    }

    std::string base;
    for (const auto& name : names) {
        const std::string value = name == "@request-target" ? upgrade.target
                                  : name == "@authority"     ? header(upgrade, "host")
                                                             : header(upgrade, name.c_str());
        base += "\"" + name + "\": " + value + "\n";
    }
    base += "\"@signature-params\": " + params_text;
    const auto key = base64_decode(secret);
    if (!key) return "the server's secret is not base64";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()), reinterpret_cast<const unsigned char*>(base.data()),
         base.size(), mac, &mac_len);
    if (mac_sent->size() != mac_len || CRYPTO_memcmp(mac, mac_sent->data(), mac_len) != 0)
        return "signatures do not match";
    return {};
}

void Audiohook::violation(std::string_view kind, const std::string& detail, json extra) {
    rec_.violation(conn_, std::nullopt, kind, detail, std::move(extra));
}

Verdict Audiohook::judge(const Upgrade& upgrade) {
    for (const char* name : {"audiohook-organization-id", "audiohook-session-id", "audiohook-correlation-id"})
        if (header(upgrade, name).empty())
            violation("missing-header", std::string("upgrade without ") + name, {{"header", name}});
    session_id_ = header(upgrade, "audiohook-session-id");
    organization_id_ = header(upgrade, "audiohook-organization-id");
    if (!audiohook_uuid(session_id_)) {
        violation("bad-session-id", "Audiohook-Session-Id is not a lower-case UUID: " + session_id_);
        return {400, "missing or invalid audiohook-session-id", {}};
    }
    if (options_.token && header(upgrade, "x-api-key") != *options_.token)
        return {401, upgrade.headers.contains("x-api-key") ? "wrong token" : "missing token", {}};
    if (options_.audiohook_secret) {
        const std::string problem = audiohook_signature_problem(upgrade, *options_.audiohook_secret, now_seconds());
        if (!problem.empty()) {
            violation("signature", "signature: " + problem);
            return {401, "Signature verification failed", {}};
        }
    }
    if (upgrade.headers.contains("sec-websocket-protocol"))
        violation("subprotocol", "an AudioHook upgrade offers no subprotocol",
                  {{"subprotocols", upgrade.headers["sec-websocket-protocol"]}});
    return {};
}

std::string Audiohook::message(const char* type, json parameters) {
    json m = {{"version", "2"},         {"type", type},         {"seq", ++server_seq_}, {"clientseq", client_seq_},
              {"id", session_id_},       {"parameters", std::move(parameters)}};
    rec_.event({{"event", "server-message"}, {"conn", conn_}, {"type", type}, {"msg", m}});
    return m.dump();
}

void Audiohook::send(const char* type, json parameters) {
    replies_.send_text(message(type, std::move(parameters)));
}

double Audiohook::received_seconds() const {
    return static_cast<double>(received_samples_) / 8000.0;
}

bool Audiohook::check_envelope(const json& msg) {
    if (str(msg, "version") != "2") violation("bad-version", "version is not \"2\"", {{"msg", msg}});
    if (str(msg, "id") != session_id_) violation("bad-id", "id is not the Audiohook-Session-Id", {{"msg", msg}});
    const auto seq = msg.find("seq");
    if (seq == msg.end() || !seq->is_number_unsigned() || seq->get<std::uint64_t>() != client_seq_ + 1)
        violation("bad-seq", "seq is not " + std::to_string(client_seq_ + 1), {{"msg", msg}});
    if (seq != msg.end() && seq->is_number_unsigned()) client_seq_ = seq->get<std::uint64_t>();
    const auto serverseq = msg.find("serverseq");
    if (serverseq == msg.end() || !serverseq->is_number_unsigned() || serverseq->get<std::uint64_t>() > server_seq_)
        violation("bad-serverseq", "serverseq missing or ahead of " + std::to_string(server_seq_), {{"msg", msg}});
    const auto position = audiohook_duration(str(msg, "position"));
    if (!position) {
        violation("bad-position", "position is not a duration", {{"msg", msg}});
    } else {
        if (!position_base_) position_base_ = *position;
        // position is the audio sent so far; durations are written in hundredths.
        const double expected = *position_base_ + received_seconds();
        if (std::fabs(*position - expected) > 0.0101)
            violation("position-mismatch",
                      "position " + str(msg, "position") + " where " + std::to_string(expected) + " s was received",
                      {{"msg", msg}});
    }
    const auto parameters = msg.find("parameters");
    if (parameters == msg.end() || !parameters->is_object()) {
        violation("bad-parameters", "parameters missing or not an object", {{"msg", msg}});
        return false;
    }
    return true;
}

void Audiohook::on_text(std::string_view text) {
    json msg = json::parse(text, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()) {
        violation(msg.is_discarded() ? "not-json" : "not-object", "text frame is not a JSON object",
                  {{"text", std::string(text.substr(0, 512))}});
        return;
    }
    const std::string type = str(msg, "type");
    rec_.event({{"event", "control"}, {"conn", conn_}, {"type", type}, {"msg", msg}});
    const bool envelope_ok = check_envelope(msg);
    const json parameters = envelope_ok ? msg["parameters"] : json::object();
    if (type == "open") {
        on_open(parameters);
    } else if (type == "ping") {
        send("pong");
    } else if (type == "close") {
        on_client_close(parameters);
    } else if (type == "paused") {
        if (!opened_ || paused_) violation("not-active", "paused while not open or already paused");
        paused_ = true;
        for (auto* ch : channels_) ch->paused = true;
    } else if (type == "resumed") {
        const bool durations = check_durations(type, parameters);
        if (!paused_) violation("not-paused", "resumed while not paused");
        paused_ = false;
        // The pause's length goes into the WAV as silence, so its time line
        // is the call's, as for voxfork.v1's positions.
        const double discarded = durations ? *audiohook_duration(str(parameters, "discarded")) : 0.0;
        const auto gap = static_cast<std::uint64_t>(std::llround(std::min(discarded, 3600.0) * 8000));
        for (auto* ch : channels_) {
            ch->paused = false;
            ch->wav_gap += gap;
        }
    } else if (type == "update") {
        if (!parameters.contains("language") || !parameters["language"].is_string())
            violation("bad-value", "update without a language", {{"msg", msg}});
        send("updated");
    } else if (type == "dtmf") {
        static const std::string digits = "0123456789*#ABCD";
        const std::string digit = str(parameters, "digit");
        if (digit.size() != 1 || digits.find(digit[0]) == std::string::npos)
            violation("bad-value", "dtmf digit is not one of 0-9 * # A-D", {{"msg", msg}});
        else if (!channels_.empty())
            ++channels_[0]->dtmf;
    } else if (type == "discarded") {
        check_durations(type, parameters);
    } else if (type == "error") {
        // A client's error report: recorded (the control line), not a violation.
    } else {
        violation("unknown-type", "not a client message of AudioHook v2: " + type, {{"msg", msg}});
    }
}

bool Audiohook::check_durations(const std::string& type, const json& parameters) {
    if (audiohook_duration(str(parameters, "start")) && audiohook_duration(str(parameters, "discarded"))) return true;
    violation("bad-value", type + " without durations start and discarded", {{"parameters", parameters}});
    return false;
}

json Audiohook::choose_media(const json& offers) {
    const auto valid = [](const json& m) {
        if (!m.is_object() || str(m, "type") != "audio" || str(m, "format") != "PCMU" || m.value("rate", json()) != 8000)
            return false;
        const auto channels = m.find("channels");
        if (channels == m.end() || !channels->is_array() || channels->empty() || channels->size() > 2) return false;
        std::set<std::string> seen;
        for (const auto& c : *channels)
            if (!c.is_string() || (c != "external" && c != "internal") || !seen.insert(c.get<std::string>()).second)
                return false;
        return true;
    };
    const std::string& want = options_.audiohook_media;
    if (want == "none") return nullptr;
    for (const auto& m : offers) {
        if (!valid(m)) continue;
        const auto& ch = m["channels"];
        const bool match = want == "first" || (want == "both" && ch.size() == 2) ||
                           (want == "external" && ch == json::array({"external"})) ||
                           (want == "internal" && ch == json::array({"internal"}));
        if (match) return m;
        if (want == "first") break;
    }
    return nullptr;
}

void Audiohook::on_open(const json& p) {
    if (opened_ || closing_) return violation("duplicate-open", "open on a session already opened");
    const std::string org = str(p, "organizationId"), conversation = str(p, "conversationId");
    if (!audiohook_uuid(org)) violation("bad-value", "open organizationId is not a UUID: " + org);
    if (org != organization_id_) violation("bad-value", "open organizationId differs from the upgrade's header");
    if (!audiohook_uuid(conversation)) violation("bad-value", "open conversationId is not a UUID: " + conversation);
    const json participant = p.value("participant", json::object());
    static constexpr const char* texts[] = {"ani", "aniName", "dnis"};
    if (!participant.is_object() || !audiohook_uuid(str(participant, "id")) ||
        !std::all_of(std::begin(texts), std::end(texts),
                     [&](const char* k) { return participant.contains(k) && participant[k].is_string(); }))
        violation("bad-value", "open participant is not {id: UUID, ani, aniName, dnis}",
                  {{"participant", participant}});
    if (p.contains("customConfig") && !p["customConfig"].is_object())
        violation("bad-type", "open customConfig is not an object");
    if (p.contains("continuedSessions")) {
        const json& continued = p["continuedSessions"];
        const bool ok = continued.is_array() && std::all_of(continued.begin(), continued.end(), [](const json& c) {
                            return c.is_object() && audiohook_uuid(str(c, "id")) && c.contains("serverseq") &&
                                   c["serverseq"].is_number_unsigned() && c.contains("clientseq") &&
                                   c["clientseq"].is_number_unsigned();
                        });
        if (!ok) violation("bad-value", "open continuedSessions is not [{id, serverseq, clientseq}]");
    }
    const json offers = p.value("media", json());
    if (!offers.is_array()) return violation("bad-value", "open without a media list");
    const json chosen = choose_media(offers);
    opened_ = true;
    if (chosen.is_object()) {
        for (const auto& name : chosen["channels"]) {
            const bool external = name == "external";
            ChannelRecord& ch = rec_.open_channel(conn_, external ? 1 : 2, external ? "caller" : "callee");
            ch.call_guid = conversation;
            ch.call_id = session_id_;
            ch.codec = Codec::pcmu;
            channels_.push_back(&ch);
        }
    }
    send("opened", {{"media", chosen.is_object() ? json::array({chosen}) : json::array()}, {"startPaused", false}});
}

void Audiohook::on_client_close(const json& p) {
    const std::string reason = str(p, "reason");
    if (reason != "end" && reason != "error" && reason != "disconnect" && reason != "reconnect")
        violation("bad-value", "close reason is not end, error, disconnect or reconnect: " + reason);
    if (closing_) return violation("duplicate-close", "close on a session already closing");
    closing_ = true;
    for (auto* ch : channels_) {
        ch->stopped = true;
        ch->stop_reason = reason;
        rec_.end_channel(*ch);
    }
    send("closed");
}

std::uint32_t Audiohook::on_binary(const std::uint8_t* data, std::size_t size) {
    ++frames_;
    const std::uint32_t first = channels_.empty() ? 0 : channels_[0]->channel;
    // The client's position counts every sample it sent, recorded or not.
    if (opened_ && !channels_.empty()) received_samples_ += size / channels_.size();
    if (disconnected_ && !closing_) {
        for (auto* ch : channels_) ++ch->late_frames;  // in flight when our disconnect left
        return first;
    }
    if (closing_) {
        violation("after-close", "audio after the client's close");
        return first;
    }
    if (!opened_) {
        violation("audio-before-opened", "audio before `opened`");
        return 0;
    }
    if (channels_.empty()) {
        violation("unexpected-audio", "audio though `opened` chose no media");
        return 0;
    }
    if (paused_) violation("paused-frame", "audio while paused");
    const std::size_t n = channels_.size();
    if (size == 0 || size % n != 0)
        violation("partial-sample", "a frame of " + std::to_string(size) + " bytes is not whole samples of " +
                                        std::to_string(n) + " channel(s)");
    if (n == 1) {
        rec_.append_audio(*channels_[0], data, size);
        return first;
    }
    for (std::size_t c = 0; c < n; ++c) {
        samples_.clear();
        for (std::size_t i = c; i + (n - 1 - c) < size; i += n) samples_.push_back(data[i]);
        rec_.append_audio(*channels_[c], samples_.data(), samples_.size());
    }
    return first;
}

std::optional<std::string> Audiohook::server_stop(std::uint32_t, const std::string& reason) {
    if (disconnected_ || closing_) return std::nullopt;
    disconnected_ = true;
    for (auto* ch : channels_) {
        ch->stopped_by_server = true;
        ch->stop_reason = reason;
    }
    return message("disconnect", {{"reason", "completed"}, {"info", reason}});
}

std::optional<std::string> Audiohook::server_pause(bool resume) {
    if (!opened_ || closing_ || disconnected_) return std::nullopt;
    return message(resume ? "resume" : "pause");
}

std::vector<std::uint32_t> Audiohook::on_close() {
    std::vector<std::uint32_t> open;
    if (ended_) return open;
    ended_ = true;
    for (auto* ch : channels_) {
        if (!closing_) open.push_back(ch->channel);
        rec_.end_channel(*ch);
    }
    return open;
}

std::unique_ptr<Protocol> make_audiohook(const Options& options, Recorder& recorder, std::uint64_t conn,
                                         Replies& replies) {
    return std::make_unique<Audiohook>(options, recorder, conn, replies);
}

}  // namespace speech
