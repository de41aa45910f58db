"""examples/reproduce_seed.py end to end on one tiny experiment (the smoke budget): it trains
through the recipes, writes the figures and docs/seed.md, and reuses a finished run."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_smoke_budget_runs_one_experiment_end_to_end(tmp_path, capsys, require_sets):
    require_sets("T91", "Set5")
    spec = importlib.util.spec_from_file_location("reproduce_seed", ROOT / "examples" / "reproduce_seed.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
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
