#!/usr/bin/env python3
"""Checks TensorBoard event files against the values they should hold, with TensorBoard's own reader.

For every run (a folder of event files) it reads the folder with
tensorboard.backend.event_processing.event_accumulator.EventAccumulator, loading everything
(size guidance 0 for scalars and tensors), and checks:

  * each event file's TFRecord framing and CRCs, record by record, with TensorBoard's pure-Python
    reader (the accumulator itself stops silently at the first bad or truncated record, since a
    file may still be being written, so on its own it would hide a damaged tail);
  * file_version is "brain.Event:2";
  * scalars: the tags, and for each tag the steps and values, equal the CSV exactly, compared as
    float32 (TensorBoard stores float32; the CSV holds the f64 text, so the expected value is
    numpy.float32(float(cell)); NaN matches NaN). No tag, step or value may be missing or extra;
  * text summaries: each TAG=FILE given sees tag TAG under the text plugin (plugin_name "text"),
    as a DT_STRING tensor of shape [] or [1] whose UTF-8 string equals FILE's content, either
    verbatim or as a fenced Markdown code block of it (what tensorboard::markdown_code_block
    writes). Tensor tags not named by a TAG=FILE are an error;
  * the same scalars and text through plugin_event_accumulator, the loader behind the Python
    TensorBoard server: there scalars are migrated to tensors of the "scalars" plugin and text
    must be classified as DATA_CLASS_TENSOR, which the plugins' data providers filter on.

The expected values: a CSV with a header row and one row per step, e.g. a run's metrics.csv.
  * the step column (--step-column, default "epoch") is the step: an integer on every row;
  * every other column whose non-empty cells are all numbers (float() accepts them, "NaN" and
    "inf" included) is a scalar tag named after the column, with one scalar per non-empty cell;
    an empty cell means "no scalar at that step";
  * a column with any non-numeric cell (e.g. run_id, phase) is text and is ignored, as are the
    columns named by --ignore-column (numeric columns that are not scalars, e.g. seed);
  * --tag-prefix PREFIX:COL[,COL...] names the tags of those columns PREFIX + COL (e.g.
    timing/:epoch_seconds gives the tag timing/epoch_seconds); columns a CSV lacks are skipped;
  * --phase-column NAME: a row whose NAME cell is non-empty and not a --final-phase value puts
    its scalars under PHASE/ + tag (a stacked run's pretrain-1/test_bce), so that the epochs of
    each phase, which restart at 1, are tags of their own;
  * a tag may not have two values at one step (e.g. a stacked run whose epoch restarts per phase:
    give it a global step column, or distinct tags per phase with --phase-column).

With --logdir, the runs TensorBoard finds under LOGDIR (every folder with an event file) must be
exactly the --run folders: a run left out or a stray one is an error.

Exit status: 0 when everything matches; 1 on any mismatch (all of them are listed on stderr);
2 on a usage error.

Example:
  check_tensorboard.py --logdir demo --ignore-column seed \\
      --run demo/run_a demo/run_a/metrics.csv config=demo/run_a/config.toml \\
      --run demo/run_b demo/run_b/metrics.csv config=demo/run_b/config.toml
"""

import argparse
import csv
import os
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.backend.event_processing import io_wrapper
from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.compat.proto import summary_pb2, types_pb2
from tensorboard.compat.tensorflow_stub import errors as stub_errors
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow as stub_reader
from tensorboard.util import tensor_util

TEXT_PLUGIN = "text"
SCALARS_PLUGIN = "scalars"


class Run:
    def __init__(self, event_dir, csv_path, texts):
        self.event_dir = event_dir
        self.csv_path = csv_path
        self.texts = texts  # {tag: file path}


def parse_run(values):
    """`--run EVENT_DIR CSV [TAG=FILE ...]` → Run."""
    if len(values) < 2:
        raise argparse.ArgumentTypeError(f"--run needs EVENT_DIR and CSV, got {values}")
    texts = {}
    for spec in values[2:]:
        tag, sep, path = spec.partition("=")
        if not sep or not tag or not path:
            raise argparse.ArgumentTypeError(f"--run: expected TAG=FILE after EVENT_DIR CSV, got {spec!r}")
        if tag in texts:
            raise argparse.ArgumentTypeError(f"--run: text tag {tag!r} given twice")
        texts[tag] = path
    return Run(values[0], values[1], texts)


