// Symbol visibility for libzo. The library is built with hidden visibility by default;
// everything that forms the public API is marked ZO_API.
#pragma once

#if defined(_WIN32)
#if defined(ZO_BUILDING_LIBRARY)
#define ZO_API __declspec(dllexport)
#else
#define ZO_API __declspec(dllimport)
#endif
#else
#define ZO_API __attribute__((visibility("default")))
#endif
