"""Model family of section II: parameter counts, shapes, padding, memory formats, deployment."""
from __future__ import annotations

import pytest
import torch

from cenet_lib.models import ENCODER_WEIGHTS_ENV, EncoderWeightsError, SegmentationModel, build_model, list_models
from cenet_lib.models.context import DACBlock, RMPBlock
from cenet_lib.models.export import export_program

ALL_MODELS = list_models()


def trainable_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_cenet_parameter_count_matches_released_code():
    assert trainable_parameters(build_model("cenet", num_classes=1, in_channels=3)) == 29_003_093


def test_per_branch_variant_adds_three_dac_and_three_rmp_convolutions():
    extra = 3 * (512 * 512 + 512) + 3 * (512 + 1)
    assert trainable_parameters(build_model("cenet_per_branch")) == 29_003_093 + extra


def test_backbone_is_cenet_without_context_extractor():
    cenet, backbone = build_model("cenet"), build_model("backbone")
    context = trainable_parameters(cenet.context)
    # decoder4's first 1x1 convolution and its batch norm see 516 instead of 512 channels
    decoder_extra = trainable_parameters(cenet.decoder.block4) - trainable_parameters(backbone.decoder.block4)
    assert trainable_parameters(cenet) - trainable_parameters(backbone) == context + decoder_extra
    assert len(backbone.context) == 0


@pytest.mark.parametrize("name", ALL_MODELS)
def test_forward_backward_any_size(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=1)
    x = torch.randn(1, 3, 200, 300, requires_grad=True)
    logits = model(x)
    assert logits.shape == (1, 1, 200, 300)
    logits.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)


@pytest.mark.parametrize("name", ["cenet", "unet"])
def test_outputs_are_logits_not_probabilities(name):
    """With the last layer set to weight 0 and bias -5, the output is -5: no sigmoid or softmax follows."""
    model = build_model(name).eval()
    last = model.head[-1] if name == "cenet" else model.head
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.constant_(last.bias, -5.0)
    assert torch.equal(model(torch.randn(1, 3, 64, 64)), torch.full((1, 1, 64, 64), -5.0))


@pytest.mark.parametrize("name", ["cenet", "unet"])
def test_multiclass_and_grey_input(name):
    model = build_model(name, num_classes=11, in_channels=1).eval()
    assert model(torch.randn(2, 1, 96, 130)).shape == (2, 11, 96, 130)


class _PassThrough(SegmentationModel):
    """forward_padded returns its input: what comes out shows how the base class padded and cropped."""

    def forward_padded(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = tuple(x.shape[-2:])
        return x


def test_padding_crops_back_exactly():
    model = _PassThrough()
    x = torch.randn(1, 2, 37, 70)
    assert torch.equal(model(x), x)  # cropped back to the very pixels that went in
    assert model.seen == (64, 96)
    x = torch.randn(1, 2, 64, 96)
    assert torch.equal(model(x), x) and model.seen == (64, 96)  # sizes that fit are not padded
    assert build_model("backbone").padded_size(449) == 480
    assert build_model("cenet").padded_size(100) == 192  # RMP's 6x6 pooling needs 6 cells at 1/32


def test_dac_receptive_fields():
    """Branch 4 of DAC (rates 1, 3, 5) sees 19x19 pixels: an impulse spreads to exactly 19 columns."""
    block = DACBlock(1, shared_1x1=False)
    for conv in (block.atrous_a, block.atrous_b, block.atrous_c):
        torch.nn.init.ones_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    impulse = torch.zeros(1, 1, 41, 41)
    impulse[0, 0, 20, 20] = 1
    fourth = block.atrous_c(block.atrous_b(block.atrous_a(impulse)))
    columns = torch.nonzero(fourth[0, 0].abs().sum(0)).flatten()
    assert columns.max() - columns.min() + 1 == 19
    third = block.atrous_b(block.atrous_a(impulse))
    columns = torch.nonzero(third[0, 0].abs().sum(0)).flatten()
    assert columns.max() - columns.min() + 1 == 9


def test_rmp_output_channels_and_levels():
    block = RMPBlock(8)
    x = torch.randn(2, 8, 14, 14)
    out = block(x)
    assert out.shape == (2, 12, 14, 14)
    assert torch.equal(out[:, 4:], x)  # the input is concatenated unchanged
    constant = block(torch.ones(1, 8, 14, 14))[:, :4]
    reduction = block.reductions[0]
    expected = reduction.weight.sum() + reduction.bias  # max-pool of ones is one
    torch.testing.assert_close(constant, expected.expand_as(constant))


def test_channels_last_matches_contiguous():
    torch.manual_seed(0)
    model = build_model("cenet").eval()
    x = torch.randn(1, 3, 224, 224)
    expected = model(x)
    model = model.to(memory_format=torch.channels_last)
    got = model(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["cenet", "unet"])
def test_export_matches_eager(name, tmp_path):
    torch.manual_seed(0)
    model = build_model(name, in_channels=1).eval()
    report = export_program(model, tmp_path / "model.pt2", input_size=(200, 300))
    assert max(report.max_difference.values()) < 1e-3
    loaded = torch.export.load(report.path).module()
    x = torch.randn(1, 1, 200, 300)
    torch.testing.assert_close(loaded(x), model(x), rtol=1e-4, atol=1e-4)


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError, match="cenet.*unet"):
        build_model("cenett")


