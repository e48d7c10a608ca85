// A tiny self-contained unit-test harness (no downloads, no exceptions).
//   TEST(name) { CHECK(cond); CHECK_EQ(a, b); CHECK_NEAR(a, b, tol); }
// The runner prints one line per failed check and closes with exactly
//   "<passed> passed, <failed> failed"
// counting test cases; it exits non-zero when any test failed.
#ifndef EDGESER_MINI_TEST_H_
#define EDGESER_MINI_TEST_H_

#include <cmath>
#include <cstdio>
#include <cstring>

namespace mini_test {

struct Case {
  const char* name;
  void (*fn)();
  Case* next;
};

inline Case*& Head() {
  static Case* head = nullptr;
  return head;
}
inline int& CurrentFailures() {
  static int n = 0;
  return n;
}

struct Registrar {
  Registrar(Case* c) {
    // Append to keep declaration order.
    Case** p = &Head();
    while (*p) p = &(*p)->next;
    *p = c;
  }
};

inline void Fail(const char* file, int line, const char* what) {
  std::printf("FAIL %s:%d: %s\n", file, line, what);
  ++CurrentFailures();
}

inline int RunAll(const char* filter) {
  int passed = 0, failed = 0;
  for (Case* c = Head(); c; c = c->next) {
    if (filter && !std::strstr(c->name, filter)) continue;
    CurrentFailures() = 0;
    c->fn();
    if (CurrentFailures() == 0) {
      ++passed;
      std::printf("ok   %s\n", c->name);
    } else {
      ++failed;
      std::printf("FAILED %s (%d checks)\n", c->name, CurrentFailures());
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace mini_test

#define TEST(name)                                                         \
  static void test_##name();                                               \
  static mini_test::Case test_case_##name = {#name, &test_##name, nullptr}; \
  static mini_test::Registrar test_reg_##name(&test_case_##name);          \
  static void test_##name()

#define CHECK(cond) \
  do {              \
    if (!(cond)) mini_test::Fail(__FILE__, __LINE__, #cond); \
  } while (0)

#define CHECK_EQ(a, b)                                                                 \
  do {                                                                                 \
    const auto va_ = (a);                                                              \
    const auto vb_ = (b);                                                              \
    if (!(va_ == vb_)) {                                                               \
      char msg_[256];                                                                  \
      std::snprintf(msg_, sizeof(msg_), "%s == %s (%lld vs %lld)", #a, #b,            \
                    static_cast<long long>(va_), static_cast<long long>(vb_));        \
      mini_test::Fail(__FILE__, __LINE__, msg_);                                       \
    }                                                                                  \
  } while (0)

#define CHECK_STREQ(a, b)                                                                    \
  do {                                                                                       \
    if (std::strcmp((a), (b)) != 0) {                                                        \
      char msg_[512];                                                                        \
      std::snprintf(msg_, sizeof(msg_), "%s == %s (\"%s\" vs \"%s\")", #a, #b, (a), (b));    \
      mini_test::Fail(__FILE__, __LINE__, msg_);                                             \
    }                                                                                        \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                       \
  do {                                                                                              \
    const double va_ = (a), vb_ = (b);                                                              \
    if (!(std::fabs(va_ - vb_) <= (tol))) {                                                         \
      char msg_[256];                                                                               \
      std::snprintf(msg_, sizeof(msg_), "%s ~= %s (%.9g vs %.9g, tol %g)", #a, #b, va_, vb_, (double)(tol)); \
      mini_test::Fail(__FILE__, __LINE__, msg_);                                                    \
    }                                                                                               \
  } while (0)

#endif  // EDGESER_MINI_TEST_H_
