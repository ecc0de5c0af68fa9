// The table's shape: every request is answered in every state, rejections
// change nothing, and the orders docs/controller.md relies on hold. What each row does
// end to end is checked through the controller (controller_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "request.hpp"
#include "state_machine.hpp"

namespace voxfork::fork {
namespace {

constexpr State all_states[] = {State::idle, State::connecting, State::active, State::paused, State::stopped};
constexpr Event request_events[] = {
    Event::start,  Event::start_unsupported_flow, Event::start_codec_unsupported, Event::stop, Event::stop_foreign,
    Event::update, Event::update_foreign,         Event::update_other_server};

std::vector<Act> acts(const Row& row) {
    std::vector<Act> out;
    for (const auto& s : row.steps) {
        if (s.act != Act::none) out.push_back(s.act);
    }
    return out;
}

std::ptrdiff_t position(const Row& row, Act act) {
    const auto a = acts(row);
    auto it = std::find(a.begin(), a.end(), act);
    return it == a.end() ? -1 : it - a.begin();
}

TEST(StateTable, NoPairAppearsTwice) {
    std::set<std::pair<State, Event>> seen;
    for (const auto& row : table())
        EXPECT_TRUE(seen.insert({row.from, row.event}).second) << to_string(row.from) << " × " << to_string(row.event);
}

TEST(StateTable, EveryRequestIsAnsweredInEveryState) {
    for (State s : all_states) {
        for (Event e : request_events) {
            const Row* row = find_row(s, e);
            ASSERT_NE(row, nullptr) << to_string(s) << " × " << to_string(e);
            const auto a = acts(*row);
            const bool answered = std::any_of(a.begin(), a.end(), [](Act x) {
                // defer_update: answered by flush_updates once the START went out.
                return x == Act::reject || x == Act::attach || x == Act::status_stopped || x == Act::status_updated ||
                       x == Act::defer_update;
            });
            EXPECT_TRUE(answered) << to_string(s) << " × " << to_string(e);
        }
    }
}

TEST(StateTable, RejectionsChangeNothingAndFixNoCarrier) {
    for (const auto& row : table()) {
        if (position(row, Act::reject) < 0) continue;
        EXPECT_EQ(row.from, row.to) << to_string(row.from) << " × " << to_string(row.event);
        EXPECT_EQ(acts(row).size(), 1u) << to_string(row.from) << " × " << to_string(row.event);
        EXPECT_FALSE(row.steps[0].reason.empty());
    }
}

TEST(StateTable, EveryAcceptedRequestFixesTheCarrierFirst) {
    for (const auto& row : table()) {
        const bool request =
            std::find(std::begin(request_events), std::end(request_events), row.event) != std::end(request_events);
        if (!request || position(row, Act::reject) >= 0) continue;
        EXPECT_EQ(position(row, Act::lock_carrier), 0) << to_string(row.from) << " × " << to_string(row.event);
    }
}

TEST(StateTable, TheTapGoesBeforeTheSinkDoes) {
    for (const auto& row : table()) {
        const auto detach = position(row, Act::detach);
        if (detach < 0) continue;
        EXPECT_GE(position(row, Act::tap_off), 0) << to_string(row.from) << " × " << to_string(row.event);
        EXPECT_LT(position(row, Act::tap_off), detach);
    }
}

TEST(StateTable, StartingPausedGatesBeforeTheTapIsOn) {
    const Row* row = find_row(State::connecting, Event::attach_ok_paused);
    ASSERT_NE(row, nullptr);
    EXPECT_LT(position(*row, Act::send_start), position(*row, Act::send_pause));
    EXPECT_LT(position(*row, Act::gate_pause), position(*row, Act::tap_on));
    EXPECT_LT(position(*row, Act::status_started), position(*row, Act::status_paused));
    EXPECT_EQ(row->to, State::paused);
}

TEST(StateTable, AnUpdateWhileConnectingIsAnsweredAfterStarted) {
    const Row* update = find_row(State::connecting, Event::update);
    ASSERT_NE(update, nullptr);
    EXPECT_LT(position(*update, Act::status_updated), 0);
    EXPECT_GE(position(*update, Act::defer_update), 0);
    for (Event e : {Event::attach_ok, Event::attach_ok_paused}) {
        const Row* row = find_row(State::connecting, e);
        ASSERT_NE(row, nullptr);
        EXPECT_GT(position(*row, Act::flush_updates), position(*row, Act::send_start));
        EXPECT_GT(position(*row, Act::flush_updates), position(*row, Act::status_started));
        EXPECT_GT(position(*row, Act::flush_updates), position(*row, Act::status_paused));
    }
}

TEST(StateTable, ASessionEndedWhileConnectingIsAnError) {
    const Row* row = find_row(State::connecting, Event::session_ended);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(acts(*row), (std::vector<Act>{Act::abandon, Act::count_failed, Act::status_error}));
    EXPECT_EQ(row->to, State::idle);
}

TEST(StateTable, PausingAnActiveForkGatesTheTeeBeforeQueueingPause) {
    for (Event e : {Event::pause, Event::law_change}) {
        const Row* row = find_row(State::active, e);
        ASSERT_NE(row, nullptr);
        ASSERT_GE(position(*row, Act::gate_pause), 0);
        EXPECT_LT(position(*row, Act::gate_pause), position(*row, Act::send_pause));
    }
}

TEST(StateTable, ByeTellsTheServerButNotTheController) {
    for (State s : {State::active, State::paused}) {
        const Row* row = find_row(s, Event::call_ended);
        ASSERT_NE(row, nullptr);
        EXPECT_GE(position(*row, Act::send_stop), 0);
        EXPECT_EQ(row->steps[static_cast<std::size_t>(position(*row, Act::send_stop))].reason, reason::call_ended);
        for (Act a : acts(*row)) {
            EXPECT_NE(a, Act::status_stopped);
            EXPECT_NE(a, Act::status_error);
        }
        EXPECT_EQ(row->to, State::stopped);
    }
}

// The rows a reader checks against docs/controller.md's "How a request is checked".
struct Expect {
    State from;
    Event event;
    State to;
    std::string_view rejection;  // empty: accepted
};

class RequestRows : public ::testing::TestWithParam<Expect> {};

TEST_P(RequestRows, MatchTheSpec) {
    const auto& e = GetParam();
    const Row* row = find_row(e.from, e.event);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(row->to, e.to);
    if (e.rejection.empty()) {
        EXPECT_LT(position(*row, Act::reject), 0);
    } else {
        ASSERT_EQ(position(*row, Act::reject), 0);
        EXPECT_EQ(row->steps[0].reason, e.rejection);
    }
}

INSTANTIATE_TEST_SUITE_P(
    StateTable, RequestRows,
    ::testing::Values(
        Expect{State::idle, Event::start, State::connecting, {}},
        Expect{State::stopped, Event::start, State::connecting, {}},
        Expect{State::idle, Event::start_unsupported_flow, State::idle, reason::unsupported_flow},
        Expect{State::idle, Event::start_codec_unsupported, State::idle, reason::codec_not_supported},
        Expect{State::stopped, Event::start_codec_unsupported, State::stopped, reason::codec_not_supported},
        Expect{State::connecting, Event::start, State::connecting, reason::invalid_start},
        Expect{State::connecting, Event::start_unsupported_flow, State::connecting, reason::invalid_start},
        Expect{State::active, Event::start, State::active, reason::invalid_start},
        Expect{State::paused, Event::start_codec_unsupported, State::paused, reason::invalid_start},
        Expect{State::idle, Event::stop, State::idle, reason::invalid_stop},
        Expect{State::stopped, Event::stop, State::stopped, reason::invalid_stop},
        Expect{State::connecting, Event::stop, State::stopped, {}},
        Expect{State::active, Event::stop, State::stopped, {}}, Expect{State::paused, Event::stop, State::stopped, {}},
        Expect{State::active, Event::stop_foreign, State::active, reason::guid_mismatch},
        Expect{State::connecting, Event::stop_foreign, State::connecting, reason::guid_mismatch},
        Expect{State::idle, Event::update, State::idle, reason::invalid_update},
        Expect{State::stopped, Event::update_foreign, State::stopped, reason::invalid_update},
        Expect{State::connecting, Event::update, State::connecting, {}},
        Expect{State::active, Event::update, State::active, {}},
        Expect{State::paused, Event::update, State::paused, {}},
        Expect{State::paused, Event::update_foreign, State::paused, reason::guid_mismatch},
        Expect{State::active, Event::update_other_server, State::active, reason::unexpected_format}),
    [](const auto& info) {
        return std::string(to_string(info.param.from)) + "_" + std::string(to_string(info.param.event));
    });

TEST(StateTable, NonRequestEventsOnlyWhereTheyMeanSomething) {
    EXPECT_EQ(find_row(State::idle, Event::pause), nullptr);
    EXPECT_EQ(find_row(State::active, Event::resume), nullptr);
    EXPECT_EQ(find_row(State::paused, Event::pause), nullptr);
    EXPECT_EQ(find_row(State::stopped, Event::session_ended), nullptr);
    EXPECT_EQ(find_row(State::idle, Event::call_ended), nullptr);
    ASSERT_NE(find_row(State::connecting, Event::attach_failed), nullptr);
    EXPECT_EQ(find_row(State::connecting, Event::attach_failed)->to, State::idle);
    EXPECT_EQ(find_row(State::active, Event::session_ended)->to, State::stopped);
    EXPECT_EQ(find_row(State::paused, Event::session_ended)->to, State::stopped);
    EXPECT_EQ(find_row(State::paused, Event::resume)->to, State::active);
    EXPECT_EQ(find_row(State::active, Event::law_change)->to, State::active);
}

}  // namespace
}  // namespace voxfork::fork
