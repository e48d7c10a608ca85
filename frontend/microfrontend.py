"""A NumPy MicroFrontend, bit-exact with TFLite-Micro's C library and the TF op.

This re-implements, in the same fixed-point arithmetic, the pipeline of
``tensorflow/lite/experimental/microfrontend/lib`` as the ``audio_microfrontend``
TensorFlow op runs it:

1. window   — int16 Hann coefficients (12 fractional bits), ``(x * w) >> 12``,
               the frame's max |value| (with C's int16 negation quirk for -32768);
2. FFT      — the input is shifted left by ``15 - msb(max_abs)`` (int16 wrap) and
               transformed by kiss_fftr in FIXED_POINT=16 mode: kiss_fft's radix-4/2
               decimation-in-time butterflies with ``C_FIXDIV`` scaling, ``sround``
               rounding, int16 wraparound of every stored value, twiddles
               ``floor(0.5 + 32767 * cos/sin(phase))``, then the real-split with
               the super-twiddles;
3. filterbank — |X|² (int32), mel channels with the C code's float32 layout and
               weights/unweights, uint64 accumulation, ``Sqrt64`` (with its 32-bit
               shortcut and rounding) shifted down by the same input shift;
4. noise reduction — the per-channel estimate recursion (the only state besides
               the window's pending samples);
5. PCAN     — gain from the noise estimate through the wide-dynamic-function LUT
               (built in float32 like the C code), shrink;
6. log      — log2 via the 128-segment LUT, to natural log, ``<< log_shift``.

Frames are independent except for the noise estimate, so stages 1–3 and 5–6 are
vectorised over blocks of frames (frames on the last, contiguous axis; a block sized
to stay in the L2 cache), the filterbank sums are one exact float64 matrix product,
and only the noise-estimate recursion runs frame by frame (all channels at once,
packed into Python integers).

``FrontendConfig.noise_reduction = False`` is expressed to the C library (which has
no switch for it) as ``smoothing_bits = 0`` and zero smoothing/min-signal
coefficients, which makes the noise-reduction stage the identity; see
:func:`op_attributes`, which the TF reference uses too.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeser.frontend.config import FrontendConfig

__all__ = [
    "FrontendState",
    "MicroFrontend",
    "compute_raw",
    "op_attributes",
    "frontend_tables",
]

# Constants of the C library (lib/*.h).
_WINDOW_BITS = 12  # kFrontendWindowBits
_FILTERBANK_BITS = 12  # kFilterbankBits
_NOISE_REDUCTION_BITS = 14  # kNoiseReductionBits
_PCAN_SNR_BITS = 12  # kPcanSnrBits
_PCAN_OUTPUT_BITS = 6  # kPcanOutputBits
_WIDE_DYNAMIC_FUNCTION_BITS = 32  # kWideDynamicFunctionBits
_LOG_SCALE_LOG2 = 16  # kLogScaleLog2
_LOG_SCALE = 1 << _LOG_SCALE_LOG2
_LOG_SEGMENTS_LOG2 = 7
_LOG_COEFF = 45426
_FILTERBANK_INDEX_ALIGNMENT = 4 // 2  # kFilterbankIndexAlignment / sizeof(int16_t)
_FILTERBANK_CHANNEL_BLOCK_SIZE = 4
_SAMP_MAX = 32767  # kiss_fft FIXED_POINT=16

# log_lut.c: kLogLut (129 used entries + 1 pad).
_LOG_LUT = np.array(
    [
        0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817, 1992, 2163,
        2329, 2490, 2646, 2797, 2944, 3087, 3224, 3358, 3487, 3611, 3732, 3848,
        3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791, 4864, 4934,
        5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507,
        5533, 5557, 5578, 5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633,
        5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470, 5439, 5406, 5370,
        5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762,
        4697, 4630, 4561, 4490, 4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848,
        3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981, 2875, 2768, 2659,
        2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224,
        1094, 963, 830, 695, 559, 421, 282, 142, 0, 0,
    ],
    dtype=np.int64,
)

_LOG_LUT_DIFF = np.append(np.diff(_LOG_LUT), 0)  # kLogLut[i + 1] - kLogLut[i]

# Complex FFT points per vectorised block (frames x fft_size/2): 256 frames of a
# 512-point FFT; keeps the FFT's int16/int32 working set near the L2 cache size.
_BLOCK_POINTS = 256 * 256

_f32 = np.float32
_MASK32 = np.uint64(0xFFFFFFFF)


def _msb(n: int) -> int:
    """MostSignificantBit32/64 for a Python int (0 for 0)."""
    return int(n).bit_length()


def _msb_array(values: np.ndarray) -> np.ndarray:
    """MostSignificantBit of non-negative integers < 2**53 (exact via frexp)."""
    return np.frexp(values.astype(np.float64))[1].astype(np.int64)


# --------------------------------------------------------------------------
# Settings as the C library / TF op sees them
# --------------------------------------------------------------------------


def op_attributes(config: FrontendConfig) -> dict[str, Any]:
    """The ``audio_microfrontend`` op attributes (and C ``FrontendConfig``) for ``config``.

    ``noise_reduction=False`` maps to smoothing_bits=0 and zero coefficients (the
    C stage then passes the signal through unchanged); ``pcan`` and ``log_scale``
    map to ``enable_pcan`` and ``enable_log``.
    """
    nr = config.noise_reduction
    return {
        "sample_rate": int(config.sample_rate),
        "window_size": int(config.window_ms),
        "window_step": int(config.stride_ms),
        "num_channels": int(config.num_channels),
        "upper_band_limit": float(config.upper_band_hz),
        "lower_band_limit": float(config.lower_band_hz),
        "smoothing_bits": int(config.smoothing_bits) if nr else 0,
        "even_smoothing": float(config.even_smoothing) if nr else 0.0,
        "odd_smoothing": float(config.odd_smoothing) if nr else 0.0,
        "min_signal_remaining": float(config.min_signal_remaining) if nr else 0.0,
        "enable_pcan": bool(config.pcan),
        "pcan_strength": float(config.pcan_strength),
        "pcan_offset": float(config.pcan_offset),
        "gain_bits": int(config.gain_bits),
        "enable_log": bool(config.log_scale),
        "scale_shift": int(config.log_shift),
    }


# --------------------------------------------------------------------------
# Precomputed tables (the *_PopulateState functions)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stage:
    radix: int
    m: int
    twr: np.ndarray  # int32 [radix-1, m, 1]: twiddle q*j*fstride for q = 1..radix-1, j < m
    twi: np.ndarray
    unit_twiddles: bool  # all twiddles are (32767, 0)
    tw_sum: np.ndarray  # twr + twi
    tw_diff: np.ndarray  # twi - twr


@dataclass(frozen=True)
class _Tables:
    window_size: int
    step: int
    fft_size: int
    num_channels: int
    coefficients: np.ndarray  # int32 [window]
    perm: np.ndarray  # int64 [ncfft]: kf_work's leaf order
    gather_pos: np.ndarray  # int64 [2, ncfft]: window position read by each FFT leaf (re, im)
    gather_coef: np.ndarray  # int32 [2, ncfft, 1]: its window coefficient (0 in the zero pad)
    stages: tuple[_Stage, ...]  # innermost (applied first) to outermost
    super_r: np.ndarray  # int32 [ncfft/2]
    super_i: np.ndarray
    start_index: int
    end_index: int
    weights_matrix: np.ndarray  # float64 [end-start, channels]: work[1:] = energy @ W
    weights_matrix_t: np.ndarray  # its C-contiguous transpose
    bin_weights: np.ndarray  # uint64 [end-start]: weight of each energy bin in its own channel
    bin_unweights: np.ndarray  # uint64 [end-start]: its weight in the next channel
    band_lo: np.ndarray  # int64 [channels + 1]: first bin (relative to start_index) of each band
    band_hi: np.ndarray  # int64 [channels + 1]: one past its last bin
    channel_frequency_starts: np.ndarray
    channel_weight_starts: np.ndarray
    channel_widths: np.ndarray
    weights: np.ndarray
    unweights: np.ndarray
    smoothing_bits: int
    smoothing: np.ndarray  # uint64 [channels]
    one_minus_smoothing: np.ndarray  # uint64 [channels]
    min_signal_remaining: int
    noise_reduction_identity: bool
    enable_pcan: bool
    gain_lut: np.ndarray  # int64 [125]
    pcan_l0: np.ndarray  # int64 [33]: gain_lut[4e - 6] by interval e (lut[e] for e < 2)
    pcan_l1_shifted: np.ndarray  # (int32)((uint32)gain_lut[4e - 5] << 5)
    pcan_l2: np.ndarray  # gain_lut[4e - 4]
    snr_shift: int
    enable_log: bool
    scale_shift: int
    correction_bits: int


def _window_coefficients(size: int) -> np.ndarray:
    arg = _f32(math.pi * 2.0 / float(_f32(size)))
    out = np.empty(size, dtype=np.int32)
    for i in range(size):
        value = _f32(0.5 - 0.5 * math.cos(float(arg) * (i + 0.5)))
        out[i] = math.floor(float(_f32(value * _f32(1 << _WINDOW_BITS))) + 0.5)
    return out


def _kf_factor(n: int) -> list[tuple[int, int]]:
    """kiss_fft's factorisation: radix 4 first, then 2, then odd primes."""
    factors = []
    p = 4
    floor_sqrt = math.floor(math.sqrt(n))
    while True:
        while n % p:
            if p == 4:
                p = 2
            elif p == 2:
                p = 3
            else:
                p += 2
            if p > floor_sqrt:
                p = n
        n //= p
        factors.append((p, n))
        if n <= 1:
            break
    return factors


