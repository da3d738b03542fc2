# Detects Gloo (Debian's libgloo-dev) for EMBER_GLOO = AUTO | ON | OFF and sets EMBER_GLOO_FOUND.
# Without it ember builds with dist::LocalProcessGroup only, and the multi-process tests say skipped.
set(EMBER_GLOO_FOUND OFF)
if(NOT EMBER_GLOO STREQUAL "OFF")
  find_package(Gloo CONFIG QUIET PATHS /usr/share/cmake/Gloo)
  if(TARGET gloo)
    set(EMBER_GLOO_FOUND ON)
    message(STATUS "ember: Gloo found; building the gloo process group")
  elseif(EMBER_GLOO STREQUAL "ON")
    message(FATAL_ERROR "ember: EMBER_GLOO=ON but Gloo was not found (apt-get install libgloo-dev)")
  else()
    message(STATUS "ember: Gloo not found (libgloo-dev); multi-process training is not built")
  endif()
endif()
