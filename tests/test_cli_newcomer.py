"""The command line as a newcomer meets it on a fresh clone (issue 13): each problem found then
has a test here that would have caught it."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from reconciler import settings
from reconciler.cli import main
from reconciler.cli.output import shorten
from reconciler.cli.report import Progress
from reconciler.rules import RuleError, parse
from tests.memory_directory import MemoryDirectory

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "rules.sample.toml"
SALES = "10000000-0000-4000-8000-000000000001"
PAUSED = "10000000-0000-4000-8000-000000000002"
ANA = "20000000-0000-4000-8000-000000000001"
BEN = "20000000-0000-4000-8000-000000000002"

RULES = f"""
[[groups]]
id = "{SALES}"
name = "Sales"
rule = 'user.department -eq "Sales"'

[[groups]]
id = "{PAUSED}"
name = "Paused"
rule = 'user.department -eq "Sales"'
paused = true
"""


@pytest.fixture(autouse=True)
def app_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An app root like a fresh clone's (rules.sample.toml, no rules.toml, no
    local.settings.json) and no setting inherited; the environment is restored."""
    root = tmp_path / "app"
    root.mkdir()
    shutil.copy(SAMPLE, root / "rules.sample.toml")
    monkeypatch.setattr(settings, "APP_ROOT", root)
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("GRAPH_", "AZURE_", "AzureWebJobsStorage")) or name in (
            "RULES_FILE",
            "DRY_RUN",
            "NO_COLOR",
        ):
            del os.environ[name]
    yield root
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def rules(tmp_path: Path) -> str:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return str(path)


@pytest.fixture
def directory() -> MemoryDirectory:
    directory = MemoryDirectory(
        [
            {
                "id": ANA,
                "department": "Sales",
                "displayName": "Ana Lopez",
                "userPrincipalName": "ana@contoso.example",
            },
            {"id": BEN, "department": "Sales", "displayName": "Ben Ito"},
        ]
    )
    directory.add_group(SALES, "Sales")
    directory.add_group(PAUSED, "Paused")
    return directory


def run(directory: MemoryDirectory, *argv: str) -> int:
    @asynccontextmanager
    async def factory(config: settings.Settings) -> AsyncIterator[MemoryDirectory]:
        yield directory

    return main(list(argv), directory_factory=factory)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- running it at all ----------------------------------------------------------------------


