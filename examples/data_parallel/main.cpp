// Data-parallel ZO with zo::mpi: every rank holds the parameters and 1/N of the rows; one
// exchange of the 2q function values per step keeps the copies identical. Run it with any number
// of ranks (or none): the printed loss is the same bits.
#include <cstdio>
#include <vector>
#include <zo/mpi.hpp>
#include <zo/zo.hpp>

int main(int argc, char** argv) {
  zo::mpi::Session mpi(&argc, &argv);  // MPI_Init unless the program did it already
  zo::SyntheticSpec data_spec;
  data_spec.train_rows = 2000;
  data_spec.test_rows = 500;
  data_spec.features = 40;
  const zo::TrainTestSplit data = zo::make_synthetic_classification(data_spec);
  // 32 chunks of rows, spread over the ranks; the values do not depend on how many ranks.
  const auto f = zo::mpi::make_data_parallel_linear_model(zo::LinearLoss::logistic, data.train,
                                                          &data.test, 32, MPI_COMM_WORLD);
  std::vector<float> x(f->dim(), 0.0f);
  zo::RunSpec spec;
  spec.lambda = 0.05f;
  spec.eta = 0.1f;
  spec.q = 4;
  spec.seed = 7;  // the same seed on every rank: the same directions, the same updates
  const double loss = zo::minimize(*f, x.data(), spec, 500);
  zo::mpi::check_replicas(x.data(), x.size(), MPI_COMM_WORLD, "the end");
  if (mpi.rank() == 0)
    std::printf("%d rank(s): loss %.17g after 500 steps, %llu bytes sent per rank\n", mpi.size(),
                loss, static_cast<unsigned long long>(f->bytes_sent()));
  return loss < 0.6931 ? 0 : 1;  // it learned something (log 2 at x = 0)
}
