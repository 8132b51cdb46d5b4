# Tests of the linear-model work (issue 4): LIBSVM reader and its fuzz loop, data sets and the
# feature pipeline, the linear losses, user-defined objectives, the examples and `zo linear`.
# Included from tests/CMakeLists.txt.
zo_add_test(test_libsvm SOURCES test_libsvm.cpp LIBS OpenMP::OpenMP_CXX)
zo_add_test(test_libsvm_fuzz SOURCES test_libsvm_fuzz.cpp)
zo_add_test(test_linear_model SOURCES test_linear_model.cpp LIBS OpenMP::OpenMP_CXX)
zo_add_test(test_classification_data SOURCES test_classification_data.cpp LIBS OpenMP::OpenMP_CXX)
zo_add_test(test_callback_objective SOURCES test_callback_objective.cpp)
