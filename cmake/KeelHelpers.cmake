# keel_library(NAME DIR [DEPS ...]): a static library of every *.cc in DIR
# (non-recursive). Each folder of the tree is one library, so a half-written
# file in one folder never stops another folder from building.
function(keel_library name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  if(NOT sources)  # a folder whose code has not been written yet
    add_library(${name} INTERFACE)
    target_link_libraries(${name} INTERFACE keel_host_flags ${ARG_DEPS})
    return()
  endif()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC keel_host_flags ${ARG_DEPS})
endfunction()

# keel_unit_test(NAME [DEPS ...]): one GoogleTest executable of every *.cc in
# the current folder, registered with ctest (label "unit").
function(keel_unit_test name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(${name} ${sources})
  target_link_libraries(${name} PRIVATE keel_host_flags keel_test_support ${ARG_DEPS}
                                        GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 30)
endfunction()
