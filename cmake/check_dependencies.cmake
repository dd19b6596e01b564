# The dependency check (docs/ARCHITECTURE.md, "Folders and dependencies"). The folders are ranked
#   ledger < projections < replay < programme < server < tools
# and a folder may include only from itself and from the folders ranked below it. Every
# #include "..." in those folders (and every #include <...> naming one of them) is read; a quoted
# include is looked up beside the including file first, then from the repository's top. A header is
# ranked by the folder its path names, so generated ones count too (server/protocol_generated.h is
# server's). tests/ may include anything and is not read. Any include of a folder above fails the
# check, with the file, the line and the include. A folder with a CMakeLists.txt that is not ranked
# fails it too, so a new folder gets its place in the order.
#   cmake -DSOURCE_DIR=<repository> [-DSTAMP=<file touched when the check passes>] -P check_dependencies.cmake
cmake_minimum_required(VERSION 3.25)

set(ranked ledger projections replay programme server tools)
set(unchecked tests)  # above every ranked folder: may include anything, and nothing may include it
set(order "ledger < projections < replay < programme < server < tools")

if(NOT SOURCE_DIR OR NOT IS_DIRECTORY "${SOURCE_DIR}")
  message(FATAL_ERROR "check_dependencies: -DSOURCE_DIR=<repository> is required")
endif()

# The line number of the first occurrence of `text` in `file`.
function(line_of file text out)
  file(READ "${SOURCE_DIR}/${file}" content)
  string(FIND "${content}" "${text}" offset)
  string(SUBSTRING "${content}" 0 ${offset} before)
  string(LENGTH "${before}" with_newlines)
  string(REPLACE "\n" "" before "${before}")
  string(LENGTH "${before}" without_newlines)
  math(EXPR line "${with_newlines} - ${without_newlines} + 1")
  set(${out} ${line} PARENT_SCOPE)
endfunction()

# The repository path an include names: beside the including file if such a file exists there,
# else from the repository's top; "./" and "../" resolved.
function(resolve_include file included out)
  get_filename_component(dir "${file}" DIRECTORY)
  if(EXISTS "${SOURCE_DIR}/${dir}/${included}")
    set(path "${dir}/${included}")
  else()
    set(path "${included}")
  endif()
  cmake_path(NORMAL_PATH path)
  set(${out} "${path}" PARENT_SCOPE)
endfunction()

set(errors 0)
set(files_read 0)
set(include_pattern "^[ \t]*#[ \t]*include[ \t]*([\"<])([^\">]+)[\">]")

file(GLOB top_level LIST_DIRECTORIES true RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/*")
foreach(folder IN LISTS top_level)
  if(EXISTS "${SOURCE_DIR}/${folder}/CMakeLists.txt" AND NOT folder IN_LIST ranked AND NOT folder IN_LIST unchecked)
    message(NOTICE "${folder}/CMakeLists.txt:1: error: ${folder}/ has no place in the dependency order "
                   "(${order}); add it to cmake/check_dependencies.cmake")
    math(EXPR errors "${errors} + 1")
  endif()
endforeach()

foreach(folder IN LISTS ranked)
  list(FIND ranked ${folder} folder_rank)
  file(GLOB_RECURSE sources LIST_DIRECTORIES false RELATIVE "${SOURCE_DIR}"
       "${SOURCE_DIR}/${folder}/*.h" "${SOURCE_DIR}/${folder}/*.hpp" "${SOURCE_DIR}/${folder}/*.cc"
       "${SOURCE_DIR}/${folder}/*.cpp")
  list(SORT sources)
  foreach(file IN LISTS sources)
    math(EXPR files_read "${files_read} + 1")
    file(STRINGS "${SOURCE_DIR}/${file}" lines REGEX "${include_pattern}" ENCODING UTF-8)
    foreach(line IN LISTS lines)
      if(NOT line MATCHES "${include_pattern}")
        continue()
      endif()
      set(quote "${CMAKE_MATCH_1}")
      set(included "${CMAKE_MATCH_2}")
      if(quote STREQUAL "\"")
        resolve_include("${file}" "${included}" path)
      else()
        set(path "${included}")  # <...>: a project header only if it names a ranked folder
      endif()
      if(path MATCHES "^\\.\\./")
        set(target_rank 99)
        set(target "outside the repository")
      elseif(path MATCHES "^([^/]+)/")
        set(target "${CMAKE_MATCH_1}")
        list(FIND ranked "${target}" target_rank)
        if(target IN_LIST unchecked)
          set(target_rank 99)
        endif()
      else()
        set(target_rank -1)  # a library's header
      endif()
      if(target_rank GREATER folder_rank)
        line_of("${file}" "${line}" line_number)
        string(STRIP "${line}" text)
        if(target STREQUAL "outside the repository")
          set(why "it reaches outside the repository")
        else()
          set(why "${folder}/ may not include from ${target}/, which is above it")
        endif()
        message(NOTICE "${file}:${line_number}: error: ${text}: ${why} (${order})")
        math(EXPR errors "${errors} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()

if(errors GREATER 0)
  message(FATAL_ERROR "dependency check: ${errors} error(s); a folder includes only from itself and from "
                      "the folders to its left in ${order} (docs/ARCHITECTURE.md)")
endif()
message(STATUS "dependency check: ${files_read} files of ${order}: no include points upward")
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
