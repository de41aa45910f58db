"""CI runs what the README tells a user to run, in a venv as `python3 -m venv` makes it.

README.md's first ```bash block holds two commands: the install (`... && ` the SRCNN training,
which CI does not run) and the test command. `.ci/run` must make the venv with plain
`python3 -m venv`, run that install command and that test command, and install or upgrade
nothing else: a `pip install --upgrade pip setuptools wheel` there once hid that the
packaging tests failed in the venv a user gets.
"""
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
CI = REPO / ".ci" / "run"
SEPARATORS = {"&&", "||", ";", "|", "&", ";;", "(", ")"}
SHELL_WORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "exec", "command"}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def lines_of(text):
    """Logical shell lines: backslash continuations joined, blank lines dropped."""
    return [line for line in text.replace("\\\n", " ").splitlines() if line.strip()]


def commands(line):
    """The simple commands of one shell line, each a token list; comments dropped, and leading
    shell keywords and variable assignments (``FOO=1 cmd``) taken off."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    out, current = [], []
    for token in list(lexer) + [";"]:
        if token in SEPARATORS:
            while current and (current[0] in SHELL_WORDS or ASSIGNMENT.match(current[0])):
                current.pop(0)
            if current:
                out.append(current)
            current = []
        else:
            current.append(token)
    return out


def readme_commands():
    """(install, test): the README's install command (before `&&`) and its test command."""
    block = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block, "README.md has no ```bash block"
    lines = lines_of(block.group(1))
    assert len(lines) == 2, f"README's first bash block should be install && run, then test: {lines}"
    first = commands(lines[0])
    assert len(first) == 2 and "&&" in lines[0], f"README's first line is not `install && run`: {lines[0]}"
    (test,) = commands(lines[1])
    return first[0], test


def ci_commands():
    return [cmd for line in lines_of(CI.read_text(encoding="utf-8")) for cmd in commands(line)]


def is_pip(cmd):
    """Anything that installs with pip: pip, pip3, python -m pip, python -m ensurepip."""
    name = Path(cmd[0]).name
    if re.fullmatch(r"pip[0-9.]*", name):
        return True
    if re.fullmatch(r"python[0-9.]*", name) and "-m" in cmd:
        module = cmd[cmd.index("-m") + 1: cmd.index("-m") + 2]
        return module in (["pip"], ["ensurepip"])
    return False


def is_venv(cmd):
    return "-m" in cmd and cmd[cmd.index("-m") + 1: cmd.index("-m") + 2] == ["venv"]


def test_readme_block_parses_as_expected():
    install, test = readme_commands()
    assert is_pip(install) and "install" in install, install
    assert "pytest" in " ".join(test), test


def test_ci_makes_a_plain_venv_and_uses_it():
    cmds = ci_commands()
    venvs = [c for c in cmds if is_venv(c)]
    assert len(venvs) == 1, f".ci/run should make one venv: {venvs}"
    venv = venvs[0]
    assert venv[:3] == ["python3", "-m", "venv"] and len(venv) == 4 and not venv[3].startswith("-"), (
        f"the venv must be made with plain `python3 -m venv DIR` (no --upgrade-deps, no other "
        f"options), as a user makes it: {shlex.join(venv)}")
    activate = [c for c in cmds if c[0] in (".", "source")]
    assert [c[1] for c in activate] == [f"{venv[3]}/bin/activate"], (
        f".ci/run should activate the venv it made ({venv[3]}): {activate}")
    assert cmds.index(venv) < cmds.index(activate[0])


def test_ci_runs_the_readme_install_and_test_commands_and_installs_nothing_else():
    install, test = readme_commands()
    cmds = ci_commands()
    assert install in cmds, f".ci/run does not run the README's install command {shlex.join(install)!r}"
    assert test in cmds, f".ci/run does not run the README's test command {shlex.join(test)!r}"
    venv = next(c for c in cmds if is_venv(c))
    assert cmds.index(venv) < cmds.index(install) < cmds.index(test), (
        ".ci/run should make the venv, then install, then test")
    others = [shlex.join(c) for c in cmds if is_pip(c) and c != install]
    assert not others, (f".ci/run installs or upgrades more than the README does: {others}; CI must "
                        f"test the venv a user gets from `python3 -m venv` and {shlex.join(install)!r}")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_ci_script_is_valid_bash():
    res = subprocess.run(["bash", "-n", str(CI)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("line", [
    "python -m pip install --upgrade pip setuptools wheel",
    "pip install wheel",
    "python3 -m pip install -q --upgrade pip",
    "PIP_NO_CACHE_DIR=1 pip3 install setuptools",
    "true && python3.11 -m ensurepip --upgrade",
])
def test_an_extra_install_is_seen(line):
    """The parser catches the spellings of an extra install that .ci/run could grow."""
    extra = [c for c in commands(line) if is_pip(c)]
    assert len(extra) == 1, (line, commands(line))
