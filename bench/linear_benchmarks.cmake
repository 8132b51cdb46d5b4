# Benchmarks of the linear models and the LIBSVM reader. Included from bench/CMakeLists.txt.
# The LIBSVM reader vs a getline + strtod baseline on a generated 10^6-line file.
add_executable(bench_libsvm bench_libsvm.cpp)
target_link_libraries(bench_libsvm PRIVATE zo::zo benchmark::benchmark benchmark::benchmark_main
                                           OpenMP::OpenMP_CXX)
# LinearModel evaluation: points/s and GFLOP/s, CPU and GPU; the GPU part reports the cuBLAS
# SGEMM rate of the same shape measured in the same run.
add_executable(bench_linear_eval bench_linear_eval.cpp)
target_link_libraries(bench_linear_eval PRIVATE zo::zo benchmark::benchmark OpenMP::OpenMP_CXX)
if(ZO_HAVE_CUDA)
  target_compile_definitions(bench_linear_eval PRIVATE ZO_BENCH_CUDA=1)
  target_link_libraries(bench_linear_eval PRIVATE CUDA::cudart CUDA::cublas)
endif()
# One ZO step of a linear model (RunBatch, generic vs margins engine) on the paper's shapes; the
# numpy peer is linear_numpy_peer.py.
add_executable(bench_linear_step bench_linear_step.cpp)
target_link_libraries(bench_linear_step PRIVATE zo::zo benchmark::benchmark)
