// Compile-time configuration shared by host and device code. Plain C++17: this header never
// includes CUDA headers, it only adapts to nvcc when it is the compiler.
#pragma once

#if defined(__CUDACC__)
/// Marks a function callable from both host and device code (nvcc only).
#define ZO_HD __host__ __device__
#define ZO_INLINE __forceinline__
#else
#define ZO_HD
#define ZO_INLINE inline
#endif
