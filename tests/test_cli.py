"""`python -m reconciler`: check and explain, exit codes, JSON output, settings and rules file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import settings
from reconciler.cli import main
from reconciler.policy import load_policy
from reconciler.rules import parse

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "rules.sample.toml"
BROKEN = Path(__file__).resolve().parent / "fixtures" / "rules.broken.toml"
ANA = REPO / "examples" / "ana.json"
RECENT_HIRES = "10000000-0000-4000-8000-000000000008"


def run(*args: str, stdin: str | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The real command line in a child process (stdout and stderr are pipes, not a TTY)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RULES_FILE", "NO_COLOR")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(autouse=True)
def app_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In-process runs see an empty app root and no RULES_FILE; the environment is restored."""
    root = tmp_path / "app"
    root.mkdir()
    monkeypatch.setattr(settings, "APP_ROOT", root)
    saved = dict(os.environ)
    os.environ.pop("RULES_FILE", None)
    yield root
    os.environ.clear()
    os.environ.update(saved)


# --- check ----------------------------------------------------------------------------------


def test_check_passes_on_the_sample_rules_file() -> None:
    result = run("check", str(SAMPLE))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    group_lines = [line for line in lines if "10000000-0000-4000-8000-0000000000" in line]
    assert len(group_lines) == 11
    assert all(line.startswith("  ✓ ") for line in group_lines)
    examples = sum(len(g.examples) for g in load_policy(SAMPLE).groups)
    assert lines[-1] == (
        f"✓ 11 of 11 groups ok · 0 errors, 0 warnings · examples: {examples} passed, 0 failed"
    )
    assert "\x1b[" not in result.stdout  # no colour when stdout is not a terminal


def test_check_reports_every_problem_with_its_position_and_exits_1() -> None:
    result = run("check", str(BROKEN))

    assert result.returncode == 1
    out = result.stdout
    for expected in [
        "rules.broken.toml:15:6: id 'not-a-guid' is not an object id (a GUID)",
        "rules.broken.toml:18:1: unknown key 'exlude' in group",
        "rules.broken.toml:25:9: AttributeNotSupported: user.jobTitel",
        "rules.broken.toml:31:53: AttributeNotSupported: user.colour",
        "rules.broken.toml:37:12: warning: user 20000000-0000-4000-8000-000000000001 is in both",
        "rules.broken.toml:40:23: max_removal_percent must be a number from 0 to 100, not 150",
        "examples/bad.json:3:21: invalid JSON in example user file: Expecting value",
        "rules.broken.toml:9:1: Good group, example 'fails on purpose': expected false, got true",
    ]:
        assert expected in out, expected
    # The offending line is shown with a caret under the column.
    assert '      -and (user.jobTitel -eq "Manager")\n            ^\n' in out
    assert "  hint: did you mean 'exclude'?" in out
    # A failing example shows the explanation's trace.
    assert '    MATCH: user.department -eq "Sales"' in out
    # Eight [[groups]] tables: the one repeating an id counts (and fails), it is not dropped.
    assert out.startswith(f"{BROKEN}: 8 groups")
    assert out.splitlines()[-1].startswith("✗ 0 of 8 groups ok · 14 errors, 1 warning")


def test_check_json_is_one_document_on_stdout_with_the_text_on_stderr() -> None:
    result = run("check", str(BROKEN), "--json")

    assert result.returncode == 1
    document = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert document["ok"] is False
    assert document["summary"] == {
        "groups": 8,
        "groupsOk": 0,
        "paused": 0,
        "errors": 14,
        "warnings": 1,
        "examplesPassed": 0,
        "examplesFailed": 1,
        "examplesNotRun": 0,
    }
    positions = {(p["line"], p["column"]) for p in document["problems"]}
    assert {(25, 9), (31, 53), (3, 21)} <= positions
    (good,) = [g for g in document["groups"] if g["name"] == "Good group"]
    (example,) = good["examples"]
    assert (example["expect"], example["actual"], example["passed"]) == (False, True, False)
    assert example["explanation"]["result"] is True
    assert "rules.broken.toml:31:53" in result.stderr


def test_check_json_on_the_sample_is_ok() -> None:
    result = run("check", "--rules", str(SAMPLE), "--json")

    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert len(document["groups"]) == 11
    paused = [g["id"] for g in document["groups"] if g["paused"]]
    assert paused == ["10000000-0000-4000-8000-000000000011"]
    assert document["summary"]["examplesFailed"] == 0


def test_check_of_one_group(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(BROKEN), "--group", "10000000-0000-4000-8000-000000000003"])

    out = capsys.readouterr().out
    assert code == 1
    assert "Typo in a multi-line rule" in out
    assert "Good group" not in out
    assert "rules.broken.toml:31:53" not in out  # another group's problem


