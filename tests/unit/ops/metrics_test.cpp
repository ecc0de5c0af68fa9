#include <gtest/gtest.h>

#include "voxfork/metrics.hpp"

namespace {

using voxfork::ops::Metrics;
using voxfork::ops::MetricsWriter;

TEST(MetricsWriter, SecondsFromMillisecondsAreExact) {
    MetricsWriter w;
    w.family("control_plane_lag_seconds", MetricsWriter::Type::gauge, "Lag");
    w.sample_milliseconds_as_seconds(50);
    w.sample_milliseconds_as_seconds(1234, {{"loop", "sip"}});
    w.sample_milliseconds_as_seconds(0);
    EXPECT_EQ(w.text(),
              "# HELP voxfork_control_plane_lag_seconds Lag\n"
              "# TYPE voxfork_control_plane_lag_seconds gauge\n"
              "voxfork_control_plane_lag_seconds 0.050\n"
              "voxfork_control_plane_lag_seconds{loop=\"sip\"} 1.234\n"
              "voxfork_control_plane_lag_seconds 0.000\n");
}

TEST(MetricsWriter, FamiliesHaveHelpTypeAndSamplesInTheTextFormat) {
    MetricsWriter w;
    w.family("calls_active", MetricsWriter::Type::gauge, "Calls up now");
    w.sample(2);
    w.family("sip_responses_sent_total", MetricsWriter::Type::counter, "Answers by code");
    w.sample(1, {{"code", "403"}, {"cause", "untrusted_source"}});
    w.sample(0, {{"code", "491"}, {"cause", "glare"}});
    EXPECT_EQ(w.text(),
              "# HELP voxfork_calls_active Calls up now\n"
              "# TYPE voxfork_calls_active gauge\n"
              "voxfork_calls_active 2\n"
              "# HELP voxfork_sip_responses_sent_total Answers by code\n"
              "# TYPE voxfork_sip_responses_sent_total counter\n"
              "voxfork_sip_responses_sent_total{code=\"403\",cause=\"untrusted_source\"} 1\n"
              "voxfork_sip_responses_sent_total{code=\"491\",cause=\"glare\"} 0\n");
}

TEST(MetricsWriter, LabelValuesAndHelpAreEscaped) {
    MetricsWriter w;
    w.family("x", MetricsWriter::Type::gauge, "a \\ b\nc \"q\"");
    w.sample(18446744073709551615u, {{"p", "a\"b\\c\nd"}});
    EXPECT_EQ(w.text(),
              "# HELP voxfork_x a \\\\ b\\nc \"q\"\n"
              "# TYPE voxfork_x gauge\n"
              "voxfork_x{p=\"a\\\"b\\\\c\\nd\"} 18446744073709551615\n");
}

TEST(Metrics, RenderRunsEveryCollectorInOrder) {
    Metrics metrics;
    int scrapes = 0;
    metrics.add([&](MetricsWriter& w) {
        ++scrapes;
        w.family("a", MetricsWriter::Type::gauge, "A");
        w.sample(1);
    });
    metrics.add([](MetricsWriter& w) {
        w.family("b_total", MetricsWriter::Type::counter, "B");
        w.sample(2);
    });
    const std::string text = metrics.render();
    EXPECT_LT(text.find("voxfork_a 1\n"), text.find("voxfork_b_total 2\n"));
    metrics.render();
    EXPECT_EQ(scrapes, 2);  // read at each scrape, never cached
}

}  // namespace
