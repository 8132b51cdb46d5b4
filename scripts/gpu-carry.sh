#!/usr/bin/env bash
# Run on the CPU machine before a GPU session: builds zo for sm_90 (Release) and gathers what the
# GPU machine lacks under .carry/ (git-ignored): stripped test/benchmark/CLI binaries and libzo,
# libbenchmark and libgomp, the list of gpu-labelled tests, plus a GoogleTest source tree and a
# Google Benchmark prefix so the GPU machine can also rebuild from source (scripts/gpu-check.sh
# falls back to that when the prebuilt binaries do not run there). Nothing here is committed.
# Then, on the GPU machine (the device tool, with carry [".carry"]):
#   bash scripts/gpu-check.sh --prebuilt .carry --out $OUT/gpu-check
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DZO_WITH_CUDA=ON >/dev/null
cmake --build build-gpu -j"$(nproc)"
rm -rf .carry
mkdir -p .carry/bin .carry/lib .carry/benchmark-prefix/lib/cmake
find build-gpu -type f -executable \( -name 'test_*' -o -name 'bench_*' -o -name zo \) \
  -not -path '*/CMakeFiles/*' -not -path '*/consumer_work/*' -exec cp -f {} .carry/bin/ \;
strip --strip-unneeded .carry/bin/* 2>/dev/null || true
soname=$(readelf -d build-gpu/src/libzo.so | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
cp -L build-gpu/src/libzo.so ".carry/lib/$soname"
strip --strip-unneeded ".carry/lib/$soname"
cp -L /usr/lib/x86_64-linux-gnu/libbenchmark.so.1* .carry/lib/
cp -L "$(g++ -print-file-name=libgomp.so.1)" .carry/lib/
(cd build-gpu && ctest -N -L gpu | sed -n 's/^ *Test *#[0-9]*: *//p') >.carry/gpu-tests.txt
git rev-parse --short HEAD >.carry/COMMIT
cp -r /usr/src/googletest .carry/googletest
cp -r /usr/include/benchmark .carry/benchmark-prefix/include 2>/dev/null ||
  { mkdir -p .carry/benchmark-prefix/include && cp -r /usr/include/benchmark .carry/benchmark-prefix/include/; }
cp -L /usr/lib/x86_64-linux-gnu/libbenchmark.so.1* .carry/benchmark-prefix/lib/
ln -sf libbenchmark.so.1debian .carry/benchmark-prefix/lib/libbenchmark.so
cp -r /usr/lib/x86_64-linux-gnu/cmake/benchmark .carry/benchmark-prefix/lib/cmake/
echo "gpu-carry: $(du -sh .carry | cut -f1) in .carry ($(ls .carry/bin | wc -l) binaries;" \
  "gpu tests: $(tr '\n' ' ' <.carry/gpu-tests.txt))"