def test_the_wrapper_runs_the_cli_from_any_directory(tmp_path: Path) -> None:
    """`python -m reconciler` from another directory said `No module named reconciler`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RULES_FILE")}
    result = subprocess.run(
        [str(REPO / "scripts" / "reconciler"), "check", str(SAMPLE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{SAMPLE}: 11 groups")


def test_a_python_without_the_packages_is_told_which_python_to_use() -> None:
    """`python -m reconciler plan` with the system Python ended in a bare ModuleNotFoundError."""
    result = subprocess.run(
        [sys.executable, "-S", "-m", "reconciler", "plan"],  # -S: no site-packages at all
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {sys.executable} lacks the package ")
    assert "/.venv/bin/python -m reconciler" in result.stderr and "scripts/setup" in result.stderr


# --- the built-in local default -------------------------------------------------------------


def test_without_any_settings_the_sample_rules_are_used_and_said(
    directory: MemoryDirectory, capsys: pytest.CaptureFixture[str], app_root: Path
) -> None:
    """apply, sync-user and explain --user-id failed with `rules.toml: cannot read the rules
    file` unless local.settings.json had been copied."""
    code = run(directory, "plan", "--json")

    captured = capsys.readouterr()
    assert code == 1  # the sample's groups are not in this directory: reported, not a crash
    assert (
        "note: no rules file configured (--rules, RULES_FILE or rules.toml next to "
        f"function_app.py): using the sample rules, {app_root / 'rules.sample.toml'}"
    ) in captured.err
    document = json.loads(captured.out)
    assert len(document["groups"]) == 11
    assert os.environ["GRAPH_BASE_URL"] == "http://127.0.0.1:8765/v1.0"
    assert os.environ["GRAPH_CREDENTIAL"] == "static"


@pytest.mark.parametrize(
    "argv",
    [
        ["apply"],
        ["sync-user", ANA],
        ["explain", "--group", SALES, "--user-id", ANA],
    ],
)
def test_every_command_that_read_the_rules_runs_on_a_fresh_clone(
    directory: MemoryDirectory, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(directory, *argv)

    err = capsys.readouterr().err
    assert "cannot read the rules file" not in err
    assert "using the sample rules" in err
    assert code in (0, 1)  # 1: the sample's other groups are not in this directory


def test_a_rules_toml_or_rules_file_setting_wins_over_the_sample(
    directory: MemoryDirectory, capsys: pytest.CaptureFixture[str], app_root: Path, rules: str
) -> None:
    shutil.copy(rules, app_root / "rules.toml")
    assert run(directory, "plan") == 0
    assert "sample rules" not in capsys.readouterr().err

    os.environ["RULES_FILE"] = rules
    (app_root / "rules.toml").unlink()
    assert run(directory, "plan") == 0
    assert "sample rules" not in capsys.readouterr().err


def test_graph_set_without_a_credential_names_the_missing_setting_and_tries_nothing(
    capsys: pytest.CaptureFixture[str], rules: str
) -> None:
    """Without settings it tried managed identity and printed an IMDS error."""
    os.environ["GRAPH_BASE_URL"] = f"http://127.0.0.1:{free_port()}/v1.0"

    assert main(["plan", "--rules", rules]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: GRAPH_CREDENTIAL is not set (GRAPH_BASE_URL is ")
    assert "client-secret (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)" in err
    assert "IMDS" not in err and "ManagedIdentity" not in err


# --- Graph cannot be reached ----------------------------------------------------------------


def test_unreachable_graph_is_one_clear_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], rules: str
) -> None:
    """plan was silent for 47 s, then printed 22 lines each repeating a 700-character URL."""
    base = f"http://127.0.0.1:{free_port()}/v1.0"
    os.environ.update(
        GRAPH_BASE_URL=base,
        GRAPH_CREDENTIAL="static",
        GRAPH_STATIC_TOKEN="t",
        GRAPH_RETRY_BASE_SECONDS="0.01",
    )

    assert main(["plan", "--rules", rules]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == (
        f"error: cannot reach Graph at {base}: connection refused (nothing listens on that port)"
    )
    assert len(lines) == 2 and lines[1].startswith("  hint: start the emulator")
    assert captured.out == ""


def test_a_graph_that_accepts_but_never_answers_fails_within_the_probe_timeout(
    capsys: pytest.CaptureFixture[str], rules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reconciler.graph.preflight.PROBE_TIMEOUT_SECONDS", 0.3)
    with socket.socket() as silent:  # the kernel completes the handshake; nobody reads
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        base = f"http://127.0.0.1:{silent.getsockname()[1]}/v1.0"
        os.environ.update(GRAPH_BASE_URL=base, GRAPH_CREDENTIAL="static", GRAPH_STATIC_TOKEN="t")

        assert main(["plan", "--rules", rules]) == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert first == f"error: cannot reach Graph at {base}: connected, but no answer within 0.3 s"


def test_the_local_default_says_where_it_looked_for_graph(
    capsys: pytest.CaptureFixture[str], rules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "reconciler.cli.defaults.LOCAL_GRAPH", f"http://127.0.0.1:{free_port()}/v1.0"
    )
    os.environ["GRAPH_RETRY_BASE_SECONDS"] = "0.01"

    assert main(["plan", "--rules", rules]) == 1
    err = capsys.readouterr().err
    assert "note: GRAPH_BASE_URL and GRAPH_CREDENTIAL are not set: using the local Graph" in err
    assert "python -m graph_emulator --port 8765" in err
    assert "error: cannot reach Graph at http://127.0.0.1:" in err


def test_long_words_in_error_texts_are_cut_in_the_middle() -> None:
    url = "/groups?$filter=id%20in%20(" + "%27x%27," * 100 + ")"
    text = shorten(f"could not read the group (GET {url} failed after 6 attempts)")
    assert len(text) < 200
    assert text.startswith("could not read the group (GET /groups?$filter=id%20in%20(")
    assert text.endswith(" failed after 6 attempts)")
    assert shorten("short words stay") == "short words stay"


# --- names beside ids -----------------------------------------------------------------------


def test_plans_show_display_name_and_upn_beside_each_id(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(directory, "plan", "--rules", rules) == 0
    out = capsys.readouterr().out
    assert f"  + {ANA}  Ana Lopez <ana@contoso.example>  rule matches:" in out
    assert f"  + {BEN}  Ben Ito  rule matches:" in out

    assert run(directory, "plan", "--rules", rules, "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["users"][ANA] == {
        "displayName": "Ana Lopez",
        "userPrincipalName": "ana@contoso.example",
    }


def test_ids_only_lists_bare_ids(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(directory, "plan", "--rules", rules, "--ids-only") == 0
    out = capsys.readouterr().out
    assert f"  + {ANA}  rule matches:" in out
    assert "Ana Lopez" not in out


def test_sync_user_shows_names_too(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(directory, "sync-user", ANA, "--rules", rules) == 0
    assert f"  + {ANA}  Ana Lopez <ana@contoso.example>" in capsys.readouterr().out


# --- audit records, progress, totals --------------------------------------------------------


def test_audit_records_stay_out_of_the_report(
    directory: MemoryDirectory, rules: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """Audit JSON lines interleaved with the human report on stderr."""
    directory.fail_writes[(SALES, BEN)] = "Request_BadRequest"  # a failure: logged as WARNING

    assert run(directory, "apply", "--rules", rules) == 1
    captured = capfd.readouterr()
    assert '{"event"' not in captured.out + captured.err


def test_a_real_run_keeps_audit_records_off_stderr_and_names_users(graph, tmp_path: Path) -> None:
    """In a child process, as users run it (no test logging handlers): a group Graph does not
    have gives a WARNING audit record, which Python's last-resort handler used to print into
    the report."""
    rules = tmp_path / "rules.toml"
    missing = '[[groups]]\nid = "10000000-0000-4000-8000-0000000000ee"\nrule = "user.city -ne null"'
    rules.write_text(SAMPLE.read_text().split("\n\n\n")[0] + "\n\n" + missing + "\n")
    env = {
        **{k: v for k, v in os.environ.items() if k != "RULES_FILE"},
        "GRAPH_BASE_URL": graph.base_url,
        "GRAPH_CREDENTIAL": "static",
        "GRAPH_STATIC_TOKEN": "t",
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "plan", "--rules", str(rules)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert '{"event"' not in result.stdout + result.stderr
    assert "error: the group does not exist in the directory" in result.stdout
    adds = [line for line in result.stdout.splitlines() if line.startswith("  + ")]
    assert adds and all("@" in line for line in adds)  # userPrincipalName beside each id


def test_audit_log_appends_json_lines_to_a_file(
    directory: MemoryDirectory, rules: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "audit.jsonl"
    assert run(directory, "apply", "--rules", rules, "--audit-log", str(log)) == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    changes = [(r["user"], r["result"]) for r in records if r["event"] == "change"]
    assert sorted(changes) == [(ANA, "done"), (ANA, "paused"), (BEN, "done"), (BEN, "paused")]
    assert records[-1]["event"] == "summary"
    captured = capfd.readouterr()
    assert '{"event"' not in captured.out + captured.err


def test_audit_log_dash_puts_each_record_on_its_own_stderr_line(
    directory: MemoryDirectory, rules: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run(directory, "apply", "--rules", rules, "--audit-log", "-", "--json") == 0
    captured = capfd.readouterr()
    json.loads(captured.out)  # stdout is still exactly one document
    records = [line for line in captured.err.splitlines() if line.startswith("{")]
    assert len(records) == 5 and all(json.loads(line)["event"] for line in records)


def test_an_unwritable_audit_log_is_a_clear_error(
    directory: MemoryDirectory, rules: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "audit.jsonl"
    assert run(directory, "apply", "--rules", rules, "--audit-log", str(target)) == 1
    assert f"error: cannot open --audit-log {target}: No such file" in capsys.readouterr().err
    assert directory.writes == []


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plan_progress_has_no_writes_counter() -> None:
    stream = Terminal()
    progress = Progress(writes=False, stream=stream)
    progress("groups", 3, 11)
    progress("users", 200, None)
    progress("writes", 1, 11)
    assert progress.line() == "groups read 3/11 · users listed 200"
    assert "writes" not in stream.getvalue() and "written" not in stream.getvalue()


def test_apply_progress_moves_with_each_write_inside_a_group(
    directory: MemoryDirectory, rules: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress was per group, so a long group showed no movement."""
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)

    assert run(directory, "apply", "--rules", rules) == 0
    frames = stream.getvalue().split("\r")
    assert any(f.strip().endswith("· 1 memberships written") for f in frames)
    assert any(f.strip().endswith("· 2 memberships written") for f in frames)


