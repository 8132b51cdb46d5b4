// The key space of zo's counter-based random numbers: every constant that reserves a part of it.
//
// Every random number zo draws is a coordinate of a direction (zo/direction.hpp) with the key
//   DirectionKey{seed (64 bits), step (32 bits), substream (32 bits)},
// one Philox4x32-10 block per 4 coordinates. A "substream" is only this third key field; it has
// nothing to do with CUDA streams (zo::StreamView). The space is split so that no two uses ever
// share a key, even when their seeds are equal:
//
//   use                         seed            step                      substream
//   optimisation runs           the run's seed  t ≤ kMaxStep = 2^32 − 2   j = 0 … q − 1
//     (RunBatch, Stepper, sweeps; direction j of step t)
//   initial points              the seed        kInitStep = 2^32 − 1      small numbers chosen
//     (zo::gaussian_fill; zo's tools use kInitialPointSubstream = 0)      by the caller, below
//                                                                         0xDA7A0000
//   data (synthetic samples,    the data seed   kInitStep                 kDataSubstream* =
//     random projections)                                                 0xDA7A0001 … 0xDA7A0010
//   trace probes                the probe seed  probe index j             kTraceProbeSubstream,
//     (zo/trace.hpp)                                                      kTraceSketchSubstream
//                                                                         (0x7472000x, "tr")
//
// Runs and trace probes share the step range but never a substream (a run's q is far below
// 0x74720000); initial points and data share the step kInitStep but never a substream. The values
// are part of zo's reproducibility contract: changing one changes results.
#pragma once

#include <cstdint>

namespace zo {

/// The largest step index a run may use: 2^32 − 2 (2^32 − 1 is reserved for initial points).
constexpr std::uint64_t kMaxStep = 0xFFFFFFFEull;

/// The step index reserved for initial points and data drawn from a seed (never a run's step).
constexpr std::uint32_t kInitStep = 0xFFFFFFFFu;

/// The substream of the initial points of zo's tools (`zo::gaussian_fill(seed, 0, …)`): x0 of a
/// run with seed s is the direction (s, kInitStep, 0).
constexpr std::uint32_t kInitialPointSubstream = 0;

/// Data substreams (step kInitStep): the teacher vector of synthetic classification data.
constexpr std::uint32_t kDataSubstreamTeacher = 0xDA7A0001u;
/// Data substream: the feature values of synthetic classification data.
constexpr std::uint32_t kDataSubstreamFeatures = 0xDA7A0002u;
/// Data substream: which features are present in sparse synthetic data.
constexpr std::uint32_t kDataSubstreamPresence = 0xDA7A0003u;
/// Data substream: the label noise of synthetic classification data.
constexpr std::uint32_t kDataSubstreamLabelNoise = 0xDA7A0004u;
/// Data substream: the N(0, 1) random-feature projection of zo::FeaturePipeline.
constexpr std::uint32_t kDataSubstreamProjection = 0xDA7A0010u;

/// The substream of the trace probes (ASCII "tr" in the high half): probe j of a trace estimate
/// with seed s is the direction (s, j, kTraceProbeSubstream).
constexpr std::uint32_t kTraceProbeSubstream = 0x74720000u;
/// The substream of the Hutch++ sketch vectors: (s, j, kTraceSketchSubstream).
constexpr std::uint32_t kTraceSketchSubstream = 0x74720001u;

}  // namespace zo
