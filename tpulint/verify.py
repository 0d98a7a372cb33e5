"""Bounds-checking verifier for TFLite flatbuffers, run before anything trusts an offset.

The Python ``flatbuffers`` runtime has no verifier: a corrupt offset gives an arbitrary exception,
garbage or an endless loop. :func:`verify_tflite` walks the whole TFLite schema with
``struct.unpack_from`` only and guarantees that the generated ``tflite`` bindings can then read every
table, vector, string and union of the model without leaving the buffer, and that every index the
reader follows (tensor, buffer, opcode and subgraph indices) is in range. It also checks the op
graph of every subgraph. It never allocates based on a declared length before checking that the
length fits in the file, skips buffer contents, and its cost is linear in the file size: every
table and vector it walks is charged against a budget of twice the file size, so shared or
overlapping offsets cannot make it loop or blow up.

It runs around the reader (:func:`read_checked`): the structural walk and the model-level checks
(buffers, metadata, signatures, the read budget) first, then the reader (safe once the structure is
sound), then the checks of each subgraph's indices and op graph on the tensors and ops the reader
decoded, instead of reading every op's vectors from the file a second time (issue 7). The file is
read again there only to name a culprit, and for ops with control-flow or external custom options.

The walk leaves the buffer, tensor and operator tables, the most numerous of a model, to the
reader: it checks each one (with its data vector and external block, quantization or options
table) exactly as the walk would, in the pass that decodes it, and charges the budgets before it
copies anything out of it (see ``_Walker.take_tables``). On any failure the walk checks that
vector of tables itself and raises its own error. The one visible difference: in a file with
several defects, one in these tables is found after those in the rest of the structure (metadata,
signatures, subgraph and opcode tables) and in the model-level checks, and an out-of-range opcode
index (which the reader raises) before a later op's structural defect.

Error codes (all raised as :class:`tpulint.errors.ModelFormatError`):

``TPU902`` -- not a valid TFLite flatbuffer: another file identifier than ``TFL3``, a
    size-prefixed flatbuffer, no identifier and the file does not parse as an old identifier-less
    TFLite model, a root offset into the header, no subgraphs, or a malformed table (vtable size
    odd or below 4, table size below 4, a field that does not fit in its table, a string without
    its NUL terminator, a union type this schema does not know).
``TPU903`` -- truncated file or offset out of range: the file is shorter than 8 bytes, or the root
    offset, a table's offset to its vtable, a vtable, a table, or the target of an offset to a
    vector, string or sub-table lies outside the file, or a vector, string or external block
    (``buffer.offset``/``size``, ``op.large_custom_options_offset``/``size`` -- data stored after
    the flatbuffer in models over 2 GB) runs past its end.
``TPU904`` -- index out of range: a tensor index in an op's inputs, outputs or intermediates or in
    a subgraph's inputs or outputs; a negative index other than -1 ("no tensor", allowed in op
    inputs, outputs and intermediates only); ``tensor.buffer``; ``op.opcode_index``;
    ``metadata.buffer``; ``model.metadata_buffer``; a signature's subgraph or tensor index; a
    subgraph index in control-flow options (WHILE, IF, CALL, CALL_ONCE and StableHLO ops).
``TPU905`` -- graph structure: an op reads a tensor that no op produces and that is neither a
    subgraph input, a constant, a variable nor zero-sized; an op reads a tensor before the op that
    produces it has run; ops form a cycle; two ops write one tensor; a subgraph output is never
    produced; a control-flow op names its own subgraph; subgraphs call each other in a loop.
``TPU906`` -- absurd size: a vector or string declaring more bytes than any flatbuffer can hold
    (2 GiB, e.g. a length of 2**31), or tables and vectors that overlap or repeat so much that
    walking them would cost more than twice the file size (the walk's work budget), or shared
    strings, shapes, quantization and options tables referenced so often that reading and analysing
    the model would handle more than :data:`READ_FACTOR` times the file size (the read budget).

The read budget makes the reader's and the analysis's cost linear in the file, whatever it
declares: a flatbuffer may point many tensors at one long name or shape, or many ops at one options
table with a long vector, and a reader materialises each of them once per reference (and the report
prints an op's tensors' names and shapes once per op that uses them). The walk counts, for every
table, the bytes of the strings, vectors and tables below it that the reader copies, once per
reference (a table named twice is read twice), leaving out the blobs the reader never copies (buffer
data, custom options); then, per op, what the report shows of it: its custom code and everything of
the tensors it reads and writes. A model without shared data stays far below the budget
(the fixtures and the corpus peak near 2.2x the file).
"""

from __future__ import annotations

import mmap
import struct
from array import array
from collections.abc import Callable, Sequence
from operator import add, attrgetter
from typing import TYPE_CHECKING, Final, NoReturn, TypeAlias

from tpulint._schema import int32_unpacker
from tpulint.errors import ModelFormatError
from tpulint.pages import RELEASE_EVERY, release_pages

if TYPE_CHECKING:
    from tpulint.model import Model, Op, Subgraph

__all__ = [
    "ABSURD_SIZE",
    "BAD_GRAPH",
    "BAD_INDEX",
    "NOT_TFLITE",
    "OUT_OF_RANGE",
    "READ_FACTOR",
    "TFLITE_IDENTIFIER",
    "graph_order_problem",
    "read_checked",
    "verify_tflite",
]

NOT_TFLITE: Final = "TPU902"
OUT_OF_RANGE: Final = "TPU903"
BAD_INDEX: Final = "TPU904"
BAD_GRAPH: Final = "TPU905"
ABSURD_SIZE: Final = "TPU906"

TFLITE_IDENTIFIER: Final = b"TFL3"

