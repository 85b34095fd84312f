# Test helpers. Labels (../shared/STYLE-EXAMPLES.md section 7): unit, integration, fuzz,
# hw. Every test gets MS_SHARED_DATA (third-party vectors) and MS_SOURCE_DIR in its
# environment and runs from the project root.

# ms_add_unit_test(NAME SOURCES src... [LIBS lib...]) — a cmocka test program.
function(ms_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120
    ENVIRONMENT "MS_SHARED_DATA=${MS_SHARED_DATA};MS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# ms_add_fuzz_target(NAME SOURCES src... LIBS lib... CORPUS dir)
# With MS_FUZZ (clang): a libFuzzer binary, run for MS_FUZZ_SECONDS as a 'fuzz' test.
# Without: the same LLVMFuzzerTestOneInput linked to a small driver that replays the seed
# corpus, run as a 'unit' test, so every build checks the target still compiles and the
# seeds pass.
function(ms_add_fuzz_target name)
  cmake_parse_arguments(T "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  if(MS_FUZZ)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    set(workdir ${CMAKE_CURRENT_BINARY_DIR}/${name}.corpus)
    file(MAKE_DIRECTORY ${workdir})
    add_test(NAME ${name} COMMAND ${name} -max_total_time=${MS_FUZZ_SECONDS}
             -rss_limit_mb=1024 -print_final_stats=1 ${workdir} ${T_CORPUS})
    set_tests_properties(${name} PROPERTIES LABELS fuzz
                         TIMEOUT 600 WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}
                         ENVIRONMENT "MS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  else()
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/protocols/common/test/fuzz_replay_main.c)
    add_test(NAME ${name} COMMAND ${name} ${T_CORPUS})
    set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120
                         ENVIRONMENT "MS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  endif()
endfunction()

# ms_add_integration_test(NAME COMMAND cmd... [TIMEOUT s]) — a test that starts metersim
# or third-party clients; it must stop every process it starts by its PID.
function(ms_add_integration_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "COMMAND" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "MS_SHARED_DATA=${MS_SHARED_DATA};MS_SOURCE_DIR=${PROJECT_SOURCE_DIR};MS_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()
