"""The Python side of `npm run bench`, the twin of worker.mjs (same line protocol).

Run with /usr/bin/python3 (Debian's python3-torch, the same libtorch 1.13 the addon links).
Each case module (ops.py, mlp.py, sdd_loss.py, sdd_head.py) can also be run on its own:
`/usr/bin/python3 -B bench/sdd_loss.py` prints rough timings without the Node comparison.
"""
import json
import sys
import time
import traceback

import torch

REPLY = '@@bench '


def all_cases():
    import mlp
    import ops
    import sdd_head
    import sdd_loss
    out = {}
    for m in (ops, mlp, sdd_loss, sdd_head):
        out.update(m.CASES)
    return out


def serve():
    cases = all_cases()
    live = {}

    def handle(req):
        op = req['op']
        if op == 'hello':
            backend = 'unknown'
            for line in torch.__config__.parallel_info().splitlines():
                if line.startswith('ATen parallel backend:'):
                    backend = line.split(':', 1)[1].strip()
            return {'runtime': 'Python ' + sys.version.split()[0], 'torch': torch.__version__,
                    'parallel': backend, 'threads': torch.get_num_threads(), 'cases': list(cases)}
        if op == 'setup':
            torch.set_num_threads(req['threads'])
            state = cases[req['id']]()
            live[req['id']] = state
            return {'check': state.check(), 'threads': torch.get_num_threads()}
        if op == 'run':
            state = live[req['id']]
            t0 = time.perf_counter()
            state.run(req['iters'])
            return {'seconds': time.perf_counter() - t0}
        if op == 'teardown':
            live.pop(req['id'], None)
            return {}
        if op == 'exit':
            sys.exit(0)
        raise ValueError('unknown op ' + str(op))

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = {'ok': True, **handle(json.loads(line))}
        except SystemExit:
            raise
        except BaseException:  # noqa: B902 - every failure goes back to the orchestrator
            reply = {'ok': False, 'error': traceback.format_exc()}
        sys.stdout.write(REPLY + json.dumps(reply) + '\n')
        sys.stdout.flush()


def standalone(cases, threads=1, seconds=0.3):
    """Rough self-timing of one module's cases (no Node comparison, no interleaving)."""
    torch.set_num_threads(threads)
    for name, cls in cases.items():
        state = cls()
        state.run(3)
        iters, t = 1, 0.0
        while True:
            t0 = time.perf_counter()
            state.run(iters)
            t = time.perf_counter() - t0
            if t >= seconds:
                break
            iters = max(iters * 2, int(iters * seconds / max(t, 1e-9)))
        per = t / iters
        unit, scale = ('us', 1e6) if per < 1e-3 else ('ms', 1e3)
        print(f'{name:12s} {per * scale:10.3f} {unit}/iter  ({iters} iters, {threads} thread(s), check {state.check():.6g})')


if __name__ == '__main__':
    serve()
