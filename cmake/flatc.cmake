# refah_flatc_cpp(TARGET SCHEMA OUT_DIR): flatc's C++ header for one schema (OUT_DIR/<name>_generated.h,
# scoped enums) and a custom target TARGET that makes it, for the libraries that include it.
function(refah_flatc_cpp target schema out_dir)
  get_filename_component(name ${schema} NAME_WE)
  set(header ${out_dir}/${name}_generated.h)
  add_custom_command(
    OUTPUT ${header}
    COMMAND flatbuffers::flatc --cpp --scoped-enums -o ${out_dir} ${schema}
    DEPENDS ${schema} flatbuffers::flatc
    COMMENT "flatc ${name}.fbs")
  add_custom_target(${target} DEPENDS ${header})
endfunction()
