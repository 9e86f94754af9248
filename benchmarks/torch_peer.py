"""The PyTorch peer of the Gluon `mean` architecture, timed the way `bench.py` times Gluon.

    python benchmarks/torch_peer.py --threads 2                 # training tokens/s, as JSON
    python benchmarks/torch_peer.py --threads 2 --infer         # inference latency/throughput

Same model (Embedding -> one LSTM layer -> mean over the real time steps -> the post's
Dense head 16 -> 8 -> classes), same
shapes, same step as `gluon_rnn.loop.train_epoch`: forward, softmax cross-entropy, backward,
gradients clipped by global norm, Adam update, and the loss read back to the host every step.

PyTorch is an optional dependency (`pip install torch`): without it this prints
`{"skipped": ...}` and exits 0, so `bench.py` can leave the row out. It runs in its own
process and never imports mxnet: importing mxnet first would change the OpenMP thread count
under PyTorch's feet (mxnet calls `omp_set_num_threads` when it loads).
"""
import argparse
import json
import statistics
import sys
import time


def build_peer(torch, vocab_size, embed_size, hidden_size, num_classes, head_hidden=(16, 8)):
    """tokens (N, T) int64, valid_length (N,) -> logits (N, C), like Gluon's `mean`,
    head included: Dense(16, relu) -> Dense(8, relu) -> Dense(C), the post's head."""
    nn = torch.nn

    def head():
        layers, width = [], hidden_size
        for units in head_hidden:
            layers += [nn.Linear(width, units), nn.ReLU()]
            width = units
        return nn.Sequential(*layers, nn.Linear(width, num_classes))

    class MeanLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=0)
            self.encoder = nn.LSTM(embed_size, hidden_size, batch_first=True)
            self.output = head()

        def forward(self, tokens, valid_length):
            h, _ = self.encoder(self.embedding(tokens))                    # (N, T, H)
            steps = torch.arange(tokens.shape[1], device=tokens.device)
            mask = (steps[None, :] < valid_length[:, None]).to(h.dtype)   # (N, T)
            pooled = (h * mask[:, :, None]).sum(1) / valid_length.clamp(min=1)[:, None]
            return self.output(pooled)                                     # (N, C)

    return MeanLSTM()


def make_batch(torch, batch_size, seq_len, vocab_size, num_classes, device, seed=0):
    """Random ids in [2, vocab) (0 is padding, 1 unknown), every row `seq_len` long."""
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(2, vocab_size, (batch_size, seq_len), generator=gen)
    valid_length = torch.full((batch_size,), float(seq_len))
    label = torch.randint(0, num_classes, (batch_size,), generator=gen)
    return tokens.to(device), valid_length.to(device), label.to(device)


def timed(step, warmup, steps, repeats, sync):
    """Median seconds per call of `step` over `repeats` windows of `steps` calls each."""
    for _ in range(warmup):
        step()
    sync()
    windows = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        windows.append((time.perf_counter() - start) / steps)
    return statistics.median(windows), windows


def train_speed(torch, args, device, sync):
    torch.manual_seed(0)
    net = build_peer(torch, args.vocab_size, args.embed_size, args.hidden_size,
                     args.num_classes).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    tokens, valid_length, label = make_batch(torch, args.batch_size, args.seq_len,
                                             args.vocab_size, args.num_classes, device)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(tokens, valid_length), label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), args.clip)
        opt.step()
        loss.item()  # train_epoch reads each batch's loss back too

    seconds, windows = timed(step, args.warmup, args.steps, args.repeats, sync)
    return {"step_seconds": seconds, "windows": windows,
            "tokens_per_second": args.batch_size * args.seq_len / seconds}


def infer_speed(torch, args, device, sync):
    torch.manual_seed(0)
    net = build_peer(torch, args.vocab_size, args.embed_size, args.hidden_size,
                     args.num_classes).to(device).eval()
    out = {}
    for name, batch_size in (("latency", 1), ("throughput", args.infer_batch_size)):
        tokens, valid_length, _ = make_batch(torch, batch_size, args.seq_len, args.vocab_size,
                                             args.num_classes, device)

        def step():
            with torch.inference_mode():
                net(tokens, valid_length).cpu()

        seconds, _ = timed(step, args.warmup, args.steps, args.repeats, sync)
        out[name] = {"batch_size": batch_size, "seconds": seconds,
                     "reviews_per_second": batch_size / seconds,
                     "tokens_per_second": batch_size * args.seq_len / seconds}
    return out


def build_parser():
    p = argparse.ArgumentParser(prog="python benchmarks/torch_peer.py",
                                description="Time the PyTorch peer of Gluon's `mean` model.")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--vocab-size", type=int, default=20000)
    p.add_argument("--embed-size", type=int, default=128)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--num-classes", type=int, default=2)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--infer", action="store_true", help="time inference instead of training")
    p.add_argument("--infer-batch-size", type=int, default=256)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        import torch
    except ImportError as err:
        print(json.dumps({"skipped": f"torch is not installed ({err})"}))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):
        if not torch.cuda.is_available():
            print(json.dumps({"skipped": "this torch build sees no CUDA device"}))
            return 0
        sync = torch.cuda.synchronize
    else:
        def sync():
            pass
    device = torch.device(args.device)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(),
              "device": args.device, "batch_size": args.batch_size, "seq_len": args.seq_len}
    if args.infer:
        result["infer"] = infer_speed(torch, args, device, sync)
    else:
        result["train"] = train_speed(torch, args, device, sync)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
