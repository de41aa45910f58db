"""OUT/summary.md (the tables a person reads) and OUT/bench.csv (one row per benchmarked
layer) from a run's results."""


def fmt(v, spec=".3f"):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def verify_lines(v):
    lines = ["", f"## Kernel versions vs the float64 reference: {v['summary']}", "",
             "| kernel version dtype | pass | worst err/bound |", "|---|---|---|"]
    return lines + [f"| {k} | {'yes' if d['pass'] else 'NO'} | {fmt(d['worst_err_over_bound'])} |"
                    for k, d in v.get("verdict", {}).items()]


def train_lines(tr):
    lines = ["", "## Training on the GPU vs the CPU reference backend (loss means per 20-step log "
             "interval)", "", "| model | steps | loss gpu first -> last | loss cpu first -> last | "
             "rel diff first / max / last | pass |", "|---|---|---|---|---|---|"]
    for m in ("srcnn", "vdsr"):
        r = tr.get(m)
        if not isinstance(r, dict) or "first_loss" not in r:
            lines.append(f"| {m} | - | error | | | |")
            continue
        lines.append(f"| {m} | {r['steps']} | {r['first_loss'][0]:.4g} -> {r['last_loss'][0]:.4g} | "
                     f"{r['first_loss'][1]:.4g} -> {r['last_loss'][1]:.4g} | {r['rel_diff_first']:.1e} / "
                     f"{r['rel_diff_max']:.1e} / {r['rel_diff_last']:.1e} | {'yes' if r['pass'] else 'check'} |")
    return lines


def step_lines(sp):
    lines = []
    for m in ("vdsr", "srcnn"):
        r = sp.get(m)
        if isinstance(r, dict) and r.get("ms_median"):
            lines += ["", f"## {m} training step ({r['step']}), batch {r['batch']} of {r['size']}x{r['size']}: "
                      f"{r['ms_median']:.2f} ms", "", "| primitive | calls | ms | share |", "|---|---|---|---|"]
            lines += [f"| {p['primitive']} | {p['calls'] or ''} | {p['ms']:.3f} | {100 * p['share']:.1f} % |"
                      for p in r["profile"]]
    return lines


def conv_lines(b):
    vers = next((r["ours_versions"] for r in b["rows"] if r.get("ours_versions")), {})
    lines = ["", "## Convolution vs cuDNN (float32 data; ours has no TF32 path, so its numbers are the "
             "same in both columns)", "", "ours = the default versions: "
             + (", ".join(f"{k} {v}" for k, v in vers.items()) or "?"), "",
             "| layer | pass | ours ms | ours TFLOP/s | cuDNN fp32 ms | x cuDNN fp32 | cuDNN TF32 ms | "
             "x cuDNN TF32 |", "|---|---|---|---|---|---|---|---|"]
    for r in b["rows"]:
        for key, label in (("fwd", "fwd"), ("fwdbwd", "fwd+bwd")):
            lines.append(f"| {r['layer']} | {label} | {fmt(r.get(f'ours_{key}_ms'))} | "
                         f"{fmt(r.get(f'ours_{key}_tflops'), '.2f')} | {fmt(r.get(f'cudnn_fp32_{key}_ms'))} | "
                         f"{fmt(r.get(f'ratio_fp32_{key}'), '.2f')} | {fmt(r.get(f'cudnn_tf32_{key}_ms'))} | "
                         f"{fmt(r.get(f'ratio_tf32_{key}'), '.2f')} |")
    for r in b["rows"]:
        if "versions" in r:
            lines += ["", f"Version ladder, {r['layer']} (ms; warp_tiles forward-engine tile picked: "
                      f"64x{r.get('warp_tiles_auto_tile', '?')} on {r.get('sm_count', '?')} SMs):", "",
                      "| version | fwd | bwd input | bwd weight |", "|---|---|---|---|"]
            lines += [f"| {ver} | {fmt(d.get('fwd_ms'))} | {fmt(d.get('bwd_input_ms'))} | "
                      f"{fmt(d.get('bwd_weight_ms'))} |" for ver, d in r["versions"].items()]
    lines += ["", "x cuDNN = cuDNN ms / ours ms (above 1: ours is faster). VDSR fwd+bwd >= 0.8x cuDNN "
              f"fp32: {b.get('vdsr_fwdbwd_at_least_0.8x')}"]
    for key, d in (b.get("vdsr_mixes_fwdbwd") or {}).items():
        f, bi, bw = key.split("+")
        lines.append(f"VDSR fwd+bwd with {f} forward, {bi} backward-input, {bw} backward-weight (tf32x3: "
                     f"3xTF32 tensor cores, float32-accurate; winograd: F(4x4, 3x3)): {d['ms']:.3f} ms = "
                     f"{d['x_cudnn_fp32']:.2f}x cuDNN fp32")
    best = b.get("vdsr_fastest_verified_mix")
    if best:
        lines.append("Fastest verified mix on the VDSR layer (fwd, bwd-input, bwd-weight): "
                     + ", ".join(f"{k} {v}" for k, v in best["versions"].items())
                     + f": {best['fwdbwd_ms']:.3f} ms = {fmt(best['x_cudnn_fp32'], '.2f')}x cuDNN fp32 "
                     "(set DEFAULT[\"cuda\"] in kernels/<kernel>/versions.py to it)")
    return lines


