# ctest script: every installed header stands on its own. Installs the build tree into a
# scratch prefix, then checks that
#   - the headers installed are exactly lib/include's (and the generated version.hpp): none
#     missing, no internal one (lib/src) among them;
#   - each compiles alone (a one-line .cpp including it, -fsyntax-only) with only the prefix and
#     Boost on the include path, as another project would compile it;
#   - none pulls in a private dependency's header (libpq, mongo-c-driver, libbson, rabbitmq-c),
#     even one a system include directory would find (amqp.h sits in /usr/include).
# Arguments: -DBUILD_DIR -DSOURCE_DIR (the project's) -DWORK_DIR -DCXX -DBOOST_INCLUDE_DIRS and
# -DDEFINITIONS (the library's interface definitions) and -DIMPLICIT_INCLUDE_DIRS (the compiler's
# own); lists joined with '|'.
cmake_minimum_required(VERSION 3.25)  # script mode: the policies of today (IN_LIST)
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} OUTPUT_QUIET
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "install failed")
endif()

file(GLOB_RECURSE installed RELATIVE ${prefix}/include ${prefix}/include/*)
file(GLOB_RECURSE public RELATIVE ${SOURCE_DIR}/lib/include ${SOURCE_DIR}/lib/include/*.hpp)
list(APPEND public cvgate/version.hpp)
list(SORT installed)
list(SORT public)
set(missing ${public})
list(REMOVE_ITEM missing ${installed})
set(extra ${installed})
list(REMOVE_ITEM extra ${public})
if(missing OR extra)
  message(FATAL_ERROR "installed headers differ from lib/include:\n  missing: ${missing}\n  not public: ${extra}")
endif()

string(REPLACE "|" ";" boost_dirs "${BOOST_INCLUDE_DIRS}")
string(REPLACE "|" ";" definitions "${DEFINITIONS}")
set(flags -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Werror -I${prefix}/include)
string(REPLACE "|" ";" implicit_dirs "${IMPLICIT_INCLUDE_DIRS}")
foreach(dir ${boost_dirs})
  if(NOT dir IN_LIST implicit_dirs)  # naming /usr/include again would break #include_next
    list(APPEND flags -isystem ${dir})
  endif()
endforeach()
foreach(definition ${definitions})
  list(APPEND flags -D${definition})
endforeach()
# Any header of these drivers, by the directories or names they install (cvgate's own, under
# the prefix, are not looked at: adapters/amqp_job_queue.hpp is no rabbitmq-c header).
set(private_pattern "(/libpq-fe\\.h|/postgresql/|/libmongoc[^/]*/|/libbson[^/]*/|/mongoc/|/bson/|/amqp\\.h|/amqp_[a-z_]+\\.h|/rabbitmq-c/)")

set(failed "")
foreach(header ${installed})
  string(MAKE_C_IDENTIFIER ${header} name)
  set(source ${WORK_DIR}/headers/${name}.cpp)
  file(WRITE ${source} "#include <${header}>\n")
  execute_process(COMMAND ${CXX} ${flags} -MD -MF ${WORK_DIR}/headers/${name}.d ${source}
                  RESULT_VARIABLE rc ERROR_VARIABLE errors)
  if(rc)
    string(APPEND failed "\n${header} does not compile on its own:\n${errors}")
    continue()
  endif()
  file(READ ${WORK_DIR}/headers/${name}.d dependencies)
  string(REGEX MATCHALL "[^ \\\n]+" dependencies "${dependencies}")
  foreach(dependency ${dependencies})
    string(FIND "${dependency}" "${prefix}/" under_prefix)
    if(NOT under_prefix EQUAL 0 AND dependency MATCHES "${private_pattern}")
      string(APPEND failed "\n${header} includes a private dependency's header: ${dependency}")
      break()
    endif()
  endforeach()
endforeach()
list(LENGTH installed count)
if(failed)
  message(FATAL_ERROR "of ${count} installed headers:${failed}")
endif()
message(STATUS "${count} installed headers, each compiles on its own with the prefix and Boost only")
