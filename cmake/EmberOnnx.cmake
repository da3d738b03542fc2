# Detects the ONNX schema's protobuf classes (Debian's libonnx-dev) and libprotobuf for
# EMBER_ONNX = AUTO | ON | OFF and sets EMBER_ONNX_FOUND. Without them ember builds, jit/ traces
# and runs graphs, and ONNX export/import throw saying what to install (their tests say skipped).
set(EMBER_ONNX_FOUND OFF)
if(NOT EMBER_ONNX STREQUAL "OFF")
  find_package(Protobuf QUIET)
  find_library(EMBER_ONNX_PROTO_LIBRARY onnx_proto)
  find_path(EMBER_ONNX_INCLUDE_DIR onnx/onnx-ml.pb.h)
  if(Protobuf_FOUND AND EMBER_ONNX_PROTO_LIBRARY AND EMBER_ONNX_INCLUDE_DIR)
    set(EMBER_ONNX_FOUND ON)
    message(STATUS "ember: ONNX schema and protobuf ${Protobuf_VERSION} found; building ONNX export and import")
  elseif(EMBER_ONNX STREQUAL "ON")
    message(FATAL_ERROR "ember: EMBER_ONNX=ON but libonnx-dev or libprotobuf-dev was not found")
  else()
    message(STATUS "ember: libonnx-dev or libprotobuf-dev not found; ONNX export and import are not built")
  endif()
endif()