# --------------------------------------------------------------------------------------------------
# Table layouts of tensorflow/lite/schema/schema.fbs, as generated into the `tflite` package (2.18).
# Each table maps to its fields as "<vtable offset>:<name>=<kind>", where kind is
#   1, 2, 4, 8     a scalar of that many bytes
#   s              a string
#   v1, v2, v4, v8 a vector of scalars with elements of that many bytes
#   T.<Table>      a sub-table;  V.<Table> a vector of tables
#   U.<Union>      a union value; its type is the 1-byte field in the vtable slot just before it.
# Deprecated fields are left out. Union members that are absent here are tables without fields.
# tests/test_verify.py checks this against the installed `tflite` package.
_LAYOUT_SPECS: Final[dict[str, str]] = {
    "Model": (
        "4:version=4 6:operator_codes=V.OperatorCode 8:subgraphs=V.SubGraph 10:description=s "
        "12:buffers=V.Buffer 14:metadata_buffer=v4 16:metadata=V.Metadata 18:signature_defs=V.SignatureDef"
    ),
    "OperatorCode": "4:deprecated_builtin_code=1 6:custom_code=s 8:version=4 10:builtin_code=4",
    "SubGraph": (
        "4:tensors=V.Tensor 6:inputs=v4 8:outputs=v4 10:operators=V.Operator 12:name=s 14:debug_metadata_index=4"
    ),
    "Tensor": (
        "4:shape=v4 6:type=1 8:buffer=4 10:name=s 12:quantization=T.QuantizationParameters 14:is_variable=1 "
        "16:sparsity=T.SparsityParameters 18:shape_signature=v4 20:has_rank=1 "
        "22:variant_tensors=V.VariantSubType"
    ),
    "QuantizationParameters": (
        "4:min=v4 6:max=v4 8:scale=v4 10:zero_point=v8 12:details_type=1 14:details=U.QuantizationDetails "
        "16:quantized_dimension=4"
    ),
    "CustomQuantization": "4:custom=v1",
    "SparsityParameters": "4:traversal_order=v4 6:block_map=v4 8:dim_metadata=V.DimensionMetadata",
    "DimensionMetadata": (
        "4:format=1 6:dense_size=4 8:array_segments_type=1 10:array_segments=U.SparseIndexVector "
        "12:array_indices_type=1 14:array_indices=U.SparseIndexVector"
    ),
    "Int32Vector": "4:values=v4",
    "Uint16Vector": "4:values=v2",
    "Uint8Vector": "4:values=v1",
    "VariantSubType": "4:shape=v4 6:type=1 8:has_rank=1",
    "Operator": (
        "4:opcode_index=4 6:inputs=v4 8:outputs=v4 10:builtin_options_type=1 "
        "12:builtin_options=U.BuiltinOptions 14:custom_options=v1 16:custom_options_format=1 "
        "18:mutating_variable_inputs=v1 20:intermediates=v4 22:large_custom_options_offset=8 "
        "24:large_custom_options_size=8 26:builtin_options2_type=1 28:builtin_options2=U.BuiltinOptions2 "
        "30:debug_metadata_index=4"
    ),
    "Buffer": "4:data=v1 6:offset=8 8:size=8",
    "Metadata": "4:name=s 6:buffer=4",
    "SignatureDef": "4:inputs=V.TensorMap 6:outputs=V.TensorMap 8:signature_key=s 12:subgraph_index=4",
    "TensorMap": "4:name=s 6:tensor_index=4",
    "AddOptions": "4:fused_activation_function=1 6:pot_scale_int16=1",
    "ArgMaxOptions": "4:output_type=1",
    "ArgMinOptions": "4:output_type=1",
    "BatchMatMulOptions": "4:adj_x=1 6:adj_y=1 8:asymmetric_quantize_inputs=1",
    "BidirectionalSequenceLSTMOptions": (
        "4:fused_activation_function=1 6:cell_clip=4 8:proj_clip=4 10:merge_outputs=1 12:time_major=1 "
        "14:asymmetric_quantize_inputs=1"
    ),
    "BidirectionalSequenceRNNOptions": (
        "4:time_major=1 6:fused_activation_function=1 8:merge_outputs=1 10:asymmetric_quantize_inputs=1"
    ),
    "BucketizeOptions": "4:boundaries=v4",
    "CallOnceOptions": "4:init_subgraph_index=4",
    "CallOptions": "4:subgraph=4",
    "CastOptions": "4:in_data_type=1 6:out_data_type=1",
    "ConcatEmbeddingsOptions": "4:num_channels=4 6:num_columns_per_channel=v4 8:embedding_dim_per_channel=v4",
    "ConcatenationOptions": "4:axis=4 6:fused_activation_function=1",
    "Conv2DOptions": (
        "4:padding=1 6:stride_w=4 8:stride_h=4 10:fused_activation_function=1 12:dilation_wfactor=4 "
        "14:dilation_hfactor=4 16:quantized_bias_type=1"
    ),
    "Conv3DOptions": (
        "4:padding=1 6:stride_d=4 8:stride_w=4 10:stride_h=4 12:fused_activation_function=1 "
        "14:dilation_dfactor=4 16:dilation_wfactor=4 18:dilation_hfactor=4"
    ),
    "CumsumOptions": "4:exclusive=1 6:reverse=1",
    "DepthToSpaceOptions": "4:block_size=4",
    "DepthwiseConv2DOptions": (
        "4:padding=1 6:stride_w=4 8:stride_h=4 10:depth_multiplier=4 12:fused_activation_function=1 "
        "14:dilation_wfactor=4 16:dilation_hfactor=4"
    ),
    "DivOptions": "4:fused_activation_function=1",
    "EmbeddingLookupSparseOptions": "4:combiner=1",
    "FakeQuantOptions": "4:min=4 6:max=4 8:num_bits=4 10:narrow_range=1",
    "FullyConnectedOptions": (
        "4:fused_activation_function=1 6:weights_format=1 8:keep_num_dims=1 10:asymmetric_quantize_inputs=1 "
        "12:quantized_bias_type=1"
    ),
    "GatherOptions": "4:axis=4 6:batch_dims=4",
    "GeluOptions": "4:approximate=1",
    "HashtableOptions": "4:table_id=4 6:key_dtype=1 8:value_dtype=1",
    "IfOptions": "4:then_subgraph_index=4 6:else_subgraph_index=4",
    "L2NormOptions": "4:fused_activation_function=1",
    "LSHProjectionOptions": "4:type=1",
    "LSTMOptions": (
        "4:fused_activation_function=1 6:cell_clip=4 8:proj_clip=4 10:kernel_type=1 12:asymmetric_quantize_inputs=1"
    ),
    "LeakyReluOptions": "4:alpha=4",
    "LocalResponseNormalizationOptions": "4:radius=4 6:bias=4 8:alpha=4 10:beta=4",
    "MirrorPadOptions": "4:mode=1",
    "MulOptions": "4:fused_activation_function=1",
    "OneHotOptions": "4:axis=4",
    "PackOptions": "4:values_count=4 6:axis=4",
    "Pool2DOptions": (
        "4:padding=1 6:stride_w=4 8:stride_h=4 10:filter_width=4 12:filter_height=4 14:fused_activation_function=1"
    ),
    "RNNOptions": "4:fused_activation_function=1 6:asymmetric_quantize_inputs=1",
    "RandomOptions": "4:seed=8 6:seed2=8",
    "ReduceWindowOptions": "4:reduce_function=4",
    "ReducerOptions": "4:keep_dims=1",
    "ReshapeOptions": "4:new_shape=v4",
    "ResizeBilinearOptions": "8:align_corners=1 10:half_pixel_centers=1",
    "ResizeNearestNeighborOptions": "4:align_corners=1 6:half_pixel_centers=1",
    "ReverseSequenceOptions": "4:seq_dim=4 6:batch_dim=4",
    "SVDFOptions": "4:rank=4 6:fused_activation_function=1 8:asymmetric_quantize_inputs=1",
    "SequenceRNNOptions": "4:time_major=1 6:fused_activation_function=1 8:asymmetric_quantize_inputs=1",
    "ShapeOptions": "4:out_type=1",
    "SkipGramOptions": "4:ngram_size=4 6:max_skip_size=4 8:include_all_ngrams=1",
    "SoftmaxOptions": "4:beta=4",
    "SpaceToDepthOptions": "4:block_size=4",
    "SparseToDenseOptions": "4:validate_indices=1",
    "SplitOptions": "4:num_splits=4",
    "SplitVOptions": "4:num_splits=4",
    "SqueezeOptions": "4:squeeze_dims=v4",
    "StableHLOCompositeOptions": (
        "4:name=s 6:decomposition_subgraph_index=4 8:composite_attributes=v1 "
        "10:composite_attributes_format=1 12:version=4"
    ),
    "StablehloBroadcastInDimOptions": "4:broadcast_dimensions=v8",
    "StablehloCompareOptions": "4:comparison_direction=4 6:compare_type=4",
    "StablehloConcatenateOptions": "4:dimension=8",
    "StablehloConvolutionOptions": (
        "4:window_strides=v8 6:padding=v8 8:lhs_dilation=v8 10:rhs_dilation=v8 12:window_reversal=v1 "
        "14:input_batch_dimension=8 16:input_feature_dimension=8 18:input_spatial_dimensions=v8 "
        "20:kernel_input_feature_dimension=8 22:kernel_output_feature_dimension=8 "
        "24:kernel_spatial_dimensions=v8 26:output_batch_dimension=8 28:output_feature_dimension=8 "
        "30:output_spatial_dimensions=v8 32:feature_group_count=8 34:batch_group_count=8 "
        "36:precision_config=v4"
    ),
    "StablehloCustomCallOptions": (
        "4:call_target_name=s 6:has_side_effect=1 8:backend_config=s 10:api_version=4 "
        "12:called_computations=v4 14:custom_attributes=v1"
    ),
    "StablehloDotGeneralOptions": (
        "4:lhs_batching_dimensions=v8 6:rhs_batching_dimensions=v8 8:lhs_contracting_dimensions=v8 "
        "10:rhs_contracting_dimensions=v8 12:precision_config=v4"
    ),
    "StablehloDynamicSliceOptions": "4:slice_sizes=v8",
    "StablehloGatherOptions": (
        "4:offset_dims=v8 6:collapsed_slice_dims=v8 8:start_index_map=v8 10:index_vector_dim=8 "
        "12:slice_sizes=v8 14:indices_are_sorted=1"
    ),
    "StablehloIotaOptions": "4:iota_dimension=8",
    "StablehloPadOptions": "4:edge_padding_low=v8 6:edge_padding_high=v8 8:interior_padding=v8",
    "StablehloReduceOptions": "4:dimensions=v8 6:body_subgraph_index=4",
    "StablehloReduceWindowOptions": (
        "4:window_dimensions=v8 6:window_strides=v8 8:base_dilations=v8 10:window_dilations=v8 "
        "12:padding=v8 14:body_subgraph_index=4"
    ),
    "StablehloRngBitGeneratorOptions": "4:algorithm=1",
    "StablehloScatterOptions": (
        "4:indices_are_sorted=1 6:update_window_dims=v8 8:inserted_window_dims=v8 "
        "10:scatter_dims_to_operand_dims=v8 12:index_vector_dim=8 14:unique_indices=1 "
        "16:update_computation_subgraph_index=4"
    ),
    "StablehloSliceOptions": "4:start_indices=v8 6:limit_indices=v8 8:strides=v8",
    "StablehloSortOptions": "4:dimension=8 6:is_stable=1 8:comparator_subgraph_index=4",
    "StablehloTransposeOptions": "4:permutation=v8",
    "StablehloWhileOptions": "4:cond_subgraph_index=4 6:body_subgraph_index=4",
    "StridedSliceOptions": (
        "4:begin_mask=4 6:end_mask=4 8:ellipsis_mask=4 10:new_axis_mask=4 12:shrink_axis_mask=4 14:offset=1"
    ),
    "SubOptions": "4:fused_activation_function=1 6:pot_scale_int16=1",
    "TransposeConvOptions": (
        "4:padding=1 6:stride_w=4 8:stride_h=4 10:fused_activation_function=1 12:quantized_bias_type=1"
    ),
    "UnidirectionalSequenceLSTMOptions": (
        "4:fused_activation_function=1 6:cell_clip=4 8:proj_clip=4 10:time_major=1 "
        "12:asymmetric_quantize_inputs=1 14:diagonal_recurrent_tensors=1"
    ),
    "UniqueOptions": "4:idx_out_type=1",
    "UnpackOptions": "4:num=4 6:axis=4",
    "VarHandleOptions": "4:container=s 6:shared_name=s",
    "WhileOptions": "4:cond_subgraph_index=4 6:body_subgraph_index=4",
}


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Members of each union, in type order: type 1 is the first name, 0 is NONE.
_UNION_MEMBERS: Final[dict[str, tuple[str, ...]]] = {
    "BuiltinOptions": _names(
        "Conv2DOptions DepthwiseConv2DOptions ConcatEmbeddingsOptions LSHProjectionOptions Pool2DOptions "
        "SVDFOptions RNNOptions FullyConnectedOptions SoftmaxOptions ConcatenationOptions AddOptions "
        "L2NormOptions LocalResponseNormalizationOptions LSTMOptions ResizeBilinearOptions CallOptions "
        "ReshapeOptions SkipGramOptions SpaceToDepthOptions EmbeddingLookupSparseOptions MulOptions "
        "PadOptions GatherOptions BatchToSpaceNDOptions SpaceToBatchNDOptions TransposeOptions "
        "ReducerOptions SubOptions DivOptions SqueezeOptions SequenceRNNOptions StridedSliceOptions "
        "ExpOptions TopKV2Options SplitOptions LogSoftmaxOptions CastOptions DequantizeOptions "
        "MaximumMinimumOptions ArgMaxOptions LessOptions NegOptions PadV2Options GreaterOptions "
        "GreaterEqualOptions LessEqualOptions SelectOptions SliceOptions TransposeConvOptions "
        "SparseToDenseOptions TileOptions ExpandDimsOptions EqualOptions NotEqualOptions ShapeOptions "
        "PowOptions ArgMinOptions FakeQuantOptions PackOptions LogicalOrOptions OneHotOptions "
        "LogicalAndOptions LogicalNotOptions UnpackOptions FloorDivOptions SquareOptions ZerosLikeOptions "
        "FillOptions BidirectionalSequenceLSTMOptions BidirectionalSequenceRNNOptions "
        "UnidirectionalSequenceLSTMOptions FloorModOptions RangeOptions ResizeNearestNeighborOptions "
        "LeakyReluOptions SquaredDifferenceOptions MirrorPadOptions AbsOptions SplitVOptions "
        "UniqueOptions ReverseV2Options AddNOptions GatherNdOptions CosOptions WhereOptions RankOptions "
        "ReverseSequenceOptions MatrixDiagOptions QuantizeOptions MatrixSetDiagOptions HardSwishOptions "
        "IfOptions WhileOptions DepthToSpaceOptions NonMaxSuppressionV4Options NonMaxSuppressionV5Options "
        "ScatterNdOptions SelectV2Options DensifyOptions SegmentSumOptions BatchMatMulOptions "
        "CumsumOptions CallOnceOptions BroadcastToOptions Rfft2dOptions Conv3DOptions HashtableOptions "
        "HashtableFindOptions HashtableImportOptions HashtableSizeOptions VarHandleOptions "
        "ReadVariableOptions AssignVariableOptions RandomOptions BucketizeOptions GeluOptions "
        "DynamicUpdateSliceOptions UnsortedSegmentProdOptions UnsortedSegmentMaxOptions "
        "UnsortedSegmentMinOptions UnsortedSegmentSumOptions ATan2Options SignOptions BitcastOptions "
        "BitwiseXorOptions RightShiftOptions"
    ),
    "BuiltinOptions2": _names(
        "StablehloConcatenateOptions StablehloBroadcastInDimOptions StablehloSliceOptions "
        "StablehloConvolutionOptions StablehloCustomCallOptions StablehloReduceOptions "
        "StablehloScatterOptions StablehloCompareOptions StablehloDynamicSliceOptions StablehloPadOptions "
        "StablehloIotaOptions StablehloDotGeneralOptions StablehloReduceWindowOptions "
        "StablehloSortOptions StablehloWhileOptions StablehloGatherOptions StablehloTransposeOptions "
        "DilateOptions StablehloRngBitGeneratorOptions ReduceWindowOptions StableHLOCompositeOptions "
        "StablehloShiftLeftOptions"
    ),
    "QuantizationDetails": _names("CustomQuantization"),
    "SparseIndexVector": _names("Int32Vector Uint16Vector Uint8Vector"),
}

