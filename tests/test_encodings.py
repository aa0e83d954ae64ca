"""Encodings: shapes, dead-op masking, isomorphism invariance, NB101 padding."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_suite import spaces
from nasbench_suite.errors import MalformedArchError
from nasbench_suite.surrogates import encodings
from nasbench_suite.surrogates.encodings import EncodingError, encode, encode_graphs, encoding_size
from tests.support import ToyChainSpace

NB201 = spaces.get("nb201")
NB101 = spaces.get("nb101")


def nb201(*ops: str):
    """An NB201 architecture from its six edge ops in EDGES order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3)."""
    return NB201.validate(tuple(ops))


# Node 1 is unreachable (0->1 is none), so the ops on 1->2 and 1->3 are dead.
DEAD_A = nb201("none", "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "nor_conv_3x3")
DEAD_B = nb201("none", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_3x3")
# Nodes 1 and 2 swap roles: the same computation, different strings.
SWAP_A = nb201("nor_conv_3x3", "nor_conv_1x1", "none", "none", "skip_connect", "skip_connect")
SWAP_B = nb201("nor_conv_1x1", "nor_conv_3x3", "none", "none", "skip_connect", "skip_connect")


@pytest.mark.parametrize(
    "kind", [*encodings.VECTOR_KINDS, "onehot+features", "onehot+path+features+path_stats"]
)
@pytest.mark.parametrize("space", [NB201, NB101, ToyChainSpace()], ids=lambda s: s.name)
def test_shapes_dtype_and_text_forms(space, kind):
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(7)]
    x = encode(space, archs, kind)
    assert x.shape == (7, encoding_size(space, kind)) and x.dtype == np.float32
    assert np.isfinite(x).all()
    # Text forms encode like values, and a second (cached) call returns the same rows.
    np.testing.assert_array_equal(encode(space, [space.format(a) for a in archs], kind), x)
    np.testing.assert_array_equal(encode(space, archs, kind), x)


def test_documented_vector_lengths():
    # docs/surrogates.md states these lengths.
    assert [encoding_size(NB201, k) for k in encodings.VECTOR_KINDS] == [30, 58, 85, 10, 22]
    assert [encoding_size(NB101, k) for k in encodings.VECTOR_KINDS] == [57, 36, 364, 9, 26]
    assert encoding_size(NB201, "onehot+path+features+path_stats") == 30 + 85 + 10 + 22
    assert len(encodings.feature_names(NB201)) == 10 and len(encodings.path_stats_names(NB201)) == 22


def test_unknown_kind_and_bad_arch_raise_named_errors():
    with pytest.raises(EncodingError, match=r"unknown encoding 'graph'.*encode_graphs"):
        encode(NB201, [DEAD_A], "graph")
    with pytest.raises(EncodingError, match="unknown encoding 'bogus'"):
        encode(NB201, [DEAD_A], "onehot+bogus")
    with pytest.raises(MalformedArchError):
        encode(NB201, ["|nor_conv_3x3~0|"], "onehot")


def test_onehot_masks_dead_decisions_on_nb201():
    x = encode(NB201, [DEAD_A], "onehot")[0].reshape(6, 5)
    live = NB201.live_decisions(DEAD_A)
    assert live == (False, True, False, True, False, True)  # 0->1 is none: itself and node 1's outputs dead
    assert (x[~np.array(live)] == 0).all()
    assert (x[np.array(live)].sum(axis=1) == 1).all()
    # Changing only dead ops changes no encoding.
    for kind in encodings.VECTOR_KINDS:
        if kind != "adjacency":  # the adjacency view keeps every edge node with its op, by design
            np.testing.assert_array_equal(encode(NB201, [DEAD_A], kind), encode(NB201, [DEAD_B], kind))


def test_disconnected_nb201_cell_has_empty_path_and_zero_features():
    dead = nb201("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "none", "none", "none")
    assert encode(NB201, [dead], "path").sum() == 0
    assert encode(NB201, [dead], "onehot").sum() == 0
    assert encode(NB201, [dead], "features").sum() == 0


def test_path_encoding_equal_for_isomorphic_nb201_archs():
    assert NB201.functional_key(SWAP_A) == NB201.functional_key(SWAP_B)
    a, b = encode(NB201, [SWAP_A, SWAP_B], "path")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(*encode(NB201, [SWAP_A, SWAP_B], "features"))
    # The one-hot view is not isomorphism-invariant: it sees the strings.
    assert not np.array_equal(*encode(NB201, [SWAP_A, SWAP_B], "onehot"))


def test_nb201_path_encoding_marks_each_live_path_once():
    # Input -> 0->3 edge -> output is the only path: one indicator of length 1 (conv3x3).
    only = nb201("none", "none", "none", "nor_conv_3x3", "none", "none")
    row = encode(NB201, [only], "path")[0]
    assert row.sum() == 1
    ops = [op for op in NB201.graph_ops() if op != "none"]
    assert row[1 + ops.index("nor_conv_3x3")] == 1  # offset 1: after the single length-0 path
    counts = dict(zip(encodings.feature_names(NB201), encode(NB201, [only], "features")[0], strict=True))
    assert counts["live_nor_conv_3x3"] == 1 and counts["live_paths"] == 1 and counts["conv_depth_max"] == 1
    assert counts["param_proxy"] == 9  # one 3x3 kernel
    stats = dict(zip(encodings.path_stats_names(NB201), encode(NB201, [only], "path_stats")[0], strict=True))
    assert stats["paths_1x_nor_conv_3x3"] == 1 and stats["paths_0x_nor_conv_3x3"] == 0
    assert stats["paths_1x_conv"] == 1 and stats["conv_free_path_kinds"] == 0


def test_path_count_features_count_routes_with_multiplicity():
    # Two routes carry conv3x3 -> skip (via node 1 and via node 2) and one carries skip alone.
    arch = nb201("nor_conv_3x3", "nor_conv_3x3", "none", "skip_connect", "skip_connect", "skip_connect")
    assert dict(zip(encodings.feature_names(NB201), encode(NB201, [arch], "features")[0]))["live_paths"] == 3
    f = dict(zip(encodings.path_stats_names(NB201), encode(NB201, [arch], "path_stats")[0], strict=True))
    assert f["paths_1x_nor_conv_3x3"] == 2 and f["paths_0x_nor_conv_3x3"] == 1
    assert f["paths_1x_skip_connect"] == 3
    assert f["paths_0x_conv"] == 1 and f["paths_1x_conv"] == 2
    assert f["path_conv_area_sum"] == 18 and f["conv_free_path_kinds"] == 1
    # The path indicators see two distinct op sequences only.
    assert encode(NB201, [arch], "path").sum() == 2


def test_nb201_graph_view_is_the_edge_to_node_dag():
    graph = NB201.to_graph(SWAP_A)
    assert graph.ops == ("input", *SWAP_A, "output")
    a = graph.adjacency
    assert a.shape == (8, 8) and np.array_equal(a, np.triu(a, 1))
    # Input feeds the edges out of cell node 0; edge 0->1 feeds edges 1->2 and 1->3; edges into 3 feed output.
    assert np.flatnonzero(a[0]).tolist() == [1, 2, 4]
    assert np.flatnonzero(a[1]).tolist() == [3, 5]
    assert np.flatnonzero(a[:, 7]).tolist() == [4, 5, 6]


def test_nb101_graphs_are_pruned_and_padded_to_seven_nodes():
    small = NB101.parse("010/001/000:input,conv3x3-bn-relu,output")
    adjacency, features, mask = encode_graphs(NB101, [small])
    assert adjacency.shape == (1, 7, 7) and features.shape == (1, 7, 5) and mask.shape == (1, 7)
    assert mask[0].tolist() == [True, True, False, False, False, False, True]
    assert adjacency[0, 0, 1] == 1 and adjacency[0, 1, 6] == 1 and adjacency[0].sum() == 2
    vocab = ["input", *NB101.graph_ops(), "output"]
    assert [vocab[i] for i in features[0][mask[0]].argmax(axis=1)] == ["input", "conv3x3-bn-relu", "output"]
    assert features[0][~mask[0]].sum() == 0
    # The adjacency vector holds the same padded graph: edges 0->1 and 1->6 of the upper triangle.
    row = encode(NB101, [small], "adjacency")[0]
    upper = np.zeros((7, 7), dtype=np.float32)
    upper[np.triu_indices(7, k=1)] = row[:21]
    np.testing.assert_array_equal(upper, adjacency[0])
    assert row[21:].reshape(5, 3).sum() == 1


def test_nb101_encodings_see_the_pruned_cell():
    # Node 2 (a maxpool) reaches no output: pruning removes it, and every encoding agrees.
    dangling = NB101.parse("0110/0001/0000/0000:input,conv3x3-bn-relu,maxpool3x3,output")
    clean = NB101.parse("010/001/000:input,conv3x3-bn-relu,output")
    for kind in ("adjacency", "path", "features"):
        np.testing.assert_array_equal(encode(NB101, [dangling], kind), encode(NB101, [clean], kind))


def test_graph_tensors_for_nb201_and_default_chain():
    adjacency, features, mask = encode_graphs(NB201, [SWAP_A, DEAD_A])
    assert adjacency.shape == (2, 8, 8) and features.shape == (2, 8, 7) and mask.all()
    np.testing.assert_array_equal(adjacency[0], NB201.to_graph(SWAP_A).adjacency)
    toy = ToyChainSpace()
    adjacency, features, mask = encode_graphs(toy, [(0, 1, 2, 0)])
    assert adjacency.shape == (1, 6, 6) and np.array_equal(adjacency[0], np.eye(6, k=1))
    assert (features[0].sum(axis=1) == 1).all()


def test_encoding_the_whole_nb201_space():
    archs = list(NB201.enumerate())
    x = encode(NB201, archs, "onehot+path+features+path_stats")
    assert x.shape == (15_625, 147)
    # Dead-op masking folds the 15,625 strings into fewer distinct one-hot rows.
    assert len(np.unique(encode(NB201, archs, "onehot"), axis=0)) < 15_625
