"""``manual-bp check`` and ``manual-bp solve``: worked-example files.

    manual-bp check FILE.toml [--out DIR]          judge every printed number (exit 1 if one is wrong)
    manual-bp check --example seed-2-2-1           a worked example shipped with the package
    manual-bp check --list-examples                the shipped examples
    manual-bp solve FILE.toml --digits 4 [--carry-rounding] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from manual_bp.errors import InputError
from oracle.cli.args import count_at_least, out_dir, out_file, write_output, writing
from oracle.worked.format import WorkedExample, load_example, packaged_example, packaged_examples


def _example(args: argparse.Namespace) -> WorkedExample:
    """The file named on the command line, or the shipped example named by --example."""
    if args.file and args.example:
        raise InputError("give either FILE or --example NAME, not both")
    if args.example:
        return packaged_example(args.example)
    if not args.file:
        raise InputError(f"FILE: missing; give a worked-example file or --example NAME "
                         f"(shipped: {', '.join(packaged_examples())})")
    return load_example(args.file)


def _is_document(args: argparse.Namespace) -> bool:
    """A Markdown, LaTeX or notebook file (or shipped document) rather than a worked-example file."""
    from oracle.extract.sources import SUFFIXES

    return Path(args.example or args.file or "").suffix.lower() in SUFFIXES


def run_check(args: argparse.Namespace) -> int:
    """Judge every printed number; 0 when none is wrong, 1 when one is (2 on a bad file, by the CLI)."""
    from oracle.cli.extract_cmd import document_path, reader_options, shipped_documents

    if args.list_examples:
        print("\n".join(packaged_examples() + shipped_documents()))
        return 0
    if _is_document(args):
        from oracle.extract import judge_document

        result = judge_document(document_path(args), reader_options(args), with_torch=args.torch)
    else:
        from oracle.worked.judge import judge

        if reader_options(args):
            raise InputError("--notation, --given, --set and --no-terms apply to a document (.md, .tex, .ipynb), "
                             "not to a worked-example file")
        result = judge(_example(args), with_torch=args.torch)
    print(result.terminal())
    texts = {}
    if args.out and args.json and Path(args.json).resolve() in (Path(args.out).resolve(), *(
            (Path(args.out) / name).resolve() for name in result.files())):
        raise InputError(f"--json: {str(args.json)!r} is the --out folder or one of its reports; give the JSON "
                         "file a path of its own")
    if args.out:
        texts.update({Path(args.out) / name: text for name, text in result.files().items()})
    if args.json:
        texts[Path(args.json)] = result.json()
    if texts:
        from oracle.files import write_paths

        option = "--out" if args.out else "--json"
        for path in writing(option, args.out or args.json, lambda: write_paths(texts)):
            print(f"wrote {path}")
    return result.exit_code


def run_solve(args: argparse.Namespace) -> int:
    """Write the worked solution in Markdown to stdout or to --out."""
    from oracle.worked.solve import solve

    if _is_document(args):
        from oracle.cli.extract_cmd import document_path, reader_options
        from oracle.extract import as_example, extract

        example = as_example(extract(document_path(args), reader_options(args)))
    else:
        example = _example(args)
    solution = solve(example, args.digits, args.carry_rounding)
    if args.out:
        print(f"wrote {write_output('--out', args.out, solution.markdown)}")
    else:
        sys.stdout.write(solution.markdown)
    return 0


def _source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE", help="a worked-example file (.toml, format: README), or "
                        "for check a document to read it from (.md, .tex, .ipynb: docs/extract.md)")
    parser.add_argument("--example", metavar="NAME", help="a worked example shipped with the package instead of "
                        "FILE, e.g. seed-2-2-1 (see check --list-examples)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` and ``solve`` subcommands."""
    p = subparsers.add_parser(
        "check", help="judge every number of a worked example: correct, rounding carried, or wrong",
        description="Judge every printed number of a worked-example file: correct (the exact value at the "
                    "printed digits), rounding carried (what the formula gives from the example's own earlier "
                    "printed values), or wrong (with the classic mistake it matches). Exit 0 when nothing is "
                    "wrong, 1 when something is, 2 on a bad file.")
    _source(p)
    from oracle.cli.extract_cmd import reader_arguments

    reader_arguments(p)
    p.add_argument("--out", type=out_dir(), metavar="DIR",
                   help="also write check_<name>.csv and check_<name>.md into DIR")
    p.add_argument("--json", type=out_file("--json"), metavar="FILE",
                   help="also write the judgement as JSON (schema manual-bp/check/1, docs/worked-examples.md)")
    p.add_argument("--list-examples", action="store_true", help="list the shipped examples and exit")
    p.add_argument("--torch", action="store_true", help="add PyTorch autograd's value of every quantity (a torch "
                   "column in the report; loads torch, a few seconds)")
    p.set_defaults(run=run_check)

    s = subparsers.add_parser(
        "solve", help="write a complete worked solution (Markdown with LaTeX)",
        description="Write the worked solution of a worked-example file in the document's order (forward "
                    "pass, loss, backward steps, update), every number computed exactly and rounded for "
                    "display, or with --carry-rounding rounded at each step the way hand calculations are.")
    _source(s)
    reader_arguments(s)
    s.add_argument("--digits", type=count_at_least(0), default=4, help="decimal places shown (default 4)")
    s.add_argument("--carry-rounding", action="store_true",
                   help="round every quantity as it is computed and carry the rounded value on")
    s.add_argument("--out", type=out_file("--out"), metavar="FILE.md",
                   help="write the Markdown here instead of to stdout")
    s.set_defaults(run=run_solve)
