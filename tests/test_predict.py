"""predict reads standard input and --file the same way: as bytes, decoded as UTF-8 (a BOM
dropped) or --encoding, undecodable bytes refused; texts as arguments and --file together,
and an empty input, are refused in one line."""
import os
import subprocess
import sys

from conftest import REPO, assert_exit_2


def predict(model_dir, *args, stdin=b"", **env):
    """`python -m gluon_rnn.predict --model model_dir args...` with bytes on stdin."""
    proc = subprocess.run([sys.executable, "-m", "gluon_rnn.predict", "--model",
                           str(model_dir), *map(str, args)], cwd=REPO, input=stdin,
                          capture_output=True, timeout=300, env=dict(os.environ, **env))
    proc.stdout, proc.stderr = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    return proc


def test_a_bom_on_stdin_is_dropped_as_in_a_file(model_dir, tmp_path):
    text = "wonderful superb charming film\n".encode()
    plain = predict(model_dir, "--file", "-", stdin=text)
    assert plain.returncode == 0, plain.stderr
    bom = predict(model_dir, "--file", "-", stdin=b"\xef\xbb\xbf" + text)
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text)
    from_file = predict(model_dir, "--file", path)
    assert bom.stdout == plain.stdout == from_file.stdout, (bom.stdout, plain.stdout)
    assert plain.stdout.endswith("\twonderful superb charming film\n")


def test_undecodable_stdin_is_refused_like_a_file(model_dir, tmp_path):
    raw = b"a fine film\nna\xefve and dull\n"          # latin-1, not UTF-8
    assert_exit_2(predict(model_dir, "--file", "-", stdin=raw), "<stdin>:2: not UTF-8 text")
    path = tmp_path / "latin1.txt"
    path.write_bytes(raw)
    assert_exit_2(predict(model_dir, "--file", path), f"{path}:2: not UTF-8 text")
    both = [predict(model_dir, "--file", src, "--encoding", "latin-1", stdin=raw)
            for src in ("-", path)]
    assert both[0].returncode == 0 and both[0].stdout == both[1].stdout
    assert both[0].stdout.splitlines()[1].endswith("\tna\u00efve and dull")


def test_strictly_decoded_stdin_gives_one_line_not_a_traceback(model_dir):
    strict = {"PYTHONIOENCODING": "utf-8:strict"}
    assert_exit_2(predict(model_dir, "--file", "-", stdin=b"bad \xff film\n", **strict),
                  "<stdin>:1: not UTF-8 text")
    fine = predict(model_dir, "--file", "-", stdin="très bon film\n".encode(), **strict)
    assert fine.returncode == 0 and fine.stdout.endswith("\ttrès bon film\n"), fine.stderr
    # an output that cannot hold the text escapes it instead of failing
    ascii_out = predict(model_dir, "très bon film", PYTHONIOENCODING="ascii:strict")
    assert ascii_out.returncode == 0, ascii_out.stderr
    assert ascii_out.stdout.endswith("\ttr\\xe8s bon film\n")


def test_texts_next_to_file_are_refused(model_dir, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("a fine film\n")
    for src in (path, "-"):
        assert_exit_2(predict(model_dir, "--file", src, "another text", stdin=b"x\n"),
                      "texts given as arguments and --file", "one or the other")


def test_an_empty_input_says_so(model_dir, tmp_path):
    path = tmp_path / "empty.txt"
    for raw in (b"", b"\xef\xbb\xbf"):
        path.write_bytes(raw)
        assert_exit_2(predict(model_dir, "--file", path), f"{path}: empty, no text to predict")
        assert_exit_2(predict(model_dir, "--file", "-", stdin=raw),
                      "<stdin>: empty, no text to predict")
    # an empty line is an (empty) text, predicted and flagged
    path.write_bytes(b"\n")
    proc = predict(model_dir, "--file", path)
    assert proc.returncode == 0 and proc.stdout.rstrip("\n").endswith("[empty text]"), proc.stderr