def test_totals_leave_out_a_paused_groups_planned_changes(
    directory: MemoryDirectory, rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo said `750 memberships written (1009 adds, 102 removes)`."""
    assert run(directory, "apply", "--rules", rules) == 0
    summary = capsys.readouterr().out.splitlines()[-2]
    assert "2 to add, 0 to remove · 2 written, 0 failed" in summary
    assert "1 paused (2 changes not written)" in summary

    assert run(directory, "plan", "--rules", rules, "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["totals"] == {
        "adds": 0,  # the first apply wrote them
        "removes": 0,
        "heldGroups": 0,
        "heldChanges": 0,
        "pausedGroups": 1,
        "pausedChanges": 2,
    }
    assert document["summary"]["adds"] == 2  # the run's own summary counts every plan


# --- validations and exit codes -------------------------------------------------------------


def test_check_of_an_unknown_group_is_a_usage_error(
    rules: str, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = "10000000-0000-4000-8000-000000000099"
    assert main(["check", rules, "--group", missing]) == 2
    assert f"error: no group {missing} in {rules}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["sync-user", "not-a-guid"],
        ["sync-user", ANA, "not-a-guid"],
        ["explain", "--user-id", "not-a-guid"],
    ],
)
def test_user_ids_that_are_not_guids_are_refused_before_anything_is_read(
    directory: MemoryDirectory, rules: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`sync-user not-a-guid` exited 0 ("skipped")."""
    assert run(directory, *argv, "--rules", rules) == 2
    assert "'not-a-guid' is not an object id (a GUID" in capsys.readouterr().err
    assert directory.calls == []


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_check_of_a_file_without_groups_fails(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.toml"
    path.write_text(text)

    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"error: no groups in {path}: nothing was checked" in out


def test_the_hint_after_an_unknown_operator_is_about_operators(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hint after `-eqq` talked about quotes."""
    path = tmp_path / "eqq.toml"
    path.write_text(f'[[groups]]\nid = "{SALES}"\nrule = \'user.department -eqq "Sales"\'\n')

    assert main(["check", str(path)]) == 1
    (hint,) = [line for line in capsys.readouterr().out.splitlines() if "hint:" in line]
    assert "operator" in hint and "-eq" in hint
    assert "quote" not in hint

    with pytest.raises(RuleError) as raised:
        parse('user.department -eqq "Sales"')
    assert "quote" not in raised.value.hint and "-eqq" in raised.value.hint


def test_a_repeated_id_counts_as_a_group_of_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A duplicated id miscounted the groups: three tables were reported as two."""
    path = tmp_path / "dup.toml"
    table = '[[groups]]\nid = "{}"\nname = "{}"\nrule = \'user.department -eq "Sales"\'\n'
    path.write_text(table.format(SALES, "a") + table.format(SALES, "b") + table.format(PAUSED, "c"))

    assert main(["check", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{path}: 3 groups")
    document = json.loads(captured.out)
    assert [g["name"] for g in document["groups"]] == ["a", "b", "c"]
    assert (document["summary"]["groups"], document["summary"]["groupsOk"]) == (3, 1)