def as_float(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def f32(x):
    """A float32 as its shortest text and its bits (two float32s can print alike in a short form)."""
    x = np.float32(x)
    return f"{str(x)} (0x{int(x.view(np.uint32)):08x})"


def same_f32(a, b):
    a, b = np.float32(a), np.float32(b)
    return (np.isnan(a) and np.isnan(b)) or a == b


def read_expected(csv_path, step_column, ignored, errors, prefixes=None, phase_column=None, final_phases=()):
    """CSV → ({tag: {step: float32}}, [ignored text columns])."""
    prefixes = prefixes or {}
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        errors.append(f"{csv_path}: cannot read the expected values: {e}")
        return {}, []
    if not rows:
        errors.append(f"{csv_path}: empty, expected a header row")
        return {}, []
    header, body = rows[0], rows[1:]
    if step_column not in header:
        errors.append(f"{csv_path}: no step column {step_column!r} in header {header}")
        return {}, []
    if len(set(header)) != len(header):
        errors.append(f"{csv_path}: duplicate column names in header {header}")
    step_at = header.index(step_column)
    phase_at = None
    if phase_column is not None:
        if phase_column not in header:
            errors.append(f"{csv_path}: no phase column {phase_column!r} in header {header}")
            return {}, []
        phase_at = header.index(phase_column)
    steps = []
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            errors.append(f"{csv_path}:{line}: {len(row)} cells, header has {len(header)}")
            return {}, []
        try:
            steps.append(int(row[step_at]))
        except ValueError:
            errors.append(f"{csv_path}:{line}: step {step_column}={row[step_at]!r} is not an integer")
            return {}, []
    expected, text_columns = {}, []
    def phase_of(row):
        if phase_at is None or row[phase_at] == "" or row[phase_at] in final_phases:
            return ""
        return row[phase_at] + "/"

    for col, name in enumerate(header):
        if col == step_at or col == phase_at or name in ignored:
            continue
        cells = [(line, steps[i], row[col], phase_of(row)) for i, row in enumerate(body) for line in [i + 2] if row[col] != ""]
        values = [(line, step, as_float(cell), phase) for line, step, cell, phase in cells]
        if any(v is None for _, _, v, _ in values):
            text_columns.append(name)
            continue
        for line, step, value, phase in values:
            tag = phase + prefixes.get(name, "") + name
            per_step = expected.setdefault(tag, {})
            if step in per_step:
                errors.append(f"{csv_path}:{line}: tag {tag!r} has a second value at step {step}")
            per_step[step] = np.float32(value)
    missing_ignored = sorted(set(ignored) - set(header))
    if missing_ignored:
        errors.append(f"{csv_path}: --ignore-column {missing_ignored} not in header {header}")
    return expected, text_columns


def event_files(event_dir):
    return sorted(
        os.path.join(event_dir, name)
        for name in os.listdir(event_dir)
        if io_wrapper.IsSummaryEventsFile(os.path.join(event_dir, name))
    )


def check_framing(path, errors):
    """Reads every record with TensorBoard's pure-Python TFRecord reader (it verifies both CRCs)."""
    reader = stub_reader.PyRecordReader_New(path)
    count = 0
    while True:
        try:
            reader.GetNext()
        except stub_errors.OutOfRangeError:
            return count
        except stub_errors.DataLossError as e:
            errors.append(f"{path}: record {count}: {e.message}")
            return count
        count += 1


def unfence(text):
    """The inside of a fenced Markdown code block, or None when `text` is not exactly one."""
    first, nl, rest = text.partition("\n")
    fence = first[: len(first) - len(first.lstrip("`"))]
    if len(fence) < 3 or not nl or not rest.endswith(fence + "\n"):
        return None
    return rest[: -len(fence) - 1]


def text_matches(stored, expected):
    if stored == expected:
        return True
    inner = unfence(stored)
    return inner is not None and inner in (expected, expected + "\n")


def string_of(tensor_proto, where, errors):
    """The single UTF-8 string of a DT_STRING tensor of shape [] or [1], or None (error noted)."""
    if tensor_proto.dtype != types_pb2.DT_STRING:
        errors.append(f"{where}: dtype {types_pb2.DataType.Name(tensor_proto.dtype)}, expected DT_STRING")
        return None
    array = tensor_util.make_ndarray(tensor_proto)
    if array.shape not in ((), (1,)):
        errors.append(f"{where}: shape {list(array.shape)}, expected [] or [1]")
        return None
    raw = array.item() if array.shape == () else array[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        errors.append(f"{where}: not UTF-8: {e}")
        return None


def check_scalar_series(where, tag, got, want, errors):
    """got: [(step, value)] as read; want: {step: float32}."""
    seen = {}
    for step, value in got:
        if step in seen:
            errors.append(f"{where}: tag {tag!r}: step {step} appears twice")
        seen[step] = value
    for step in sorted(set(want) - set(seen)):
        errors.append(f"{where}: tag {tag!r}: no scalar at step {step} (expected {f32(want[step])})")
    for step in sorted(set(seen) - set(want)):
        errors.append(f"{where}: tag {tag!r}: unexpected scalar {f32(seen[step])} at step {step}")
    for step in sorted(set(seen) & set(want)):
        if not same_f32(seen[step], want[step]):
            errors.append(
                f"{where}: tag {tag!r} step {step}: got float32 {f32(seen[step])}, expected {f32(want[step])}"
            )


def plugin_tags(accumulator, plugin):
    """The tags of `plugin` ({} when the plugin has none; the accumulators raise KeyError then)."""
    try:
        return accumulator.PluginTagToContent(plugin)
    except KeyError:
        return {}


def check_tag_sets(where, kind, got, want, errors):
    for tag in sorted(set(want) - set(got)):
        errors.append(f"{where}: missing {kind} tag {tag!r}")
    for tag in sorted(set(got) - set(want)):
        errors.append(f"{where}: unexpected {kind} tag {tag!r}")


def check_run(run, args, errors):
    where = run.event_dir
    if not os.path.isdir(run.event_dir):
        errors.append(f"{where}: run folder does not exist")
        return None
    files = event_files(run.event_dir)
    if not files:
        errors.append(f"{where}: no event file (a name with 'tfevents') in the run folder")
        return None
    records = sum(check_framing(path, errors) for path in files)
    expected, text_columns = read_expected(
        run.csv_path, args.step_column, args.ignore_column, errors, args.tag_prefix, args.phase_column, args.final_phase
    )
    texts = {}
    for tag, path in run.texts.items():
        try:
            with open(path, encoding="utf-8") as f:
                texts[tag] = f.read()
        except OSError as e:
            errors.append(f"{path}: cannot read the expected text of tag {tag!r}: {e}")

    # The classic accumulator (what the brief, and most scripts, use).
    acc = ea.EventAccumulator(run.event_dir, size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
    acc.Reload()
    if acc.file_version != 2.0:
        errors.append(f"{where}: file_version {acc.file_version!r}, expected 2 ('brain.Event:2')")
    tags = acc.Tags()
    check_tag_sets(where, "scalar", tags[ea.SCALARS], expected, errors)
    for tag in sorted(set(tags[ea.SCALARS]) & set(expected)):
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        check_scalar_series(where, tag, got, expected[tag], errors)
    check_tag_sets(where, "tensor", tags[ea.TENSORS], run.texts, errors)
    check_tag_sets(where, "text-plugin", plugin_tags(acc, TEXT_PLUGIN), run.texts, errors)
    n_texts = 0
    for tag in sorted(set(tags[ea.TENSORS]) & set(texts)):
        for event in acc.Tensors(tag):
            at = f"{where}: text {tag!r} step {event.step}"
            stored = string_of(event.tensor_proto, at, errors)
            n_texts += 1
            if stored is not None and not text_matches(stored, texts[tag]):
                errors.append(f"{at}: differs from {run.texts[tag]}:\n--- stored\n{stored}\n--- expected\n{texts[tag]}")

    # The plugin accumulator behind the Python server: scalars become "scalars"-plugin tensors.
    pacc = pea.EventAccumulator(run.event_dir, size_guidance={ea.TENSORS: 0})
    pacc.Reload()
    pwhere = f"{where} (plugin_event_accumulator)"
    scalar_tags = plugin_tags(pacc, SCALARS_PLUGIN)
    check_tag_sets(pwhere, "scalars-plugin", scalar_tags, expected, errors)
    for tag in sorted(set(scalar_tags) & set(expected)):
        got = [(e.step, tensor_util.make_ndarray(e.tensor_proto).item()) for e in pacc.Tensors(tag)]
        check_scalar_series(pwhere, tag, got, expected[tag], errors)
    text_tags = plugin_tags(pacc, TEXT_PLUGIN)
    check_tag_sets(pwhere, "text-plugin", text_tags, run.texts, errors)
    for tag in sorted(set(text_tags) & set(texts)):
        data_class = pacc.SummaryMetadata(tag).data_class
        if data_class != summary_pb2.DATA_CLASS_TENSOR:
            errors.append(f"{pwhere}: text {tag!r} has data class {data_class}, expected DATA_CLASS_TENSOR")
        for event in pacc.Tensors(tag):
            at = f"{pwhere}: text {tag!r} step {event.step}"
            stored = string_of(event.tensor_proto, at, errors)
            if stored is not None and not text_matches(stored, texts[tag]):
                errors.append(f"{at}: differs from {run.texts[tag]}")

    n_scalars = sum(len(v) for v in expected.values())
    return (
        f"{run.event_dir}: {len(files)} event file(s), {records} records; {len(expected)} scalar tags, "
        f"{n_scalars} values; {n_texts} text value(s); ignored text columns {text_columns}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        usage="%(prog)s [--logdir LOGDIR] [--step-column NAME] [--ignore-column NAME[,NAME...]]\n"
        "       [--tag-prefix PREFIX:COL[,COL...]] [--phase-column NAME [--final-phase VALUE]] [--quiet]\n"
        "       --run EVENT_DIR CSV [TAG=FILE ...] [--run EVENT_DIR CSV [TAG=FILE ...] ...]",
        description=__doc__.split("\n\n", 1)[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--run",
        nargs="+",
        action="append",
        required=True,
        metavar="ARG",
        help="EVENT_DIR CSV [TAG=FILE ...]: a run folder, its expected-values CSV, and TAG=FILE for each "
        "text summary of the run (repeat --run per run)",
    )
    parser.add_argument("--logdir", help="also require the runs TensorBoard finds under LOGDIR to be exactly the --run folders")
    parser.add_argument("--step-column", default="epoch", metavar="NAME", help="the CSV column that holds the step (default: epoch)")
    parser.add_argument(
        "--ignore-column",
        action="append",
        default=[],
        metavar="NAME[,NAME...]",
        help="numeric CSV columns that are not scalars (repeatable, or comma-separated)",
    )
    parser.add_argument(
        "--tag-prefix",
        action="append",
        default=[],
        metavar="PREFIX:COL[,COL...]",
        help="the tags of these CSV columns are PREFIX + column, e.g. timing/:epoch_seconds (repeatable)",
    )
    parser.add_argument(
        "--phase-column",
        metavar="NAME",
        help="a CSV column naming each row's phase: rows of a phase that is not a --final-phase have tags PHASE/TAG",
    )
    parser.add_argument(
        "--final-phase",
        action="append",
        default=[],
        metavar="VALUE",
        help="a phase whose rows keep their plain tags (repeatable; an empty phase always does)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    args.ignore_column = [name for spec in args.ignore_column for name in spec.split(",") if name]
    prefixes = {}
    for spec in args.tag_prefix:
        prefix, sep, names = spec.partition(":")
        if not sep or not names:
            parser.error(f"--tag-prefix: expected PREFIX:COL[,COL...], got {spec!r}")
        for name in names.split(","):
            if name:
                prefixes[name] = prefix
    args.tag_prefix = prefixes
    try:
        runs = [parse_run(values) for values in args.run]
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))

    errors = []
    if args.logdir is not None:
        if not os.path.isdir(args.logdir):
            errors.append(f"{args.logdir}: logdir does not exist")
        else:
            found = {os.path.realpath(d) for d in io_wrapper.GetLogdirSubdirectories(args.logdir)}
            given = {os.path.realpath(r.event_dir) for r in runs}
            for d in sorted(given - found):
                errors.append(f"{args.logdir}: TensorBoard finds no run at {d}")
            for d in sorted(found - given):
                errors.append(f"{args.logdir}: unexpected run {d} (not given with --run)")
    summaries = [check_run(run, args, errors) for run in runs]
    if errors:
        for e in errors:
            print(f"check_tensorboard: MISMATCH: {e}", file=sys.stderr)
        print(f"check_tensorboard: FAILED: {len(errors)} mismatch(es) in {len(runs)} run(s)", file=sys.stderr)
        return 1
    if not args.quiet:
        for s in summaries:
            print(f"check_tensorboard: ok {s}")
        print(f"check_tensorboard: all {len(runs)} run(s) match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
