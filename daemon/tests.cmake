# end-to-end tests of the search daemon (included by the top-level CMakeLists.txt)
add_test(NAME search COMMAND ${CMAKE_SOURCE_DIR}/tests/test_search.sh $<TARGET_FILE:petri>)
# worker processes: a killed worker, --job-memory, ^C, kill -9 of the daemon
add_test(NAME workers COMMAND ${CMAKE_SOURCE_DIR}/tests/test_workers.sh $<TARGET_FILE:petri>)
# workers as MPI ranks on loopback: 3 ranks, a refused data set, kill -9 of
# a worker process, a worker rank and rank 0 (not in the sanitizer build:
# Open MPI's own allocations at exit read as leaks there)
if(MPI_C_FOUND AND NOT PETRI_SANITIZE)
  add_test(NAME mpi COMMAND ${CMAKE_SOURCE_DIR}/tests/test_mpi.sh $<TARGET_FILE:petri>)
  set_tests_properties(mpi PROPERTIES SKIP_RETURN_CODE 77)
endif()
add_executable(crash_search ${CMAKE_SOURCE_DIR}/tests/crash_search.c)
target_link_libraries(crash_search PRIVATE petri_daemon)
# kill -9 the daemon 12 times spread over a search of 120 jobs (one round), a
# third of the kills inside commits, frontier writes and checkpoints
# (tests/crash_search.c); the data set: written by the test itself. The
# sanitizer build runs 8 kills over 80 jobs: the same paths, in CI's time.
if(PETRI_SANITIZE)
  set(PETRI_CRASH_ARGS "8 80")
else()
  set(PETRI_CRASH_ARGS "12 120")
endif()
add_test(NAME search_crash COMMAND sh -c "awk 'BEGIN { srand(5); for (i = 0; i < 2000; i++) { c = i % 3; printf \"%d\", c; for (j = 0; j < 64; j++) { v = rand() * 0.3; if (c == 0 && j < 24) v += 0.5; if (c == 1 && j % 8 < 3) v += 0.5; printf \",%.3f\", v } printf \"\\n\" } }' > crash.csv && $<TARGET_FILE:crash_search> $<TARGET_FILE:petri> crash.csv 1x8x8 ${PETRI_CRASH_ARGS}")
add_executable(test_exp ${CMAKE_SOURCE_DIR}/tests/test_exp.c)
target_link_libraries(test_exp PRIVATE petri_daemon)
add_test(NAME exp COMMAND test_exp)
# a running job's checkpoints: kill -9 and petri stop half-way, the job
# resumes and ends with the whole run's weights (timed polling of a live
# search: not in the sanitizer build, whose crash test covers the kills)
if(NOT PETRI_SANITIZE)
  add_test(NAME search_resume COMMAND ${CMAKE_SOURCE_DIR}/tests/test_resume.sh $<TARGET_FILE:petri>)
endif()
