#include <gtest/gtest.h>

#include <set>

#include "framing.hpp"

namespace voxfork::ws::detail {
namespace {

std::vector<std::uint8_t> bytes(std::size_t n) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7 + 3);
    return v;
}

// Undoes the framing as a server would: header fields, then the unmasked payload.
struct Parsed {
    std::uint8_t first = 0;
    bool masked = false;
    std::uint64_t length = 0;
    std::vector<std::uint8_t> payload;
    std::size_t frame_size = 0;
};

Parsed parse(const std::vector<std::uint8_t>& wire, std::size_t at = 0) {
    Parsed p;
    const std::uint8_t* b = wire.data() + at;
    p.first = b[0];
    p.masked = (b[1] & 0x80) != 0;
    std::size_t h = 2;
    p.length = b[1] & 0x7f;
    if (p.length == 126) {
        p.length = (std::uint64_t{b[2]} << 8) | b[3];
        h = 4;
    } else if (p.length == 127) {
        p.length = 0;
        for (int i = 0; i < 8; ++i) p.length = (p.length << 8) | b[2 + i];
        h = 10;
    }
    const std::uint8_t* mask = b + h;
    h += 4;
    for (std::uint64_t i = 0; i < p.length; ++i) p.payload.push_back(b[h + i] ^ mask[i & 3]);
    p.frame_size = h + p.length;
    return p;
}

TEST(BinaryFrame, HeaderLengthFormsAndMaskedPayloadRoundTrip) {
    for (std::size_t n : {0, 1, 125, 126, 172, 492, 65535, 65536, 70000}) {
        std::vector<std::uint8_t> wire;
        const auto payload = bytes(n);
        append_binary_frame(wire, payload, {0x12, 0x34, 0x56, 0x78});
        const Parsed p = parse(wire);
        EXPECT_EQ(p.first, 0x82) << n;  // FIN, binary
        EXPECT_TRUE(p.masked) << n;
        EXPECT_EQ(p.length, n);
        EXPECT_EQ(p.payload, payload) << n;
        EXPECT_EQ(p.frame_size, wire.size()) << n;
        const std::size_t header = n < 126 ? 6 : n <= 65535 ? 8 : 14;
        EXPECT_EQ(wire.size(), header + n) << n;
    }
}

TEST(BinaryFrame, FramesAppendOneAfterAnother) {
    std::vector<std::uint8_t> wire;
    append_binary_frame(wire, bytes(172), {1, 2, 3, 4});
    append_binary_frame(wire, bytes(20), {5, 6, 7, 8});
    const Parsed first = parse(wire);
    const Parsed second = parse(wire, first.frame_size);
    EXPECT_EQ(first.payload, bytes(172));
    EXPECT_EQ(second.payload, bytes(20));
    EXPECT_EQ(first.frame_size + second.frame_size, wire.size());
}

TEST(BinaryFrame, PayloadIsReallyMasked) {
    std::vector<std::uint8_t> wire;
    const std::vector<std::uint8_t> payload(8, 0);
    append_binary_frame(wire, payload, {0xa1, 0xb2, 0xc3, 0xd4});
    const std::vector<std::uint8_t> on_wire(wire.end() - 8, wire.end());
    EXPECT_EQ(on_wire, (std::vector<std::uint8_t>{0xa1, 0xb2, 0xc3, 0xd4, 0xa1, 0xb2, 0xc3, 0xd4}));
}

TEST(MaskSource, KeysVaryAcrossRefills) {
    MaskSource masks;
    std::set<std::array<std::uint8_t, 4>> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(masks.next());  // crosses several refills of 256 keys
    EXPECT_GT(seen.size(), 990u);
}

}  // namespace
}  // namespace voxfork::ws::detail

