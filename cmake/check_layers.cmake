# Checks the include rules of the layers (docs/DESIGN.md, "Layers") over a
# source tree: run as `cmake -DSOURCE_DIR=<tree> -P check_layers.cmake`.
# Exits with an error listing every violation; the build runs it on the
# repository (target bnfold_layers, part of `all`), so a header included
# across a layer boundary fails the build.
#
# Rules, by the folder a file is in:
#   passes/, runtime/ir/     no oneDNN, no ONNX, no backend, no session
#   runtime/backend/         no passes, no ONNX import/export
#   runtime/backend/onednn/*.{h,cc} (the core): from kernels/ only what
#                            kernel.h and kernel_registry.h declare, i.e.
#                            nothing under kernels/
#   tools/                   only the public API (bnfold/...) and tools/
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "check_layers.cmake: set SOURCE_DIR")
endif()

set(violations "")

# check_layer(<glob patterns> <forbidden regex> <reason> [FLAT]): the files
# the patterns match (in subfolders too unless FLAT) may not include a
# header matching the regex.
function(check_layer globs forbidden reason)
  if(ARGV3 STREQUAL "FLAT")
    file(GLOB files RELATIVE ${SOURCE_DIR} ${globs})
  else()
    file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR} ${globs})
  endif()
  foreach(file IN LISTS files)
    file(STRINGS ${SOURCE_DIR}/${file} lines REGEX "^[ \t]*#[ \t]*include")
    foreach(line IN LISTS lines)
      if(line MATCHES "${forbidden}")
        string(STRIP "${line}" line)
        list(APPEND violations "${file}: ${line} (${reason})")
      endif()
    endforeach()
  endforeach()
  set(violations "${violations}" PARENT_SCOPE)
endfunction()

set(sources "*.h;*.cc")
macro(globs_in folder)
  set(g "")
  foreach(s IN LISTS sources)
    list(APPEND g "${SOURCE_DIR}/${folder}/${s}")
  endforeach()
endmacro()

globs_in(passes)
check_layer("${g}" "[<\"](oneapi/|dnnl|onnx/|runtime/backend/|runtime/onnx/|runtime/session|bnfold/session)"
            "passes depend on the IR only")
globs_in(runtime/ir)
check_layer("${g}" "[<\"](oneapi/|dnnl|onnx/|runtime/backend/|runtime/onnx/|passes/)"
            "the IR depends on nothing")
globs_in(runtime/backend)
check_layer("${g}" "[<\"](passes/|onnx/|runtime/onnx/)"
            "the backend never sees passes or ONNX")
set(g "${SOURCE_DIR}/runtime/backend/onednn/*.h;${SOURCE_DIR}/runtime/backend/onednn/*.cc")
check_layer("${g}" "\"runtime/backend/onednn/kernels/"
            "the backend core sees kernels through kernel.h and kernel_registry.h only" FLAT)
globs_in(tools)
check_layer("${g}" "\"(runtime|passes|tests)/"
            "tools use the public API (bnfold/*.h) only")

if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "layering violations:\n  ${text}")
endif()
