"""Time the two warp_tiles (v4) forward-engine tiles (64x256, 64x128, auto) on the VDSR layer
against cuDNN strict fp32, and check the tiles give bit-identical results. Needs a GPU.

    PYTHONPATH=. python benchmarks/gpu_v4_tiles.py
"""
import numpy as np, cupy, time
from cupyx.profiler import benchmark
from tinysr.backend import cupy_gpu as be, cuda_loader as L
from tinysr.kernels.conv2d_fwd import launch as G
t=lambda f,n=30: float(np.median(benchmark(f,n_repeat=n,n_warmup=3).gpu_times[0]))*1e3
r=cupy.random.default_rng(0)
X=r.standard_normal((64,64,41,41),dtype=cupy.float32)
W=(r.standard_normal((64,64,3,3),dtype=cupy.float32)/24).astype(cupy.float32)
GY=r.standard_normal((64,64,41,41),dtype=cupy.float32)
print("sms",L.sm_count(),"auto",G.warp_tile_for(64,64*41*41,L.sm_count()))
f=lambda: be.conv2d_forward(X,W,1,1,"zeros")
bi=lambda: be.conv2d_backward_input(GY,W,X.shape,1,1,"zeros")
bw=lambda: be.conv2d_backward_weight(GY,X,W.shape,1,1,"zeros")
def fb(): f(); bi(); bw()
out={}
for tile in (256,128,None):
  with G.force_warp_tile(tile):
    out[tile]=(f().get(),bi().get())
    print("tile",tile,"fwd %.3f bwdin %.3f bwdw %.3f fb %.3f"%(t(f),t(bi),t(bw),t(fb,20)))
print("bitident", all(np.array_equal(a,b) for a,b in zip(out[256],out[128])))
with be.use_versions(conv2d_fwd="reg_tiles",conv2d_bwd_input="reg_tiles"):
  y3,g3=f().get(),bi().get()
print("reg_tiles",np.abs(out[None][0]-y3).max()/np.abs(y3).max(), np.abs(out[None][1]-g3).max()/np.abs(g3).max())
for tile in (256,128,256,128):
  with G.force_warp_tile(tile):print(tile,"%.3f %.3f"%(t(f,50),t(bi,50)))
try:
  import torch, torch.nn.functional as F
  B=torch.backends.cudnn;B.benchmark=True;B.allow_tf32=False
  xt=torch.as_tensor(X,device="cuda").requires_grad_(True); wt=torch.as_tensor(W,device="cuda").requires_grad_(True)
  gt=torch.as_tensor(GY,device="cuda")
  def tf():
    y=F.conv2d(xt,wt,padding=1); return torch.autograd.grad(y,[xt,wt],gt)
  for _ in range(5): tf()
  torch.cuda.synchronize(); ts=[]
  for _ in range(20):
    s,e=torch.cuda.Event(enable_timing=True),torch.cuda.Event(enable_timing=True); s.record(); tf(); e.record(); e.synchronize(); ts.append(s.elapsed_time(e))
  print("cudnn fp32 fb %.3f"%np.median(ts))
except Exception as e:print(e)
