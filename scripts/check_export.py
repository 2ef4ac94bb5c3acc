"""The transformers half of the export check (the layercut half is scripts/export-check.ts).

Loads OUT/model — a cut, possibly fine-tuned model that layercut saved — with Hugging Face
`transformers` (AutoModelForCausalLM, or AutoModelForMaskedLM for BERT and RoBERTa) through
`from_pretrained`, runs the input ids of OUT/layercut-logits.safetensors and prints the largest
|layercut − transformers| over real (unmasked) positions, then PASS or FAIL against the tolerance.

    python3 scripts/check_export.py OUT [OUT ...] [--tolerance 1e-4] [--device cpu] [--dtype float64]

Exit code 0 when every folder passes, 1 otherwise. Needs torch, transformers and numpy.
The reference maths runs in float64 by default (the exact maths of transformers, not one
device's rounding); layercut's logits are float32.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

ENCODER_TYPES = {"bert", "roberta"}
NUMPY_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}


def read_safetensors(path):
    """name → numpy array, for the F32/F64/I32/I64 tensors of one .safetensors file."""
    with open(path, "rb") as f:
        (header_size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_size))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(NUMPY_DTYPES[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[start:end], dtype=dtype).reshape(info["shape"])
    return tensors


def reference_logits(model_dir, input_ids, attention_mask, device, dtype):
    """Logits [B, T, V] of transformers' model loaded from model_dir, and its loading report."""
    import torch
    import transformers

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    with open(os.path.join(model_dir, "config.json")) as f:
        model_type = json.load(f)["model_type"]
    auto = (
        transformers.AutoModelForMaskedLM
        if model_type in ENCODER_TYPES
        else transformers.AutoModelForCausalLM
    )
    torch_dtype = getattr(torch, dtype)
    kwargs = {"attn_implementation": "eager", "output_loading_info": True}
    try:
        model, info = auto.from_pretrained(model_dir, dtype=torch_dtype, **kwargs)
    except TypeError:  # transformers 4 names it torch_dtype
        model, info = auto.from_pretrained(model_dir, torch_dtype=torch_dtype, **kwargs)
    model = model.to(device=device, dtype=torch_dtype).eval()
    ids = torch.tensor(input_ids, dtype=torch.long, device=device)
    mask = torch.tensor(attention_mask, dtype=torch.long, device=device)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
    return logits.double().cpu().numpy(), info, type(model).__name__


def check(out_dir, tolerance, device, dtype):
    """Prints one folder's result; True when it passes."""
    outputs = read_safetensors(os.path.join(out_dir, "layercut-logits.safetensors"))
    ids, mask, ours = outputs["input_ids"], outputs["attention_mask"], outputs["logits"]
    summary_file = os.path.join(out_dir, "export-check.json")
    summary = json.load(open(summary_file)) if os.path.exists(summary_file) else {}
    theirs, info, class_name = reference_logits(os.path.join(out_dir, "model"), ids, mask, device, dtype)
    # weights transformers had to invent (never in a layercut save) would make the logits meaningless
    missing = [k for k in info.get("missing_keys", []) if not k.endswith(("position_ids", "lm_head.weight"))]
    unexpected = list(info.get("unexpected_keys", []))
    mismatched = list(info.get("mismatched_keys", []))
    if theirs.shape != ours.shape:
        print(f"{out_dir}: FAIL logits shape {list(theirs.shape)} (transformers) vs {list(ours.shape)} (layercut)")
        return False
    real = mask.astype(bool)
    diff = float(np.max(np.abs(theirs[real] - ours[real].astype(np.float64))))
    ok = diff <= tolerance and not missing and not mismatched
    kept = summary.get("keptLayers", "?")
    steps = summary.get("trainSteps", "?")
    print(
        f"{out_dir}: {class_name}, kept layers {kept}, {steps} training step(s), {int(real.sum())} real positions: "
        f"max |Δ| = {diff:.3e}  {'PASS' if ok else 'FAIL'} (tolerance {tolerance:g})"
    )
    if missing:
        print(f"  transformers initialised weights missing from the save: {missing}")
    if mismatched:
        print(f"  weights of another shape than the config implies: {mismatched}")
    if unexpected:
        print(f"  note: the save has weights transformers did not use: {unexpected}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="+", help="folders written by scripts/export-check.ts")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    args = parser.parse_args()
    results = [check(out, args.tolerance, args.device, args.dtype) for out in args.out]
    print("PASS" if all(results) else "FAIL", f"({sum(results)}/{len(results)} folders)")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
