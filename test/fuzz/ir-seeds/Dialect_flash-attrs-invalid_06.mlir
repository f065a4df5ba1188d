func.func @roles() {
  %s = memref.alloca() {attn.scratch = "scores"} : memref<4x4xf32>
  %a = memref.alloca() {attn.scratch = "acc"} : memref<4x4xf32>
  %m = memref.alloca() {attn.scratch = "max"} : memref<4xf32>
  %l = memref.alloca() {attn.scratch = "sum"} : memref<4xf32>
  %x = memref.alloca() {attn.scratch = "alpha"} : memref<4xf32>
  return
}
