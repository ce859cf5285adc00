# TNSC.cmake — compile TNS programs into C-callable static libraries from a
# CMake project (in the spirit of Halide's add_halide_library).
#
#   include(/path/to/TNSC.cmake)        # or: find_package(tnsc CONFIG)
#   tnsc_add_library(attn attention.tns HEADER attn.h)
#   target_link_libraries(app PRIVATE attn)   # app: #include "attn.h"
#
# tnsc_add_library(<target> FILE.tns [FILE2.tns ...]
#                  [HEADER name.h]            # default <target>.h
#                  [INSTANTIATE NAME:T ...]   # export generic NAME as NAME_T
#                  [TARGET_CPU cpu]           # native, x86-64-v3 (tnsc's default), ...
#                  [IMPORT_DIRS dir ...]      # tnsc -I: where imports are searched
#                  [DEPENDS file ...])        # extra inputs, e.g. imported .tns files
#
# At build time `tnsc obj` turns each FILE.tns into an object file and a C
# header in ${CMAKE_CURRENT_BINARY_DIR}/<target>.tnsc/. <target> is a STATIC
# library of those objects whose PUBLIC include path holds that folder and
# tns_runtime.h's folder, and whose link interface carries the TNS runtime
# (libtnsrt.a) and the system libraries it needs (OpenBLAS, LAPACKE, libm,
# pthread), as `tnsc config --cflags --libs` reports them at configure time.
#
# With one FILE the header is HEADER itself. With several, each FILE.tns gets
# its own FILE.h and HEADER includes them all. An INSTANTIATE NAME:T goes to
# the file that defines `def NAME`; one that no file defines (an imported
# generic such as std.nn's attention) goes to the first file.
#
# The header's path is in the target property TNSC_HEADER, the folder in
# TNSC_HEADER_DIR. The compiler is the cache variable TNSC_EXECUTABLE:
# find_package(tnsc) sets it to the installed tnsc; otherwise it is
# find_program(tnsc), beside this file first, then on PATH. The runtime is
# the imported target tnsc::runtime. A change to a FILE, to tnsc or to the
# standard library rebuilds; list other imported files under DEPENDS.

if(CMAKE_VERSION VERSION_LESS 3.20)
  message(FATAL_ERROR "TNSC.cmake needs CMake 3.20 or newer")
endif()
include_guard(GLOBAL)

