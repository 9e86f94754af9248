"""Every command's bad input ends in one `error:` line and exit status 2; text encodings;
help that shows every flag's default."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import (REPO, SMALL, assert_exit_2, make_sentences, run_module,
                      sigint_at_default)


# ------------------------------------------------------------------- flags

@pytest.mark.parametrize("flag, value, message", [
    ("--lr", "-1", "--lr must be positive, got -1"),
    ("--lr", "nan", "--lr must be positive, got nan"),
    ("--lr", "inf", "--lr must be positive, got inf"),
    ("--clip", "nan", "--clip must be non-negative"),
    ("--clip", "-0.5", "--clip must be non-negative (0 turns it off), got -0.5"),
    ("--dropout", "nan", "--dropout must be in [0, 1), got nan"),
    ("--weight-decay", "inf", "--weight-decay must be non-negative, got inf"),
    ("--lr-decay", "1.5", "--lr-decay must be in (0, 1], got 1.5"),
    ("--average", "nan", "--average must be in [0, 1)"),
    ("--seed", "-1", "--seed must be in [0, 4294967295], got -1"),
    ("--epochs", "0", "--epochs must be at least 1, got 0"),
    ("--patience", "0", "--patience must be at least 1, got 0"),
    ("--limit", "0", "--limit must be at least 1, got 0"),
    ("--num-layers", "0", "--num-layers must be at least 1, got 0"),
    ("--batch-size", "-3", "--batch-size must be at least 1, got -3"),
    ("--epochs", "two", "--epochs: invalid int value: 'two'"),
    ("--embed-dropout", "1.0", "--embed-dropout must be in [0, 1), got 1"),
    ("--word-dropout", "-0.5", "--word-dropout must be in [0, 1), got -0.5"),
    ("--average", "1", "--average must be in [0, 1) (0 turns it off), got 1"),
    ("--lr-decay", "0", "--lr-decay must be in (0, 1], got 0"),
    ("--weight-decay", "-1", "--weight-decay must be non-negative, got -1"),
    ("--truncate", "middle", "--truncate must be one of head, tail, both, got 'middle'"),
    ("--attention-hops", "0", "--attention-hops must be at least 1, got 0"),
    ("--attention-penalty", "-1", "--attention-penalty must be a finite number >= 0, got -1"),
    ("--attention-penalty", "nan", "--attention-penalty must be a finite number >= 0, got nan"),
])
def test_every_flag_is_checked_on_its_own(tiny_tsv, tmp_path, flag, value, message):
    """Each flag alone, named with its value (in-process: the command's own main)."""
    from gluon_rnn.errors import UserError
    from gluon_rnn.train import main
    arch = ["--arch", "attention"] if flag.startswith("--attention") else []
    with pytest.raises(UserError) as err:
        main(["--data", str(tiny_tsv), *arch, flag, value, "--out", str(tmp_path / "o")])
    assert message in str(err.value)
    assert not (tmp_path / "o").exists()


def test_attention_flags_belong_to_attention(tiny_tsv, tmp_path):
    from gluon_rnn.errors import UserError
    from gluon_rnn.train import main
    with pytest.raises(UserError, match="apply to --arch attention only"):
        main(["--data", str(tiny_tsv), "--arch", "mean", "--attention-hops", "2",
              "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_bad_flag_is_one_line_from_the_command_line(tiny_tsv, tmp_path):
    assert_exit_2(run_module("gluon_rnn.train", "--data", tiny_tsv, "--seed", "-1",
                             "--out", tmp_path / "o"), "--seed", "-1")
    assert_exit_2(run_module("gluon_rnn.train", "--data", tiny_tsv, "--epochs", "two"),
                  "--epochs", "two")
    assert_exit_2(run_module("gluon_rnn.data", "info", "--data", tiny_tsv, "--limit", "x"),
                  "--limit", "'x'")
    assert_exit_2(run_module("gluon_rnn.data", "info", "--data", tiny_tsv, "--seed", "-1"),
                  "--seed must be in [0, 4294967295], got -1")
    assert_exit_2(run_module("gluon_rnn.train", "--data", tiny_tsv, "--arch", "transformer",
                             "--out", tmp_path / "o"), "unknown architecture 'transformer'")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------- paths

@pytest.mark.parametrize("case", ["existing file", "under a file", "read-only directory"])
def test_bad_out_is_one_line_naming_the_path(tiny_tsv, tmp_path, case):
    a_file = tmp_path / "taken"
    a_file.write_text("not a directory")
    out = {"existing file": a_file, "under a file": a_file / "run",
           "read-only directory": tmp_path / "ro" / "run"}[case]
    if case == "read-only directory":
        if os.geteuid() == 0:   # root writes into any directory, but not into sysfs
            out = Path("/sys/gluon_rnn_test/run")
        else:
            (tmp_path / "ro").mkdir(mode=0o500)
    proc = run_module("gluon_rnn.train", "--data", tiny_tsv, "--epochs", "1", "--out", out,
                      *SMALL)
    assert_exit_2(proc, str(a_file if case != "read-only directory" else out.parent))
    assert a_file.read_text() == "not a directory"


def test_os_error_at_the_cli_boundary_names_the_path(capsys):
    from gluon_rnn.errors import run_cli

    def main(argv):
        raise PermissionError(13, "Permission denied", "/srv/runs/x/metrics.json")
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "error: /srv/runs/x/metrics.json: Permission denied\n"


def test_predict_and_evaluate_refuse_batch_size_0_and_a_file_as_out(model_dir, tiny_tsv,
                                                                     tmp_path):
    assert_exit_2(run_module("gluon_rnn.predict", "--model", model_dir, "--batch-size", "0",
                             "fine film"), "--batch-size must be at least 1, got 0")
    assert_exit_2(run_module("gluon_rnn.evaluate", "--model", model_dir, "--data", tiny_tsv,
                             "--batch-size", "0"), "--batch-size must be at least 1, got 0")
    taken = tmp_path / "report"
    taken.write_text("keep me")
    assert_exit_2(run_module("gluon_rnn.evaluate", "--model", model_dir, "--data", tiny_tsv,
                             "--out", taken), str(taken), "not a directory")
    assert taken.read_text() == "keep me"


def test_one_class_is_refused(tmp_path):
    path = tmp_path / "positive.tsv"
    path.write_text("".join(f"pos\t{t}\n" for _, t in make_sentences(40)), encoding="utf-8")
    proc = run_module("gluon_rnn.train", "--data", path, "--epochs", "1", "--out",
                      tmp_path / "o", *SMALL)
    assert_exit_2(proc, f"needs at least 2 classes; found only 'pos' in {path}")
    assert not (tmp_path / "o").exists()


def test_ctrl_c_while_mxnet_imports_is_no_traceback(tiny_tsv, tmp_path):
    """SIGINT while `import mxnet` is still running (seconds on a busy machine). Waiting for
    the real library to appear in the process and signalling then races the import (a
    signal that lands after it, during the run, tests something else), so an `mxnet` placed
    first on the path stands in for it: it says when its import has begun, then keeps
    importing until the signal comes."""
    shim = tmp_path / "shim" / "mxnet"
    shim.mkdir(parents=True)
    ready = tmp_path / "importing"
    (shim / "__init__.py").write_text(
        "import os, pathlib, time\n"
        "pathlib.Path(os.environ['MXNET_IMPORT_BEGUN']).write_text('')\n"
        "time.sleep(120)\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(shim.parent), MXNET_IMPORT_BEGUN=str(ready))
    proc = subprocess.Popen([sys.executable, "-m", "gluon_rnn.train", "--data", str(tiny_tsv),
                             "--out", str(tmp_path / "o"), *SMALL], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=sigint_at_default)
    deadline = time.time() + 60
    while not ready.exists():
        assert proc.poll() is None and time.time() < deadline, "mxnet was never imported"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, stderr)
    assert "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted", stderr
    assert not (tmp_path / "o").exists()


def test_the_commands_import_mxnet_only_inside_main():
    """Loading a command's module, or the package, imports no mxnet and leaves
    sys.excepthook alone (even as `python -m` names itself while it imports the package):
    mxnet loads inside `main`, under run_cli, which alone turns Ctrl-C into `interrupted`."""
    code = ("import sys; sys.argv = ['-m']; hook = sys.excepthook\n"
            "import gluon_rnn, gluon_rnn.train, gluon_rnn.evaluate, gluon_rnn.predict, "
            "gluon_rnn.export, gluon_rnn.options, gluon_rnn.data, gluon_rnn.launch\n"
            "assert sys.excepthook is hook, 'import gluon_rnn set sys.excepthook'\n"
            "print(sorted(m for m in ('mxnet', 'gluonnlp') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout


# ------------------------------------------------------------------- encodings

def write_cp1252(path, rows):
    path.write_bytes("".join(f"{y}\t{t}\n" for y, t in rows).encode("cp1252"))
    return path


def test_undecodable_bytes_name_file_line_byte_and_the_flag(tmp_path):
    path = write_cp1252(tmp_path / "export.tsv", [(1, "fine"), (0, "a na\u00efve, clich\u00e9d plot")])
    proc = run_module("gluon_rnn.data", "info", "--data", path)
    assert_exit_2(proc, "export.tsv:2: not UTF-8", "0xef", "--encoding")


def test_encoding_flag_reads_a_windows_export(tmp_path):
    path = write_cp1252(tmp_path / "export.tsv",
                        [(1, "a caf\u00e9 \u2013 charming"), (0, "na\u00efve"), (1, "good")])
    proc = run_module("gluon_rnn.data", "info", "--data", path, "--encoding", "cp1252")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["num_examples"] == 3
    from gluon_rnn.sources import read_labelled_file
    assert read_labelled_file(path, encoding="cp1252")[0] == ("a caf\u00e9 \u2013 charming", "1")
    assert_exit_2(run_module("gluon_rnn.data", "info", "--data", path, "--encoding", "klingon"),
                  "--encoding", "klingon", "unknown encoding")


def test_utf8_with_bom_keeps_working():
    from gluon_rnn.sources import decode_bytes
    assert decode_bytes(b"\xef\xbb\xbf1\tfine\n", "f.tsv") == "1\tfine\n"
    assert decode_bytes(b"\xef\xbb\xbf1\tfine\n", "f.tsv", "utf-8") == "1\tfine\n"


def test_encoding_is_saved_and_used_by_resume_evaluate_and_predict(tmp_path):
    rows = [(y, t.replace("film", "caf\u00e9 film")) for y, t in make_sentences(300, seed=2)]
    data = write_cp1252(tmp_path / "export.tsv", rows)
    out = tmp_path / "run"
    proc = run_module("gluon_rnn.train", "--data", data, "--encoding", "cp1252", "--epochs", "1",
                      "--out", out, *SMALL)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "config.json").read_text())["data"]["encoding"] == "cp1252"
    # --encoding repeated without --data: the saved run's file is the one it describes
    proc = run_module("gluon_rnn.train", "--resume", "--epochs", "2", "--encoding", "cp1252",
                      "--out", out)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["encoding"] == "cp1252" and metrics["epochs_completed"] == 2
    proc = run_module("gluon_rnn.evaluate", "--model", out, "--data", data, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["accuracy"] == metrics["test_accuracy"]
    texts = tmp_path / "texts.txt"
    texts.write_bytes("un caf\u00e9 charmant\nna\u00efve\n".encode("cp1252"))
    assert_exit_2(run_module("gluon_rnn.predict", "--model", out, "--file", texts),
                  "texts.txt:1: not UTF-8", "--encoding")
    proc = run_module("gluon_rnn.predict", "--model", out, "--file", texts, "--encoding",
                      "cp1252", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(l)["text"] for l in proc.stdout.splitlines()] == ["un caf\u00e9 charmant",
                                                                          "na\u00efve"]


# ------------------------------------------------------------------- help

def _parsers():
    from gluon_rnn import data, evaluate, predict, train
    info = next(a for a in data.build_parser()._actions if a.dest == "command").choices["info"]
    return {"train": train.build_parser(), "predict": predict.build_parser(),
            "evaluate": evaluate.build_parser(), "data info": info}


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "data info"])
def test_every_flag_has_help_that_shows_its_default(command):
    parser = _parsers()[command]
    for action in parser._actions:
        if action.dest == "help" or not action.option_strings:
            continue
        text = parser.formatter_class(parser.prog)._get_help_string(action)
        assert action.help, (command, action.option_strings)
        assert "default" in text, (command, action.option_strings, text)


def test_train_help_groups_its_flags_and_shows_defaults():
    from gluon_rnn.train import Config
    proc = run_module("gluon_rnn.train", "--help")
    assert proc.returncode == 0, proc.stderr
    for group in ("data:", "model:", "training:", "output:", "scale-out:"):
        assert f"\n{group}\n" in proc.stdout, group
    entries = {}   # flag -> its help text, which may run over several lines
    for line in proc.stdout.splitlines():
        if line.startswith("  -"):
            flag = line.split()[0]
            entries[flag] = line
        elif line.startswith("   ") and entries:
            entries[flag] += line
    for flag, value in (("--max-len", Config.max_len), ("--arch", Config.arch),
                        ("--lr", Config.lr), ("--no-dedup", "off")):
        assert f"(default: {value})" in " ".join(entries[flag].split()), (flag, entries[flag])
