#!/usr/bin/env python3
"""Mutation tests of check_tensorboard.py: it must accept the demo logdir as written, and reject
each kind of damage or mismatch with a message that names it.

  TB_DEMO_LOGDIR=<logdir written by `cargo run --example write_demo -- <logdir>`> \\
      python -m unittest test_check_tensorboard -v

Each test copies the demo logdir into a temporary folder and changes one thing.
"""

import contextlib
import io
import os
import shutil
import tempfile
import unittest

import check_tensorboard

DEMO = os.environ.get("TB_DEMO_LOGDIR")


@unittest.skipUnless(DEMO, "set TB_DEMO_LOGDIR to a logdir written by the write_demo example")
class CheckTensorboardTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.logdir = os.path.join(self.tmp, "logdir")
        shutil.copytree(DEMO, self.logdir)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def path(self, *parts):
        return os.path.join(self.logdir, *parts)

    def event_file(self, run):
        (name,) = [n for n in os.listdir(self.path(run)) if "tfevents" in n]
        return self.path(run, name)

    PHASES = ["--tag-prefix", "timing/:epoch_seconds", "--phase-column", "phase", "--final-phase", "finetune"]

    def argv(self, runs=("run_a", "run_b", "run_c"), texts=True, ignore=("seed",), phases=True):
        argv = ["--logdir", self.logdir] + (self.PHASES if phases else [])
        for col in ignore:
            argv += ["--ignore-column", col]
        for run in runs:
            argv += ["--run", self.path(run), self.path(run, "metrics.csv")]
            if texts:
                argv.append("config=" + self.path(run, "config.toml"))
        return argv

    def check(self, argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = check_tensorboard.main(argv)
        return rc, out.getvalue() + err.getvalue()

    def assert_fails(self, *needles, argv=None):
        rc, output = self.check(argv or self.argv())
        self.assertEqual(rc, 1, output)
        for needle in needles:
            self.assertIn(needle, output)
        return output

    def edit_csv(self, run, old, new):
        path = self.path(run, "metrics.csv")
        with open(path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w") as f:
            f.write(text.replace(old, new, 1))

    def test_demo_passes(self):
        rc, output = self.check(self.argv())
        self.assertEqual(rc, 0, output)
        self.assertIn("all 3 run(s) match", output)

    def test_phases_restart_their_epochs_and_need_their_own_tags(self):
        # Without --phase-column, run_c's pre-training and fine-tuning rows share tags and steps.
        self.assert_fails("tag 'train_loss' has a second value at step 1", "unexpected scalar tag 'pretrain-1/train_loss'",
                          argv=self.argv(phases=False))

    def test_timing_columns_go_under_their_prefix(self):
        argv = [a for a in self.argv() if a not in ("--tag-prefix", "timing/:epoch_seconds")]
        self.assert_fails("missing scalar tag 'epoch_seconds'", "unexpected scalar tag 'timing/epoch_seconds'", argv=argv)

    def test_a_row_of_another_phase(self):
        self.edit_csv("run_c", "pretrain-1,0.27", "pretrain-2,0.27")
        self.assert_fails("missing scalar tag 'pretrain-2/train_loss'", "tag 'pretrain-1/train_loss': unexpected scalar")

    def test_numeric_column_that_is_not_a_scalar(self):
        self.assert_fails("missing scalar tag 'seed'", argv=self.argv(ignore=()))

    def test_value_that_differs_in_float32(self):
        # run_a epoch 1 test_mse is 0.07500000314159265; 0.0751 is another float32.
        self.edit_csv("run_a", "0.07500000314159265", "0.0751")
        self.assert_fails("tag 'test_mse' step 1", "expected 0.0751")

    def test_value_that_rounds_to_the_same_float32_passes(self):
        # 1 ulp of f64 away: a different f64, the same float32.
        self.edit_csv("run_a", "0.07500000314159265", "0.07500000314159266")
        rc, output = self.check(self.argv())
        self.assertEqual(rc, 0, output)

    def test_nan_must_stay_nan(self):
        self.edit_csv("run_b", "NaN", "0.5")
        self.assert_fails("tag 'train_loss' step 3")

    def test_empty_cell_means_no_scalar(self):
        # Fill run_a's empty probe_accuracy at epoch 1: the file has no such scalar.
        path = self.path("run_a", "metrics.csv")
        with open(path) as f:
            lines = f.read().split("\n")
        self.assertTrue(lines[1].endswith(","))
        lines[1] += "0.5"
        with open(path, "w") as f:
            f.write("\n".join(lines))
        self.assert_fails("tag 'probe_accuracy': no scalar at step 1")

    def test_extra_epoch_in_csv(self):
        with open(self.path("run_b", "metrics.csv"), "a") as f:
            f.write("run_b,0,4,,0.1,0.2,0.3,\n")
        self.assert_fails("tag 'train_loss': no scalar at step 4")

    def test_missing_epoch_in_csv(self):
        path = self.path("run_b", "metrics.csv")
        with open(path) as f:
            lines = f.readlines()
        with open(path, "w") as f:
            f.writelines(lines[:-1])
        self.assert_fails("unexpected scalar", "at step 3")

    def test_duplicate_step_in_csv(self):
        path = self.path("run_b", "metrics.csv")
        with open(path) as f:
            lines = f.readlines()
        with open(path, "a") as f:
            f.write(lines[1])
        self.assert_fails("has a second value at step 1")

    def test_text_differs(self):
        with open(self.path("run_a", "config.toml"), "a") as f:
            f.write("extra = true\n")
        self.assert_fails("text 'config' step 0", "differs from")

    def test_text_not_given(self):
        self.assert_fails("unexpected tensor tag 'config'", argv=self.argv(texts=False))

    def test_run_left_out(self):
        self.assert_fails("unexpected run", "run_b", argv=self.argv(runs=("run_a",)))

    def test_run_missing(self):
        shutil.rmtree(self.path("run_b"))
        os.makedirs(self.path("run_b"))
        self.assert_fails("TensorBoard finds no run", "no event file")

    def test_corrupt_byte(self):
        path = self.event_file("run_a")
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            data[-7] ^= 0x10  # inside the last scalar
            f.seek(0)
            f.write(data)
        self.assert_fails("failed event crc32 check")

    def test_truncated_file(self):
        path = self.event_file("run_b")
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size - 3)
        # EventAccumulator alone just stops before the partial record, so the framing check is
        # what reports it (the lost scalar is reported as missing too).
        self.assert_fails("truncated record", "no scalar at step 3")


if __name__ == "__main__":
    unittest.main()
