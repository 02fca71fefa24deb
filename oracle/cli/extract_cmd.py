"""``manual-bp extract``: a Markdown, LaTeX or notebook worked example as a worked-example file.

    manual-bp extract NOTES.md [-o FILE.toml] [--notation net=z,out=a] [--given 'w_3 = 0.25']
    manual-bp extract --example seed-2-2-1.md     the project's source document, shipped
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from manual_bp.errors import InputError
from oracle.cli.args import out_file, write_output


def reader_options(args: argparse.Namespace) -> dict[str, str]:
    """--notation, --given, --set and --no-terms as the reader's options (they win over the
    document's front matter)."""
    from oracle.extract.settings import OPTION_KEYS

    opts: dict[str, str] = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in OPTION_KEYS:
            raise InputError(f"--set: expected KEY=VALUE with KEY one of {', '.join(OPTION_KEYS)}, got {item!r}")
        opts[key] = value.strip()
    if args.notation:
        opts["notation"] = args.notation
    if args.given:
        opts["given"] = "; ".join(args.given)
    if args.no_terms:
        opts["terms"] = "false"
    return opts


def shipped_documents() -> list[str]:
    """The documents shipped with the package (oracle/extract/documents/)."""
    from importlib import resources

    folder = resources.files("oracle.extract") / "documents"
    return sorted(f.name for f in folder.iterdir() if not f.name.startswith((".", "_")))


def document_path(args: argparse.Namespace) -> Path:
    """The document named on the command line, or the shipped one named by --example."""
    from importlib import resources

    if args.file and args.example:
        raise InputError("give either a document or --example NAME, not both")
    if args.example:
        shipped = shipped_documents()
        if args.example not in shipped:
            raise InputError(f"--example: unknown document {args.example!r}; shipped: {', '.join(shipped)}")
        return Path(str(resources.files("oracle.extract") / "documents" / args.example))
    if not args.file:
        raise InputError("NOTES: missing; give a .md, .tex or .ipynb file, or --example NAME")
    return Path(args.file)


def run_extract(args: argparse.Namespace) -> int:
    """Write the draft (stdout or -o); what was not placed, and how the document was read, to stderr."""
    from oracle.extract import extract, toml_text

    draft = extract(document_path(args), reader_options(args))
    text = toml_text(draft)
    if args.output:
        print(f"wrote {write_output('-o', args.output, text)}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    print(f"{draft.placed()} printed numbers placed, {len(draft.not_placed)} not placed"
          + "".join(f"\n  not placed: {w}: {why}: {f[:100]}" for w, f, why in draft.not_placed), file=sys.stderr)
    return 0


def reader_arguments(p: argparse.ArgumentParser) -> None:
    """The options that say how to read a document (extract, and check on a document)."""
    p.add_argument("--notation", metavar="MAP", help="the document's names for the project's symbols, e.g. "
                   "'net=z, out=a, E=L' (a layer too: 'h=a1'); see docs/extract.md")
    p.add_argument("--given", action="append", metavar="FORMULA", help="a value the text does not print (it is in "
                   "a figure), in the document's notation: 'w_3 = 0.25; w_4 = 0.30' (repeatable)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a setting the text does not state: "
                   "loss=half_sse, activations=sigmoid, learning_rate=0.5, layout=in_out, layers=subscript, "
                   "update_biases=false, delta_sign=target_minus_output (repeatable)")
    p.add_argument("--no-terms", action="store_true", help="do not claim the terms of printed sums (0.2 + 0.6 + "
                   "0.1 = 0.9 claims only 0.9)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``extract`` subcommand."""
    p = subparsers.add_parser(
        "extract", help="read a worked example from Markdown/LaTeX/a notebook into a worked-example file",
        description="Read the network and every printed number of a worked example written in Markdown with "
                    "LaTeX ($...$, $$...$$, \\[...\\]), LaTeX or a Jupyter notebook's Markdown cells, and write "
                    "the worked-example TOML: each number at its claim key, with the line it was printed on. A "
                    "number it cannot place is listed as not placed, never guessed. Exit 0, or 2 when the "
                    "document does not say enough (one line saying what to add).")
    p.add_argument("file", nargs="?", metavar="NOTES", help="a .md, .tex or .ipynb file")
    p.add_argument("--example", metavar="NAME", help="a document shipped with the package (seed-2-2-1.md)")
    p.add_argument("-o", "--output", type=out_file("-o"), metavar="FILE.toml", help="write the draft here "
                   "instead of to stdout")
    reader_arguments(p)
    p.set_defaults(run=run_extract)
