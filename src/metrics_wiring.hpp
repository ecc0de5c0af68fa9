// The metric families of the Prometheus endpoint, each read at scrape time
// from the counters struct its show command reads (docs/metrics.md lists them).
#pragma once

#include "voxfork/fork.hpp"
#include "voxfork/media.hpp"
#include "voxfork/metrics.hpp"
#include "voxfork/sip.hpp"
#include "voxfork/ws.hpp"

namespace voxfork {

void add_metric_collectors(ops::Metrics& metrics, const sip::B2bua& sip, const media::Relay& relay,
                           const ws::Pool& pool, const fork::Controller& forks);

}  // namespace voxfork
