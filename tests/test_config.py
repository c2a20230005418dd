"""Strict typed config: defaults ← preset ← files ← --set, with clear errors."""

import pytest
import yaml

from ganforge import config as C
from ganforge.errors import ConfigError


def test_defaults_resolve_to_typed_dataclasses():
    cfg = C.resolve()
    assert cfg.model.name == "wgan-gp"
    assert type(cfg.model).__name__ == "WGANGPConfig"
    assert cfg.model.gp_weight == pytest.approx(10.0)
    assert cfg.train.batch_size == 64


def test_set_converts_types():
    cfg = C.resolve(sets=["train.batch_size=32", "model.optim_g.lr=1e-3", "train.channels_last=false",
                          "model.optim_d.betas=0.0,0.99", "data.path=/tmp/x"])
    assert cfg.train.batch_size == 32 and isinstance(cfg.train.batch_size, int)
    assert cfg.model.optim_g.lr == pytest.approx(1e-3)
    assert cfg.train.channels_last is False
    assert cfg.model.optim_d.betas == pytest.approx([0.0, 0.99])
    assert cfg.data.path == "/tmp/x"


def test_unknown_key_names_key_and_allowed_keys():
    with pytest.raises(ConfigError) as err:
        C.resolve(sets=["train.bach_size=3"])
    msg = str(err.value)
    assert "'train.bach_size'" in msg and "batch_size" in msg and "\n" not in msg


def test_wrong_type_names_expected_type():
    with pytest.raises(ConfigError, match=r"'train.batch_size': expected int, got 'many'"):
        C.resolve(sets=["train.batch_size=many"])
    with pytest.raises(ConfigError, match=r"'data.pixel_range': expected one of '-1,1', '0,1'"):
        C.resolve(sets=["data.pixel_range=0,255"])
    with pytest.raises(ConfigError, match=r"'train.compile': expected bool"):
        C.resolve(sets=["train.compile=3"])


def test_model_section_type_follows_model_name():
    cfg = C.resolve(sets=["model.name=wgan", "model.clip=0.02"])
    assert type(cfg.model).__name__ == "WGANConfig"
    assert cfg.model.clip == pytest.approx(0.02)
    assert cfg.model.optim_d.name == "rmsprop" and cfg.model.optim_d.lr == pytest.approx(5e-5)
    with pytest.raises(ConfigError, match="'model.clip'"):
        C.resolve(sets=["model.name=gan", "model.clip=0.02"])
    with pytest.raises(ConfigError, match=r"unknown model 'nope'; choose one of: (.+, )?gan, (.+, )?wgan, wgan-gp$"):
        C.resolve(sets=["model.name=nope"])


def test_preset_and_file_layering(tmp_path):
    cfg = C.resolve(preset="wgan-gp-mnist")
    assert (cfg.model.net, cfg.model.width, cfg.model.z_dim, cfg.train.batch_size) == ("wgan-gp-mnist", 64, 128, 50)
    assert cfg.data.pixel_range == "0,1"
    f = tmp_path / "over.yaml"
    f.write_text("train:\n  batch_size: 10\n")
    cfg = C.resolve(preset="wgan-gp-mnist", files=[str(f)], sets=["train.seed=7"])
    assert (cfg.train.batch_size, cfg.train.seed, cfg.model.width) == (10, 7, 64)


def test_every_preset_resolves():
    names = C.preset_names()
    assert {"gan-mnist", "wgan-mnist", "wgan-gp-mnist", "gan-cifar10", "wgan-gp-cifar10"} <= set(names)
    for name in names:
        cfg = C.resolve(preset=name)
        assert cfg.description, name


def test_unknown_preset_lists_choices():
    with pytest.raises(ConfigError, match="unknown preset 'nope'; choose one of: .*wgan-gp-mnist"):
        C.resolve(preset="nope")


