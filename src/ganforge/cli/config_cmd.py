"""``ganforge config show`` and ``ganforge models``: resolved configs and the model catalogue."""

from __future__ import annotations

import argparse

from ganforge import config as config_mod
from ganforge import config_resolve


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """The options every config-taking command shares."""
    parser.add_argument("--preset", help="named preset (see `ganforge models`)")
    parser.add_argument("--config", action="append", default=[], metavar="FILE", help="YAML override file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one value")


def register(sub: argparse._SubParsersAction) -> None:
    cfg = sub.add_parser("config", help="show resolved configs")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = cfg_sub.add_parser("show", help="print the resolved config as YAML")
    add_config_args(show)
    show.add_argument("--model", help="model name (instead of a preset)")
    show.set_defaults(func=_show)
    models = sub.add_parser("models", help="list every registered model with its presets")
    models.set_defaults(func=_models)


def _show(args: argparse.Namespace) -> int:
    extra = {"model": {"name": args.model}} if args.model else None
    cfg = config_resolve.assemble(preset=args.preset, files=args.config, overrides=extra, sets=args.set)
    print(config_mod.dump_yaml(cfg), end="")
    return 0


def _models(args: argparse.Namespace) -> int:
    from ganforge.variants import VARIANTS

    presets = {name: config_resolve.preset_overrides(name) for name in config_resolve.preset_names()}
    for name in VARIANTS.names():
        spec = VARIANTS.get(name)
        mine = [p for p, data in presets.items() if data.get("model", {}).get("name") == name]
        print(f"{name:<12} {spec.description}")
        print(f"{'':<12} presets: {', '.join(mine) or '(none)'}")
    return 0
