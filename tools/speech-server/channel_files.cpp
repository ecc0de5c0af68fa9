#include "channel_files.hpp"

#include <array>
#include <cstring>

namespace speech {
namespace {

constexpr long kHeaderBytes = 44;
constexpr std::uint32_t kRate = 8000;

void put_le(std::uint8_t* p, std::uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::array<std::uint8_t, kHeaderBytes> wav_header(std::uint64_t samples) {
    // A WAV data chunk size is 32-bit; clamp rather than wrap on absurd lengths.
    std::uint32_t data = samples * 2 > 0xFFFFFFF0u ? 0xFFFFFFF0u : static_cast<std::uint32_t>(samples * 2);
    std::array<std::uint8_t, kHeaderBytes> h{};
    std::memcpy(&h[0], "RIFF", 4);
    put_le(&h[4], 36 + data, 4);
    std::memcpy(&h[8], "WAVEfmt ", 8);
    put_le(&h[16], 16, 4);         // fmt chunk size
    put_le(&h[20], 1, 2);          // PCM
    put_le(&h[22], 1, 2);          // mono
    put_le(&h[24], kRate, 4);      // sample rate
    put_le(&h[28], kRate * 2, 4);  // byte rate
    put_le(&h[32], 2, 2);          // block align
    put_le(&h[34], 16, 2);         // bits per sample
    std::memcpy(&h[36], "data", 4);
    put_le(&h[40], data, 4);
    return h;
}

}  // namespace

ChannelFiles::ChannelFiles(const std::string& wav_path, const std::string& raw_path)
    : wav_(std::fopen(wav_path.c_str(), "w+b")), raw_(std::fopen(raw_path.c_str(), "wb")) {
    if (wav_) {
        auto h = wav_header(0);
        std::fwrite(h.data(), 1, h.size(), wav_);
        std::fflush(wav_);
    }
}

ChannelFiles::~ChannelFiles() {
    sync();
    if (wav_) std::fclose(wav_);
    if (raw_) std::fclose(raw_);
}

void ChannelFiles::seek_sample(std::uint64_t at) {
    if (cursor_ == at) return;
    std::fseek(wav_, kHeaderBytes + static_cast<long>(at * 2), SEEK_SET);
    cursor_ = at;
}

void ChannelFiles::write(Codec codec, std::uint64_t at, const std::uint8_t* payload, std::size_t n) {
    if (!ok()) return;
    dirty_ = true;
    std::fwrite(payload, 1, n, raw_);

    std::array<std::int16_t, 512> pcm{};
    std::array<std::uint8_t, 1024> le{};
    if (at > samples_) {  // a gap: silence up to the frame
        seek_sample(samples_);
        std::uint64_t left = at - samples_;
        while (left) {
            std::size_t k = left < 512 ? left : 512;
            std::fwrite(le.data(), 2, k, wav_);
            left -= k;
        }
        cursor_ = samples_ = at;
    }
    seek_sample(at);
    for (std::size_t done = 0; done < n;) {
        std::size_t k = n - done < pcm.size() ? n - done : pcm.size();
        g711_decode(codec, payload + done, pcm.data(), k);
        for (std::size_t i = 0; i < k; ++i) {
            auto v = static_cast<std::uint16_t>(pcm[i]);
            le[2 * i] = static_cast<std::uint8_t>(v);
            le[2 * i + 1] = static_cast<std::uint8_t>(v >> 8);
        }
        std::fwrite(le.data(), 2, k, wav_);
        done += k;
    }
    cursor_ = at + n;
    if (cursor_ > samples_) samples_ = cursor_;
}

void ChannelFiles::sync() {
    if (!dirty_ || !ok()) return;
    auto h = wav_header(samples_);
    std::fseek(wav_, 0, SEEK_SET);
    std::fwrite(h.data(), 1, h.size(), wav_);
    std::fseek(wav_, kHeaderBytes + static_cast<long>(cursor_ * 2), SEEK_SET);
    std::fflush(wav_);
    std::fflush(raw_);
    dirty_ = false;
}

}  // namespace speech
