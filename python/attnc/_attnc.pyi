# Type stubs of attnc._attnc (python/src/AttncModule.cpp), which the attnc package wraps.
from typing import Any, Mapping, Optional

class SpecError(ValueError):
    file: str
    line: int
    col: int

class CallError(ValueError): ...

class Kernel:
    name: str
    target: str
    described: bool
    heads: Optional[tuple[int, int]]
    head_dim: Optional[tuple[int, int]]
    dtype: Optional[str]
    scale: Optional[float]
    scalars: dict[str, str]
    buffers: list[str]
    has_backward: bool
    requires_grad: list[str]
    def _call(self, q: Any, k: Any, v: Any, scalars: Mapping[str, int | float],
              buffers: Mapping[str, Any]) -> tuple[Any, Any]: ...
    def _call_into(self, q: Any, k: Any, v: Any, out: Any, lse: Any,
                   scalars: Mapping[str, int | float], buffers: Mapping[str, Any],
                   stream: int) -> None: ...
    def _backward_raw(self, q: Any, k: Any, v: Any, out: Any, lse: Any, dout: Any, dq: Any,
                      dk: Any, dv: Any, scalars: Mapping[str, int | float],
                      buffers: Mapping[str, Any], dbuffers: Mapping[str, Any],
                      stream: int = 0) -> None: ...

def _compile(source: str, is_text: bool, target: str, backward: bool = False) -> Kernel: ...
def _load(path: str) -> list[Kernel]: ...
def _lookup(name: str) -> Kernel: ...
def _register(name: str, kernel: Kernel) -> None: ...
def _register_callable(name: str, fn: Any) -> None: ...
def _registered() -> list[str]: ...
def _contains(name: str) -> bool: ...
