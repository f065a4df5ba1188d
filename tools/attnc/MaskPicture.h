//===- MaskPicture.h - an SVG of a mask and its tile classes ------*- C++ -*-===//
//
// `attnc viz` draws, for one (batch, head) of a call, the mask itself (kept pairs
// dark, masked ones light, pairs whose evaluation fails red) and, for each target,
// the tiles its kernel will use, coloured by class: empty (skipped), full (no
// mask_mod), partial (masked pair by pair), with the share of tiles and of pairs
// skipped. Shapes larger than 400 pairs a side are drawn from one sample per cell.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_TOOLS_ATTNC_MASKPICTURE_H
#define ATTNC_TOOLS_ATTNC_MASKPICTURE_H

#include "compiler/MaskTileClasses.h"

#include <functional>
#include <string>
#include <vector>

namespace attnc {

/// The tiles of one target.
struct TilePanel {
  std::string title; ///< e.g. "cpu: 64 x 64 tiles"
  int64_t blockQ = 0, blockKV = 0;
  std::vector<TileClass> classes; ///< row-major, as maskTileClasses returns them
};

/// How many tiles of each class, and the share of tiles and of pairs skipped.
struct TileCounts {
  int64_t empty = 0, full = 0, partial = 0;
  double tilesSkipped = 0, pairsSkipped = 0;
};
TileCounts countTiles(const TilePanel &panel, int64_t qLen, int64_t kvLen);

/// The SVG. `kept(q, kv)` is 1 for a kept pair, 0 for a masked one, -1 when
/// evaluating the mask fails there.
std::string maskPicture(const std::string &title, int64_t qLen, int64_t kvLen,
                        const std::function<int(int64_t, int64_t)> &kept,
                        const std::vector<TilePanel> &panels);

} // namespace attnc

#endif // ATTNC_TOOLS_ATTNC_MASKPICTURE_H
