// What one data-parallel ZO step communicates, against a gradient allreduce, on the ranks of
// MPI_COMM_WORLD: the latency of the scalar exchange (2q doubles per rank: 16q bytes, one
// MPI_Allgather, as DataParallelObjective::Combine::per_rank does) and of an MPI_Allreduce of d
// floats (4d bytes: what data-parallel first-order training sends per step). Median of many
// repetitions after a warm-up; prints CSV on rank 0.
//   mpirun -np 4 ./bench/bench_mpi_comm
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace {

/// Median seconds of `reps` calls of `op` (each timed between barriers).
template <typename Op>
double median_seconds(int reps, Op op) {
  std::vector<double> t;
  for (int i = 0; i < reps + reps / 10; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    op();
    const double dt = MPI_Wtime() - t0;
    double slowest = 0;
    MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    if (i >= reps / 10) t.push_back(slowest);  // the first tenth warms up
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 0) std::printf("ranks,exchange,size,bytes_per_rank,median_us\n");
  // ZO: 2q function values per rank, gathered by every rank.
  for (int q : {1, 4, 16, 64}) {
    std::vector<double> mine(static_cast<std::size_t>(2 * q), 1.0),
        all(static_cast<std::size_t>(2 * q * size));
    const double s = median_seconds(2000, [&] {
      MPI_Allgather(mine.data(), 2 * q, MPI_DOUBLE, all.data(), 2 * q, MPI_DOUBLE, MPI_COMM_WORLD);
    });
    if (rank == 0) std::printf("%d,zo_values,q=%d,%d,%.2f\n", size, q, 16 * q, s * 1e6);
  }
  // First order: the gradient, d floats, summed over the ranks.
  for (long d : {1000L, 10000L, 100000L, 1000000L, 10000000L}) {
    std::vector<float> g(static_cast<std::size_t>(d), 1.0f), sum(static_cast<std::size_t>(d));
    const int reps = d >= 10000000L ? 20 : (d >= 1000000L ? 100 : 500);
    const double s = median_seconds(reps, [&] {
      MPI_Allreduce(g.data(), sum.data(), static_cast<int>(d), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    });
    if (rank == 0) std::printf("%d,gradient_allreduce,d=%ld,%ld,%.2f\n", size, d, 4 * d, s * 1e6);
  }
  MPI_Finalize();
  return 0;
}