def test_check_of_a_group_that_is_not_in_the_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["check", str(SAMPLE), "--group", "10000000-0000-4000-8000-000000000099"])

    assert code == 2
    assert "no group 10000000-0000-4000-8000-000000000099 in" in capsys.readouterr().err


def test_check_of_a_missing_file_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", str(tmp_path / "nope.toml")])

    assert code == 1
    assert f"{tmp_path / 'nope.toml'}: cannot read the rules file" in capsys.readouterr().out


def test_check_of_a_file_with_a_toml_syntax_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[groups]]\nid = "x"\nrule = "(user.department -eq "Sales")"\n')

    assert main(["check", str(rules)]) == 1
    out = capsys.readouterr().out
    assert f"{rules}:3:31: TOML syntax: " in out
    assert '    rule = "(user.department -eq "Sales")"\n' + " " * 34 + "^\n" in out
    assert "single quotes" in out


# --- where the rules file comes from --------------------------------------------------------


def test_rules_file_from_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["RULES_FILE"] = str(SAMPLE)

    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith(f"{SAMPLE}: 11 groups")


def test_relative_rules_file_setting_is_next_to_function_app(
    app_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (app_root / "team.toml").write_text(SAMPLE.read_text().split("\n\n\n")[0])
    os.environ["RULES_FILE"] = "team.toml"

    assert main(["check"]) == 1  # the first group's examples need examples/ next to it
    assert capsys.readouterr().out.startswith(f"{app_root / 'team.toml'}: 1 group")


def test_default_rules_file_is_rules_toml_next_to_function_app(
    app_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 1
    assert f"{app_root / 'rules.toml'}: cannot read the rules file" in capsys.readouterr().out

    (app_root / "rules.toml").write_text(
        "[[groups]]\nid = '10000000-0000-4000-8000-000000000001'\nrule = 'user.objectId -ne null'\n"
    )
    assert main(["check"]) == 0


def test_positional_rules_file_wins_over_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["RULES_FILE"] = str(BROKEN)

    assert main(["check", str(SAMPLE)]) == 0
    assert main(["check", "--rules", str(SAMPLE)]) == 0
    assert main(["check"]) == 1


def test_local_settings_values_fill_in_and_the_environment_wins(
    app_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = {"RULES_FILE": str(SAMPLE), "DRY_RUN": True, "WRITE_RATE": 15}
    (app_root / "local.settings.json").write_text(json.dumps({"Values": values}))

    assert main(["check"]) == 0
    assert os.environ["RULES_FILE"] == str(SAMPLE)
    assert (os.environ["DRY_RUN"], os.environ["WRITE_RATE"]) == ("true", "15")

    os.environ["RULES_FILE"] = str(BROKEN)
    assert main(["check"]) == 1  # the environment's value, not the file's


def test_broken_local_settings_file_is_named_in_the_error(
    app_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (app_root / "local.settings.json").write_text('{"Values": {"RULES_FILE": ')

    assert main(["check", str(SAMPLE)]) == 1
    assert f"{app_root / 'local.settings.json'}: not a settings file" in capsys.readouterr().err


def test_load_local_settings_returns_the_names_it_set(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"A": "1", "B": "2", "C": None}}))
    environ = {"B": "from the environment"}

    assert settings.load_local_settings(path, environ) == ["A"]
    assert environ == {"A": "1", "B": "from the environment"}
    assert settings.load_local_settings(tmp_path / "absent.json", environ) == []


# --- explain --------------------------------------------------------------------------------


def test_explain_a_rule_prints_the_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = '(user.department -eq "Sales") -and (user.usageLocation -in ["DE", "FR"])'
    code = main(["explain", "--rule", rule, "--user", str(ANA)])

    out = capsys.readouterr().out
    assert code == 0
    expected = parse(rule).explain(json.loads(ANA.read_text()))
    assert out == str(expected) + "\n"
    assert out.startswith("MATCH: ")


def test_explain_json_is_the_explanations_data(capsys: pytest.CaptureFixture[str]) -> None:
    rule = 'user.jobTitle -contains "Engineer"'
    code = main(["explain", "--rule", rule, "--user", str(ANA), "--json"])

    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert code == 0
    assert document["result"] is False
    assert document["rule"] == rule
    assert document["group"] is None
    (clause,) = document["clauses"]
    assert (clause["property"], clause["value"], clause["result"]) == (
        "user.jobTitle",
        "Sales Manager",
        False,
    )
    assert captured.err.startswith("NO MATCH: ")  # the readable trace goes to stderr


def test_explain_reads_the_user_from_stdin() -> None:
    user = json.dumps({"id": "u1", "userType": "Guest", "companyName": "contoso"})
    result = run(
        "explain",
        "--group",
        "10000000-0000-4000-8000-000000000007",
        "--rules",
        str(SAMPLE),
        "--user",
        "-",
        stdin=user,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "Contoso partner guests (10000000-0000-4000-8000-000000000007)\nMATCH: "
    )


def test_explain_a_group_with_now(capsys: pytest.CaptureFixture[str]) -> None:
    common = ["explain", "--rules", str(SAMPLE), "--group", RECENT_HIRES, "--user", str(ANA)]

    assert main([*common, "--now", "2025-04-01T00:00:00Z", "--json"]) == 0
    soon = json.loads(capsys.readouterr().out)
    assert main([*common, "--now", "2026-01-01", "--json"]) == 0
    later = json.loads(capsys.readouterr().out)

    assert (soon["result"], later["result"]) == (True, False)
    assert soon["group"] == {"id": RECENT_HIRES, "name": "Recent hires"}


def test_explain_every_group_when_none_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--rules", str(SAMPLE), "--user", str(ANA), "--json"]) == 0

    results = json.loads(capsys.readouterr().out)["results"]
    assert len(results) == 11
    by_name = {r["group"]["name"]: r["result"] for r in results}
    assert by_name["Sales - all"] is True
    assert by_name["Guests"] is False


def test_explain_a_rule_with_an_error_exits_1_with_a_caret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["explain", "--rule", 'user.departmnt -eq "x"', "--user", str(ANA), "--json"])

    captured = capsys.readouterr()
    assert code == 1
    assert "AttributeNotSupported" in captured.err
    assert "\n  ^" in captured.err
    document = json.loads(captured.out)
    assert (document["ok"], document["kind"], document["position"]) == (
        False,
        "AttributeNotSupported",
        0,
    )


