# The layering check (cmake/check_layers.cmake) on a small tree with two
# deliberate violations -- a pass including a oneDNN header, the CLI
# including an internal header -- must fail and name both; the same tree
# without them must pass. Run as
#   cmake -DCHECKER=<check_layers.cmake> -DWORK_DIR=<scratch dir> -P check_layers_test.cmake
set(tree ${WORK_DIR}/tree)
file(REMOVE_RECURSE ${tree})
file(WRITE ${tree}/passes/good_pass.cc "#include \"passes/pass.h\"\n#include \"runtime/ir/graph.h\"\n")
file(WRITE ${tree}/tools/cmd_good.cc "#include \"bnfold/session.h\"\n#include \"tools/cli.h\"\n")
file(WRITE ${tree}/runtime/backend/onednn/planner.cc
     "#include \"runtime/backend/onednn/kernel_registry.h\"\n")

execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${tree} -P ${CHECKER}
                RESULT_VARIABLE clean_result ERROR_VARIABLE clean_output)
if(NOT clean_result EQUAL 0)
  message(FATAL_ERROR "a tree that keeps the layers was refused:\n${clean_output}")
endif()

file(WRITE ${tree}/passes/bad_pass.cc "#include \"passes/pass.h\"\n#include \"oneapi/dnnl/dnnl.hpp\"\n")
file(WRITE ${tree}/tools/cmd_bad.cc "#include \"tools/cli.h\"\n#include \"runtime/common/half.h\"\n")
file(WRITE ${tree}/runtime/backend/onednn/executor.cc
     "#include \"runtime/backend/onednn/kernels/support/kernel_util.h\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${tree} -P ${CHECKER}
                RESULT_VARIABLE bad_result ERROR_VARIABLE bad_output)
if(bad_result EQUAL 0)
  message(FATAL_ERROR "layering violations were not caught")
endif()
foreach(expected
        "passes/bad_pass.cc: #include \"oneapi/dnnl/dnnl.hpp\""
        "tools/cmd_bad.cc: #include \"runtime/common/half.h\""
        "runtime/backend/onednn/executor.cc: #include \"runtime/backend/onednn/kernels/support/kernel_util.h\"")
  string(FIND "${bad_output}" "${expected}" at)
  if(at LESS 0)
    message(FATAL_ERROR "the violation '${expected}' was not reported:\n${bad_output}")
  endif()
endforeach()
foreach(allowed "good_pass.cc" "cmd_good.cc" "planner.cc")
  string(FIND "${bad_output}" "${allowed}" at)
  if(at GREATER_EQUAL 0)
    message(FATAL_ERROR "'${allowed}' keeps the layers but was reported:\n${bad_output}")
  endif()
endforeach()
message(STATUS "layering check: 3 violations caught, 3 clean files passed")
