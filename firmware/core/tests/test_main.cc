#include "mini_test.h"

int main(int argc, char** argv) { return mini_test::RunAll(argc > 1 ? argv[1] : nullptr); }
