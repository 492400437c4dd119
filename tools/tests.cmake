# tests of the petri commands that read an experiment (status, frontier,
# pick, export): tests/mkexp writes a synthetic experiment with the daemon's
# conventions, tests/test_cli_store.sh runs the commands on it
add_executable(mkexp ${CMAKE_SOURCE_DIR}/tests/mkexp.c)
target_link_libraries(mkexp PRIVATE petri_daemon petri_queue petri_frontier petri_grow petri_nn)
add_test(NAME cli_store COMMAND ${CMAKE_SOURCE_DIR}/tests/test_cli_store.sh $<TARGET_FILE:petri> $<TARGET_FILE:mkexp>)