# Options tables whose fields name other subgraphs (int32 fields, or an int32 vector).
_SUBGRAPH_REFS: Final[dict[str, tuple[str, ...]]] = {
    "IfOptions": ("then_subgraph_index", "else_subgraph_index"),
    "WhileOptions": ("cond_subgraph_index", "body_subgraph_index"),
    "CallOptions": ("subgraph",),
    "CallOnceOptions": ("init_subgraph_index",),
    "StablehloWhileOptions": ("cond_subgraph_index", "body_subgraph_index"),
    "StablehloReduceOptions": ("body_subgraph_index",),
    "StablehloReduceWindowOptions": ("body_subgraph_index",),
    "StablehloSortOptions": ("comparator_subgraph_index",),
    "StablehloScatterOptions": ("update_computation_subgraph_index",),
    "StableHLOCompositeOptions": ("decomposition_subgraph_index",),
    "StablehloCustomCallOptions": ("called_computations",),
}
_UNSIGNED_REFS: Final = frozenset({("CallOptions", "subgraph")})

_STRING, _VECTOR, _TABLE, _TABLES, _UNION = range(5)
_TRUNCATED: Final = " (is the file truncated?)"
# The read budget: what the reader and the report may copy out of the file, as a multiple of its size
# (plus a constant for tiny files). Real models use at most about 2x; only shared data goes beyond.
READ_FACTOR: Final = 8
_READ_SLACK: Final = 1 << 16
TABLE_READ_COST: Final = 16  # read budget per table read (a Tensor or Op object), whatever its fields hold
# Blobs the reader never copies (it takes their length, or a memoryview of buffer data).
_NOT_COPIED: Final = frozenset({("Buffer", "data"), ("Operator", "custom_options"), ("CustomQuantization", "custom")})
_MAX_FLATBUFFER: Final = 2**31 - 1  # no flatbuffer can be larger (its offsets are signed 32-bit)

# One reference field of a table: (slot, kind, element size, field name, target layouts).
_Ref: TypeAlias = "tuple[int, int, int, str, tuple[_Layout, ...]]"


