"""G.711 decoding for the tests (ITU-T G.711's µ-law and A-law expansions),
so no test relies on Python's audioop module (removed in Python 3.13).

    pcm = ulaw_to_pcm16(payload)     # little-endian signed 16-bit samples
"""

import struct


def _ulaw(byte):
    u = ~byte & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = ((((u & 0x0F) << 3) + 0x84) << exponent) - 0x84
    return -magnitude if u & 0x80 else magnitude


def _alaw(byte):
    a = byte ^ 0x55
    segment = (a >> 4) & 0x07
    magnitude = ((a & 0x0F) << 4) + 8
    if segment:
        magnitude = (magnitude + 0x100) << (segment - 1)
    return magnitude if a & 0x80 else -magnitude


ULAW = tuple(_ulaw(b) for b in range(256))
ALAW = tuple(_alaw(b) for b in range(256))


def _expand(table, data):
    return struct.pack(f"<{len(data)}h", *(table[b] for b in data))


def ulaw_to_pcm16(data):
    """µ-law bytes → little-endian 16-bit PCM bytes (two per sample)."""
    return _expand(ULAW, data)


def alaw_to_pcm16(data):
    """A-law bytes → little-endian 16-bit PCM bytes (two per sample)."""
    return _expand(ALAW, data)
