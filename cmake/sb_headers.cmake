# Per-target include directories: a library exposes only its own headers, still included as
# "<dir>/<file>.hpp", through a directory of its own in the build tree that holds one symlink
# to its source folder. A target sees a layer's headers only if it links that layer (directly
# or through a PUBLIC dependency), so an undeclared dependency fails to build.
function(sb_expose_headers target dir)
  sb_expose_directory(${target} ${dir} ${CMAKE_SOURCE_DIR}/${dir})
endfunction()

# The same for a folder that is not <source>/<dir> (generated headers).
function(sb_expose_directory target dir source)
  set(root ${CMAKE_BINARY_DIR}/include-${target})
  get_filename_component(parent ${root}/${dir} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  file(CREATE_LINK ${source} ${root}/${dir} SYMBOLIC)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE ${root})
  elseif(type STREQUAL "EXECUTABLE")
    target_include_directories(${target} PRIVATE ${root})
  else()
    target_include_directories(${target} PUBLIC ${root})
  endif()
endfunction()