class _Layout:
    """One table of the schema, compiled from its spec: per vtable slot, the field's size and name."""

    __slots__ = (
        "declared",
        "index",
        "name",
        "names",
        "names_subgraphs",
        "nslots",
        "refs",
        "sizes",
        "slot_of",
        "unions",
    )

    def __init__(self, index: int, name: str, spec: str) -> None:
        self.index = index
        self.name = name
        fields: dict[int, tuple[str, str]] = {}
        for token in spec.split():
            voffset, _, rest = token.partition(":")
            field_name, _, kind = rest.partition("=")
            fields[(int(voffset) - 4) // 2] = (field_name, kind)
        self.declared = fields
        self.nslots = max(fields, default=-1) + 1
        self.sizes = tuple(_field_size(fields[s][1]) if s in fields else 0 for s in range(self.nslots))
        self.names = tuple(fields[s][0] if s in fields else f"slot {s}" for s in range(self.nslots))
        self.slot_of = {field_name: slot for slot, (field_name, _) in fields.items()}
        self.names_subgraphs = name in _SUBGRAPH_REFS  # control-flow options
        # Filled in by link() once every layout exists.
        self.refs: tuple[_Ref, ...] = ()
        self.unions: dict[int, tuple[_Layout, ...]] = {}

    def link(self, layouts: dict[str, _Layout]) -> None:
        refs: list[_Ref] = []
        for slot, (field_name, kind) in sorted(self.declared.items()):
            if kind.isdigit():
                continue
            if kind == "s":
                refs.append((slot, _STRING, 1, field_name, ()))
            elif kind[0] == "v":
                refs.append((slot, _VECTOR, int(kind[1:]), field_name, ()))
            elif kind[0] == "T":
                refs.append((slot, _TABLE, 4, field_name, (layouts[kind[2:]],)))
            elif kind[0] == "V":
                refs.append((slot, _TABLES, 4, field_name, (layouts[kind[2:]],)))
            elif kind[0] == "U" and self.sizes[slot - 1] == 1:
                self.unions[slot] = tuple(layouts[member] for member in _UNION_MEMBERS[kind[2:]])
                refs.append((slot, _UNION, 4, field_name, self.unions[slot]))
            else:
                raise AssertionError(f"{self.name}.{field_name}: bad field kind {kind!r}")
        self.refs = tuple(refs)


def _field_size(kind: str) -> int:
    return int(kind) if kind.isdigit() else 4


def _build_layouts() -> dict[str, _Layout]:
    names = set(_LAYOUT_SPECS)
    for members in _UNION_MEMBERS.values():
        names.update(members)
    layouts = {name: _Layout(i, name, _LAYOUT_SPECS.get(name, "")) for i, name in enumerate(sorted(names))}
    for layout in layouts.values():
        layout.link(layouts)
    return layouts


_LAYOUTS: Final = _build_layouts()
_KEY_BITS: Final = max(len(_LAYOUTS).bit_length(), 1)  # memo keys are pos << _KEY_BITS | layout.index
_MODEL: Final = _LAYOUTS["Model"]
_SUBGRAPH: Final = _LAYOUTS["SubGraph"]
_TENSOR: Final = _LAYOUTS["Tensor"]
_OPERATOR: Final = _LAYOUTS["Operator"]
_OPCODE: Final = _LAYOUTS["OperatorCode"]
_BUFFER: Final = _LAYOUTS["Buffer"]
_METADATA: Final = _LAYOUTS["Metadata"]
_SIGNATURE: Final = _LAYOUTS["SignatureDef"]
_TENSOR_MAP: Final = _LAYOUTS["TensorMap"]
_QUANTIZATION: Final = _LAYOUTS["QuantizationParameters"]
# The references the reader checks itself in the tables of the vectors the walk leaves to it (see
# _Walker.take_tables). A vtable with any other reference present (sparsity, variant sub-types,
# custom quantization, BuiltinOptions2) sends its vector back to the walk (walk_tables).
_READER_CHECKED: Final = {
    _TENSOR: frozenset({"shape", "name", "quantization", "shape_signature"}),
    _QUANTIZATION: frozenset({"min", "max", "scale", "zero_point"}),
    _OPERATOR: frozenset(
        {"inputs", "outputs", "intermediates", "custom_options", "mutating_variable_inputs", "builtin_options"}
    ),
    _BUFFER: frozenset({"data"}),
}
_READER_VECTORS: Final = (_TENSOR, _OPERATOR, _BUFFER)  # the vectors of tables the walk leaves to the reader
# The reader's checks of an options table: (size, its vectors and strings, whether it names subgraphs).
_ReaderOptions: TypeAlias = "tuple[int, tuple[tuple[int, int, int], ...], bool]"


# Per vector of tables the walk leaves to the reader: the field naming it (below the model, or a subgraph).
_READER_FIELDS: Final = {"Tensor": "tensors", "Operator": "operators", "Buffer": "buffers"}


def _vector_where(table: str, s: int) -> tuple[_Loc, str]:
    """(Location, field name) of the vector of ``table`` tables (of subgraph ``s``)."""
    return (None if table == "Buffer" else (None, "subgraphs", s)), _READER_FIELDS[table]


_U16X2: Final = struct.Struct("<HH")
_I32: Final = struct.Struct("<i")
_U32: Final = struct.Struct("<I")
_U64: Final = struct.Struct("<Q")
_u32: Final = _U32.unpack_from
_i32: Final = _I32.unpack_from

# A location in the model for messages, built lazily: (parent, field name, element index or -1).
_Loc: TypeAlias = "tuple[_Loc, str, int] | None"
_Fields: TypeAlias = "tuple[int, ...]"  # a table's field offsets by vtable slot, 0 when absent
# A checked vtable: field offsets, table size, and the references present as
# (field offset, kind, element size, field name, target layouts, offset of the union type field,
#  bytes per element the reader copies: 0 for blobs it only measures, such as buffer data).
_VTable: TypeAlias = "tuple[_Fields, int, tuple[tuple[int, int, int, str, tuple[_Layout, ...], int, int], ...]]"


def _where(loc: _Loc, field: str = "") -> str:
    parts = [field] if field else []
    while loc is not None:
        loc, name, index = loc
        parts.append(f"{name}[{index}]" if index >= 0 else name)
    return ".".join(reversed(parts)) or "model"


def _fail(code: str, message: str) -> NoReturn:
    raise ModelFormatError(message, code)


class _Walker:
    """Walks one buffer: first the generic structure of every table, then the model's semantics."""

    def __init__(
        self, buf: memoryview, release: Callable[[], None] = lambda: None, *, reader_checks: bool = True
    ) -> None:
        self.buf = buf
        self.n = len(buf)
        # Called every RELEASE_EVERY tables of a long vector: the pages read so far may go (see
        # tpulint.pages); a model with 100,000s of tensors then never has all its pages resident.
        self.release = release
        self.budget = 2 * self.n + 4096
        self.reads = READ_FACTOR * self.n + _READ_SLACK
        self.vtables: dict[int, _VTable] = {}
        # Positions of the tables of each vector of tables, and below, their read budgets: 8-byte
        # columns (a 135,000-tensor model as Python ints would cost 4 times as much).
        self.table_vectors: dict[int, array[int]] = {}
        # Read budget: bytes the reader copies out of each vector of tables, in all and per element,
        # counting every table, vector and string below it once per reference (shared data counts
        # per use).
        self.element_copies: dict[int, array[int]] = {}
        self.vector_copies: dict[int, int] = {}
        # What the graph checks must read from the file again (see check_op_references): whether
        # an Operator vtable has external custom options, and the ops with control-flow options.
        self.external_options = False
        self.control_flow: set[int] = set()
        # Vectors of buffer, tensor and operator tables left to the reader, which checks each table
        # as it decodes it (one pass over the most numerous tables instead of two; see take_tables).
        self.reader_checks = reader_checks
        self.deferred: set[int] = set()
        self.read_by_reader: set[int] = set()

    # ---- structure ------------------------------------------------------------------------------

    def charge(self, nbytes: int, loc: _Loc) -> None:
        """Account for work on ``nbytes`` of the file; shared or overlapping data cannot repeat it for free."""
        self.budget -= nbytes
        if self.budget < 0:
            self.over_budget(loc)

    def read(self, nbytes: int, what: str) -> None:
        """Account for ``nbytes`` the reader or the report will copy out of the file (read budget)."""
        self.reads -= nbytes
        if self.reads < 0:
            _fail(
                ABSURD_SIZE,
                f"{what}: tensors, names, shapes, quantization or options tables are referenced so many "
                f"times that reading and reporting the model would copy more than {READ_FACTOR} times the "
                f"{self.n}-byte file; refusing it",
            )

    def over_budget(self, loc: _Loc) -> NoReturn:
        _fail(
            ABSURD_SIZE,
            f"{_where(loc)}: tables and vectors overlap or repeat so much that walking them would cost "
            f"more than twice the {self.n}-byte file; refusing it",
        )

    def table(self, pos: int, layout: _Layout, loc: _Loc) -> int:
        """Check the table at ``pos`` and everything below it; return the bytes the reader copies
        out of it and everything below it (read budget).

        A table is walked (and charged) again each time the file names it: only vectors of tables
        are remembered once walked. Every reference points forward (an offset is unsigned and a
        field lies at least 4 bytes into its table) and no table of the schema contains itself, so
        below a table lie at most 6 levels of single tables and remembered vectors: a repeat costs
        what it charges. Remembering every table instead would cost, for the 135,000 tensors of
        the stress model in ``benchmarks/``, more memory than the model itself.
        """
        buf, n = self.buf, self.n
        if pos > n - 4:
            _fail(
                OUT_OF_RANGE,
                f"{_where(loc)}: {layout.name} table at byte {pos} lies outside the {n}-byte file{_TRUNCATED}",
            )
        vtable = pos - _i32(buf, pos)[0]
        cached = self.vtables.get(vtable << _KEY_BITS | layout.index)
        if cached is None:
            cached = self.vtable(vtable, pos, layout, loc)
        _, size, present = cached
        if pos + size > n:
            _fail(
                OUT_OF_RANGE,
                f"{_where(loc)}: {layout.name} table at byte {pos} ({size} bytes) runs past the end of the "
                f"{n}-byte file{_TRUNCATED}",
            )
        self.budget -= size
        if self.budget < 0:
            self.over_budget(loc)
        copied = TABLE_READ_COST
        for offset, kind, element_size, name, targets, type_offset, copy_size in present:
            at = pos + offset
            target = at + _u32(buf, at)[0]
            # Fast paths inline; the full checks run only to report a problem.
            if kind == _VECTOR:
                if target > n - 4 or target + 4 + (length := _u32(buf, target)[0]) * element_size > n:
                    self.vector(target, element_size, loc, name)  # raises
                copied += length * copy_size
            elif kind == _STRING:
                if target > n - 4 or (end := target + 4 + _u32(buf, target)[0]) >= n or buf[end]:
                    self.string(target, loc, name)
                copied += end - target
            elif kind == _TABLE:
                copied += self.table(target, targets[0], (loc, name, -1))
            elif kind == _TABLES:
                copied += self.table_vector(target, targets[0], loc, name)
            else:
                union_type = buf[pos + type_offset] if type_offset else 0
                if not union_type:
                    continue
                if union_type > len(targets):
                    # Options of an op newer than this schema (a newer TensorFlow): tpulint never
                    # reads them (the reader reports the op by number), so only the offset must be
                    # inside the file.
                    if target > n - 4:
                        _fail(
                            OUT_OF_RANGE,
                            f"{_where(loc, name)}: options of unknown union type {union_type} at byte "
                            f"{target} lie outside the {n}-byte file{_TRUNCATED}",
                        )
                    continue
                member = targets[union_type - 1]
                if member.names_subgraphs:
                    self.control_flow.add(pos)
                copied += self.table(target, member, (loc, name, -1))
        return copied

    def vtable(self, vtable: int, pos: int, layout: _Layout, loc: _Loc) -> _VTable:
        """Check a vtable against ``layout`` once; cache its field offsets and the references present."""
        buf, n = self.buf, self.n
        if vtable < 0 or vtable > n - 4:
            _fail(
                OUT_OF_RANGE,
                f"{_where(loc)}: {layout.name} table at byte {pos} points to its vtable at byte {vtable}, "
                f"outside the {n}-byte file",
            )
        vtable_size, table_size = _U16X2.unpack_from(buf, vtable)
        if vtable_size < 4 or vtable_size % 2:
            _fail(NOT_TFLITE, f"{_where(loc)}: vtable at byte {vtable} has an invalid size {vtable_size}")
        if vtable + vtable_size > n:
            _fail(
                OUT_OF_RANGE,
                f"{_where(loc)}: vtable at byte {vtable} ({vtable_size} bytes) runs past the end of the "
                f"{n}-byte file{_TRUNCATED}",
            )
        if table_size < 4:
            _fail(NOT_TFLITE, f"{_where(loc)}: vtable at byte {vtable} gives an invalid table size {table_size}")
        count = min((vtable_size - 4) // 2, layout.nslots)
        offsets: _Fields = struct.unpack_from(f"<{count}H", buf, vtable + 4)
        sizes = layout.sizes
        for slot, offset in enumerate(offsets):
            if offset and sizes[slot] and (offset < 4 or offset + sizes[slot] > table_size):
                _fail(
                    NOT_TFLITE,
                    f"{_where(loc, layout.names[slot])}: field at byte {offset} of a {table_size}-byte "
                    f"{layout.name} table does not fit in it",
                )
        fields = offsets + (0,) * (layout.nslots - count)
        present = tuple(
            (
                fields[slot],
                kind,
                element_size,
                name,
                targets,
                fields[slot - 1] if kind == _UNION else 0,
                0 if (layout.name, name) in _NOT_COPIED else element_size,
            )
            for slot, kind, element_size, name, targets in layout.refs
            if fields[slot]
        )
        if layout is _OPERATOR and fields[_OP_LARGE_OFFSET]:
            self.external_options = True
        result = (fields, table_size, present)
        self.vtables[vtable << _KEY_BITS | layout.index] = result
        return result

    def vector(self, target: int, element_size: int, loc: _Loc, name: str) -> int:
        n = self.n
        if target > n - 4:
            _fail(
                OUT_OF_RANGE,
                f"{_where(loc, name)}: vector at byte {target} lies outside the {n}-byte file{_TRUNCATED}",
            )
        length: int = _u32(self.buf, target)[0]
        nbytes = length * element_size
        if nbytes > _MAX_FLATBUFFER:
            _fail(
                ABSURD_SIZE,
                f"{_where(loc, name)}: vector declares {length} elements of {element_size} bytes "
                f"({nbytes} bytes), more than any flatbuffer can hold",
            )
        if target + 4 + nbytes > n:
            _fail(
                OUT_OF_RANGE,
                f"{_where(loc, name)}: vector at byte {target} ({length} elements of {element_size} bytes) "
                f"runs past the end of the {n}-byte file{_TRUNCATED}",
            )
        return length

    def string(self, target: int, loc: _Loc, name: str) -> None:
        n = self.n
        if target > n - 4:
            _fail(
                OUT_OF_RANGE,
                f"{_where(loc, name)}: string at byte {target} lies outside the {n}-byte file{_TRUNCATED}",
            )
        length: int = _u32(self.buf, target)[0]
        if length >= _MAX_FLATBUFFER:
            _fail(
                ABSURD_SIZE,
                f"{_where(loc, name)}: string declares {length} bytes, more than any flatbuffer holds",
            )
        end = target + 4 + length
        if end >= n:
            _fail(
                OUT_OF_RANGE,
                f"{_where(loc, name)}: string at byte {target} ({length} bytes) runs past the end of the "
                f"{n}-byte file{_TRUNCATED}",
            )
        if self.buf[end]:
            _fail(NOT_TFLITE, f"{_where(loc, name)}: string at byte {target} is not NUL-terminated")

    def table_vector(self, target: int, layout: _Layout, loc: _Loc, name: str) -> int:
        """Check a vector of tables and its tables; return the bytes the reader copies out of them,
        once per entry (a table named twice is read twice)."""
        key = target << _KEY_BITS | layout.index
        if key in self.table_vectors:
            return self.vector_copies.get(key, 0)
        length = self.vector(target, 4, loc, name)
        self.budget -= 4 + 4 * length
        if self.budget < 0:
            self.over_budget(loc)
        start = target + 4
        offsets: tuple[int, ...] = struct.unpack_from(f"<{length}I", self.buf, start)
        # Each table lies at its offset from its own slot: one C-level map, not a Python step each.
        positions = array("q", map(add, offsets, range(start, start + 4 * length, 4)))
        self.table_vectors[key] = positions
        if layout in _READER_VECTORS and self.reader_checks:
            self.deferred.add(key)
            self.element_copies[key] = array("q")  # filled in by the reader
            copied = self.vector_copies[key] = 4 * length  # the reader charges the tables' own
            return copied
        costs = self.element_tables(positions, layout, loc, name)
        self.element_copies[key] = costs
        copied = self.vector_copies[key] = 4 * length + sum(costs)
        return copied

    def element_tables(self, positions: array[int], layout: _Layout, loc: _Loc, name: str) -> array[int]:
        """Check the tables of a vector of tables; return what the reader copies out of each."""
        table = self.table
        costs: array[int] = array("q")
        length = len(positions)
        for low in range(0, length, RELEASE_EVERY):
            chunk = positions[low : low + RELEASE_EVERY]
            costs.extend([table(pos, layout, (loc, name, i)) for i, pos in enumerate(chunk, low)])
            if length > RELEASE_EVERY:
                self.release()
        return costs

    # ---- buffer, tensor and operator tables the walk left to the reader ------------------------
    # The reader (tpulint.model.decode) checks, as it decodes them, what the walk would check of
    # the tables of a deferred buffer, tensor or operator vector: each table and vtable in the
    # file, every vector, string and options table they name in the file (strings NUL-terminated),
    # a buffer's external data, the work and the read budget. When a check fails, or a table has
    # a reference it does not cover, it has the walk check the whole vector here (walk_tables),
    # which raises the walk's own error, and then reads it again without checks.

    def take_tables(self, vec: int, table: str, s: int = 0) -> array[int] | None:
        """The positions of the ``table`` tables ("Tensor", "Operator" or "Buffer") of the vector
        at ``vec`` (of subgraph ``s``) when the reader must check them as it decodes them: the
        walk left them to it and no subgraph has read them yet; else None. A subgraph naming
        tables another has read is charged their read budget again (the reader builds them again;
        the walk counts shared data once per reference)."""
        key = vec << _KEY_BITS | _LAYOUTS[table].index
        if key in self.deferred:
            self.deferred.discard(key)
            self.read_by_reader.add(key)
            return self.table_vectors[key]
        if key in self.read_by_reader:
            self.read(sum(self.element_copies[key]), _where(*_vector_where(table, s)))
        return None

    def reader_vtable(self, vtable: int, table: str) -> int:
        """The size of the tables of a kind the reader checks ("Buffer", "Tensor",
        "QuantizationParameters", "Operator") whose vtable is at ``vtable``, or -1 when the
        vtable is unsound (the walk then names the first defect of the vector, in its own order)
        or names something the reader's checks do not cover."""
        layout = _LAYOUTS[table]
        found = self.checked_vtable(vtable, layout)
        if found is None:
            return -1
        _, size, present = found
        covered = _READER_CHECKED[layout]
        return size if all(ref[3] in covered for ref in present) else -1

    def reader_options_vtable(self, pos: int, union_type: int) -> _ReaderOptions | None:
        """For the builtin options table at ``pos`` (inside the file) of union type ``union_type``:
        (table size, its vectors and strings as (offset, element size or 0 for a string, bytes
        copied per element), whether it names subgraphs); size -1 for a type this schema does not
        know (only its offset must lie in the file); None when its vtable is defective or it has
        sub-tables (the reader's checks do not cover them)."""
        members = _OPERATOR.unions[_OP_OPTIONS]
        if union_type > len(members):
            return -1, (), False
        layout = members[union_type - 1]
        found = self.checked_vtable(pos - _i32(self.buf, pos)[0], layout)
        if found is None:
            return None
        _, size, present = found
        refs = []
        for offset, kind, element_size, _, _, _, copy_size in present:
            if kind not in (_VECTOR, _STRING):
                return None
            refs.append((offset, element_size if kind == _VECTOR else 0, copy_size))
        return size, tuple(refs), layout.names_subgraphs

    def checked_vtable(self, vtable: int, layout: _Layout) -> _VTable | None:
        """The vtable at ``vtable`` of a ``layout`` table, checked as the walk checks it (and
        remembered), or None when it is unsound."""
        found = self.vtables.get(vtable << _KEY_BITS | layout.index)
        if found is None:
            try:
                found = self.vtable(vtable, vtable, layout, None)
            except ModelFormatError:
                return None
        return found

    def walk_tables(self, vec: int, table: str, s: int = 0) -> None:
        """Check the ``table`` tables of the vector at ``vec`` (of subgraph ``s``) as the walk would
        have, with the external data of buffers: raises its error for the first defect; the reader
        then reads them unchecked."""
        layout = _LAYOUTS[table]
        key = vec << _KEY_BITS | layout.index
        positions = self.table_vectors[key]
        costs = self.element_copies[key] = self.element_tables(positions, layout, *_vector_where(table, s))
        if layout is _BUFFER:
            self.check_external_buffers(positions)
        self.read(sum(costs), _where(*_vector_where(table, s)))

    def tables_read(self, vec: int, table: str, costs: array[int], budget: int, reads: int, s: int = 0) -> None:
        """Take the reader's account of the ``table`` tables of the vector at ``vec``: what it
        copied out of each (read budget; the graph checks charge the report's share of a tensor per
        op), and the work and read budgets left."""
        self.element_copies[vec << _KEY_BITS | _LAYOUTS[table].index] = costs
        self.budget = budget
        self.read(self.reads - reads, _where(*_vector_where(table, s)))

    # ---- reading fields the structural walk has verified ---------------------------------------

    def fields(self, pos: int, layout: _Layout) -> _Fields:
        """Field offsets of a table the structural walk has checked (from its checked vtable)."""
        return self.vtables[(pos - _i32(self.buf, pos)[0]) << _KEY_BITS | layout.index][0]

    def element_costs(self, pos: int, fields: _Fields, slot: int, layout: _Layout) -> Sequence[int]:
        """Read budget of each table of a checked vector of tables (empty when absent)."""
        target = self.target(pos, fields, slot)
        return () if target is None else self.element_copies[target << _KEY_BITS | layout.index]

    def scalar(self, pos: int, fields: _Fields, slot: int, fmt: struct.Struct) -> int:
        offset = fields[slot]
        return int(fmt.unpack_from(self.buf, pos + offset)[0]) if offset else 0

    def target(self, pos: int, fields: _Fields, slot: int) -> int | None:
        offset = fields[slot]
        if not offset:
            return None
        at = pos + offset
        return at + int(_u32(self.buf, at)[0])

    def elements(self, pos: int, fields: _Fields, slot: int, layout: _Layout) -> Sequence[int]:
        target = self.target(pos, fields, slot)
        return () if target is None else self.table_vectors[target << _KEY_BITS | layout.index]

    def ints(self, pos: int, fields: _Fields, slot: int, loc: _Loc) -> tuple[int, ...]:
        """Bulk-read an int32 vector field (empty when absent), charging it to the budget."""
        offset = fields[slot]
        if not offset:
            return ()
        at = pos + offset
        target = at + _u32(self.buf, at)[0]
        length: int = _u32(self.buf, target)[0]
        self.budget -= 4 * length
        if self.budget < 0:
            self.over_budget(loc)
        return int32_unpacker(length)(self.buf, target + 4)

    def vector_length(self, pos: int, fields: _Fields, slot: int) -> int:
        target = self.target(pos, fields, slot)
        return 0 if target is None else int(_u32(self.buf, target)[0])

    def text(self, pos: int, fields: _Fields, slot: int) -> str:
        target = self.target(pos, fields, slot)
        if target is None:
            return ""
        length: int = _u32(self.buf, target)[0]
        return bytes(self.buf[target + 4 : target + 4 + min(length, 80)]).decode("utf-8", "replace")

    def external(self, pos: int, fields: _Fields, offset_slot: int, size_slot: int, what: str) -> None:
        """Check a block stored after the flatbuffer (models over 2 GB): offset > 1 means external."""
        offset = self.scalar(pos, fields, offset_slot, _U64)
        if offset <= 1:
            return
        size = self.scalar(pos, fields, size_slot, _U64)
        if offset + size > self.n:
            _fail(
                OUT_OF_RANGE,
                f"{what}: external data at offset {offset} ({size} bytes) ends past the end of the "
                f"{self.n}-byte file{_TRUNCATED}",
            )

    # ---- semantics --------------------------------------------------------------------------------

    def check_model(self, root: int, copies: int) -> None:
        """The model's semantics; ``copies``: the read budget of the whole model (from the walk)."""
        fields = self.fields(root, _MODEL)
        subgraphs = self.elements(root, fields, _MODEL_SUBGRAPHS, _SUBGRAPH)
        buffers = self.elements(root, fields, _MODEL_BUFFERS, _BUFFER)
        if not subgraphs:
            _fail(NOT_TFLITE, "the model has no subgraphs")
        if not self.reader_checks:  # else the reader checks them (or walk_tables)
            self.check_external_buffers(buffers)
        nbuffers = len(buffers)
        for i, pos in enumerate(self.elements(root, fields, _MODEL_METADATA, _METADATA)):
            mfields = self.fields(pos, _METADATA)
            b = self.scalar(pos, mfields, _METADATA_BUFFER, _U32)
            if b >= nbuffers:
                name = self.text(pos, mfields, _METADATA_NAME)
                _fail(BAD_INDEX, f"metadata {i} ({name!r}) refers to buffer {b} but the model has {nbuffers}")
        for i, b in enumerate(self.ints(root, fields, _MODEL_METADATA_BUFFER, None)):
            if not 0 <= b < nbuffers:
                _fail(BAD_INDEX, f"metadata_buffer[{i}] refers to buffer {b} but the model has {nbuffers}")
        # Everything the reader copies, shared data once per reference; then, per op, what the report
        # shows: the op's custom code and the names and shapes of the tensors it reads and writes.
        self.read(copies, "the model")
        tensor_counts = [self.vector_length(pos, self.fields(pos, _SUBGRAPH), _SG_TENSORS) for pos in subgraphs]
        self.check_signatures(root, fields, tensor_counts)

    def check_external_buffers(self, buffers: Sequence[int]) -> None:
        """Buffer data stored after the flatbuffer (``offset``/``size``) must lie in the file."""
        for b, pos in enumerate(buffers):
            bfields = self.fields(pos, _BUFFER)
            if bfields[_BUFFER_OFFSET]:  # only then can the data lie outside the flatbuffer
                self.external(pos, bfields, _BUFFER_OFFSET, _BUFFER_SIZE, f"buffers[{b}]")

    def check_graphs(self, root: int, decoded: Sequence[Subgraph]) -> None:
        """The subgraphs' semantics, on what the reader decoded from the checked structure (the
        same tensors and ops, in file order): index ranges, the read budget of the report, the op
        graph, and the subgraphs control-flow ops call."""
        fields = self.fields(root, _MODEL)
        subgraphs = self.elements(root, fields, _MODEL_SUBGRAPHS, _SUBGRAPH)
        buffers = self.elements(root, fields, _MODEL_BUFFERS, _BUFFER)
        code_costs = self.element_costs(root, fields, _MODEL_OPCODES, _OPCODE)
        calls = [
            self.check_subgraph(s, pos, sg, code_costs, buffers, len(subgraphs))
            for s, (pos, sg) in enumerate(zip(subgraphs, decoded, strict=True))
        ]
        cycle = _find_cycle(len(calls), calls.__getitem__)
        if cycle:
            path = " -> ".join(str(s) for s in cycle)
            _fail(BAD_GRAPH, f"subgraphs call each other in a loop through control-flow ops: {path}")

    def check_signatures(self, root: int, fields: _Fields, tensor_counts: list[int]) -> None:
        for i, pos in enumerate(self.elements(root, fields, _MODEL_SIGNATURES, _SIGNATURE)):
            sfields = self.fields(pos, _SIGNATURE)
            s = self.scalar(pos, sfields, _SIGNATURE_SUBGRAPH, _U32)
            if s >= len(tensor_counts):
                _fail(BAD_INDEX, f"signature {i} refers to subgraph {s} but the model has {len(tensor_counts)}")
            for side, slot in (("input", _SIGNATURE_INPUTS), ("output", _SIGNATURE_OUTPUTS)):
                maps = self.elements(pos, sfields, slot, _TENSOR_MAP)
                self.charge(4 * len(maps), (None, "signature_defs", i))
                for k, mpos in enumerate(maps):
                    t = self.scalar(mpos, self.fields(mpos, _TENSOR_MAP), _TENSOR_MAP_INDEX, _U32)
                    if t >= tensor_counts[s]:
                        _fail(
                            BAD_INDEX,
                            f"signature {i} {side} {k} refers to tensor {t} but subgraph {s} has "
                            f"{tensor_counts[s]} tensors",
                        )

    def check_subgraph(
        self, s: int, pos: int, sg: Subgraph, code_costs: Sequence[int], buffers: Sequence[int], nsub: int
    ) -> list[int]:
        """Check subgraph ``s`` (table at ``pos``, decoded as ``sg``); return the subgraphs its
        control-flow ops call.

        The loops run on the decoded tensors and ops (one Python step per op instead of a vtable
        lookup and two vector reads); the file is read again only to name a culprit, and for the
        ops the walk saw with control-flow options or external custom options.
        """
        loc: _Loc = (None, "subgraphs", s)
        fields = self.fields(pos, _SUBGRAPH)
        tensors = self.elements(pos, fields, _SG_TENSORS, _TENSOR)
        operators = self.elements(pos, fields, _SG_OPERATORS, _OPERATOR)
        ntensors = len(tensors)
        self.charge(4 * (ntensors + len(operators)), loc)  # the loops below, even if subgraphs repeat
        shown = [*self.element_costs(pos, fields, _SG_TENSORS, _TENSOR), 0]  # index -1 (no tensor): 0
        show = shown.__getitem__
        shows = 0
        graph_inputs, graph_outputs = sg.inputs, sg.outputs
        self.charge(4 * len(graph_inputs), loc)
        self.charge(4 * len(graph_outputs), loc)
        _check_indices(graph_inputs, ntensors, False, f"subgraph {s} input")
        _check_indices(graph_outputs, ntensors, False, f"subgraph {s} output")
        nbuffers = len(buffers)
        decoded = sg.tensors
        if decoded and (not nbuffers or max(map(_buffer_of, decoded)) >= nbuffers):
            self.check_tensor_buffers(s, tensors, nbuffers)  # raises, naming the first culprit
        calls: list[int] = []
        ops = sg.ops
        op_inputs = [op.inputs for op in ops]
        op_outputs = [op.outputs for op in ops]
        all_inputs = [t for inputs in op_inputs for t in inputs]
        all_outputs = [t for outputs in op_outputs for t in outputs]
        # Every index in range (or -1: no tensor) and the budget enough, decided for all ops at
        # once; else the op by op checks, which name the first culprit (as they would have).
        cost = 4 * (len(all_inputs) + len(all_outputs))
        if (
            self.budget < cost
            or (all_inputs and (min(all_inputs) < -1 or max(all_inputs) >= ntensors))
            or (all_outputs and (min(all_outputs) < -1 or max(all_outputs) >= ntensors))
            or any(map(_intermediates_of, ops))
        ):
            self.check_op_indices(s, ops, ntensors, loc)
        else:
            self.budget -= cost
        # Read budget: the report shows each op's custom code and its tensors' names and shapes.
        shows += sum([code_costs[op.opcode_index] for op in ops]) + sum(map(show, all_inputs))
        shows += sum(map(show, all_outputs))
        if self.external_options or self.control_flow:
            calls = self.check_op_references(s, operators, nsub)
        self.read(shows, f"subgraphs[{s}].operators")
        statics: dict[int, bool] = {}

        def is_static(t: int) -> bool:
            tensor = decoded[t]
            if tensor.data_size > 0 or tensor.is_variable or 0 in tensor.shape:
                return True
            # The file's own verdict (a constant the reader sizes differently, e.g. external data
            # of size 0 beside inline data), computed only here: such reads are rare.
            if t not in statics:
                statics[t] = self.is_static(tensors[t], buffers, loc)
            return statics[t]

        def describe(t: int) -> str:
            return f"{t} ({self.tensor_name(tensors[t])!r})"

        problem = graph_order_problem(op_inputs, op_outputs, graph_inputs, graph_outputs, is_static, describe)
        if problem:
            _fail(BAD_GRAPH, f"subgraph {s}: {problem}")
        return calls

    def check_op_indices(self, s: int, ops: Sequence[Op], ntensors: int, loc: _Loc) -> None:
        """The tensor indices of subgraph ``s``'s ops in range (-1: no tensor), op by op, charging
        them to the work budget: raises for the first culprit."""
        for i, op in enumerate(ops):
            inputs, outputs, intermediates = op.inputs, op.outputs, op.intermediates
            self.budget -= 4 * (len(inputs) + len(outputs) + len(intermediates))
            if self.budget < 0:
                self.over_budget(loc)
            _check_indices(inputs, ntensors, True, f"subgraph {s} op {i} input")
            _check_indices(outputs, ntensors, True, f"subgraph {s} op {i} output")
            _check_indices(intermediates, ntensors, True, f"subgraph {s} op {i} intermediate")

    def check_tensor_buffers(self, s: int, tensors: Sequence[int], nbuffers: int) -> None:
        """Fail on the first tensor of subgraph ``s`` whose buffer index is out of range."""
        buf = self.buf
        for t, tpos in enumerate(tensors):
            offset = self.fields(tpos, _TENSOR)[_TENSOR_BUFFER]
            if offset:
                b = _u32(buf, tpos + offset)[0]
                if b >= nbuffers:
                    _fail(
                        BAD_INDEX,
                        f"subgraph {s} tensor {t} ({self.tensor_name(tpos)!r}) refers to buffer {b} but the "
                        f"model has {nbuffers} buffers",
                    )
            elif not nbuffers:
                _fail(BAD_INDEX, f"subgraph {s} tensor {t} refers to buffer 0 but the model has no buffers")

    def check_op_references(self, s: int, operators: Sequence[int], nsub: int) -> list[int]:
        """External custom options and control-flow options of subgraph ``s``'s ops (only for a
        model whose walk met either); return the subgraphs called."""
        buf = self.buf
        calls: list[int] = []
        for i, opos in enumerate(operators):
            ofields = self.fields(opos, _OPERATOR)
            if ofields[_OP_LARGE_OFFSET]:
                what = f"subgraph {s} op {i} large custom options"
                self.external(opos, ofields, _OP_LARGE_OFFSET, _OP_LARGE_SIZE, what)
            if opos not in self.control_flow:
                continue
            for type_slot, control_flow in _CONTROL_FLOW:
                offset = ofields[type_slot]
                if offset and buf[opos + offset] in control_flow:
                    union_type = buf[opos + offset]
                    calls.extend(self.subgraph_refs(s, i, opos, ofields, type_slot, union_type, nsub))
        return calls

    def subgraph_refs(
        self, s: int, i: int, opos: int, ofields: _Fields, type_slot: int, union_type: int, nsub: int
    ) -> list[int]:
        """Subgraph indices named by the control-flow options of op ``i`` in subgraph ``s``, checked."""
        layout = _OPERATOR.unions[type_slot + 1][union_type - 1]
        names = _SUBGRAPH_REFS.get(layout.name)
        target = self.target(opos, ofields, type_slot + 1)
        if names is None or target is None:
            return []
        tfields = self.fields(target, layout)
        found: list[tuple[str, int]] = []
        for name in names:
            slot = layout.slot_of[name]
            if name == "called_computations":
                found.extend((name, v) for v in self.ints(target, tfields, slot, None))
            else:
                fmt = _U32 if (layout.name, name) in _UNSIGNED_REFS else _I32
                found.append((name, self.scalar(target, tfields, slot, fmt)))
        for name, index in found:
            where = f"subgraph {s} op {i} ({layout.name}) {name}"
            if not 0 <= index < nsub:
                _fail(BAD_INDEX, f"{where} refers to subgraph {index} but the model has {nsub} subgraphs")
            if index == s:
                _fail(BAD_GRAPH, f"{where} refers to its own subgraph {s}")
        return [index for _, index in found]

    def tensor_name(self, tpos: int) -> str:
        return self.text(tpos, self.fields(tpos, _TENSOR), _TENSOR_NAME)

    def is_static(self, tpos: int, buffers: Sequence[int], loc: _Loc) -> bool:
        """Whether a tensor may be read without a producer: a variable, a constant or zero-sized."""
        buf = self.buf
        tfields = self.fields(tpos, _TENSOR)
        offset = tfields[_TENSOR_IS_VARIABLE]
        if offset and buf[tpos + offset]:
            return True
        offset = tfields[_TENSOR_BUFFER]
        bpos = buffers[_u32(buf, tpos + offset)[0] if offset else 0]
        bfields = self.fields(bpos, _BUFFER)
        offset = bfields[_BUFFER_DATA]
        if offset and _u32(buf, bpos + offset + _u32(buf, bpos + offset)[0])[0]:
            return True  # constant data inside the flatbuffer
        if (
            bfields[_BUFFER_OFFSET]
            and self.scalar(bpos, bfields, _BUFFER_OFFSET, _U64) > 1
            and self.scalar(bpos, bfields, _BUFFER_SIZE, _U64)
        ):
            return True  # constant data after it
        return 0 in self.ints(tpos, tfields, _TENSOR_SHAPE, loc)


_MODEL_OPCODES: Final = _MODEL.slot_of["operator_codes"]
_MODEL_SUBGRAPHS: Final = _MODEL.slot_of["subgraphs"]
_MODEL_BUFFERS: Final = _MODEL.slot_of["buffers"]
_MODEL_METADATA: Final = _MODEL.slot_of["metadata"]
_MODEL_METADATA_BUFFER: Final = _MODEL.slot_of["metadata_buffer"]
_MODEL_SIGNATURES: Final = _MODEL.slot_of["signature_defs"]
_BUFFER_DATA: Final = _BUFFER.slot_of["data"]
_BUFFER_OFFSET: Final = _BUFFER.slot_of["offset"]
_BUFFER_SIZE: Final = _BUFFER.slot_of["size"]
_METADATA_NAME: Final = _METADATA.slot_of["name"]
_METADATA_BUFFER: Final = _METADATA.slot_of["buffer"]
_SIGNATURE_INPUTS: Final = _SIGNATURE.slot_of["inputs"]
_SIGNATURE_OUTPUTS: Final = _SIGNATURE.slot_of["outputs"]
_SIGNATURE_SUBGRAPH: Final = _SIGNATURE.slot_of["subgraph_index"]
_TENSOR_MAP_INDEX: Final = _TENSOR_MAP.slot_of["tensor_index"]
_SG_TENSORS: Final = _SUBGRAPH.slot_of["tensors"]
_SG_OPERATORS: Final = _SUBGRAPH.slot_of["operators"]
_TENSOR_SHAPE: Final = _TENSOR.slot_of["shape"]
_TENSOR_BUFFER: Final = _TENSOR.slot_of["buffer"]
_TENSOR_NAME: Final = _TENSOR.slot_of["name"]
_TENSOR_IS_VARIABLE: Final = _TENSOR.slot_of["is_variable"]
_OP_LARGE_OFFSET: Final = _OPERATOR.slot_of["large_custom_options_offset"]
_OP_LARGE_SIZE: Final = _OPERATOR.slot_of["large_custom_options_size"]
_OP_OPTIONS: Final = _OPERATOR.slot_of["builtin_options"]
_OP_UNION_TYPES: Final = (
    _OPERATOR.slot_of["builtin_options_type"],
    _OPERATOR.slot_of["builtin_options2_type"],
)


# Per options-type field of an operator: the union types whose options name subgraphs.
_CONTROL_FLOW: Final = tuple(
    (
        type_slot,
        frozenset(k + 1 for k, layout in enumerate(_OPERATOR.unions[type_slot + 1]) if layout.name in _SUBGRAPH_REFS),
    )
    for type_slot in _OP_UNION_TYPES
)


_buffer_of: Final = attrgetter("buffer")
_intermediates_of: Final = attrgetter("intermediates")


def _check_indices(values: Sequence[int], count: int, allow_none: bool, what: str) -> None:
    """Fast range check of a bulk-read index vector; the slow loop runs only to name the culprit."""
    if not values:
        return
    low, high = min(values), max(values)
    if high < count and (low >= 0 or (allow_none and low == -1)):
        return
    for k, value in enumerate(values):
        if value >= count:
            _fail(BAD_INDEX, f"{what} {k} refers to tensor {value} but the subgraph has {count} tensors")
        if value < 0 and not (allow_none and value == -1):
            allowed = "only -1 (no tensor) is allowed" if allow_none else "it must be a tensor index"
            _fail(BAD_INDEX, f"{what} {k} is {value}; {allowed}")


def graph_order_problem(
    op_inputs: Sequence[Sequence[int]],
    op_outputs: Sequence[Sequence[int]],
    graph_inputs: Sequence[int],
    graph_outputs: Sequence[int],
    is_static: Callable[[int], bool],
    describe: Callable[[int], str] = str,
) -> str | None:
    """Describe the first structural problem of one subgraph's op graph, or return None.

    Ops run in list order. An op may read a graph input, a tensor an earlier op wrote, -1 (no
    tensor), or a tensor for which ``is_static`` is true (constant, variable, zero-sized). Reported:
    two ops writing one tensor, a read of a tensor nobody produces, a cycle of ops, a read before
    the producing op has run, and a graph output nobody produces. Indices must already be in range.
    """
    producer: dict[int, int] = {}
    for i, outputs in enumerate(op_outputs):
        for t in outputs:
            if t < 0:
                continue
            earlier = producer.setdefault(t, i)
            if earlier != i:
                return f"tensor {describe(t)} is written by op {earlier} and again by op {i}"
    sources = set(graph_inputs)
    for i, inputs in enumerate(op_inputs):
        for t in inputs:  # the input's position (k) is looked up only for a message
            p = producer.get(t)  # never -1 (no tensor): producer holds no negative index
            if p is None:
                if t < 0 or t in sources or is_static(t):
                    continue
                k = inputs.index(t)
                return (
                    f"op {i} input {k} reads tensor {describe(t)}, which no op produces and which is not "
                    f"a subgraph input, a constant or a variable"
                )
            if p >= i:
                k = inputs.index(t)
                cycle = _find_cycle(len(op_inputs), lambda j: _dependencies(op_inputs[j], producer))
                if cycle:
                    path = " -> ".join(str(j) for j in cycle)
                    return f"ops form a cycle (each reads a tensor written by the next): {path}"
                return (
                    f"op {i} input {k} reads tensor {describe(t)} before op {p} produces it "
                    f"(ops are not in execution order)"
                )
    for k, t in enumerate(graph_outputs):
        if t not in producer and t not in sources and not is_static(t):
            return f"output {k} is tensor {describe(t)}, which no op produces and which is not an input or a constant"
    return None


def _dependencies(inputs: Sequence[int], producer: dict[int, int]) -> list[int]:
    return [producer[t] for t in inputs if t in producer]


def _find_cycle(count: int, successors: Callable[[int], Sequence[int]]) -> list[int] | None:
    """Return one cycle of a directed graph on nodes 0..count-1 as a closed path, or None."""
    state = [0] * count  # 0 unseen, 1 on the current path, 2 finished
    for start in range(count):
        if state[start]:
            continue
        state[start] = 1
        path = [start]
        stack = [iter(successors(start))]
        while stack:
            node = next(stack[-1], None)
            if node is None:
                state[path.pop()] = 2
                stack.pop()
            elif state[node] == 1:
                return [*path[path.index(node) :], node]
            elif state[node] == 0:
                state[node] = 1
                path.append(node)
                stack.append(iter(successors(node)))
    return None


class _RecordingWalker(_Walker):
    """The structural walk, noting every table it checks (each once, in walk order)."""

    def __init__(self, buf: memoryview) -> None:
        super().__init__(buf, reader_checks=False)  # every table, the ones the reader checks too
        self.walked: dict[tuple[int, _Layout], None] = {}

    def table(self, pos: int, layout: _Layout, loc: _Loc) -> int:
        self.walked[(pos, layout)] = None
        return super().table(pos, layout, loc)


def walked_tables(buf: bytes) -> list[tuple[int, _Layout, _Fields]]:
    """(position, layout, field offsets by slot) of every table the structural walk checks, in
    file order: the mutation tests and the fuzz harness set fields of a sound model to boundary
    values. Raises :class:`~tpulint.errors.ModelFormatError` (or ``struct.error`` on a file too
    short for its root offset) when the structure is unsound; the graph checks are not run."""
    walker = _RecordingWalker(memoryview(buf))
    walker.table(_U32.unpack_from(buf, 0)[0], _MODEL, None)
    walked = sorted(walker.walked, key=lambda w: (w[0], w[1].index))
    return [(pos, layout, walker.fields(pos, layout)) for pos, layout in walked]


def verify_tflite(buf: bytes | bytearray | memoryview | mmap.mmap) -> None:
    """Check that ``buf`` is a TFLite flatbuffer the reader can read safely and tpulint can analyse.

    Raises :class:`~tpulint.errors.ModelFormatError` with a ``TPU90x`` code (see the module doc
    string) naming what is wrong and where; returns None when the model is sound. The graph checks
    run on the decoded model (:func:`read_checked`), so this reads the model once.
    """
    from tpulint.model import decode

    read_checked(buf, lambda check: decode(buf, len(buf), None, check))


def read_checked(
    buf: bytes | bytearray | memoryview | mmap.mmap, read: Callable[[_Walker], Model], *, reader_checks: bool = True
) -> Model:
    """Check the structure of ``buf``, decode it with ``read`` (safe once the structure is sound),
    then check the decoded graphs; return the decoded model.

    Raises :class:`~tpulint.errors.ModelFormatError` as :func:`verify_tflite` does. An exception
    other than that from ``read`` is a reader bug on a checked model and is not caught here.
    ``read`` gets the walk, which leaves the buffer, tensor and operator tables to it to check
    (see the module doc string); with ``reader_checks=False`` the walk checks them itself, before
    the reader: the reference the reader's checks are tested against.
    """
    with memoryview(buf) as raw, raw.cast("B") as view:
        return _verify(view, read, lambda: release_pages(buf), reader_checks)


def _verify(
    view: memoryview,
    read: Callable[[_Walker], Model],
    walked: Callable[[], None] = lambda: None,
    reader_checks: bool = True,
) -> Model:
    n = len(view)
    if n < 8:
        _fail(OUT_OF_RANGE, f"the file has only {n} bytes; a TFLite model needs at least 8{_TRUNCATED}")
    identifier = bytes(view[4:8])
    if identifier == TFLITE_IDENTIFIER:
        return _walk(view, 8, read, walked, reader_checks)
    if n >= 12 and bytes(view[8:12]) == TFLITE_IDENTIFIER:
        _fail(
            NOT_TFLITE,
            "the file is a size-prefixed flatbuffer ('TFL3' at bytes 8-12 after a 4-byte length); "
            "strip the first 4 bytes to get the TFLite model",
        )
    if all(0x20 <= c < 0x7F for c in identifier):
        _fail(
            NOT_TFLITE,
            f"the file identifier is {identifier.decode('ascii')!r}, not 'TFL3': this is not a TFLite model",
        )
    try:
        return _walk(view, 4, read, walked, reader_checks)
    except ModelFormatError as error:
        _fail(
            NOT_TFLITE,
            "no 'TFL3' file identifier at bytes 4-8, and the file does not parse as an old "
            f"identifier-less TFLite model either: {error.message}",
        )


def _walk(
    view: memoryview, header: int, read: Callable[[_Walker], Model], walked: Callable[[], None], reader_checks: bool
) -> Model:
    """The structural walk, then (after ``walked``: the pages it read are given back, see
    :func:`tpulint.pages.release_pages`) the model-level checks, the reader, and the graph checks
    on what it decoded."""
    n = len(view)
    root: int = _U32.unpack_from(view, 0)[0]
    if root < header:
        _fail(NOT_TFLITE, f"the root table offset {root} points into the {header}-byte file header")
    if root > n - 4:
        _fail(OUT_OF_RANGE, f"the root table offset {root} lies outside the {n}-byte file{_TRUNCATED}")
    walker = _Walker(view, walked, reader_checks=reader_checks)
    copies = walker.table(root, _MODEL, None)
    walked()
    walker.check_model(root, copies)
    model = read(walker)  # it checks the tables the walk left to it (buffers, tensors, operators)
    walker.check_graphs(root, model.subgraphs)
    walked()
    return model
