// edgeser_core_cli: drives the firmware core from stdin so Python can compare
// it with its own reference (tests/test_firmware_core.py). One command per
// line, whitespace-separated; one output line per command:
//
//   map NUM DEN OFFSET raw...                 -> int8 per raw (frontend mapping)
//   requant S_IN Z_IN S_OUT Z_OUT q...        -> int8 per q
//   qm REAL                                   -> "multiplier shift"
//   pool K D S_IN Z_IN S_OUT Z_OUT v[K*D]...  -> D pooled int8 (mean, requantised)
//   post SCALE ZP q...                        -> "argmax confidence p..." (softmax)
//   smooth MODE ALPHA HIST C T p[T*C]...      -> T lines "argmax confidence s..."
//   json T_MS EMOTION CONF p...               -> the decision JSON line
//   bench NAME us...                          -> the BENCH stage line
//   crc HEXBYTES                              -> crc32 as unsigned decimal
// Floats are printed with %.9g; errors print "error <reason>".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sstream>
#include <vector>

#include "edgeser/crc32.h"
#include "edgeser/pooling.h"
#include "edgeser/postprocess.h"
#include "edgeser/quant.h"
#include "edgeser/serial_format.h"

using namespace edgeser;

namespace {

constexpr size_t kMaxClasses = 32;
constexpr size_t kMaxHistory = 64;

void PrintInts(const std::vector<int>& v) {
  for (size_t i = 0; i < v.size(); ++i) std::printf(i ? " %d" : "%d", v[i]);
  std::printf("\n");
}

void PrintDecision(const Decision& d, const float* p, size_t n) {
  std::printf("%zu %.9g", d.index, static_cast<double>(d.confidence));
  for (size_t i = 0; i < n; ++i) std::printf(" %.9g", static_cast<double>(p[i]));
  std::printf("\n");
}

bool Run(const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  if (!(in >> cmd)) return true;  // blank line
  if (cmd == "map") {
    long num, den, off, raw;
    in >> num >> den >> off;
    const Int8Mapping m{static_cast<int32_t>(num), static_cast<int32_t>(den), static_cast<int32_t>(off)};
    std::vector<int> out;
    while (in >> raw) out.push_back(MapFrontendValue(static_cast<uint16_t>(raw), m));
    PrintInts(out);
  } else if (cmd == "requant") {
    float s_in, s_out;
    long z_in, z_out, q;
    in >> s_in >> z_in >> s_out >> z_out;
    const Requantizer r = Requantizer::Make(s_in, static_cast<int32_t>(z_in), s_out, static_cast<int32_t>(z_out));
    std::vector<int> out;
    while (in >> q) out.push_back(r.Apply(static_cast<int32_t>(q)));
    PrintInts(out);
  } else if (cmd == "qm") {
    double real;
    in >> real;
    const QuantizedMultiplier qm = QuantizeMultiplier(real);
    std::printf("%ld %d\n", static_cast<long>(qm.multiplier), qm.shift);
  } else if (cmd == "pool") {
    size_t k, d;
    float s_in, s_out;
    long z_in, z_out, v;
    in >> k >> d >> s_in >> z_in >> s_out >> z_out;
    std::vector<int8_t> emb;
    while (in >> v) emb.push_back(static_cast<int8_t>(v));
    if (k == 0 || d == 0 || emb.size() != k * d) {
      std::printf("error pool needs K*D values\n");
      return true;
    }
    Requantizer r = Requantizer::Make(s_in, static_cast<int32_t>(z_in), s_out, static_cast<int32_t>(z_out),
                                      static_cast<int32_t>(k));
    r.identity = false;
    std::vector<int8_t> out(d);
    PoolMean(emb.data(), k, d, r, out.data());
    std::vector<int> o(out.begin(), out.end());
    PrintInts(o);
  } else if (cmd == "post") {
    float scale;
    long zp, q;
    in >> scale >> zp;
    std::vector<int8_t> logits;
    while (in >> q) logits.push_back(static_cast<int8_t>(q));
    if (logits.empty() || logits.size() > kMaxClasses) {
      std::printf("error post needs 1..%zu logits\n", kMaxClasses);
      return true;
    }
    float probs[kMaxClasses];
    const Decision dec = Postprocess(logits.data(), logits.size(), scale, static_cast<int32_t>(zp), probs);
    PrintDecision(dec, probs, logits.size());
  } else if (cmd == "smooth") {
    int mode;
    float alpha, p;
    size_t hist, c, t;
    in >> mode >> alpha >> hist >> c >> t;
    std::vector<float> probs;
    while (in >> p) probs.push_back(p);
    if (c == 0 || c > kMaxClasses || probs.size() != c * t) {
      std::printf("error smooth needs T*C values\n");
      return true;
    }
    // One fixed-capacity smoother; the class count only limits what is read.
    TemporalSmoother<kMaxClasses, kMaxHistory> s(mode == 1 ? SmoothingMode::kMean : SmoothingMode::kEma, alpha,
                                                 hist);
    float frame[kMaxClasses] = {0}, out[kMaxClasses];
    for (size_t i = 0; i < t; ++i) {
      for (size_t j = 0; j < c; ++j) frame[j] = probs[i * c + j];
      // Unused classes stay 0 and never win the argmax over the first c.
      const Decision full = s.Update(frame, out);
      Decision d;
      d.index = Argmax(out, c);
      d.confidence = out[d.index];
      (void)full;
      PrintDecision(d, out, c);
    }
  } else if (cmd == "json") {
    unsigned long long t_ms;
    std::string emotion;
    float conf, p;
    in >> t_ms >> emotion >> conf;
    std::vector<float> probs;
    while (in >> p) probs.push_back(p);
    char buf[1024];
    if (FormatDecisionJson(buf, sizeof(buf), t_ms, emotion.c_str(), conf, probs.data(), probs.size()) == 0) {
      std::printf("error line too long\n");
      return true;
    }
    std::printf("%s\n", buf);
  } else if (cmd == "bench") {
    static std::string name;
    in >> name;
    StageStats s{name.c_str(), 0, 0, 0, 0};
    unsigned long us;
    while (in >> us) s.Add(static_cast<uint32_t>(us));
    char buf[256];
    FormatBenchStage(buf, sizeof(buf), s);
    std::printf("%s\n", buf);
  } else if (cmd == "crc") {
    std::string hex;
    in >> hex;
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
      bytes.push_back(static_cast<uint8_t>(std::strtoul(hex.substr(i, 2).c_str(), nullptr, 16)));
    std::printf("%lu\n", static_cast<unsigned long>(Crc32(bytes.data(), bytes.size())));
  } else {
    std::printf("error unknown command %s\n", cmd.c_str());
  }
  return true;
}

}  // namespace

int main() {
  char line[1 << 16];
  std::string acc;
  while (std::fgets(line, sizeof(line), stdin)) {
    acc += line;
    if (acc.empty() || acc.back() != '\n') continue;  // long line: keep reading
    Run(acc);
    acc.clear();
    std::fflush(stdout);
  }
  if (!acc.empty()) Run(acc);
  return 0;
}