set(_TNSC_MODULE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# Look beside this file first: an install (PREFIX/lib/cmake/tnsc/TNSC.cmake,
# or PREFIX/lib/<multiarch>/cmake/tnsc/) or the repository's build/, then PATH.
find_program(TNSC_EXECUTABLE tnsc
  HINTS "${_TNSC_MODULE_DIR}/../../../bin" "${_TNSC_MODULE_DIR}/../../../../bin"
        "${_TNSC_MODULE_DIR}/../build"
  DOC "The TNS compiler (tnsc) used by tnsc_add_library")

# tnsc::runtime: libtnsrt.a + system libraries, include path of tns_runtime.h.
function(_tnsc_runtime_target)
  if(NOT TNSC_EXECUTABLE OR NOT EXISTS "${TNSC_EXECUTABLE}")
    message(FATAL_ERROR "tnsc_add_library: tnsc not found (TNSC_EXECUTABLE="
      "'${TNSC_EXECUTABLE}'); pass -DTNSC_EXECUTABLE=/path/to/tnsc")
  endif()
  get_property(done GLOBAL PROPERTY _TNSC_RUNTIME_FOR)
  if(TARGET tnsc::runtime AND done STREQUAL TNSC_EXECUTABLE)
    return()
  elseif(TARGET tnsc::runtime)
    message(FATAL_ERROR "tnsc_add_library: TNSC_EXECUTABLE changed within one configure")
  endif()
  foreach(what cflags libs stdlib)
    execute_process(COMMAND "${TNSC_EXECUTABLE}" config --${what}
      OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc
      OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "tnsc_add_library: '${TNSC_EXECUTABLE} config --${what}' failed: ${err}")
    endif()
    set(${what} "${out}")
  endforeach()
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  separate_arguments(libs UNIX_COMMAND "${libs}")
  set(incs "")
  foreach(f IN LISTS cflags)
    if(f MATCHES "^-I(.+)$")
      list(APPEND incs "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  # The first word of --libs is the static runtime, the rest what it needs.
  list(POP_FRONT libs archive)
  if(NOT archive MATCHES "\\.a$" OR NOT EXISTS "${archive}")
    message(FATAL_ERROR "tnsc_add_library: no runtime archive in "
      "'${TNSC_EXECUTABLE} config --libs' (got '${archive}')")
  endif()
  add_library(tnsc::runtime STATIC IMPORTED GLOBAL)
  set_target_properties(tnsc::runtime PROPERTIES
    IMPORTED_LOCATION "${archive}"
    INTERFACE_INCLUDE_DIRECTORIES "${incs}"
    INTERFACE_LINK_LIBRARIES "${libs}")
  file(GLOB stdlib_files "${stdlib}/*.tns")
  set_property(GLOBAL PROPERTY _TNSC_RUNTIME_FOR "${TNSC_EXECUTABLE}")
  set_property(GLOBAL PROPERTY _TNSC_STDLIB_FILES "${stdlib_files}")
endfunction()

function(tnsc_add_library target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "HEADER;TARGET_CPU"
                        "INSTANTIATE;IMPORT_DIRS;DEPENDS")
  set(sources ${ARG_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "tnsc_add_library(${target}): no .tns file given")
  endif()
  if(NOT ARG_HEADER)
    set(ARG_HEADER "${target}.h")
  endif()
  _tnsc_runtime_target()
  get_property(stdlib_files GLOBAL PROPERTY _TNSC_STDLIB_FILES)

  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${target}.tnsc")
  file(MAKE_DIRECTORY "${dir}")
  list(LENGTH sources nsrc)

  set(common "")
  if(ARG_TARGET_CPU)
    list(APPEND common "--target-cpu=${ARG_TARGET_CPU}")
  endif()
  foreach(d IN LISTS ARG_IMPORT_DIRS)
    get_filename_component(d "${d}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND common -I "${d}")
  endforeach()
  set(extra_deps "")
  foreach(d IN LISTS ARG_DEPENDS)
    get_filename_component(d "${d}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND extra_deps "${d}")
  endforeach()

  # Which file each INSTANTIATE goes to (see the top of this file).
  set(abs_sources "")
  foreach(src IN LISTS sources)
    get_filename_component(src "${src}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND abs_sources "${src}")
  endforeach()
  list(GET abs_sources 0 first)
  foreach(spec IN LISTS ARG_INSTANTIATE)
    if(NOT spec MATCHES "^([A-Za-z_][A-Za-z0-9_]*):[a-z0-9,]+$")
      message(FATAL_ERROR "tnsc_add_library(${target}): INSTANTIATE takes NAME:TYPE, e.g. attention:f32 (got '${spec}')")
    endif()
    set(name "${CMAKE_MATCH_1}")
    set(owner "${first}")
    if(nsrc GREATER 1)
      foreach(src IN LISTS abs_sources)
        file(READ "${src}" text)
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${src}")
        if(text MATCHES "(^|\n)[ \t]*def[ \t]+${name}[ \t]*\\(")
          set(owner "${src}")
          break()
        endif()
      endforeach()
    endif()
    string(MD5 key "${owner}")
    list(APPEND inst_${key} --instantiate "${spec}")
  endforeach()

  set(objects "")
  set(headers "")
  set(stems "")
  foreach(src IN LISTS abs_sources)
    get_filename_component(stem "${src}" NAME_WE)
    if(stem IN_LIST stems)
      message(FATAL_ERROR "tnsc_add_library(${target}): two files named ${stem}.tns")
    endif()
    list(APPEND stems "${stem}")
    set(obj "${dir}/${stem}.o")
    if(nsrc EQUAL 1)
      set(hdr "${dir}/${ARG_HEADER}")
      get_filename_component(hdr_dir "${hdr}" DIRECTORY)
      file(MAKE_DIRECTORY "${hdr_dir}")
    else()
      set(hdr "${dir}/${stem}.h")
      if(hdr STREQUAL "${dir}/${ARG_HEADER}")
        message(FATAL_ERROR "tnsc_add_library(${target}): HEADER ${ARG_HEADER} clashes with the header of ${stem}.tns")
      endif()
    endif()
    string(MD5 key "${src}")
    file(RELATIVE_PATH shown "${CMAKE_SOURCE_DIR}" "${src}")
    add_custom_command(
      OUTPUT "${obj}" "${hdr}"
      COMMAND "${TNSC_EXECUTABLE}" obj "${src}" -o "${obj}" -H "${hdr}" ${common} ${inst_${key}}
      DEPENDS "${src}" "${TNSC_EXECUTABLE}" ${stdlib_files} ${extra_deps}
      COMMENT "tnsc obj ${shown}"
      VERBATIM)
    list(APPEND objects "${obj}")
    list(APPEND headers "${hdr}")
  endforeach()

  set(header "${dir}/${ARG_HEADER}")
  if(nsrc GREATER 1)
    string(MAKE_C_IDENTIFIER "TNS_${target}_${ARG_HEADER}" guard)
    string(TOUPPER "${guard}" guard)
    set(text "/* ${ARG_HEADER} — generated by TNSC.cmake for ${target}. Do not edit. */\n#ifndef ${guard}\n#define ${guard}\n")
    foreach(stem IN LISTS stems)
      string(APPEND text "#include \"${stem}.h\"\n")
    endforeach()
    string(APPEND text "#endif\n")
    file(CONFIGURE OUTPUT "${header}" CONTENT "${text}" @ONLY)
  endif()

  add_library(${target} STATIC ${objects} ${headers})
  set_source_files_properties(${objects} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  get_property(langs GLOBAL PROPERTY ENABLED_LANGUAGES)
  if("C" IN_LIST langs)
    set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C)
  elseif("CXX" IN_LIST langs)
    set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX)
  endif()
  set_target_properties(${target} PROPERTIES
    TNSC_HEADER "${header}" TNSC_HEADER_DIR "${dir}")
  target_include_directories(${target} PUBLIC "${dir}")
  target_link_libraries(${target} PUBLIC tnsc::runtime)
endfunction()