def bias_act_lines(ba):
    timed = [(k, d) for k, d in ba.items() if isinstance(d, dict) and "ms" in d]
    failed = [(k, d) for k, d in ba.items() if isinstance(d, dict) and "error" in d]
    if not (timed or failed):
        return []
    torch_ms = ba.get("torch_ms")
    lines = ["", f"bias + ReLU backward (gx, gb) on {'x'.join(map(str, ba['shape']))} float32; PyTorch "
             f"(where + sum): {fmt(torch_ms)} ms", "", "| version | ms | GB/s | x PyTorch | verified |",
             "|---|---|---|---|---|"]
    lines += [f"| {k} | {d['ms']:.3f} | {d['GB_s']:.0f} | {fmt(torch_ms / d['ms'] if torch_ms else None, '.2f')} "
              f"| {d['verified']} |" for k, d in timed]
    lines += [f"| {k} | error: {d['error'][:80]} | | | |" for k, d in failed]
    if ba.get("fastest_verified"):
        lines.append(f"Fastest verified bias_act: {ba['fastest_verified']} (DEFAULT[\"cuda\"] in "
                     "kernels/bias_act/versions.py)")
    return lines


def write_csv(path, rows):
    keys = sorted({k for r in rows for k in r if k not in ("versions", "mix_fwdbwd_ms", "torch_error")})
    with open(path, "w") as f:
        f.write(",".join(keys) + "\n")
        for r in rows:
            f.write(",".join(str(r.get(k, "")).replace(",", ";") for k in keys) + "\n")


def write_summary(ctx):
    """summary.md (returned as text) and, when the bench job ran, bench.csv."""
    st = ctx.results["stages"]
    env = st.get("env", {})
    lines = ["# tinysr CUDA kernels: device check", "",
             f"Device: {env.get('device')} | CuPy {env.get('cupy')} | CUDA runtime {env.get('cuda_runtime')} "
             f"| torch {env.get('torch')} | cuDNN {env.get('cudnn')}", "",
             "Stages: " + ", ".join(f"{k} {v.get('status')} ({v.get('seconds')} s)" for k, v in st.items())]
    if "summary" in st.get("verify", {}):
        lines += verify_lines(st["verify"])
    if any(isinstance(st.get("train", {}).get(m), dict) for m in ("srcnn", "vdsr")):
        lines += train_lines(st["train"])
    sp, b = st.get("step", {}), st.get("bench", {})
    lines += step_lines(sp)
    if b.get("rows"):
        lines += conv_lines(b) + bias_act_lines(b.get("bias_act_bwd") or {})
        write_csv(ctx.path("bench.csv"), b["rows"])
    if sp.get("vdsr_under_60ms") is not None:
        lines.append(f"VDSR step < 60 ms at batch 64: {sp.get('vdsr_under_60ms')}")
    text = "\n".join(lines) + "\n"
    with open(ctx.path("summary.md"), "w") as f:
        f.write(text)
    return text


def digest(results):
    """One line for gpu_check.sh's summary table: verify, train, the VDSR step and layer."""
    st = results.get("stages", {})
    parts = [st.get("verify", {}).get("summary", "verify: -")]
    tr = st.get("train", {})
    verdict = lambda r: "error" if "error" in r else "pass" if r.get("pass") else "check"  # noqa: E731
    parts.append("train " + ", ".join(f"{m} {verdict(tr[m])}" for m in ("srcnn", "vdsr")
                                      if isinstance(tr.get(m), dict)))
    v = st.get("step", {}).get("vdsr", {}).get("ms_median")
    parts.append(f"VDSR step {fmt(v, '.1f')} ms")
    parts.append(f"VDSR layer fwd+bwd {fmt(st.get('bench', {}).get('vdsr_fwdbwd_fp32_ratio'), '.2f')}x cuDNN fp32")
    bad = [k for k, s in st.items() if s.get("status") != "ok"]
    return "; ".join(parts) + (f"; not ok: {', '.join(bad)}" if bad else "")


if __name__ == "__main__":          # python -m benchmarks.gpu.report OUTDIR: the digest line
    import json
    import os
    import sys
    try:
        with open(os.path.join(sys.argv[1], "results.json")) as f:
            print(digest(json.load(f)))
    except (OSError, ValueError, IndexError) as e:
        print(f"no results.json: {e}")
