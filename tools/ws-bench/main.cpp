// ws-bench: one WebSocket connection to a voxfork.v1 speech server, K channels,
// audio frames pushed as fast as possible (or paced). Prints frames/s and the
// client's CPU time per 10,000 frames. Synchronous on purpose: it measures the
// transport (framing, masking, TLS), not an event loop.
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Args {
    std::string url = "ws://127.0.0.1:8000/v1/fork";
    unsigned channels = 2;
    unsigned long frames = 200000;
    unsigned payload = 160;
    double rate = 0;  // frames/s over all channels; 0 = as fast as possible
    std::string ca_file;
    std::string token;
    std::string tls_max = "1.3";
};

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: ws-bench [--url ws[s]://HOST:PORT/PATH] [--channels K] [--frames N] [--payload BYTES]\n"
                 "                [--rate FRAMES_PER_S] [--ca FILE] [--token T] [--tls-max 1.2|1.3]\n"
                 "Pushes N audio frames over K channels of one connection; without --rate as fast as\n"
                 "possible. wss without --ca does not verify the server (loopback benchmarks only).\n");
    std::exit(code);
}

Args parse(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (k == "--help") usage(0);
        if (i + 1 >= argc) usage(2);
        std::string v = argv[++i];
        if (k == "--url")
            a.url = v;
        else if (k == "--channels")
            a.channels = std::stoul(v);
        else if (k == "--frames")
            a.frames = std::stoul(v);
        else if (k == "--payload")
            a.payload = std::stoul(v);
        else if (k == "--rate")
            a.rate = std::stod(v);
        else if (k == "--ca")
            a.ca_file = v;
        else if (k == "--token")
            a.token = v;
        else if (k == "--tls-max")
            a.tls_max = v;
        else
            usage(2);
    }
    if (a.channels == 0 || a.frames == 0) usage(2);
    return a;
}

struct Url {
    bool secure = false;
    std::string host, port, path;
};

Url parse_url(const std::string& s) {
    Url u;
    std::string rest;
    if (s.rfind("wss://", 0) == 0)
        u.secure = true, rest = s.substr(6);
    else if (s.rfind("ws://", 0) == 0)
        rest = s.substr(5);
    else
        throw std::runtime_error("url must start with ws:// or wss://");
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    u.path = slash == std::string::npos ? "/" : rest.substr(slash);
    auto colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    u.port = colon == std::string::npos ? (u.secure ? "443" : "80") : hostport.substr(colon + 1);
    return u;
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void put_be32(unsigned char* p, std::uint32_t v) {
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = static_cast<unsigned char>(v);
}

template <class WS>
void run(WS& ws, const Args& a, const Url& u) {
    ws.set_option(websocket::stream_base::decorator([&a](websocket::request_type& req) {
        req.set(beast::http::field::sec_websocket_protocol, "voxfork.v1");
        req.set(beast::http::field::user_agent, "ws-bench");
        if (!a.token.empty()) req.set(beast::http::field::authorization, "Bearer " + a.token);
    }));
    ws.handshake(u.host + ":" + u.port, u.path);
    ws.auto_fragment(false);

    // Channels are started in caller/callee pairs, as voxforkd does.
    std::vector<std::uint32_t> seq(a.channels, 0);
    ws.text(true);
    for (unsigned c = 0; c < a.channels; ++c) {
        std::string guid = "BENCH" + std::to_string(c / 2);
        std::string start = R"({"type":"START","channel":)" + std::to_string(c + 1) + R"(,"call-guid":")" + guid +
                            R"(","call-id":"bench@127.0.0.1","leg":")" + (c % 2 ? "callee" : "caller") +
                            R"(","codec":"PCMU","rate":8000,"metadata":{}})";
        ws.write(asio::buffer(start));
    }

    std::vector<unsigned char> frame(12 + a.payload, 0xFF);
    ws.binary(true);
    auto t0 = Clock::now();
    double cpu0 = cpu_seconds();
    auto next = t0;
    const unsigned burst = a.rate > 0 ? std::max(1u, static_cast<unsigned>(a.rate / 50)) : 1;
    const auto tick =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(burst / (a.rate > 0 ? a.rate : 1)));
    for (unsigned long i = 0; i < a.frames; ++i) {
        if (a.rate > 0 && i % burst == 0) {
            std::this_thread::sleep_until(next);
            next += tick;
        }
        unsigned c = i % a.channels;
        put_be32(&frame[0], c + 1);
        put_be32(&frame[4], seq[c]);
        put_be32(&frame[8], seq[c] * a.payload);
        ++seq[c];
        ws.write(asio::buffer(frame));
    }
    auto t_sent = Clock::now();
    double cpu_sent = cpu_seconds();

    ws.text(true);
    for (unsigned c = 0; c < a.channels; ++c) {
        std::string stop = R"({"type":"STOP","channel":)" + std::to_string(c + 1) + R"(,"reason":"Forking stopped"})";
        ws.write(asio::buffer(stop));
    }
    // The server answers the close only after reading everything before it, so
    // this point is when the last frame was consumed.
    ws.close(websocket::close_code::normal);
    beast::flat_buffer drain;
    beast::error_code ec;
    while (!ec) ws.read(drain, ec);
    auto t_done = Clock::now();

    double send_s = std::chrono::duration<double>(t_sent - t0).count();
    double total_s = std::chrono::duration<double>(t_done - t0).count();
    double cpu = cpu_sent - cpu0;
    std::printf(
        "{\"url\":\"%s\",\"channels\":%u,\"frames\":%lu,\"payload\":%u,\"rate\":%.0f,\"send_s\":%.3f,"
        "\"total_s\":%.3f,\"frames_per_s\":%.0f,\"mbit_per_s\":%.1f,\"cpu_s\":%.3f,\"cpu_ms_per_10k_frames\":%.2f}\n",
        a.url.c_str(), a.channels, a.frames, a.payload, a.rate, send_s, total_s, a.frames / total_s,
        a.frames * (12.0 + a.payload) * 8 / total_s / 1e6, cpu, cpu / a.frames * 1e4 * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
    Args a = parse(argc, argv);
    try {
        Url u = parse_url(a.url);
        asio::io_context ioc;
        tcp::resolver resolver(ioc);
        auto addrs = resolver.resolve(u.host, u.port);
        if (!u.secure) {
            websocket::stream<tcp::socket> ws(ioc);
            asio::connect(ws.next_layer(), addrs);
            ws.next_layer().set_option(tcp::no_delay(true));
            run(ws, a, u);
            return 0;
        }
        ssl::context ctx(ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(ctx.native_handle(), a.tls_max == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION);
        if (!a.ca_file.empty()) {
            ctx.load_verify_file(a.ca_file);
            ctx.set_verify_mode(ssl::verify_peer);
        }
        websocket::stream<ssl::stream<tcp::socket>> ws(ioc, ctx);
        asio::connect(ws.next_layer().next_layer(), addrs);
        ws.next_layer().next_layer().set_option(tcp::no_delay(true));
        ws.next_layer().handshake(ssl::stream_base::client);
        std::fprintf(stderr, "ws-bench: %s %s\n", SSL_get_version(ws.next_layer().native_handle()),
                     SSL_get_cipher_name(ws.next_layer().native_handle()));
        run(ws, a, u);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ws-bench: %s\n", e.what());
        return 1;
    }
}
