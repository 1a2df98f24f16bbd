// The training progress bar (cli-progress): loss, accuracy, images/s and ETA; silent when stderr is
// not a terminal (CI logs get one summary line per epoch instead).
import cliProgress from 'cli-progress';

export interface ProgressBar {
  start(total: number, epoch: number, epochs: number, startAt: number): void;
  update(done: number, values: { loss: number; acc: number; ips: number }): void;
  stop(): void;
}

export function createProgress(enabled: boolean | 'auto'): ProgressBar {
  const on = enabled === 'auto' ? Boolean(process.stderr.isTTY) : enabled;
  if (!on) return { start() {}, update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} | loss {loss} | acc {acc}% | {ips} img/s | ETA {eta_formatted}',
    barCompleteChar: '█', barIncompleteChar: '░', hideCursor: true, clearOnComplete: true, stream: process.stderr, etaBuffer: 50,
  });
  return {
    start(total, epoch, epochs, startAt) { bar.start(total, startAt, { epoch, epochs, loss: '-', acc: '-', ips: '-' }); },
    update(done, v) { bar.update(done, { loss: v.loss.toFixed(4), acc: (100 * v.acc).toFixed(1), ips: v.ips.toFixed(0) }); },
    stop() { bar.stop(); },
  };
}
