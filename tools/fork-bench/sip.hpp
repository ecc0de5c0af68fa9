// A minimal SIP UAC and UAS over UDP, hand-written for the bench: the UAC calls
// 6777 through voxforkd (INVITE with PCMU SDP, ACK), then asks for forking with
// an INFO carrying a START; the UAS answers voxforkd's outbound INVITEs (180,
// 200 with SDP). Both answer voxforkd's requests (status INFOs, BYE) with 200.
// Each call's RTP starts on the Media object as soon as its leg is up.
#pragma once

#include "rtp.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace forkbench {

struct SipOptions {
    std::uint16_t daemon_port = 5060;
    std::uint16_t uas_port = 0;  // where voxforkd's dial-peer 901 sends the calls
    unsigned calls = 100;
    double calls_per_second = 100;
    std::uint16_t speech_port = 0;  // the WebSocket sink the START points at
    std::string token;              // the START's token (AudioHook needs one), none when empty
    bool fork = true;               // false: no INFO START; a call counts as started once answered
};

struct SipCounts {
    unsigned answered = 0;      // the caller got its 200 (and sent ACK)
    unsigned callee_legs = 0;   // outbound INVITEs the UAS took
    unsigned started = 0;       // STARTED status INFOs (without forks: calls answered)
    unsigned other_status = 0;  // any other status INFO (FAILED, STOPPED...)
    unsigned failed = 0;        // an error answer or no answer after retransmissions
    unsigned ended = 0;         // the caller's BYE answered
    unsigned byes = 0;          // BYEs sent
    unsigned retransmits = 0;
};

class Sip {
public:
    Sip(const SipOptions& options, Media& media);
    ~Sip();
    void start();                           // the ramp: one INVITE every 1/calls_per_second
    void hang_up(double calls_per_second);  // BYE every answered call
    SipCounts counts() const;
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace forkbench