def test_bad_yaml_and_bad_set_syntax(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        C.resolve(files=[str(bad)])
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        C.resolve(sets=["train.steps"])
    with pytest.raises(ConfigError, match="not found"):
        C.resolve(files=[str(tmp_path / "missing.yaml")])


def test_yaml_is_safe_loaded(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("train: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ConfigError):
        C.resolve(files=[str(evil)])
    assert not (tmp_path / "pwned").exists()


def test_dump_round_trips():
    cfg = C.resolve(preset="wgan-mnist", sets=["train.steps=5"])
    again = C.config_from_json(yaml.safe_load(C.dump_yaml(cfg)))
    assert again == cfg


def test_wgan_gp_refuses_batch_norm_critic():
    with pytest.raises(ConfigError, match="d_norm 'batch'"):
        C.resolve(sets=["model.d_norm=batch"])


@pytest.mark.parametrize("item, needle", [("train.checkpoint_every=0", "train.checkpoint_every': must be >= 1"),
                                          ("train.keep_last=-1", "train.keep_last': must be >= 0"),
                                          ("train.keep_every=-5", "train.keep_every': must be >= 0"),
                                          ("train.ema=1.0", "train.ema': must be in [0, 1)")])
def test_out_of_range_train_values_are_refused(item, needle):
    with pytest.raises(ConfigError) as info:
        C.resolve(preset="gan-ring8", sets=[item])
    assert needle in str(info.value)
    assert C.resolve(preset="gan-ring8", sets=["train.keep_every=500"]).train.keep_every == 500


def test_assemble_layers_base_preset_files_overrides_and_sets_in_order(tmp_path):
    from ganforge.config_resolve import assemble

    f = tmp_path / "o.yaml"
    f.write_text("train:\n  seed: 4\n  log_every: 7\n")
    base = {"description": "saved", "model": {"name": "wgan"}, "train": {"seed": 1, "log_every": 3, "keep_last": 9}}
    cfg = assemble(base=base, preset="gan-ring8", files=[f], overrides={"train": {"seed": 5}},
                   sets=["train.log_every=2"])
    assert cfg.description.startswith("Non-saturating GAN") and cfg.model.name == "gan"  # the preset over base
    assert (cfg.train.seed, cfg.train.log_every, cfg.train.keep_last) == (5, 2, 9)


def _range_paths(tmp_path):
    """Every way a config is built, each given train.log_every=0."""
    from ganforge.config_resolve import assemble, check_config

    bad = {"train": {"log_every": 0}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    return {"sets": lambda: C.resolve(sets=["train.log_every=0"]),
            "file": lambda: C.resolve(files=[str(tmp_path / "bad.yaml")]),
            "overrides": lambda: C.resolve(overrides=bad),
            "saved config (resume, sampling)": lambda: C.config_from_json(C.to_dict(C.resolve()) | bad),
            "base": lambda: assemble(base=bad),
            "built in code": lambda: check_config(C.Config(train=C.TrainConfig(log_every=0)))}


@pytest.mark.parametrize("path", ["sets", "file", "overrides", "saved config (resume, sampling)", "base",
                                  "built in code"])
def test_every_path_refuses_out_of_range_values(tmp_path, path):
    with pytest.raises(ConfigError, match="'train.log_every': must be >= 1, got 0"):
        _range_paths(tmp_path)[path]()


def test_every_path_runs_the_model_validate():
    from ganforge.config_resolve import assemble

    saved = C.to_dict(C.resolve(sets=["model.name=aegan"]))
    saved["model"]["d_steps"] = 0
    with pytest.raises(ConfigError, match="model.d_steps"):
        assemble(base=saved)


def test_moved_assembling_helpers_keep_their_old_names():
    from ganforge import config_resolve
    from ganforge.config import merge, parse_set  # the names other code imports

    assert merge is config_resolve.merge and parse_set is config_resolve.parse_set
    assert C.preset_names() == config_resolve.preset_names() and C.TRAIN_MINIMA is config_resolve.TRAIN_MINIMA
    with pytest.raises(AttributeError):
        C.no_such_name  # noqa: B018


@pytest.mark.parametrize("model", ["gan", "wgan", "wgan-gp", "aegan"])
def test_net_defaults_to_auto(model):
    assert C.resolve(sets=[f"model.name={model}"]).model.net == "auto"


def test_a_variant_reads_its_own_model_section_typed():
    from ganforge.variants.adversarial import AdversarialConfig
    from ganforge.variants.gan import GANConfig
    from ganforge.variants.wgan import WGANConfig

    cfg = C.resolve(sets=["model.name=gan"])
    assert cfg.model_as(GANConfig) is cfg.model and cfg.model_as(AdversarialConfig) is cfg.model
    with pytest.raises(ConfigError, match="model 'gan' has no WGANConfig settings"):
        cfg.model_as(WGANConfig)


def test_log_to_takes_a_yaml_list_or_a_comma_string_and_defaults_to_jsonl_and_tensorboard():
    assert C.resolve().train.log_to == ["jsonl", "tensorboard"]
    assert C.resolve(sets=["train.log_to=[jsonl, mlflow]"]).train.log_to == ["jsonl", "mlflow"]
    assert C.resolve(sets=["train.log_to=jsonl, tensorboard,mlflow"]).train.log_to == ["jsonl", "tensorboard",
                                                                                         "mlflow"]
    cfg = C.resolve(sets=["train.mlflow_uri=http://localhost:5000", "train.mlflow_experiment=mnist"])
    assert (cfg.train.mlflow_uri, cfg.train.mlflow_experiment) == ("http://localhost:5000", "mnist")
    assert (C.resolve().train.mlflow_uri, C.resolve().train.mlflow_experiment) == (None, None)


@pytest.mark.parametrize("value, needle", [
    ("jsonl,wandb", "'train.log_to[1]': expected one of 'jsonl', 'tensorboard', 'mlflow', got 'wandb'"),
    ("mlflow", "'train.log_to': must include 'jsonl'"),
    ("jsonl,mlflow,mlflow", "'train.log_to': names 'mlflow' more than once"),
])
def test_log_to_refuses_unknown_sinks_a_missing_jsonl_and_repeats(value, needle):
    with pytest.raises(ConfigError) as info:
        C.resolve(sets=[f"train.log_to={value}"])
    assert needle in str(info.value) and "\n" not in str(info.value)
    if value == "mlflow":  # the fix is spelled out
        assert "--set train.log_to=jsonl,mlflow" in str(info.value)
