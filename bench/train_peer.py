"""PyTorch + transformers peer of bench/train.ts: the same prompt-based fine-tuning step
(LM-head scores of two label words at the last position, cross-entropy, AdamW) on GPT-2-shaped
models cut to k layers, batch B x T, fp32 and bf16 autocast. One JSON line per
(model, layers, batch shape, precision), with the keys bench/train.ts writes; peakGpuGb is
torch.cuda.max_memory_allocated (tensors), peakGpuReservedGb max_memory_reserved (what the
caching allocator took from the device).

    python3 bench/train_peer.py [--models xl:1,2,4,12,48+small:12] [--shapes 16x128,1x128]
                                [--dir DIR] [--steps 5] [--warmup 2] [--eval-batches 5]

With --dir (the folder bench/train.ts wrote its random checkpoints to) each cut is loaded from
the same checkpoint with `from_pretrained(dir, n_layer=k)`, timed, and the first loss (before
any step) is computed on the same token ids as bench/train.ts: the two must agree. Without a
checkpoint the model is randomly initialised on the GPU.

Timing as in bench/train.ts: `steps` training steps queued back to back and one
synchronisation at the end; evaluation forward passes synchronised one by one.

The earlier single-model options still work:
    python3 bench/train_peer.py --layers 1,2,4,12,48 --batch 16 --seq 128 --steps 5
"""
import argparse
import json
import os
import re
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

SHAPES = {
    "xl": dict(label="gpt2-xl-shaped", width=1600, heads=25, vocab=50257, full=48),
    "small": dict(label="gpt2-small-shaped", width=768, heads=12, vocab=50257, full=12),
}

p = argparse.ArgumentParser()
p.add_argument("--models", default="xl:1,2,4,12,48+small:12")
p.add_argument("--shapes", default="16x128,1x128")
p.add_argument("--dir", default=None)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--eval-batches", type=int, default=5)
p.add_argument("--precisions", default="fp32,bf16")
# earlier single-model options
p.add_argument("--layers", default=None)
p.add_argument("--batch", type=int, default=None)
p.add_argument("--seq", type=int, default=None)
p.add_argument("--width", type=int, default=1600)
p.add_argument("--heads", type=int, default=25)
p.add_argument("--vocab", type=int, default=50257)
p.add_argument("--label", default="gpt2-xl-shaped")
args = p.parse_args()
dev = "cuda"

if args.layers is not None:
    cuts = [int(x) for x in args.layers.split(",")]
    models = [(dict(label=args.label, width=args.width, heads=args.heads, vocab=args.vocab, full=max(cuts)), cuts)]
else:
    models = []
    for part in args.models.split("+"):
        name, _, cuts = part.partition(":")
        shape = SHAPES[name]
        models.append((shape, [int(k) for k in (cuts or str(shape["full"])).split(",")]))
if args.batch is not None or args.seq is not None:
    shapes = [(args.batch or 16, args.seq or 128)]
else:
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]


def bench_batch(batch, seq, vocab):
    """The token ids bench/train.ts uses: ids[i][j] = (131 i + 17 j + 11) mod V."""
    i = torch.arange(batch).unsqueeze(1)
    j = torch.arange(seq).unsqueeze(0)
    ids = ((131 * i + 17 * j + 11) % vocab).to(dev)
    labels = (torch.arange(batch) % 2).to(dev)
    return ids, torch.ones_like(ids), labels


def label_ids(vocab):
    return torch.tensor([36183, 33733] if vocab > 36183 else [1, 2], device=dev)


def scores_of(model, ids, mask, words):
    hidden = model.transformer(input_ids=ids, attention_mask=mask).last_hidden_state[:, -1]
    return hidden @ model.lm_head.weight[words].T


def load(shape, layers):
    """From the checkpoint bench/train.ts wrote (timed), else a random model made on the GPU."""
    folder = os.path.join(args.dir, re.sub(r"[^a-zA-Z0-9-]+", "_", shape["label"])) if args.dir else None
    if folder and os.path.exists(os.path.join(folder, "model.safetensors")):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model = GPT2LMHeadModel.from_pretrained(folder, n_layer=layers).to(dev)
        torch.cuda.synchronize()
        return model, time.perf_counter() - t0
    cfg = GPT2Config(n_embd=shape["width"], n_head=shape["heads"], n_layer=layers, n_positions=1024,
                     vocab_size=shape["vocab"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    with torch.device(dev):
        model = GPT2LMHeadModel(cfg)
    return model, None


for shape, cuts in models:
    for layers in cuts:
        model, load_seconds = load(shape, min(layers, shape["full"]))
        model.train()
        words = label_ids(shape["vocab"])
        first_losses = {}
        with torch.no_grad():
            for batch, seq in shapes:
                ids, mask, labels = bench_batch(batch, seq, shape["vocab"])
                first_losses[(batch, seq)] = float(torch.nn.functional.cross_entropy(scores_of(model, ids, mask, words), labels))
        for precision in args.precisions.split(","):
            torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
            torch.backends.cudnn.allow_tf32 = precision == "tf32"
            autocast = dict(device_type="cuda", dtype=torch.bfloat16, enabled=precision == "bf16")
            for batch, seq in shapes:
                ids, mask, labels = bench_batch(batch, seq, shape["vocab"])
                optim = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.0)
                torch.cuda.reset_peak_memory_stats()

                def step():
                    optim.zero_grad(set_to_none=True)
                    with torch.autocast(**autocast):
                        scores = scores_of(model, ids, mask, words)
                    loss = torch.nn.functional.cross_entropy(scores.float(), labels)
                    loss.backward()
                    optim.step()
                    return loss

                for _ in range(args.warmup):
                    step()
                torch.cuda.synchronize()
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    loss = step()
                last = float(loss)  # waits for every queued step
                ms = (time.perf_counter() - t0) * 1000 / args.steps
                eval_times = []
                with torch.no_grad():
                    for i in range(args.eval_batches + 1):
                        t1 = time.perf_counter()
                        with torch.autocast(**autocast):
                            predicted = scores_of(model, ids, mask, words).argmax(1)
                        predicted.cpu()
                        if i > 0:
                            eval_times.append((time.perf_counter() - t1) * 1000)
                eval_ms = sorted(eval_times)[len(eval_times) // 2]
                line = {"impl": f"pytorch {torch.__version__} eager {precision}", "model": shape["label"],
                        "layers": layers, "params": sum(p.numel() for p in model.parameters()),
                        "batch": batch, "seq": seq, "msPerStep": round(ms, 2),
                        "stepsPerSecond": round(1000 / ms, 2),
                        "tokensPerSecond": round(batch * seq * 1000 / ms),
                        "evalMsPerBatch": round(eval_ms, 2),
                        "evalTokensPerSecond": round(batch * seq * 1000 / eval_ms),
                        "peakGpuGb": round(torch.cuda.max_memory_allocated() / 1e9, 2),
                        "peakGpuReservedGb": round(torch.cuda.max_memory_reserved() / 1e9, 2),
                        "device": torch.cuda.get_device_name(),
                        "firstLoss": round(first_losses[(batch, seq)], 5), "loss": round(last, 5)}
                if load_seconds is not None:
                    line["loadSeconds"] = round(load_seconds, 2)
                print(json.dumps(line), flush=True)
                del optim
        del model
        torch.cuda.empty_cache()
