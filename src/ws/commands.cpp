// The pool's show and clear commands (voxfork(1); docs/websocket.md "Show and clear commands").
#include <charconv>

#include <voxfork/net.hpp>

#include "pool_impl.hpp"

namespace voxfork::ws::detail {

namespace {

std::uint32_t parse_id(const std::string& word) {
    std::uint32_t id = 0;
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
    if (ec != std::errc() || end != word.data() + word.size() || id == 0)
        throw ops::CommandError("bad connection id: " + word);
    return id;
}

ops::CommandOutput connection_table(const std::vector<ConnectionView>& rows) {
    ops::CommandOutput out;
    out.text = format_connection_table(rows);
    out.data = {{"connections", nlohmann::json::array()}};
    for (const auto& v : rows) out.data["connections"].push_back(to_json(v));
    return out;
}

}  // namespace

void register_commands(ops::CommandRegistry& commands, PoolImpl& pool) {
    commands.add("show voip stream-service connection", "open WebSocket connections to speech servers", 0,
                 [&pool](const ops::CommandArgs&) {
                     return connection_table(pool.connection_views(PoolImpl::Connections::open));
                 });

    commands.add("show voip stream-service connection history", "the last 100 closed WebSocket connections", 0,
                 [&pool](const ops::CommandArgs&) {
                     const auto& h = pool.history();
                     const std::vector<HistoryEntry> rows(h.begin(), h.end());
                     ops::CommandOutput out;
                     out.text = format_history(rows);
                     out.data = {{"history", nlohmann::json::array()}};
                     for (const auto& e : rows) out.data["history"].push_back(to_json(e));
                     return out;
                 });

    commands.add("show voip stream-service connection id", "one WebSocket connection (ID)", 1,
                 [&pool](const ops::CommandArgs& args) {
                     if (args.size() != 1) throw ops::CommandError("connection id expected");
                     const auto id = parse_id(args[0]);
                     // Also one still connecting or closing: the operator asked for it by id.
                     for (const auto& v : pool.connection_views(PoolImpl::Connections::all)) {
                         if (v.id == id) return ops::CommandOutput{format_connection_detail(v), to_json(v)};
                     }
                     throw ops::CommandError("no connection " + args[0]);
                 });

    commands.add("show voip stream-service server", "the WebSocket connections to ADDR:PORT", 1,
                 [&pool](const ops::CommandArgs& args) {
                     if (args.size() != 1) throw ops::CommandError("server ADDR:PORT expected");
                     // An address as the shows print it: `[2001:db8:0::1]:443`
                     // finds `[2001:db8::1]:443`.
                     const auto endpoint = net::Endpoint::parse(args[0]);
                     const std::string wanted = endpoint ? endpoint->to_string() : args[0];
                     std::vector<ConnectionView> rows;
                     for (auto& v : pool.connection_views(PoolImpl::Connections::open)) {
                         // The resolved address, or the host:port the calls asked for.
                         if (v.server == wanted || v.url.substr(v.url.find("://") + 3) == wanted)
                             rows.push_back(std::move(v));
                     }
                     return connection_table(rows);
                 });

    commands.add("show voip stream-service statistics", "WebSocket forking statistics", 0,
                 [&pool](const ops::CommandArgs&) {
                     const Statistics s = pool.statistics();
                     return ops::CommandOutput{format_statistics(s), to_json(s)};
                 });

    commands.add("clear voip stream-service statistics", "zero the four WebSocket event counters", 0,
                 [&pool](const ops::CommandArgs&) {
                     pool.clear_statistics();
                     return ops::CommandOutput{};
                 });

    commands.add("clear voip stream-service connection id", "close a WebSocket connection (ID forced)", 2,
                 [&pool](const ops::CommandArgs& args) {
                     if (args.size() != 2 || args[1] != "forced") throw ops::CommandError("ID forced expected");
                     if (!pool.clear_connection(parse_id(args[0])))
                         throw ops::CommandError("no open connection " + args[0]);
                     return ops::CommandOutput{};
                 });
}

}  // namespace voxfork::ws::detail
