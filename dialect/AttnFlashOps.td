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

#endif // ATTN_FLASH_OPS_TD
