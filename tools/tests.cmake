# tests of the petri commands that read an experiment (status, frontier,
# pick, export): tests/mkexp writes a synthetic experiment with the daemon's
# conventions, tests/test_cli_store.sh runs the commands on it
add_executable(mkexp ${CMAKE_SOURCE_DIR}/tests/mkexp.c)
target_link_libraries(mkexp PRIVATE petri_daemon petri_queue petri_frontier petri_grow petri_nn)
add_test(NAME cli_store COMMAND ${CMAKE_SOURCE_DIR}/tests/test_cli_store.sh $<TARGET_FILE:petri> $<TARGET_FILE:mkexp>)
# petri serve: its JSON API on a tiny search, hostile requests, damaged stores
# (tests/test_serve_api.sh, bash for its raw sockets)
add_test(NAME serve_api COMMAND bash ${CMAKE_SOURCE_DIR}/tests/test_serve_api.sh $<TARGET_FILE:petri>)
if(NOT PETRI_SANITIZE)
  # the page in Debian's Chromium (playwright-core from build/pw; skipped,
  # exit 77, when either is missing); heavy for a sanitizer build
  add_test(NAME serve_page COMMAND node ${CMAKE_SOURCE_DIR}/tests/serve_page.js $<TARGET_FILE:petri> ${CMAKE_BINARY_DIR}/serve_page.png)
  set_tests_properties(serve_page PROPERTIES SKIP_RETURN_CODE 77)
endif()
