// The two files a channel's audio goes to: the G.711 bytes exactly as received
// (.raw) and their decoding placed at their `position` (.wav, 8 kHz mono 16-bit,
// gaps filled with silence).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "g711.hpp"

namespace speech {

class ChannelFiles {
public:
    ChannelFiles(const std::string& wav_path, const std::string& raw_path);
    ~ChannelFiles();
    ChannelFiles(const ChannelFiles&) = delete;
    ChannelFiles& operator=(const ChannelFiles&) = delete;

    bool ok() const { return wav_ && raw_; }
    // Appends payload to .raw and decodes it into .wav at sample `at`; anything
    // between the current end of the WAV and `at` becomes silence. An `at` before
    // the end overwrites (overlapping frames).
    void write(Codec codec, std::uint64_t at, const std::uint8_t* payload, std::size_t n);
    // Writes the RIFF sizes and flushes both files; the WAV is complete after it.
    void sync();
    std::uint64_t wav_samples() const { return samples_; }

private:
    void seek_sample(std::uint64_t at);
    std::FILE* wav_ = nullptr;
    std::FILE* raw_ = nullptr;
    std::uint64_t samples_ = 0;  // samples in the WAV's data chunk
    std::uint64_t cursor_ = 0;   // sample the WAV's file position is at
    bool dirty_ = false;
};

}  // namespace speech
