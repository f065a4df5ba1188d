# lit configuration for attnc: runs attn-opt / attnc on .mlir and .test files and
# checks their output with FileCheck.
import os
import lit.formats
from lit.llvm import llvm_config

config.name = "attnc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "CMakeLists.txt", "Inputs", "unit", "fuzz"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attnc_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.attnc_tools_dir, append_path=True)
config.substitutions.append(("%examples", os.path.join(config.attnc_src_root, "examples")))

# GPU code checks need the CUDA toolkit's assembler (optional).
if os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")

tools = ["attn-opt", "attnc"]
llvm_config.add_tool_substitutions(tools, [config.attnc_tools_dir])
