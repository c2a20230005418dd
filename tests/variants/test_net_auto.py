"""``model.net: auto``: the classic family and AEGAN pick their nets from the data's shape."""

from __future__ import annotations

import pytest
import torch

from ganforge import config as C
from ganforge.errors import ConfigError
from ganforge.nets import DCGANGenerator, MLPGenerator
from ganforge.train.session import build_nets, fit_to_data
from ganforge.variants import VARIANTS, DataShape
from ganforge.variants.adversarial import net_for_data

TOY = DataShape((2,), 8, None)
IMAGE = DataShape((1, 28, 28), 10, (-1.0, 1.0))
TINY = ["model.width=4", "model.hidden=8", "model.z_dim=3", "train.channels_last=false"]
# every registered model whose config has a net choice (model.net)
NET_CHOICE = [name for name in VARIANTS.names() if "net" in VARIANTS.get(name).config_class.__dataclass_fields__]


def test_net_for_data_picks_mlp_for_points_and_dcgan_for_images_and_keeps_a_named_net():
    assert net_for_data("auto", (2,)) == "mlp" and net_for_data("auto", (3, 32, 32)) == "dcgan"
    assert net_for_data("dcgan", (2,)) == "dcgan" and net_for_data("wgan-gp-mnist", (1, 28, 28)) == "wgan-gp-mnist"


def test_the_classic_family_and_aegan_have_a_net_choice():
    assert {"gan", "wgan", "wgan-gp", "aegan"} <= set(NET_CHOICE)


@pytest.mark.parametrize("model", NET_CHOICE)
@pytest.mark.parametrize("data, net, generator", [(TOY, "mlp", MLPGenerator), (IMAGE, "dcgan", DCGANGenerator)],
                         ids=["points", "images"])
def test_auto_builds_the_net_that_fits_and_the_fitted_config_names_it(model, data, net, generator):
    cfg = C.resolve(sets=[f"model.name={model}", *TINY])
    fitted = fit_to_data(cfg, data)
    assert (cfg.model.net, fitted.model.net) == ("auto", net)
    assert fit_to_data(fitted, data) is fitted  # nothing left open: the same config
    _, nets = build_nets(cfg, data, torch.device("cpu"))
    _, again = build_nets(fitted, data, torch.device("cpu"))
    assert isinstance(nets["generator"], generator)
    for name, module in nets.items():  # auto and the net it names build the same nets from the same seed
        a, b = module.state_dict(), again[name].state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name


def test_models_without_a_net_choice_are_left_alone():
    cfg = C.resolve(sets=["model.name=lapgan"])
    assert fit_to_data(cfg, IMAGE) is cfg


@pytest.mark.parametrize("model", ["wgan-gp", "aegan"])
def test_a_named_net_that_does_not_fit_is_still_refused(model):
    with pytest.raises(ConfigError, match="model.net 'dcgan' needs images"):
        build_nets(C.resolve(sets=[f"model.name={model}", "model.net=dcgan", *TINY]), TOY, torch.device("cpu"))
    with pytest.raises(ConfigError, match="model.net 'mlp' is for 2-D toy data"):
        build_nets(C.resolve(sets=[f"model.name={model}", "model.net=mlp", *TINY]), IMAGE, torch.device("cpu"))
