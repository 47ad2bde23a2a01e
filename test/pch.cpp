// Compiles nothing of its own: the target it belongs to (cvgate_test_pch, test/CMakeLists.txt)
// only makes the precompiled header every test program reuses.
