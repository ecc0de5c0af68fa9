#include "policy.hpp"

#include <voxfork/ws.hpp>

namespace voxfork::ws::detail {

std::optional<std::uint32_t> choose_connection(std::span<const Candidate> candidates, int threshold) {
    const Candidate* best = nullptr;
    for (const auto& c : candidates) {
        if (c.calls >= threshold) continue;
        if (!best || c.calls < best->calls || (c.calls == best->calls && c.id < best->id)) best = &c;
    }
    if (!best) return std::nullopt;
    return best->id;
}

Failure classify_failure(Step step, int http_status) {
    switch (step) {
        // A failed lookup never reached TCP established: the statistics count
        // every such attempt as a TCP connection failure.
        case Step::resolve:
            return {reason::dns_failed, FailureCounter::tcp};
        case Step::proxy_resolve:
            return {reason::proxy_dns_failed, FailureCounter::tcp};
        case Step::tcp_connect:
            return {reason::connection_failed, FailureCounter::tcp};
        case Step::proxy_connect:
        case Step::tls_handshake:
            return {reason::connection_failed, FailureCounter::http};
        case Step::upgrade:
            if (http_status == 401 || http_status == 403) return {reason::auth_invalid, FailureCounter::http};
            return {reason::connection_failed, FailureCounter::http};
    }
    return {reason::internal_error, FailureCounter::none};
}

std::string_view to_string(Step step) {
    switch (step) {
        case Step::resolve:
            return "resolve";
        case Step::proxy_resolve:
            return "proxy resolve";
        case Step::tcp_connect:
            return "tcp connect";
        case Step::proxy_connect:
            return "proxy connect";
        case Step::tls_handshake:
            return "tls handshake";
        case Step::upgrade:
            return "upgrade";
    }
    return "?";
}

namespace {
std::string_view suites_of(config::CipherSuite s) {
    using C = config::CipherSuite;
    switch (s) {
        case C::aes_128_cbc_sha:
            return "AES128-SHA";
        case C::dhe_rsa_aes_cbc_sha2:
            return "DHE-RSA-AES128-SHA256:DHE-RSA-AES256-SHA256";
        case C::ecdhe_rsa_aes_cbc_sha2:
            return "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384";
        case C::rsa_aes_cbc_sha2:
            return "AES128-SHA256:AES256-SHA256";
        case C::ecdhe_ecdsa_aes_gcm_sha2:
            return "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256";
        case C::ecdhe_rsa_aes_gcm_sha2:
            return "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256";
    }
    return {};
}
}  // namespace

std::string openssl_cipher_list(std::span<const config::CipherSuite> suites) {
    using C = config::CipherSuite;
    static constexpr C all[] = {C::aes_128_cbc_sha,  C::dhe_rsa_aes_cbc_sha2,     C::ecdhe_rsa_aes_cbc_sha2,
                                C::rsa_aes_cbc_sha2, C::ecdhe_ecdsa_aes_gcm_sha2, C::ecdhe_rsa_aes_gcm_sha2};
    std::string out;
    // Table order, whatever order the file named them in, each once.
    for (C s : all) {
        bool wanted = suites.empty();
        for (C w : suites) wanted = wanted || w == s;
        if (!wanted) continue;
        if (!out.empty()) out += ':';
        out += suites_of(s);
    }
    return out;
}

std::string mask_token(std::string_view token) {
    return token.empty() ? "none" : config::mask_secret(token);
}

std::string url_of(std::string_view host, std::uint16_t port, bool secure) {
    return std::string(secure ? "wss://" : "ws://") + authority(host, port);
}

ReconnectStep reconnect_step(std::chrono::steady_clock::duration backoff,
                             std::chrono::steady_clock::duration window_left) {
    ReconnectStep step;
    if (window_left <= std::chrono::steady_clock::duration::zero()) {
        step.give_up = true;
        return step;
    }
    step.wait = std::min(backoff, window_left);
    step.next_backoff = std::min<std::chrono::steady_clock::duration>(backoff * 2, reconnect_backoff_max);
    return step;
}

std::chrono::milliseconds reconnect_attempt_timeout(std::chrono::milliseconds connect_timeout,
                                                    std::chrono::steady_clock::duration window_left) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(window_left);
    return std::min(connect_timeout, std::max(left, reconnect_attempt_min));
}

}  // namespace voxfork::ws::detail
