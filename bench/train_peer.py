"""PyTorch + transformers peer of bench/train.ts: the same prompt-based fine-tuning step
(LM-head scores of two label words at the last position, cross-entropy, AdamW) on GPT2-XL-shaped
models cut to k layers, random weights, batch B x T. One JSON line per (layers, precision).

    python3 bench/train_peer.py --layers 1,2,4,12,48 --batch 16 --seq 128 --steps 5
"""
import argparse
import json
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

p = argparse.ArgumentParser()
p.add_argument("--layers", default="1,2,4,12,48")
p.add_argument("--batch", type=int, default=16)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--width", type=int, default=1600)
p.add_argument("--heads", type=int, default=25)
p.add_argument("--vocab", type=int, default=50257)
p.add_argument("--label", default="gpt2-xl-shaped")
p.add_argument("--precisions", default="fp32,tf32,bf16")
args = p.parse_args()
dev = "cuda"

for layers in [int(x) for x in args.layers.split(",")]:
    for precision in args.precisions.split(","):
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        cfg = GPT2Config(n_embd=args.width, n_head=args.heads, n_layer=layers, n_positions=1024,
                         vocab_size=args.vocab, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
        model = GPT2LMHeadModel(cfg).to(dev).train()
        optim = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.0)
        ids = torch.randint(0, args.vocab, (args.batch, args.seq), device=dev)
        mask = torch.ones_like(ids)
        labels = torch.arange(args.batch, device=dev) % 2
        label_ids = torch.tensor([36183, 33733], device=dev)

        def step():
            optim.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
                hidden = model.transformer(input_ids=ids, attention_mask=mask).last_hidden_state[:, -1]
                scores = hidden @ model.lm_head.weight[label_ids].T
            loss = torch.nn.functional.cross_entropy(scores.float(), labels)
            loss.backward()
            optim.step()
            return loss

        for _ in range(args.warmup):
            step()
        torch.cuda.synchronize()
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            loss = step()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        ms = times[len(times) // 2]
        print(json.dumps({"impl": f"pytorch {torch.__version__} eager {precision}", "model": args.label,
                          "layers": layers, "params": sum(p.numel() for p in model.parameters()),
                          "batch": args.batch, "seq": args.seq, "msPerStep": round(ms, 2),
                          "stepsPerSecond": round(1000 / ms, 2),
                          "tokensPerSecond": round(args.batch * args.seq * 1000 / ms),
                          "loss": round(float(loss), 4)}), flush=True)
        del model, optim
        torch.cuda.empty_cache()
