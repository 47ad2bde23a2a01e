# Warnings are errors, everywhere in this project (never in consumers of the installed package).
add_library(cvgate_warnings INTERFACE)
target_compile_options(cvgate_warnings INTERFACE -Wall -Wextra -Wpedantic $<$<BOOL:${CVGATE_WERROR}>:-Werror>)
