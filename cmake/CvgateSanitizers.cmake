# ASan + UBSan for the whole build tree when CVGATE_SANITIZE is on (the `asan` preset).
if(CVGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