def _kiss_twiddle(phase: float) -> tuple[int, int]:
    return (
        int(math.floor(0.5 + _SAMP_MAX * math.cos(phase))),
        int(math.floor(0.5 + _SAMP_MAX * math.sin(phase))),
    )


def _fft_tables(fft_size: int):
    ncfft = fft_size // 2
    if ncfft < 2:
        raise ValueError(f"fft size {fft_size} is too small (need at least 4)")
    pi = 3.141592653589793238462643383279502884197169399375105820974944
    twiddles = [_kiss_twiddle(-2 * pi * i / ncfft) for i in range(ncfft)]
    factors = _kf_factor(ncfft)
    for p, _ in factors:
        if p not in (2, 4):
            raise ValueError(f"kiss_fft radix {p} is not supported (fft size {fft_size})")

    # Leaf order of kf_work (decimation in time; in_stride = 1).
    perm = np.zeros(ncfft, dtype=np.int64)

    def work(out_off: int, f_off: int, fstride: int, level: int) -> None:
        p, m = factors[level]
        if m == 1:
            for q in range(p):
                perm[out_off + q] = f_off + q * fstride
        else:
            for q in range(p):
                work(out_off + q * m, f_off + q * fstride, fstride * p, level + 1)

    work(0, 0, 1, 0)

    stages = []
    fstride = 1
    level_info = []
    for p, m in factors:
        level_info.append((p, m, fstride))
        fstride *= p
    for p, m, fs in reversed(level_info):
        tw_r, tw_i = [], []
        for q in range(1, p):
            idx = [q * j * fs for j in range(m)]
            tw_r.append(np.array([twiddles[k][0] for k in idx], dtype=np.int32).reshape(m, 1))
            tw_i.append(np.array([twiddles[k][1] for k in idx], dtype=np.int32).reshape(m, 1))
        twr = np.stack(tw_r)
        twi = np.stack(tw_i)
        unit = bool(np.all(twr == _SAMP_MAX) and np.all(twi == 0))
        stages.append(_Stage(p, m, twr, twi, unit, twr + twi, twi - twr))

    sup = [
        _kiss_twiddle(-3.14159265358979323846264338327 * (float(i + 1) / ncfft + 0.5))
        for i in range(ncfft // 2)
    ]
    super_r = np.array([t[0] for t in sup], dtype=np.int32).reshape(-1, 1)
    super_i = np.array([t[1] for t in sup], dtype=np.int32).reshape(-1, 1)
    return perm, tuple(stages), super_r, super_i


def _freq_to_mel(freq) -> np.float32:
    return _f32(1127.0 * math.log1p(float(freq) / 700.0))


def _filterbank_tables(num_channels: int, lower: float, upper: float, sample_rate: int, spectrum_size: int):
    lower = _f32(lower)
    upper = _f32(upper)
    n1 = num_channels + 1
    mel_low = _freq_to_mel(lower)
    mel_hi = _freq_to_mel(upper)
    mel_span = _f32(mel_hi - mel_low)
    mel_spacing = _f32(mel_span / _f32(n1))
    center = [_f32(mel_low + _f32(mel_spacing * _f32(i + 1))) for i in range(n1)]

    hz_per_sbin = _f32(0.5 * sample_rate / float(_f32(_f32(spectrum_size) - _f32(1))))
    start_index = int(1.5 + float(_f32(lower / hz_per_sbin)))
    end_index = 0

    freq_starts = np.zeros(n1, dtype=np.int64)
    weight_starts = np.zeros(n1, dtype=np.int64)
    widths = np.zeros(n1, dtype=np.int64)
    actual_starts = [0] * n1
    actual_widths = [0] * n1
    chan_freq_index_start = start_index
    weight_index_start = 0
    needs_zeros = False
    for chan in range(n1):
        freq_index = chan_freq_index_start
        while _freq_to_mel(_f32(_f32(freq_index) * hz_per_sbin)) <= center[chan]:
            freq_index += 1
        width = freq_index - chan_freq_index_start
        actual_starts[chan] = chan_freq_index_start
        actual_widths[chan] = width
        if width == 0:
            freq_starts[chan] = 0
            weight_starts[chan] = 0
            widths[chan] = _FILTERBANK_CHANNEL_BLOCK_SIZE
            if not needs_zeros:
                needs_zeros = True
                weight_starts[:chan] += _FILTERBANK_CHANNEL_BLOCK_SIZE
                weight_index_start += _FILTERBANK_CHANNEL_BLOCK_SIZE
        else:
            aligned_start = (chan_freq_index_start // _FILTERBANK_INDEX_ALIGNMENT) * _FILTERBANK_INDEX_ALIGNMENT
            aligned_width = chan_freq_index_start - aligned_start + width
            padded_width = (
                ((aligned_width - 1) // _FILTERBANK_CHANNEL_BLOCK_SIZE) + 1
            ) * _FILTERBANK_CHANNEL_BLOCK_SIZE
            freq_starts[chan] = aligned_start
            weight_starts[chan] = weight_index_start
            widths[chan] = padded_width
            weight_index_start += padded_width
        chan_freq_index_start = freq_index

    weights = np.zeros(weight_index_start, dtype=np.int64)
    unweights = np.zeros(weight_index_start, dtype=np.int64)
    for chan in range(n1):
        frequency = actual_starts[chan]
        offset = frequency - int(freq_starts[chan])
        wstart = int(weight_starts[chan])
        denom_val = mel_low if chan == 0 else center[chan - 1]
        for j in range(actual_widths[chan]):
            weight = _f32(
                _f32(center[chan] - _freq_to_mel(_f32(_f32(frequency) * hz_per_sbin)))
                / _f32(center[chan] - denom_val)
            )
            index = wstart + offset + j
            w = math.floor(float(_f32(weight * _f32(1 << _FILTERBANK_BITS))) + 0.5)
            u = math.floor((1.0 - float(weight)) * (1 << _FILTERBANK_BITS) + 0.5)
            # int16 stores
            weights[index] = ((w + 32768) & 0xFFFF) - 32768
            unweights[index] = ((u + 32768) & 0xFFFF) - 32768
            frequency += 1
        end_index = max(end_index, frequency)
    if end_index >= spectrum_size:
        raise ValueError(
            f"filterbank end_index {end_index} is not below the spectrum size {spectrum_size} "
            "(the C library refuses this configuration)"
        )

    # FilterbankAccumulateChannels as a matrix: work[c] = weights of channel c plus
    # unweights of channel c-1; only work[1..C] is used by FilterbankSqrt.
    span = max(end_index - start_index, 0)
    matrix = np.zeros((span, num_channels), dtype=np.float64)
    for chan in range(n1):
        for j in range(int(widths[chan])):
            b = int(freq_starts[chan]) + j
            wi = int(weight_starts[chan]) + j
            if b < start_index or b >= end_index:
                if weights[wi] != 0 or unweights[wi] != 0:  # pragma: no cover - never in practice
                    raise ValueError("nonzero filterbank weight outside the computed energy bins")
                continue
            if chan >= 1:
                matrix[b - start_index, chan - 1] += weights[wi]
            if chan + 1 <= num_channels:
                matrix[b - start_index, chan] += unweights[wi]
    # The same as per-bin weights: every bin in [start, end) belongs to exactly one band.
    bin_weights = np.zeros(span, dtype=np.uint64)
    bin_unweights = np.zeros(span, dtype=np.uint64)
    band_lo = np.zeros(n1, dtype=np.int64)
    band_hi = np.zeros(n1, dtype=np.int64)
    for chan in range(n1):
        lo = actual_starts[chan] - start_index
        band_lo[chan] = lo
        band_hi[chan] = lo + actual_widths[chan]
        for j in range(actual_widths[chan]):
            index = int(weight_starts[chan]) + actual_starts[chan] - int(freq_starts[chan]) + j
            if weights[index] < 0 or unweights[index] < 0:  # pragma: no cover - weights are in [0, 4096]
                raise ValueError("negative filterbank weight")
            bin_weights[lo + j] = weights[index]
            bin_unweights[lo + j] = unweights[index]
    return dict(
        start_index=start_index,
        end_index=end_index,
        weights_matrix=matrix,
        weights_matrix_t=np.ascontiguousarray(matrix.T),
        bin_weights=bin_weights,
        bin_unweights=bin_unweights,
        band_lo=band_lo,
        band_hi=band_hi,

        channel_frequency_starts=freq_starts,
        channel_weight_starts=weight_starts,
        channel_widths=widths,
        weights=weights,
        unweights=unweights,
    )


def _pcan_gain(x: int, input_bits: int, gain_bits: int, offset: np.float32, strength: np.float32) -> int:
    denom = (1 << (input_bits & 31)) & 0xFFFFFFFF  # x86 masks the shift count
    x_as_float = _f32(_f32(x) / _f32(denom))
    base = np.float64(_f32(x_as_float + offset))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        power = _f32(np.power(base, np.float64(-strength)))  # powf(0, -s) = inf
    gain = _f32(_f32((1 << (gain_bits & 31)) & 0xFFFFFFFF) * power)
    if gain > _f32(0x7FFF):
        return 0x7FFF
    value = int(_f32(gain + _f32(0.5)))  # C's float -> int16 truncation
    return ((value + 32768) & 0xFFFF) - 32768


def _pcan_lut(gain_bits: int, offset: float, strength: float, smoothing_bits: int, correction_bits: int) -> np.ndarray:
    offset = _f32(offset)
    strength = _f32(strength)
    input_bits = smoothing_bits - correction_bits
    lut = np.zeros(4 * _WIDE_DYNAMIC_FUNCTION_BITS - 3 + 1, dtype=np.int64)
    lut[0] = _pcan_gain(0, input_bits, gain_bits, offset, strength)
    lut[1] = _pcan_gain(1, input_bits, gain_bits, offset, strength)

    def s16(v: int) -> int:
        return ((v + 32768) & 0xFFFF) - 32768

    for interval in range(2, _WIDE_DYNAMIC_FUNCTION_BITS + 1):
        x0 = 1 << (interval - 1)
        x1 = x0 + (x0 >> 1)
        x2 = x0 + (x0 - 1) if interval == _WIDE_DYNAMIC_FUNCTION_BITS else 2 * x0
        y0 = _pcan_gain(x0, input_bits, gain_bits, offset, strength)
        y1 = _pcan_gain(x1, input_bits, gain_bits, offset, strength)
        y2 = _pcan_gain(x2, input_bits, gain_bits, offset, strength)
        diff1 = y1 - y0
        diff2 = y2 - y0
        a1 = 4 * diff1 - diff2
        a2 = diff2 - a1
        base = 4 * interval - 6
        lut[base] = y0
        lut[base + 1] = s16(a1)
        lut[base + 2] = s16(a2)
    return lut


@functools.lru_cache(maxsize=32)
def frontend_tables(config: FrontendConfig) -> _Tables:
    """All tables the C library's PopulateState functions build, for ``config``."""
    attrs = op_attributes(config)
    window_size = config.window_samples
    step = config.stride_samples
    fft_size = config.fft_size
    spectrum_size = fft_size // 2 + 1
    coefficients = _window_coefficients(window_size)
    perm, stages, super_r, super_i = _fft_tables(fft_size)
    # FFT leaves read packed complex samples (x[2k], x[2k+1]) in kf_work's order; positions
    # at or beyond the window are kiss_fftr's zero padding (coefficient 0).
    leaf_pos = np.stack([2 * perm, 2 * perm + 1])
    fb = _filterbank_tables(
        config.num_channels, attrs["lower_band_limit"], attrs["upper_band_limit"], config.sample_rate, spectrum_size
    )

    smoothing_bits = attrs["smoothing_bits"]
    even = int(_f32(_f32(attrs["even_smoothing"]) * _f32(1 << _NOISE_REDUCTION_BITS))) & 0xFFFF
    odd = int(_f32(_f32(attrs["odd_smoothing"]) * _f32(1 << _NOISE_REDUCTION_BITS))) & 0xFFFF
    msr = int(_f32(_f32(attrs["min_signal_remaining"]) * _f32(1 << _NOISE_REDUCTION_BITS))) & 0xFFFF
    smoothing = np.array([even if (i & 1) == 0 else odd for i in range(config.num_channels)], dtype=np.uint64)
    one_minus = ((np.uint64(1 << _NOISE_REDUCTION_BITS) - smoothing) & _MASK32).astype(np.uint64)

    correction_bits = _msb(fft_size) - 1 - (_FILTERBANK_BITS // 2)
    enable_pcan = attrs["enable_pcan"]
    if enable_pcan:
        gain_lut = _pcan_lut(
            attrs["gain_bits"], attrs["pcan_offset"], attrs["pcan_strength"], smoothing_bits, correction_bits
        )
        snr_shift = attrs["gain_bits"] - correction_bits - _PCAN_SNR_BITS
    else:
        gain_lut = np.zeros(4 * _WIDE_DYNAMIC_FUNCTION_BITS - 2, dtype=np.int64)
        snr_shift = 0

    pcan_l0 = np.zeros(_WIDE_DYNAMIC_FUNCTION_BITS + 1, dtype=np.int64)
    pcan_l1 = np.zeros(_WIDE_DYNAMIC_FUNCTION_BITS + 1, dtype=np.int64)
    pcan_l2 = np.zeros(_WIDE_DYNAMIC_FUNCTION_BITS + 1, dtype=np.int64)
    pcan_l0[:2] = gain_lut[:2]
    for interval in range(2, _WIDE_DYNAMIC_FUNCTION_BITS + 1):
        pcan_l0[interval] = gain_lut[4 * interval - 6]
        pcan_l1[interval] = gain_lut[4 * interval - 5]
        pcan_l2[interval] = gain_lut[4 * interval - 4]
    l1_shifted = ((pcan_l1 << 5) + (1 << 31)) % (1 << 32) - (1 << 31)

    return _Tables(
        pcan_l0=pcan_l0,
        pcan_l1_shifted=l1_shifted,
        pcan_l2=pcan_l2,
        window_size=window_size,
        step=step,
        fft_size=fft_size,
        num_channels=config.num_channels,
        coefficients=coefficients,
        perm=perm,
        gather_pos=np.minimum(leaf_pos, window_size - 1),
        gather_coef=np.where(
            leaf_pos < window_size, coefficients[np.minimum(leaf_pos, window_size - 1)], 0
        ).astype(np.int32)[:, :, None],
        stages=stages,
        super_r=super_r,
        super_i=super_i,
        smoothing_bits=smoothing_bits,
        smoothing=smoothing,
        one_minus_smoothing=one_minus,
        min_signal_remaining=msr,
        noise_reduction_identity=(smoothing_bits == 0 and even == 0 and odd == 0),
        enable_pcan=enable_pcan,
        gain_lut=gain_lut,
        snr_shift=snr_shift,
        enable_log=attrs["enable_log"],
        scale_shift=attrs["scale_shift"],
        correction_bits=correction_bits,
        **fb,
    )


# --------------------------------------------------------------------------
# Per-frame stages, vectorised over frames
# --------------------------------------------------------------------------


def _fixdiv_(x: np.ndarray, k: int) -> np.ndarray:
    """kiss_fft DIVSCALAR in place on int32 holding int16 values: sround(x * (SAMP_MAX / k))."""
    x *= _SAMP_MAX // k
    x += 1 << 14
    x >>= 15
    return x


def _wrap16_(x: np.ndarray) -> np.ndarray:
    """In place: int32 → the value C stores in an int16 (two's complement wrap)."""
    x <<= 16
    x >>= 16
    return x


def _cmul(ar: np.ndarray, ai: np.ndarray, br: np.ndarray, bi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """kiss_fft C_MUL with sround (int32 in, int32 out, not yet wrapped)."""
    re = ar * br
    re -= ai * bi
    re += 1 << 14
    re >>= 15
    im = ar * bi
    im += ai * br
    im += 1 << 14
    im >>= 15
    return re, im


def _kiss_fftr(t: _Tables, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """kiss_fftr (FIXED_POINT=16) with frames along the last (contiguous) axis.

    ``x``: int16 [2, ncfft, F], the packed complex input (real = even samples, imaginary =
    odd samples) already in kf_work's leaf order. Every value C stores in a kiss_fft_cpx
    is an int16, and so is every array here between the 32-bit products of C_FIXDIV /
    C_MUL; int16 additions wrap exactly like C's int -> int16 stores.
    Returns int32 (re, im) [ncfft + 1, F] holding the int16 spectrum.
    """
    ncfft = t.fft_size // 2
    nf = x.shape[2]
    rnd = 1 << 14
    for st in t.stages:
        p, m = st.radix, st.m
        blocks = ncfft // (p * m)
        # C_FIXDIV of every butterfly input: sround(x * (32767 / p)), an int16 again.
        wide = np.multiply(x, _SAMP_MAX // p, dtype=np.int32)
        wide += rnd
        y = np.empty(x.shape, dtype=np.int16)
        np.right_shift(wide, 15, out=y, casting="unsafe")
        v = y.reshape(2, blocks, p, m, nf)
        a0 = v[:, :, 0]
        rot = v[:, :, 1:]  # the p-1 inputs multiplied by twiddles
        # C_MUL with sround: 32-bit products, int16 results.
        if st.unit_twiddles:  # every twiddle is (32767, 0): C_MUL reduces to a scaling
            prod = np.multiply(rot, _SAMP_MAX, dtype=np.int32)
            prod += rnd
        else:
            # Three-multiplication form, exact in int32 (|inputs| <= 2**14 after C_FIXDIV):
            #   k1 = (ar + ai) * br + rnd, re = k1 - ai * (br + bi), im = k1 + ar * (bi - br)
            prod = np.empty(rot.shape, dtype=np.int32)
            k1 = np.add(rot[0], rot[1], dtype=np.int32)
            k1 *= st.twr
            k1 += rnd
            np.multiply(rot[1], st.tw_sum, out=prod[0])
            np.subtract(k1, prod[0], out=prod[0])
            np.multiply(rot[0], st.tw_diff, out=prod[1])
            prod[1] += k1
        s = np.empty(rot.shape, dtype=np.int16)
        np.right_shift(prod, 15, out=s, casting="unsafe")
        # The butterflies in int16 arithmetic: intermediate values (inputs scaled by 1/p and
        # their rotations) fit, and the outputs wrap exactly like C's stores to int16.
        out = np.empty((2, blocks, p, m, nf), dtype=np.int16)
        if p == 4:  # kf_bfly4
            s0, s1, s2 = s[:, :, 0], s[:, :, 1], s[:, :, 2]
            s5 = a0 - s1
            a0 += s1
            s3 = s0 + s2
            s4 = np.subtract(s0, s2, out=s0)
            np.add(a0, s3, out=out[:, :, 0])
            np.subtract(a0, s3, out=out[:, :, 2])
            np.add(s5[0], s4[1], out=out[0, :, 1])
            np.subtract(s5[1], s4[0], out=out[1, :, 1])
            np.subtract(s5[0], s4[1], out=out[0, :, 3])
            np.add(s5[1], s4[0], out=out[1, :, 3])
        else:  # kf_bfly2
            s0 = s[:, :, 0]
            np.subtract(a0, s0, out=out[:, :, 1])
            np.add(a0, s0, out=out[:, :, 0])
        x = out.reshape(2, ncfft, nf)

    # kiss_fftr's real-signal split.
    half = ncfft // 2
    fr = np.empty((ncfft + 1, nf), dtype=np.int32)
    fi = np.empty((ncfft + 1, nf), dtype=np.int32)
    dc = np.multiply(x[:, 0], _SAMP_MAX // 2, dtype=np.int32)
    dc += rnd
    dc >>= 15
    np.add(dc[0], dc[1], out=fr[0])  # |fixdiv(x, 2)| <= 16384: these fit int16
    np.subtract(dc[0], dc[1], out=fr[ncfft])
    fi[0] = 0
    fi[ncfft] = 0
    pk = np.multiply(x[:, 1 : half + 1], _SAMP_MAX // 2, dtype=np.int32)
    pk += rnd
    pk >>= 15
    mirrored = x[:, ncfft - 1 : half - 1 : -1].copy()  # bins ncfft - k, k = 1..half
    np.negative(mirrored[1], out=mirrored[1])  # int16 negation (wraps like C)
    pnk = np.multiply(mirrored, _SAMP_MAX // 2, dtype=np.int32)
    pnk += rnd
    pnk >>= 15
    f1 = pk + pnk  # fits int16
    f2 = np.subtract(pk, pnk, out=pk)  # fits int16
    twr = f2[0] * t.super_r
    twr -= f2[1] * t.super_i
    twr += rnd
    twr >>= 15
    twi = f2[0] * t.super_i
    twi += f2[1] * t.super_r
    twi += rnd
    twi >>= 15
    _wrap16_(twr)
    _wrap16_(twi)
    a = np.add(f1[0], twr, out=fr[1 : half + 1])
    a >>= 1
    a = np.add(f1[1], twi, out=fi[1 : half + 1])
    a >>= 1
    # Bins ncfft - k; for k == ncfft/2 this overwrites bin k, as in C.
    f1[0] -= twr
    f1[0] >>= 1
    fr[ncfft - 1 : half - 1 : -1] = f1[0]
    twi -= f1[1]
    twi >>= 1
    fi[ncfft - 1 : half - 1 : -1] = twi
    return fr, fi


def _sqrt_rounded(work: np.ndarray) -> np.ndarray:
    """FilterbankSqrt's Sqrt64 (with the Sqrt32 shortcut) of exact integers in float64 (< 2**53)."""
    n = work.astype(np.int64)
    f = np.floor(np.sqrt(work)).astype(np.int64)
    f -= (f * f > n).astype(np.int64)
    f += ((f + 1) * (f + 1) <= n).astype(np.int64)
    rem = n - f * f
    up = rem > f
    up &= ~((f == 0xFFFF) & (n < (1 << 32)))
    return f + up


def _sqrt_rounded_exact(values: np.ndarray) -> np.ndarray:
    """Sqrt64 for arbitrary uint64 values (slow path, Python ints)."""
    out = np.empty(values.shape, dtype=np.int64)
    flat_in = values.reshape(-1)
    flat_out = out.reshape(-1)
    for idx, v in enumerate(flat_in.tolist()):
        v = int(v)
        if v == 0:
            flat_out[idx] = 0
            continue
        f = math.isqrt(v)
        cap = 0xFFFF if v < (1 << 32) else 0xFFFFFFFF
        if v - f * f > f and f != cap:
            f += 1
        flat_out[idx] = f
    return out


def _accumulate_exact(t: _Tables, energy: np.ndarray) -> np.ndarray:
    """FilterbankAccumulateChannels in uint64 (mod 2**64), for int32 energies that wrapped negative.

    The C code converts the int32 energy to uint64 with sign extension; that only happens
    for an FFT bin of exactly (-32768, -32768).
    """
    nf = energy.shape[1]
    e64 = energy.astype(np.int64).astype(np.uint64)
    nb = e64.shape[0]
    cw = np.zeros((nb + 1, nf), dtype=np.uint64)
    np.cumsum(e64 * t.bin_weights[:, None], axis=0, out=cw[1:])
    cu = np.zeros((nb + 1, nf), dtype=np.uint64)
    np.cumsum(e64 * t.bin_unweights[:, None], axis=0, out=cu[1:])
    work = cw[t.band_hi[1:]]
    work -= cw[t.band_lo[1:]]
    work += cu[t.band_hi[:-1]]
    work -= cu[t.band_lo[:-1]]
    return work.T


def _linear_filterbank(t: _Tables, frames: np.ndarray) -> np.ndarray:
    """Window, FFT, energy, filterbank, sqrt and scale-down for int16 frames [F, W] → int64 [F, C]."""
    nf = frames.shape[0]
    # WindowProcessSamples, done directly in the FFT's leaf order: gather the samples each
    # FFT leaf reads (packed complex: even samples real, odd imaginary), times their window
    # coefficient (0 for the zero padding beyond the window); (x * w) >> 12 fits int16.
    windowed = np.ascontiguousarray(frames.T)[t.gather_pos] * t.gather_coef  # int32 [2, ncfft, F]
    windowed >>= _WINDOW_BITS
    largest = windowed.max(axis=(0, 1))
    smallest = windowed.min(axis=(0, 1))
    max_abs = np.maximum(largest, -smallest)
    quirk = smallest == -32768
    if quirk.any():
        # C negates in int16: |-32768| stays -32768 and never becomes the maximum.
        absval = np.abs(windowed[:, :, quirk])
        absval[absval == 32768] = 0
        max_abs[quirk] = absval.max(axis=(0, 1))
    shift = 15 - _msb_array(max_abs)  # int64 [F]

    # FftCompute: (int16)((uint16)x << shift); the int16 store wraps like C.
    x = np.empty(windowed.shape, dtype=np.int16)
    np.left_shift(windowed, shift.astype(np.int32), out=x, casting="unsafe")
    fr, fi = _kiss_fftr(t, x)

    re = fr[t.start_index : t.end_index]
    im = fi[t.start_index : t.end_index]
    energy = re * re
    energy += im * im  # int32: wraps to -2**31 for (-32768, -32768), like the C code
    if energy.size and energy.min() < 0:
        work = _accumulate_exact(t, energy)
    else:
        # FilterbankAccumulateChannels as one matrix product: products (< 2**43) and
        # channel sums (< 2**52) of integers are exact in float64, in any summation order.
        work = (t.weights_matrix_t @ energy.astype(np.float64)).T
    if work.size and float(work.max()) >= float(1 << 53):
        roots = _sqrt_rounded_exact(np.asarray(work, dtype=np.uint64))
    else:
        roots = _sqrt_rounded(np.asarray(work, dtype=np.float64))
    roots &= 0xFFFFFFFF
    return roots >> shift[:, None]


def _estimate_recursion(a: np.ndarray, estimate: np.ndarray, one_minus: np.ndarray) -> np.ndarray:
    """``est[i] = (a[i] + est[i-1] * one_minus) >> 14`` for every frame i, all channels.

    The recursion is sequential in time, so the channels are packed into one Python
    integer per smoothing coefficient (even / odd channels), 64 bits a lane: every
    lane value stays below 2**47, so lanes never carry into each other, and after the
    shift a mask drops the bits that slid down from the next lane. This costs a few
    big-integer operations per frame instead of several NumPy calls.
    """
    nf, nc = a.shape
    history = np.empty((nf, nc), dtype=np.uint64)
    if nf == 0:
        return history
    for parity in (0, 1):
        lanes = slice(parity, None, 2)
        group = np.ascontiguousarray(a[:, lanes], dtype="<u8")
        n = group.shape[1]
        if n == 0:
            continue
        coefficient = int(one_minus[parity])
        width = 8 * n
        raw = group.tobytes()
        est = int.from_bytes(np.ascontiguousarray(estimate[lanes], dtype="<u8").tobytes(), "little")
        mask = int.from_bytes(np.full(n, (1 << 50) - 1, dtype="<u8").tobytes(), "little")
        from_bytes = int.from_bytes
        rows = []
        append = rows.append
        for i in range(nf):
            est = ((est * coefficient + from_bytes(raw[i * width : (i + 1) * width], "little"))
                   >> _NOISE_REDUCTION_BITS) & mask
            append(est.to_bytes(width, "little"))
        history[:, lanes] = np.frombuffer(b"".join(rows), dtype="<u8").reshape(nf, n)
    return history


def _noise_reduction(t: _Tables, signal: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NoiseReductionApply over frames. Returns (output, estimate after each frame, final estimate)."""
    nf, nc = signal.shape
    sig = signal.astype(np.uint64)
    scaled_up = (sig << np.uint64(t.smoothing_bits)) & _MASK32
    a = scaled_up * t.smoothing
    history = _estimate_recursion(a, estimate.astype(np.uint64), t.one_minus_smoothing)
    shift = np.uint64(_NOISE_REDUCTION_BITS)
    est = history[-1] if nf else estimate.astype(np.uint64)
    clamped = np.minimum(history, scaled_up)
    floor = (sig * np.uint64(t.min_signal_remaining)) >> shift
    subtracted = (scaled_up - clamped) >> np.uint64(t.smoothing_bits)
    out = np.maximum(subtracted, floor & _MASK32)
    final = est.copy() if nf else estimate.astype(np.uint64).copy()
    return out.astype(np.int64), history, final


def _pcan(t: _Tables, signal: np.ndarray, noise_estimate: np.ndarray) -> np.ndarray:
    """PcanGainControlApply (vectorised; its only state is the noise estimate).

    WideDynamicFunction: with ``x = m * 2**e`` (frexp, exact for x < 2**53) the interval
    is ``e`` and the 10-bit fraction ``(x << (11 - e) or x >> (e - 11)) & 0x3FF`` equals
    ``floor((2m - 1) * 1024)``. For x <= 2 the C code reads lut[x]; the per-interval
    tables give the same with a zero fraction.
    """
    mant, interval = np.frexp(noise_estimate.astype(np.float64))
    frac = mant * 2048.0
    frac -= 1024.0
    np.maximum(frac, 0.0, out=frac)  # x = 0 (mantissa 0) and x = 1 have fraction 0
    frac = np.floor(frac).astype(np.int64)
    result = t.pcan_l2[interval] * frac
    result >>= 5
    result += t.pcan_l1_shifted[interval]
    result *= frac
    result += 1 << 31  # int32 wraparound of the C intermediate
    result &= 0xFFFFFFFF
    result -= 1 << 31
    result += 1 << 14
    result >>= 15
    result += t.pcan_l0[interval]
    result += 32768  # (int16) of the result, then int16 -> uint32 gain
    result &= 0xFFFF
    result -= 32768
    result &= 0xFFFFFFFF
    snr = signal.astype(np.uint64) * result.astype(np.uint64)
    snr >>= np.uint64(t.snr_shift & 63)  # x86 masks 64-bit shift counts
    snr &= _MASK32
    snr = snr.astype(np.int64)
    low = snr < (2 << _PCAN_SNR_BITS)
    small = snr * snr
    small >>= 2 + 2 * _PCAN_SNR_BITS - _PCAN_OUTPUT_BITS
    snr >>= _PCAN_SNR_BITS - _PCAN_OUTPUT_BITS
    snr -= 1 << _PCAN_OUTPUT_BITS
    return np.where(low, small, snr)


def _log_scale(t: _Tables, signal: np.ndarray) -> np.ndarray:
    """LogScaleApply → uint16. With ``x = m * 2**e`` the C code's 16-bit log2 fraction
    ``(x - 2**(e-1))`` shifted to 16 bits equals ``floor((2m - 1) * 65536)`` exactly."""
    value = signal.astype(np.int64)
    if not t.enable_log:
        return np.minimum(value, 0xFFFF).astype(np.uint16)
    cb = t.correction_bits
    if cb < 0:
        value >>= -cb
    elif cb > 0:
        value <<= cb
        value &= 0xFFFFFFFF
    valid = value > 1
    mant, exponent = np.frexp(np.maximum(value, 2).astype(np.float64))
    frac = mant * 131072.0
    frac -= 65536.0
    frac = np.floor(frac).astype(np.int64)
    base_seg = frac >> (_LOG_SCALE_LOG2 - _LOG_SEGMENTS_LOG2)
    rel_pos = _LOG_LUT_DIFF[base_seg] * (frac & ((_LOG_SCALE >> _LOG_SEGMENTS_LOG2) - 1))
    rel_pos >>= _LOG_SCALE_LOG2
    frac += _LOG_LUT[base_seg]
    frac += rel_pos
    log2 = exponent.astype(np.int64) - 1
    log2 <<= _LOG_SCALE_LOG2
    log2 += frac
    log2 *= _LOG_COEFF
    log2 += _LOG_SCALE // 2
    log2 >>= _LOG_SCALE_LOG2  # loge < 2**21
    log2 <<= t.scale_shift
    if t.scale_shift > 10:
        log2 &= 0xFFFFFFFF  # uint32 wraparound of loge << scale_shift
    log2 += _LOG_SCALE // 2
    if t.scale_shift > 10:
        log2 &= 0xFFFFFFFF
    log2 >>= _LOG_SCALE_LOG2
    log2[~valid] = 0
    np.minimum(log2, 0xFFFF, out=log2)
    return log2.astype(np.uint16)


def _process_frames(t: _Tables, frames: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames int16 [F, W] → (uint16 [F, C], final noise estimate)."""
    nf = frames.shape[0]
    out = np.empty((nf, t.num_channels), dtype=np.uint16)
    est = estimate.astype(np.uint64)
    step = max(16, _BLOCK_POINTS // (t.fft_size // 2))
    for start in range(0, nf, step):
        block = frames[start : start + step]
        signal = _linear_filterbank(t, block)
        if t.noise_reduction_identity and not t.enable_pcan:
            # Identity stage: estimate stays 0, output = input (uint32).
            pass
        else:
            signal, history, est = _noise_reduction(t, signal, est)
            if t.enable_pcan:
                signal = _pcan(t, signal, history)
        out[start : start + block.shape[0]] = _log_scale(t, signal)
    return out, est


def _frame_view(samples: np.ndarray, window: int, step: int) -> np.ndarray:
    n = samples.shape[0]
    if n < window:
        return np.zeros((0, window), dtype=np.int16)
    count = 1 + (n - window) // step
    view = np.lib.stride_tricks.sliding_window_view(samples, window)[::step]
    return view[:count]


def _as_int16(samples: Any) -> np.ndarray:
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ValueError(f"audio must be 1-D, got shape {arr.shape}")
    if arr.dtype != np.int16:
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"audio must be int16 samples, got dtype {arr.dtype}")
        if arr.size and (arr.min() < -32768 or arr.max() > 32767):
            raise ValueError("audio samples are outside the int16 range")
        arr = arr.astype(np.int16)
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def compute_raw(audio: np.ndarray, config: FrontendConfig) -> np.ndarray:
    """uint16 [frames, channels]: what ``audio_microfrontend`` returns (out_scale=1, uint16)."""
    t = frontend_tables(config)
    samples = _as_int16(audio)
    frames = _frame_view(samples, t.window_size, t.step)
    out, _ = _process_frames(t, frames, np.zeros(t.num_channels, dtype=np.uint64))
    return out


@dataclass
class FrontendState:
    """Streaming state: pending (not yet framed) samples and the noise estimate.

    Plain NumPy arrays and scalars: picklable, and ``np.savez(path, **state.to_dict())``
    / ``FrontendState.from_dict(np.load(path))`` round-trip it.
    """

    pending: np.ndarray  # int16 [< window_samples]
    noise_estimate: np.ndarray  # uint32 [channels]
    frames_emitted: int = 0
    config_sha256: str = ""

    def to_dict(self) -> dict[str, np.ndarray]:
        return {
            "pending": np.asarray(self.pending, dtype=np.int16),
            "noise_estimate": np.asarray(self.noise_estimate, dtype=np.uint32),
            "frames_emitted": np.asarray(self.frames_emitted, dtype=np.int64),
            "config_sha256": np.asarray(self.config_sha256),
        }

    @classmethod
    def from_dict(cls, data: Any) -> "FrontendState":
        return cls(
            pending=np.asarray(data["pending"], dtype=np.int16).copy(),
            noise_estimate=np.asarray(data["noise_estimate"], dtype=np.uint32).copy(),
            frames_emitted=int(np.asarray(data["frames_emitted"])),
            config_sha256=str(np.asarray(data["config_sha256"])),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrontendState):
            return NotImplemented
        return (
            np.array_equal(self.pending, other.pending)
            and np.array_equal(self.noise_estimate, other.noise_estimate)
            and self.frames_emitted == other.frames_emitted
            and self.config_sha256 == other.config_sha256
        )


class MicroFrontend:
    """Streaming MicroFrontend: feed int16 audio in chunks of any size.

    The concatenated outputs of :meth:`process` equal :func:`compute_raw` of the
    concatenated input, whatever the chunking.
    """

    def __init__(self, config: FrontendConfig):
        self.config = config
        self._tables = frontend_tables(config)
        self._sha = config.sha256()
        self.reset()

    @property
    def num_channels(self) -> int:
        return self._tables.num_channels

    def reset(self) -> None:
        """Forget pending samples and the noise estimate (FrontendReset)."""
        self._pending = np.zeros(0, dtype=np.int16)
        self._estimate = np.zeros(self._tables.num_channels, dtype=np.uint64)
        self._frames = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Consume ``samples``; return the frames completed by them, uint16 [n, channels]."""
        t = self._tables
        new = _as_int16(samples)
        if self._pending.size + new.size < t.window_size:
            self._pending = np.concatenate([self._pending, new])
            return np.zeros((0, t.num_channels), dtype=np.uint16)
        buf = np.concatenate([self._pending, new]) if self._pending.size else new
        frames = _frame_view(buf, t.window_size, t.step)
        out, self._estimate = _process_frames(t, frames, self._estimate)
        consumed = frames.shape[0] * t.step
        self._pending = buf[consumed:].copy()
        self._frames += frames.shape[0]
        return out

    def get_state(self) -> FrontendState:
        return FrontendState(
            pending=self._pending.copy(),
            noise_estimate=self._estimate.astype(np.uint32),
            frames_emitted=self._frames,
            config_sha256=self._sha,
        )

    def set_state(self, state: FrontendState) -> None:
        t = self._tables
        if state.config_sha256 and state.config_sha256 != self._sha:
            raise ValueError("state was saved with a different FrontendConfig")
        pending = np.asarray(state.pending, dtype=np.int16)
        estimate = np.asarray(state.noise_estimate)
        if pending.ndim != 1 or pending.size >= t.window_size:
            raise ValueError(f"pending samples have shape {pending.shape}; expected fewer than a window")
        if estimate.shape != (t.num_channels,):
            raise ValueError(f"noise estimate has shape {estimate.shape}; expected ({t.num_channels},)")
        self._pending = pending.copy()
        self._estimate = estimate.astype(np.uint64)
        self._frames = int(state.frames_emitted)
