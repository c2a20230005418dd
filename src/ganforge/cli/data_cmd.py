"""``ganforge data list | info NAME | fetch NAME``: the datasets and their files."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="list, describe and fetch datasets")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    data_sub.add_parser("list", help="list the datasets").set_defaults(func=_list)
    for action, func, text in (("info", _info, "describe a dataset"), ("fetch", _fetch, "fetch into the cache")):
        parser = data_sub.add_parser(action, help=text)
        parser.add_argument("name", help="dataset name (see `ganforge data list`)")
        parser.add_argument("--path", help="directory of local files in the official format")
        if action == "info":
            parser.add_argument("--json", action="store_true", help="print JSON")
        parser.set_defaults(func=func)


def _list(args: argparse.Namespace) -> int:
    from ganforge.data import DATASETS, dataset_info

    for name in DATASETS.names():
        info = dataset_info(name)
        state = "present" if info.get("present") else "absent"
        print(f"{name:<14} {state:<8} {info.get('description', '')}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from ganforge.data import dataset_info

    info = dataset_info(args.name, path=args.path)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        if isinstance(value, (list, dict)):
            value = json.dumps(value)
        print(f"{key:<14} {value}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from ganforge.data import fetch_dataset

    location = fetch_dataset(args.name, path=args.path)
    print(f"{args.name}: ready at {location}")
    return 0
