#include <spdlog/spdlog.h>

#include "check.hpp"

void voxfork::fuzz::quiet_logs() {
    spdlog::set_level(spdlog::level::off);
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    voxfork::fuzz::quiet_logs();
    return 0;
}