def test_explain_a_group_that_is_missing_exits_2_or_broken_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = "10000000-0000-4000-8000-000000000099"
    assert main(["explain", "--rules", str(SAMPLE), "--group", missing, "--user", str(ANA)]) == 2
    assert f"no group {missing}" in capsys.readouterr().err

    broken = "10000000-0000-4000-8000-000000000004"
    assert main(["explain", "--rules", str(BROKEN), "--group", broken, "--user", str(ANA)]) == 1
    captured = capsys.readouterr()
    assert "rules.broken.toml:31:53: AttributeNotSupported" in captured.out
    assert "no valid rule in: Error after escapes" in captured.err


def test_explain_every_group_skips_the_broken_ones_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "--rules", str(BROKEN), "--user", str(ANA), "--json"]) == 1

    captured = capsys.readouterr()
    names = [r["group"]["name"] for r in json.loads(captured.out)["results"]]
    assert names == ["Good group", "Bad id", "Bad settings", "Broken examples"]
    assert "skipped (no valid rule): Typo in a multi-line rule, Error after escapes" in captured.err


def test_explain_with_a_user_file_that_is_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "user.json"
    user.write_text('{"department": }')

    assert main(["explain", "--rule", "user.objectId -ne null", "--user", str(user)]) == 1
    assert f"--user {user}: invalid JSON at line 1 column 16" in capsys.readouterr().err


# --- usage ----------------------------------------------------------------------------------


def test_usage_errors_exit_2() -> None:
    result = run()

    assert result.returncode == 2
    assert result.stderr.startswith("usage: python -m reconciler")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["check", "--bogus"],
        ["explain", "--rule", "user.objectId -ne null"],  # no --user
        ["explain", "--user", "u.json", "--now", "yesterday"],
        ["check", str(SAMPLE), "--rules", str(BROKEN)],  # two different rules files
    ],
)
def test_usage_errors_exit_2_in_process(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_explain_rule_and_group_together_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["explain", "--rule", "user.objectId -ne null", "--group", RECENT_HIRES]

    assert main([*argv, "--user", str(ANA)]) == 1
    assert "either --rule or --group" in capsys.readouterr().err


def test_help_lists_the_commands_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    assert "check" in out and "explain" in out
    assert "3 held by the guard" in out


class _Terminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["check", str(SAMPLE)]) == 0
    assert "\x1b[32m✓\x1b[0m Sales - all" in terminal.getvalue()

    plain = _Terminal()
    monkeypatch.setattr(sys, "stdout", plain)
    os.environ["NO_COLOR"] = "1"
    assert main(["check", str(SAMPLE)]) == 0
    assert "\x1b[" not in plain.getvalue()
