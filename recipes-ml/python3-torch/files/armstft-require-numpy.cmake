# Included by python3-torch's CMake run at the end of project(Torch) (CMAKE_PROJECT_Torch_INCLUDE in the
# toolchain file the recipe writes). PyTorch's dependency scan only warns when it finds no NumPy and then
# builds torch without NumPy support, which armstft needs on the board. This file defers a check to the
# end of the top-level CMakeLists.txt, after that scan: configuring stops unless USE_NUMPY ended up ON
# and NumPy's headers are the target's (ARMSTFT_TARGET_NUMPY_INCLUDE_DIR), not the build host's.
function(armstft_require_target_numpy)
    if(NOT USE_NUMPY)
        message(FATAL_ERROR "python3-torch: USE_NUMPY: expected ON, got '${USE_NUMPY}' "
                            "(torch would be built without NumPy support)")
    endif()
    # FindPython's result if it ran, else its input (the cache entry the toolchain file forces)
    if(DEFINED Python_NumPy_INCLUDE_DIRS)
        set(_got "${Python_NumPy_INCLUDE_DIRS}")
    else()
        set(_got "${Python_NumPy_INCLUDE_DIR}")
    endif()
    get_filename_component(_found "${_got}" REALPATH)
    get_filename_component(_want "${ARMSTFT_TARGET_NUMPY_INCLUDE_DIR}" REALPATH)
    if(_got STREQUAL "" OR NOT _found STREQUAL _want)
        message(FATAL_ERROR "python3-torch: NumPy headers: expected the target's ${_want}, got '${_got}'")
    endif()
    # FindPython accepts a given Python_NumPy_INCLUDE_DIR without looking inside it
    if(NOT EXISTS "${_found}/numpy/arrayobject.h")
        message(FATAL_ERROR "python3-torch: ${_found}/numpy/arrayobject.h: expected the target's "
                            "NumPy header, got no such file (python3-numpy in DEPENDS?)")
    endif()
    # read by the recipe's do_compile:append: the check ran in this configure step
    set(ARMSTFT_NUMPY_CHECKED "${_found}" CACHE INTERNAL "python3-torch: NumPy checked at configure time")
    message(STATUS "python3-torch: USE_NUMPY=ON with the target's NumPy headers ${_found}")
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL armstft_require_target_numpy)