def test_unet_refuses_pretrained():
    with pytest.raises(ValueError, match="no pretrained encoder"):
        build_model("unet", pretrained="imagenet")


def test_random_initialisation_is_recorded_under_every_spelling():
    from cenet_lib.models.encoder import is_random_init

    for spelling in (None, "random", "scratch", "none"):
        assert build_model("cenet", pretrained=spelling).encoder_weights == "random initialisation"
    assert build_model("unet").encoder_weights == "random initialisation"
    assert is_random_init("scratch (random initialisation)")  # as files written before the rename say
    assert not is_random_init("imagenet (torchvision ResNet34_Weights.IMAGENET1K_V1)")


@pytest.fixture
def resnet34_file(tmp_path):
    from torchvision.models import resnet34

    torch.manual_seed(1)
    state = resnet34(weights=None).state_dict()
    path = tmp_path / "resnet34.pth"
    torch.save(state, path)
    return path, state


def test_local_weights_file_is_loaded(resnet34_file):
    path, state = resnet34_file
    model = build_model("cenet", pretrained=path)
    torch.testing.assert_close(model.encoder.layer3[0].conv1.weight, state["layer3.0.conv1.weight"])
    assert str(path) in model.encoder_weights


def test_imagenet_uses_environment_variable(resnet34_file, monkeypatch):
    path, state = resnet34_file
    monkeypatch.setenv(ENCODER_WEIGHTS_ENV, str(path))
    model = build_model("backbone", pretrained="imagenet")
    torch.testing.assert_close(model.encoder.conv1.weight, state["conv1.weight"])
    assert model.encoder_weights.startswith("imagenet")


def test_grey_input_keeps_pretrained_response(resnet34_file):
    path, state = resnet34_file
    model = build_model("backbone", in_channels=1, pretrained=path)
    grey = model.encoder.conv1.weight
    torch.testing.assert_close(grey[:, 0], state["conv1.weight"].sum(dim=1))


def test_imagenet_offline_fails_with_instructions(monkeypatch):
    from torchvision.models import ResNet34_Weights

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.delenv(ENCODER_WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(type(ResNet34_Weights.IMAGENET1K_V1), "get_state_dict", offline)
    with pytest.raises(EncoderWeightsError, match=f"{ENCODER_WEIGHTS_ENV}.*pretrained=None"):
        build_model("cenet", pretrained="imagenet")


def test_missing_or_corrupt_weights_file(tmp_path):
    with pytest.raises(EncoderWeightsError, match="not found"):
        build_model("cenet", pretrained=tmp_path / "absent.pth")
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(EncoderWeightsError, match="corrupt.pth"):
        build_model("cenet", pretrained=corrupt)
