"""Pure-Python adapter file formats (safetensors headers, PEFT adapters) and the naming rules.

Imports neither torch nor numpy nor any server library, so both the hub (validation at publish)
and the client (checks before load) can use it.
"""

from sdk.formats.errors import AdapterConfigError, FormatError, InconsistentAdapterError, SafetensorsError
from sdk.formats.names import (
    NAME_MAX,
    PATH_MAX,
    RESERVED_NAMESPACES,
    REVISION_PREFIX_RE,
    REVISION_RE,
    SHA256_RE,
    VERSION_NUMBER_RE,
    InvalidNameError,
    InvalidPathError,
    NameRuleError,
    ReservedNameError,
    check_file_path,
    check_label,
    check_name,
    check_namespace_name,
    check_ref_name,
    check_revision_name,
    is_revision_id,
    is_sha256,
)
from sdk.formats.peft import (
    PEFT_CONFIG_NAME,
    PEFT_WEIGHTS_NAME,
    AdapterFacts,
    ModuleInfo,
    describe_peft_adapter,
    is_peft_config,
    parse_peft_config,
)
from sdk.formats.safetensors import (
    DTYPE_BITS,
    MAX_HEADER_BYTES,
    SafetensorsHeader,
    TensorInfo,
    header_length,
    looks_like_pickle,
    parse_header,
    read_header,
    read_header_from_path,
    tensor_manifest,
    write_safetensors,
)

__all__ = [
    "DTYPE_BITS",
    "MAX_HEADER_BYTES",
    "NAME_MAX",
    "PATH_MAX",
    "PEFT_CONFIG_NAME",
    "PEFT_WEIGHTS_NAME",
    "RESERVED_NAMESPACES",
    "REVISION_PREFIX_RE",
    "REVISION_RE",
    "SHA256_RE",
    "VERSION_NUMBER_RE",
    "AdapterConfigError",
    "AdapterFacts",
    "FormatError",
    "InconsistentAdapterError",
    "InvalidNameError",
    "InvalidPathError",
    "ModuleInfo",
    "NameRuleError",
    "ReservedNameError",
    "SafetensorsError",
    "SafetensorsHeader",
    "TensorInfo",
    "check_file_path",
    "check_label",
    "check_name",
    "check_namespace_name",
    "check_ref_name",
    "check_revision_name",
    "describe_peft_adapter",
    "header_length",
    "is_peft_config",
    "is_revision_id",
    "is_sha256",
    "looks_like_pickle",
    "parse_header",
    "parse_peft_config",
    "read_header",
    "read_header_from_path",
    "tensor_manifest",
    "write_safetensors",
]

# Helpers the torch loaders and the hub's foreign-format validation share (their modules stay private).
from sdk.formats._align import choose_rename
from sdk.formats._common import loads_json_object
from sdk.formats._peft_config import PROMPT_TYPES
from sdk.formats._peft_keys import strip_prefix

__all__ += ["PROMPT_TYPES", "choose_rename", "loads_json_object", "strip_prefix"]
