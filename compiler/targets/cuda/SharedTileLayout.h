//===- SharedTileLayout.h - where a 16-bit tile's elements live in shared memory -*- C++ -*-===//
//
// Private to the CUDA target: the layout decision for the tensor-core kernel's
// workgroup tiles (Q, and the K and V rings), kept apart from the code that uses
// it. ldmatrix reads 8 rows of one 16-byte chunk per matrix; stored row-major, rows
// of 128 or 256 bytes put those 8 chunks in the same 4 banks (an 8-way conflict,
// 8 wavefronts instead of 1). Two layouts avoid it:
//
//   XOR swizzle (chunks per row C a power of two): chunk c of row r is stored at
//     chunk c ^ ((r / max(1, 8 / C)) % min(C, 8)). The 8 rows an ldmatrix phase
//     reads (or the 8 rows of one 128-byte line's worth) land in 8 distinct chunks
//     modulo 8, i.e. distinct banks; a row's chunks are only permuted, so 16-byte
//     cp.async writes of whole rows stay conflict-free. No extra memory.
//   Padding (other C, e.g. head dim 96): each row is one chunk longer; C + 1 is odd,
//     so 8 consecutive rows start in 8 distinct chunks modulo 8.
//
// Element (r, c) of the logical tile is at (r, column(r, c)) of the physical one,
// whose rows have physicalColumns() elements.
//
//===----------------------------------------------------------------------===//
#ifndef ATTNC_COMPILER_TARGETS_CUDA_SHAREDTILELAYOUT_H
#define ATTNC_COMPILER_TARGETS_CUDA_SHAREDTILELAYOUT_H

#include "compiler/codegen/KernelBuilder.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>

namespace attnc::cuda::detail {

class SharedTileLayout {
public:
  /// A tile of rows of `columns` 16-bit elements (a multiple of 8).
  explicit SharedTileLayout(int64_t columns)
      : columns(columns), xorSwizzle(swizzles(columns)),
        rowsPerGroup(std::max<int64_t>(1, 8 / (columns / 8))),
        groups(std::min<int64_t>(columns / 8, 8)) {}
  /// A tile of rows of `columns` elements (an even number of 16-byte chunks),
  /// always padded by one chunk: every element's address is then the lane's row
  /// and column plus constants, so a kernel's loads and stores of the tile share
  /// one address register per lane pattern (the backward kernel, which reads five
  /// tiles in as many operand forms and has no registers to spare for the
  /// swizzle's distinct addresses).
  static SharedTileLayout padded(int64_t columns) {
    SharedTileLayout layout(columns);
    layout.xorSwizzle = false;
    layout.padding = true;
    return layout;
  }

  /// Whether rows of `columns` elements are XOR-swizzled (a power-of-two count of
  /// 16-byte chunks), else padded by one chunk.
  static bool swizzles(int64_t columns) { return llvm::isPowerOf2_64(uint64_t(columns / 8)); }
  /// Elements per physical row of a tile of rows of `columns` elements.
  static int64_t physicalColumns(int64_t columns) {
    return swizzles(columns) ? columns : columns + 8;
  }
  /// Elements per physical row.
  int64_t physicalColumns() const {
    return padding ? columns + 8 : physicalColumns(columns);
  }
  /// Rows after which the swizzle repeats: rows r and r + rowPeriod() have the
  /// same physical columns.
  int64_t rowPeriod() const { return xorSwizzle ? rowsPerGroup * groups : 1; }

  /// The physical column of logical element (row, col) (index values).
  mlir::Value column(codegen::KernelBuilder &kb, mlir::Value row, mlir::Value col) const {
    return column(kb, row, col, 0);
  }

  /// The physical column of logical column laneCol + constCol (constCol a multiple
  /// of 8) of `row`, written so that the constant's high chunk bits stay an added
  /// constant: ((laneChunk + low) ^ key + high) * 8, with low + high = constCol / 8
  /// and low its part below the XOR's reach. Equal to column(row, laneCol +
  /// constCol) when laneChunk + low < min(chunks, 8) (ldmatrix lanes: laneChunk 0
  /// or 1, low even). A loop over k-steps then needs only min(chunks, 8) / 2
  /// distinct lane addresses, the rest being immediate offsets.
  mlir::Value column(codegen::KernelBuilder &kb, mlir::Value row, mlir::Value laneCol,
                     int64_t constCol) const {
    if (!xorSwizzle)
      return constCol ? kb.add(laneCol, kb.idx(constCol)) : laneCol;
    int64_t chunk = constCol / 8, low = chunk % groups, high = chunk - low;
    mlir::Value laneChunk = kb.divc(laneCol, 8);
    if (low)
      laneChunk = kb.add(laneChunk, kb.idx(low));
    mlir::Value key = kb.remc(kb.divc(row, rowsPerGroup), groups);
    mlir::Value swizzled = mlir::arith::XOrIOp::create(kb.b, kb.loc, laneChunk, key);
    if (high)
      swizzled = kb.add(swizzled, kb.idx(high));
    return kb.add(kb.mulc(swizzled, 8), kb.remc(laneCol, 8));
  }

private:
  int64_t columns;
  bool xorSwizzle;
  bool padding = false; ///< padded even where the chunks are a power of two
  int64_t rowsPerGroup, groups;
};

} // namespace attnc::cuda::detail

#endif // ATTNC_COMPILER_TARGETS_CUDA_SHAREDTILELAYOUT_H
