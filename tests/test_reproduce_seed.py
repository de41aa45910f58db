"""examples/reproduce_seed.py end to end on one tiny experiment (the smoke budget): it trains
through the recipes, writes the figures and docs/seed.md, and reuses a finished run."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_smoke_budget_runs_one_experiment_end_to_end(tmp_path, capsys, require_sets):
    require_sets("T91", "Set5")
    script = _script()
    out, docs = tmp_path / "seed", tmp_path / "docs"
    argv = ["--budget", "smoke", "--only", "srcnn_vs_vdsr", "bird", "--out", str(out), "--docs", str(docs)]
    assert script.main(argv) == 0
    text = (docs / "seed.md").read_text()
    assert "## Training MSE: SRCNN against VDSR" in text and "## One image: Set5's bird" in text
    assert "--budget smoke --only srcnn_vs_vdsr" in text
    for figure in ("srcnn_vs_vdsr_mse_iteration.png", "srcnn_vs_vdsr_psnr_wall.png", "bird.png"):
        assert (docs / "figures" / "seed" / figure).stat().st_size > 1000
    capsys.readouterr()
    assert script.main(argv) == 0                       # the finished runs are reused, not retrained
    assert "training (smoke budget)" not in capsys.readouterr().out


def _script():
    spec = importlib.util.spec_from_file_location("reproduce_seed", ROOT / "examples" / "reproduce_seed.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_the_table_section_replaces_the_block_between_the_markers_in_results_md(tmp_path):
    script = _script()
    out, docs = tmp_path / "seed", tmp_path / "docs"
    (docs / "seed").mkdir(parents=True)
    (docs / "seed" / "table.md").write_text("## The table: new\n\n### Set5\n\n| method | x3 |\n| --- | --- |\n| A | 1 |\n")
    (docs / "results.md").write_text(f"# Results\nbefore\n{script.TABLE_START}\nold table\n{script.TABLE_END}\nafter\n")
    ctx = type("Ctx", (), dict(out=out, docs=docs))()
    script.write_docs(ctx)
    text = (docs / "results.md").read_text()
    assert "old table" not in text and "### The table: new" in text and "| A | 1 |" in text
    assert "#### Set5" in text        # every heading one level down in results.md
    assert text.startswith("# Results\nbefore\n") and text.endswith(f"{script.TABLE_END}\nafter\n")
    assert "## The table: new" in (docs / "seed.md").read_text()
    script.write_docs(ctx)                               # idempotent: a second run leaves one copy
    assert (docs / "results.md").read_text() == text


def test_a_model_flag_without_a_file_is_a_usage_error(tmp_path, capsys):
    import pytest
    script = _script()
    with pytest.raises(SystemExit) as stop:
        script.main(["--model", "VDSR=" + str(tmp_path / "missing.npz"), "--out", str(tmp_path)])
    assert stop.value.code == 2
    assert "LABEL=FILE" in capsys.readouterr().err
    assert script._paper_row("VDSR (ours, 2 h)") == "VDSR" and script._paper_row("SRCNN x") == "SRCNN 9-1-5 (91 images)"
