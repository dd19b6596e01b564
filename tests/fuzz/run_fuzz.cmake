# Runs a fuzz target for ctest (tests/fuzz/CMakeLists.txt), in one of two ways:
#   a campaign: -DFUZZER=exe -DSEEDS=dir -DWORK=dir -DSECONDS=n -DCRASHES=dir [-DREGRESSIONS=dir]
#     n seconds from the seeds (and the regression inputs), new inputs into WORK (emptied first),
#     a crashing input into CRASHES; prints the corpus size at the end.
#   a replay: -DFUZZER=exe -DREGRESSIONS=dir
#     every file in REGRESSIONS once (none, or no such folder: passes).
if(NOT DEFINED SECONDS)
  file(GLOB inputs LIST_DIRECTORIES false "${REGRESSIONS}/*")
  list(LENGTH inputs count)
  message(STATUS "${count} regression inputs in ${REGRESSIONS}")
  if(count EQUAL 0)
    return()
  endif()
  execute_process(COMMAND ${FUZZER} ${inputs} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "a regression input fails again (exit ${rc})")
  endif()
  return()
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}" "${CRASHES}")
set(corpora "${WORK}" "${SEEDS}")
if(IS_DIRECTORY "${REGRESSIONS}")
  list(APPEND corpora "${REGRESSIONS}")
endif()
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=30 -print_final_stats=1
          -artifact_prefix=${CRASHES}/ ${corpora}
  RESULT_VARIABLE rc)
file(GLOB found LIST_DIRECTORIES false "${WORK}/*")
list(LENGTH found count)
message(STATUS "new corpus inputs: ${count} in ${WORK}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the fuzzer stopped with exit ${rc}: the input is in ${CRASHES}; once fixed, keep it "
                      "under tests/fuzz/regressions/ (see the regress: tests)")
endif()
