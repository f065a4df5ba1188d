//===- AttnFlashOps.td - tile ops of the flash form ----------*- tablegen -*-===//
//
// The flash form: after `attn-tile-flash`, an attn.attention becomes a parallel loop
// over (batch, head, query tile) with an inner loop over key tiles, whose body is
// made of the tile ops below. They work on memrefs (destination-passing: scratch
// tiles are operands) and say *what* a step computes, not how; each target lowers
// them to its own code (vector micro-kernels on the CPU, mma fragments on the GPU).
// A tile has BQ rows (queries) and BK columns (keys); rows past Q_LEN and columns
// past KV_LEN are padding that every op ignores or masks.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_FLASH_OPS_TD
#define ATTN_FLASH_OPS_TD

include "dialect/AttnDialect.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Attn_F32Tile2D : MemRefRankOf<[F32], [2]>;
def Attn_F32Tile1D : MemRefRankOf<[F32], [1]>;
def Attn_Tensor4D : MemRefRankOf<[F32, F16, BF16], [4]>;

def Attn_TileInitOp : Attn_Op<"tile_init"> {
  let summary = "Initialises the running state of a query tile";
  let description = [{
    Sets the accumulator to 0, the running maximum `m` to -inf and the running sum
    `l` to 0.

    ```mlir
    attn.tile_init %acc, %m, %l : memref<64x64xf32>, memref<64xf32>, memref<64xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_F32Tile2D, "", [MemWrite]>:$acc,
                       Arg<Attn_F32Tile1D, "", [MemWrite]>:$m,
                       Arg<Attn_F32Tile1D, "", [MemWrite]>:$l);
  let assemblyFormat = "$acc `,` $m `,` $l attr-dict `:` type($acc) `,` type($m) `,` type($l)";
}

def Attn_TileScoresOp : Attn_Op<"tile_scores"> {
  let summary = "Computes a score tile: scale * Q_tile · K_tileᵀ";
  let description = [{
    `s[i, j] = scale * sum_d q[b, h, q0 + i, d] * k[b, g, k0 + j, d]` (`_` in the
    assembly stands for the same batch index) for every row and
    column of the tile that lies inside the sequences; f16/bf16 inputs are converted
    to f32 and accumulation is f32.

    ```mlir
    attn.tile_scores %q[%b, %h, %q0], %k[_, %g, %k0] into %s scale(1.250000e-01)
        : memref<?x8x?x64xbf16>, memref<?x2x?x64xbf16>, memref<64x64xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_Tensor4D, "", [MemRead]>:$q,
                       Arg<Attn_Tensor4D, "", [MemRead]>:$k,
                       Arg<Attn_F32Tile2D, "", [MemWrite]>:$s,
                       Index:$b, Index:$h, Index:$g, Index:$q0, Index:$k0,
                       F64Attr:$scale);
  let assemblyFormat = [{
    $q `[` $b `,` $h `,` $q0 `]` `,` $k `[` `_` `,` $g `,` $k0 `]` `into` $s
    `scale` `(` $scale `)` attr-dict `:` type($q) `,` type($k) `,` type($s)
  }];
}

def Attn_TileMaskClassOp : Attn_Op<"tile_mask_class", [Pure,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Classifies a (query tile, key tile) pair by its mask";
  let description = [{
    Evaluates the variant's `mask_mod` over the index intervals
    `q_idx ∈ [q0, q1]`, `kv_idx ∈ [k0, k1]` (abstract interpretation) and returns
    0 when no pair can be kept (the tile is skipped), 1 when every pair is kept (the
    mask need not be evaluated per element), 2 otherwise.

    ```mlir
    %c = attn.tile_mask_class @causal(%b, %h, %q0, %q1, %k0, %k1, %qlen, %kvlen) : index
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$variant, Index:$b, Index:$h, Index:$q0,
                       Index:$q1, Index:$k0, Index:$k1, Index:$q_len, Index:$kv_len,
                       Variadic<AnyTypeOf<[I32, I64, F32]>>:$scalars);
  let results = (outs Index:$result);
  let assemblyFormat = [{
    $variant `(` $b `,` $h `,` $q0 `,` $q1 `,` $k0 `,` $k1 `,` $q_len `,` $kv_len `)`
    (`scalars` `(` $scalars^ `:` type($scalars) `)`)? attr-dict `:` type($result)
  }];
}

def Attn_TileModsOp : Attn_Op<"tile_mods", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Applies score_mod and mask_mod to a score tile in place";
  let description = [{
    For each element: columns with `k0 + j >= kv_len` become -inf; otherwise
    `s = score_mod(s, b, h, q0 + i, k0 + j)`, and when `apply_mask` is set, pairs that
    `mask_mod` rejects become -inf. Buffer reads outside a buffer record an error in
    `status` (code = 1 + the buffer's position, then the indices) and read nothing.

    ```mlir
    attn.tile_mods @alibi %s(%b, %h, %q0, %k0, %qlen, %kvlen) buffers(%slopes : memref<8xf32>)
        status(%st) {apply_mask} : memref<64x64xf32>, memref<4xi64>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$variant,
                       Arg<Attn_F32Tile2D, "", [MemRead, MemWrite]>:$s,
                       Index:$b, Index:$h, Index:$q0, Index:$k0, Index:$q_len,
                       Index:$kv_len,
                       Variadic<AnyTypeOf<[I32, I64, F32]>>:$scalars,
                       Arg<Variadic<MemRefOf<[F32, I32, I64]>>, "", [MemRead]>:$buffers,
                       Arg<MemRefRankOf<[I64], [1]>, "", [MemWrite]>:$status,
                       UnitAttr:$apply_mask);
  let assemblyFormat = [{
    $variant $s `(` $b `,` $h `,` $q0 `,` $k0 `,` $q_len `,` $kv_len `)`
    (`scalars` `(` $scalars^ `:` type($scalars) `)`)?
    (`buffers` `(` $buffers^ `:` type($buffers) `)`)?
    `status` `(` $status `)` attr-dict `:` type($s) `,` type($status)
  }];
}

def Attn_TileSoftmaxOp : Attn_Op<"tile_softmax"> {
  let summary = "Online-softmax update of a query tile";
  let description = [{
    Per row: `m' = max(m, max_j s)`, `p = exp(s - m')` (0 where `m'` is -inf),
    `alpha = exp(m - m')` (1 where `m'` is -inf), `l = alpha * l + sum_j p`, `m = m'`.
    `p` overwrites `s`.

    ```mlir
    attn.tile_softmax %s, %m, %l, %alpha : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<64xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_F32Tile2D, "", [MemRead, MemWrite]>:$s,
                       Arg<Attn_F32Tile1D, "", [MemRead, MemWrite]>:$m,
                       Arg<Attn_F32Tile1D, "", [MemRead, MemWrite]>:$l,
                       Arg<Attn_F32Tile1D, "", [MemWrite]>:$alpha);
  let assemblyFormat = [{
    $s `,` $m `,` $l `,` $alpha attr-dict `:` type($s) `,` type($m) `,` type($l) `,` type($alpha)
  }];
}

def Attn_TilePVOp : Attn_Op<"tile_pv"> {
  let summary = "Rescales the accumulator and adds P · V_tile";
  let description = [{
    `acc[i, :] = alpha[i] * acc[i, :] + sum_j p[i, j] * v[b, g, k0 + j, :]` over the
    columns inside KV_LEN.

    ```mlir
    attn.tile_pv %p, %v[%b, %g, %k0], %alpha into %acc
        : memref<64x64xf32>, memref<?x2x?x64xbf16>, memref<64xf32>, memref<64x64xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_F32Tile2D, "", [MemRead]>:$p,
                       Arg<Attn_Tensor4D, "", [MemRead]>:$v,
                       Arg<Attn_F32Tile1D, "", [MemRead]>:$alpha,
                       Arg<Attn_F32Tile2D, "", [MemRead, MemWrite]>:$acc,
                       Index:$b, Index:$g, Index:$k0);
  let assemblyFormat = [{
    $p `,` $v `[` $b `,` $g `,` $k0 `]` `,` $alpha `into` $acc attr-dict
    `:` type($p) `,` type($v) `,` type($alpha) `,` type($acc)
  }];
}

def Attn_TileStoreOp : Attn_Op<"tile_store"> {
  let summary = "Normalises a finished query tile and writes out and lse";
  let description = [{
    For rows inside Q_LEN: `out[b, h, q0 + i, :] = acc[i, :] / l[i]` and
    `lse[b, h, q0 + i] = m[i] + log(l[i])`; a row with `l = 0` (nothing kept) gets
    `out = 0`, `lse = -inf`.

    ```mlir
    attn.tile_store %acc, %m, %l into %out[%b, %h, %q0], %lse
        : memref<64x64xf32>, memref<64xf32>, memref<64xf32>, memref<?x8x?x64xbf16>, memref<?x8x?xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_F32Tile2D, "", [MemRead]>:$acc,
                       Arg<Attn_F32Tile1D, "", [MemRead]>:$m,
                       Arg<Attn_F32Tile1D, "", [MemRead]>:$l,
                       Arg<Attn_Tensor4D, "", [MemWrite]>:$out,
                       Arg<MemRefRankOf<[F32], [3]>, "", [MemWrite]>:$lse,
                       Index:$b, Index:$h, Index:$q0);
  let assemblyFormat = [{
    $acc `,` $m `,` $l `into` $out `[` $b `,` $h `,` $q0 `]` `,` $lse attr-dict
    `:` type($acc) `,` type($m) `,` type($l) `,` type($out) `,` type($lse)
  }];
}

//===----------------------------------------------------------------------===//
// The backward flash form (attn-tile-flash-backward): FlashAttention-2's backward
// pass. One parallel iteration per (batch, key/value head, split of the key
// tiles) keeps dK and dV of a key tile in scratch tiles and streams the query
// tiles of every head of its group through them; P is recomputed from lse.
//===----------------------------------------------------------------------===//

def Attn_TileZeroOp : Attn_Op<"tile_zero"> {
  let summary = "Sets a scratch tile to 0";
  let description = [{
    ```mlir
    attn.tile_zero %dk : memref<64x64xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_F32Tile2D, "", [MemWrite]>:$tile);
  let assemblyFormat = "$tile attr-dict `:` type($tile)";
}

def Attn_TileDeltaOp : Attn_Op<"tile_delta"> {
  let summary = "The row sums delta = rowsum(dout * out) of a query tile";
  let description = [{
    `delta[i] = sum_d dout[b, h, q0 + i, d] * out[b, h, q0 + i, d]` for rows inside
    Q_LEN, 0 for the others (FlashAttention-2's preprocessing, done per tile).

    ```mlir
    attn.tile_delta %dout[%b, %h, %q0], %out into %delta
        : memref<?x8x?x64xf32>, memref<?x8x?x64xf32>, memref<64xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_Tensor4D, "", [MemRead]>:$dout,
                       Arg<Attn_Tensor4D, "", [MemRead]>:$out,
                       Arg<Attn_F32Tile1D, "", [MemWrite]>:$delta,
                       Index:$b, Index:$h, Index:$q0);
  let assemblyFormat = [{
    $dout `[` $b `,` $h `,` $q0 `]` `,` $out `into` $delta attr-dict
    `:` type($dout) `,` type($out) `,` type($delta)
  }];
}

def Attn_TileProbsOp : Attn_Op<"tile_probs", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Recomputes the probabilities of a score tile from lse";
  let description = [{
    `p[i, j] = exp(score_mod(s[i, j], b, h, q0 + i, k0 + j) - lse[b, h, q0 + i])`
    for the pairs that count: inside Q_LEN and KV_LEN and, when `apply_mask` is
    set, kept by `mask_mod`; 0 for every other element and for rows whose lse is
    -inf (nothing kept). `s` is left as it is (the score_mod derivative needs it).
    Errors are recorded in `status` as by `attn.tile_mods`.

    ```mlir
    attn.tile_probs @alibi %s(%b, %h, %q0, %k0, %qlen, %kvlen), %lse into %p
        buffers(%slopes : memref<8xf32>) status(%st) {apply_mask}
        : memref<64x64xf32>, memref<?x8x?xf32>, memref<64x64xf32>, memref<4xi64>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$variant,
                       Arg<Attn_F32Tile2D, "", [MemRead]>:$s,
                       Index:$b, Index:$h, Index:$q0, Index:$k0, Index:$q_len,
                       Index:$kv_len,
                       Arg<MemRefRankOf<[F32], [3]>, "", [MemRead]>:$lse,
                       Arg<Attn_F32Tile2D, "", [MemWrite]>:$p,
                       Variadic<AnyTypeOf<[I32, I64, F32]>>:$scalars,
                       Arg<Variadic<MemRefOf<[F32, I32, I64]>>, "", [MemRead]>:$buffers,
                       Arg<MemRefRankOf<[I64], [1]>, "", [MemWrite]>:$status,
                       UnitAttr:$apply_mask);
  let assemblyFormat = [{
    $variant $s `(` $b `,` $h `,` $q0 `,` $k0 `,` $q_len `,` $kv_len `)` `,` $lse
    `into` $p
    (`scalars` `(` $scalars^ `:` type($scalars) `)`)?
    (`buffers` `(` $buffers^ `:` type($buffers) `)`)?
    `status` `(` $status `)` attr-dict `:` type($s) `,` type($lse) `,` type($p) `,`
    type($status)
  }];
}

def Attn_TileDScoresOp : Attn_Op<"tile_dscores", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "The gradient of a score tile, through softmax and score_mod";
  let description = [{
    For the pairs that count (as in `attn.tile_probs`):
    `ds[i, j] = score_mod_vjp(s[i, j], b, h, q0 + i, k0 + j, q_len, kv_len,
    p[i, j] * (dp[i, j] - delta[i]))`, the gradient with respect to the score
    before `score_mod` (scaled Q·Kᵀ); 0 for every other element. The region's
    `attn.buffer_grad` contributions are added to `grads` (one f32 memref per
    `requires_grad` buffer, in declaration order), in a fixed order. The variant
    must have a `score_mod_vjp` region (attn-differentiate-score-mod).

    ```mlir
    attn.tile_dscores @bias %s, %p, %dp, %delta into %ds(%b, %h, %q0, %k0, %qlen, %kvlen)
        buffers(%t : memref<8x?xf32>) grads(%dt : memref<8x?xf32>) status(%st)
        : memref<64x64xf32>, memref<64x64xf32>, memref<64x64xf32>, memref<64xf32>,
          memref<64x64xf32>, memref<4xi64>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$variant,
                       Arg<Attn_F32Tile2D, "", [MemRead]>:$s,
                       Arg<Attn_F32Tile2D, "", [MemRead]>:$p,
                       Arg<Attn_F32Tile2D, "", [MemRead]>:$dp,
                       Arg<Attn_F32Tile1D, "", [MemRead]>:$delta,
                       Arg<Attn_F32Tile2D, "", [MemWrite]>:$ds,
                       Index:$b, Index:$h, Index:$q0, Index:$k0, Index:$q_len,
                       Index:$kv_len,
                       Variadic<AnyTypeOf<[I32, I64, F32]>>:$scalars,
                       Arg<Variadic<MemRefOf<[F32, I32, I64]>>, "", [MemRead]>:$buffers,
                       Arg<Variadic<MemRefOf<[F32]>>, "", [MemRead, MemWrite]>:$grads,
                       Arg<MemRefRankOf<[I64], [1]>, "", [MemWrite]>:$status,
                       UnitAttr:$apply_mask);
  let assemblyFormat = [{
    $variant $s `,` $p `,` $dp `,` $delta `into` $ds
    `(` $b `,` $h `,` $q0 `,` $k0 `,` $q_len `,` $kv_len `)`
    (`scalars` `(` $scalars^ `:` type($scalars) `)`)?
    (`buffers` `(` $buffers^ `:` type($buffers) `)`)?
    (`grads` `(` $grads^ `:` type($grads) `)`)?
    `status` `(` $status `)` attr-dict `:` type($s) `,` type($p) `,` type($dp) `,`
    type($delta) `,` type($ds) `,` type($status)
  }];
}

def Attn_TileKeyGradOp : Attn_Op<"tile_key_grad"> {
  let summary = "Adds scale * Pᵀ · X to a key-side gradient tile (dK or dV)";
  let description = [{
    `acc[j, :] += scale * sum_i p[i, j] * x[b, h, q0 + i, :]` over the rows inside
    Q_LEN: dV with `p` the probabilities and `x` = dout, dK with `p` = dS and
    `x` = q (scale = the variant's).

    ```mlir
    attn.tile_key_grad %p, %dout[%b, %h, %q0] into %dv scale(1.000000e+00)
        : memref<64x64xf32>, memref<?x8x?x64xf32>, memref<64x64xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_F32Tile2D, "", [MemRead]>:$p,
                       Arg<Attn_Tensor4D, "", [MemRead]>:$x,
                       Arg<Attn_F32Tile2D, "", [MemRead, MemWrite]>:$acc,
                       Index:$b, Index:$h, Index:$q0, F64Attr:$scale);
  let assemblyFormat = [{
    $p `,` $x `[` $b `,` $h `,` $q0 `]` `into` $acc `scale` `(` $scale `)` attr-dict
    `:` type($p) `,` type($x) `,` type($acc)
  }];
}

def Attn_TileQueryGradOp : Attn_Op<"tile_query_grad"> {
  let summary = "Adds scale * dS · K_tile to a query tile's partial dQ";
  let description = [{
    `dq[c, b, h, q0 + i, :] += scale * sum_j ds[i, j] * k[b, g, k0 + j, :]` for the
    rows inside Q_LEN and the keys inside KV_LEN. `dq` holds one partial gradient
    per split `c` of the key tiles (zero on entry), so that no two parallel
    iterations add to the same element; their sum is dQ.

    ```mlir
    attn.tile_query_grad %ds, %k[%b, %g, %k0] into %dq[%c, %b, %h, %q0] scale(1.250000e-01)
        : memref<64x64xf32>, memref<?x2x?x64xf32>, memref<?x?x8x?x64xf32>
    ```
  }];
  let arguments = (ins Arg<Attn_F32Tile2D, "", [MemRead]>:$ds,
                       Arg<Attn_Tensor4D, "", [MemRead]>:$k,
                       Arg<MemRefRankOf<[F32], [5]>, "", [MemRead, MemWrite]>:$dq,
                       Index:$b, Index:$g, Index:$k0, Index:$c, Index:$h, Index:$q0,
                       F64Attr:$scale);
  let assemblyFormat = [{
    $ds `,` $k `[` $b `,` $g `,` $k0 `]` `into` $dq `[` $c `,` `_` `,` $h `,` $q0 `]`
    `scale` `(` $scale `)` attr-dict `:` type($ds) `,` type($k) `,` type($dq)
  }];
}

def Attn_TileKeyStoreOp : Attn_Op<"tile_key_store"> {
  let summary = "Writes a finished key-side gradient tile (dK or dV)";
  let description = [{
    `dk[b, g, k0 + j, :] = acc[j, :]` for the rows inside KV_LEN, converted to the
    element type of `dk`.

    ```mlir
    attn.tile_key_store %acc into %dk[%b, %g, %k0] : memref<64x64xf32>, memref<?x2x?x64xbf16>
    ```
  }];
  let arguments = (ins Arg<Attn_F32Tile2D, "", [MemRead]>:$acc,
                       Arg<Attn_Tensor4D, "", [MemWrite]>:$dk,
                       Index:$b, Index:$g, Index:$k0);
  let assemblyFormat = [{
    $acc `into` $dk `[` $b `,` $g `,` $k0 `]` attr-dict `:` type($acc) `,` type($dk)
  }];
}

#endif // ATTN_FLASH_OPS_TD
