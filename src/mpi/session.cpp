// zo::mpi::Session: MPI initialisation, error handler and node-local rank.
#include <string>

#include "mpi/mpi_check.hpp"
#include "zo/mpi.hpp"

namespace zo {
namespace mpi {

Session::Session(int* argc, char*** argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    ZO_MPI_TRY(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    owns_ = true;
  }
  ZO_MPI_TRY(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  ZO_MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  ZO_MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  MPI_Comm node;
  ZO_MPI_TRY(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
}

Session::~Session() {
  if (!owns_) return;
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Finalize();
}

std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown MPI";
  std::string s(text, static_cast<std::size_t>(length));
  const auto end = s.find_first_of(",\n");
  return end == std::string::npos ? s : s.substr(0, end);
}

}  // namespace mpi
}  // namespace zo
