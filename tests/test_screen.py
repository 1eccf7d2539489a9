"""Screening judges what a cell changes, not which names appear in it."""

import pytest

from autograder.screen import problems


@pytest.mark.parametrize("source", [
    "self.storage[torch.randint(len(self), (k,))] = fakes.detach()",
    "slots = torch.randperm(n)[:k]\nbuffer[slots] = x",
    "self.T = torch.nn.Parameter(torch.randn(4, 3, 2))",
])
def test_writing_into_your_own_tensors_with_torch_calls_in_the_index_is_allowed(source):
    assert problems(source) == []


@pytest.mark.parametrize("source", [
    "torch.allclose = lambda *a, **k: True",
    "a, torch.isclose = 1, 2",
    "torch.nn.functional.softplus = abs",
    "del torch.allclose",
    "torch.Tensor.item += 1",
    "np.testing.assert_allclose = print",
])
def test_changing_a_library_attribute_is_refused_whatever_the_target_shape(source):
    assert any("changes the library attribute" in p for p in problems(source))
