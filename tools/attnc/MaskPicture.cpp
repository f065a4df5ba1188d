//===- MaskPicture.cpp - an SVG of a mask and its tile classes -------------===//
#include "tools/attnc/MaskPicture.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace attnc {

namespace {

constexpr int64_t kMaxCells = 400; ///< cells per side of the mask panel
constexpr double kPanel = 400;     ///< pixels of the longer side of a panel

/// printf into a string.
template <typename... Args> std::string format(const char *f, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

/// The panel's pixel size for a Q x KV plane (the longer side kPanel pixels).
std::pair<double, double> panelSize(int64_t qLen, int64_t kvLen) {
  double scale = kPanel / double(std::max(qLen, kvLen));
  return {std::max(4.0, double(kvLen) * scale), std::max(4.0, double(qLen) * scale)};
}

const char *classColor(TileClass c) {
  return c == TileClass::Empty ? "#e0e0e0" : c == TileClass::Full ? "#4caf50" : "#ff9800";
}

/// The mask panel at (x0, y0): one rectangle per cell, kept pairs dark.
void drawMask(std::ostream &os, double x0, double y0, int64_t qLen, int64_t kvLen,
              const std::function<int(int64_t, int64_t)> &kept) {
  auto [w, h] = panelSize(qLen, kvLen);
  int64_t rows = std::min(qLen, kMaxCells), cols = std::min(kvLen, kMaxCells);
  double cw = w / double(cols), ch = h / double(rows);
  os << format("<g id=\"mask\" data-rows=\"%lld\" data-cols=\"%lld\">\n", (long long)rows,
               (long long)cols);
  // One rectangle per run of equal cells in a row (masked cells are the background).
  for (int64_t r = 0; r < rows; ++r) {
    int64_t q = (2 * r + 1) * qLen / (2 * rows);
    for (int64_t c = 0; c < cols;) {
      int k = kept(q, (2 * c + 1) * kvLen / (2 * cols));
      int64_t end = c + 1;
      while (end < cols && kept(q, (2 * end + 1) * kvLen / (2 * cols)) == k)
        ++end;
      if (k != 0)
        os << format("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                     "fill=\"%s\"/>\n",
                     x0 + double(c) * cw, y0 + double(r) * ch, double(end - c) * cw + 0.05,
                     ch + 0.05, k > 0 ? "#1f3a93" : "#e53935");
      c = end;
    }
  }
  os << "</g>\n";
}

/// One target's tile panel at (x0, y0).
void drawTiles(std::ostream &os, double x0, double y0, int64_t qLen, int64_t kvLen,
               const TilePanel &panel) {
  auto [w, h] = panelSize(qLen, kvLen);
  TileCounts n = countTiles(panel, qLen, kvLen);
  int64_t cols = (kvLen + panel.blockKV - 1) / panel.blockKV;
  double sx = w / double(kvLen), sy = h / double(qLen);
  os << format("<g class=\"tiles\" data-title=\"%s\" data-empty=\"%lld\" data-full=\"%lld\" "
               "data-partial=\"%lld\">\n",
               panel.title.c_str(), (long long)n.empty, (long long)n.full, (long long)n.partial);
  for (size_t i = 0; i < panel.classes.size(); ++i) {
    int64_t r = int64_t(i) / cols, c = int64_t(i) % cols;
    int64_t q0 = r * panel.blockQ, k0 = c * panel.blockKV;
    int64_t q1 = std::min(qLen, q0 + panel.blockQ), k1 = std::min(kvLen, k0 + panel.blockKV);
    os << format("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\" "
                 "stroke=\"#ffffff\" stroke-width=\"0.5\"/>\n",
                 x0 + double(k0) * sx, y0 + double(q0) * sy, double(k1 - k0) * sx,
                 double(q1 - q0) * sy, classColor(panel.classes[i]));
  }
  os << "</g>\n";
}

} // namespace

TileCounts countTiles(const TilePanel &panel, int64_t qLen, int64_t kvLen) {
  TileCounts n;
  int64_t cols = (kvLen + panel.blockKV - 1) / panel.blockKV, skippedPairs = 0;
  for (size_t i = 0; i < panel.classes.size(); ++i) {
    TileClass c = panel.classes[i];
    (c == TileClass::Empty ? n.empty : c == TileClass::Full ? n.full : n.partial)++;
    if (c != TileClass::Empty)
      continue;
    int64_t r = int64_t(i) / cols, k = int64_t(i) % cols;
    skippedPairs += (std::min(qLen, (r + 1) * panel.blockQ) - r * panel.blockQ) *
                    (std::min(kvLen, (k + 1) * panel.blockKV) - k * panel.blockKV);
  }
  int64_t total = n.empty + n.full + n.partial;
  n.tilesSkipped = total ? double(n.empty) / double(total) : 0;
  n.pairsSkipped = double(skippedPairs) / (double(qLen) * double(kvLen));
  return n;
}

std::string maskPicture(const std::string &title, int64_t qLen, int64_t kvLen,
                        const std::function<int(int64_t, int64_t)> &kept,
                        const std::vector<TilePanel> &panels) {
  auto [w, h] = panelSize(qLen, kvLen);
  double margin = 20, top = 60, labelH = 40;
  double width = margin + double(panels.size() + 1) * (w + margin);
  double height = top + h + labelH + margin;
  std::ostringstream os;
  os << format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"13\">\n",
               width, height);
  os << format("<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
  os << "<text x=\"20\" y=\"24\" font-size=\"16\">" << title << "</text>\n";
  os << format("<text x=\"20\" y=\"44\" fill=\"#555555\">rows: q_idx 0..%lld (down); columns: "
               "kv_idx 0..%lld (right). Tiles: grey empty (skipped), green full (no "
               "mask_mod), orange partial.</text>\n",
               (long long)(qLen - 1), (long long)(kvLen - 1));
  double x = margin;
  os << format("<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#dde3f0\"/>\n",
               x, top, w, h);
  drawMask(os, x, top, qLen, kvLen, kept);
  os << format("<text x=\"%.2f\" y=\"%.2f\">mask: kept pairs dark</text>\n", x,
               top + h + 18);
  for (const TilePanel &panel : panels) {
    x += w + margin;
    drawTiles(os, x, top, qLen, kvLen, panel);
    TileCounts n = countTiles(panel, qLen, kvLen);
    os << format("<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", x, top + h + 18, panel.title.c_str());
    os << format("<text x=\"%.2f\" y=\"%.2f\" fill=\"#555555\">%.1f%% of tiles, %.1f%% of "
                 "pairs skipped</text>\n",
                 x, top + h + 34, 100 * n.tilesSkipped, 100 * n.pairsSkipped);
  }
  os << "</svg>\n";
  return os.str();
}

} // namespace attnc
