import type { Logger } from './logger.ts';

/**
 * The loop under every log reader (projection tailers, the Kafka relay): run `step` again and
 * again; `step` answers how long to sleep before the next call (0: go on at once). `wake()` cuts
 * a sleep short (new events were appended). A failing step is retried with exponential backoff
 * (100 ms doubling to 5 s), and its error is logged through `describe`.
 */
export class PollingLoop {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  /** A wake() that came while a step ran: the step may have read the log before the append. */
  private wokenDuringStep = false;

  constructor(
    private readonly step: () => Promise<number>,
    private readonly logger: Logger,
    private readonly describe: (error: unknown, retryInMs: number) => string,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.wokenDuringStep = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    const woken = this.wokenDuringStep;
    this.wokenDuringStep = false;
    if (ms <= 0 || woken) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let pause: number;
      try {
        pause = await this.step();
        failures = 0;
      } catch (error) {
        if (this.stopped) break;
        failures += 1;
        pause = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        this.logger.error(this.describe(error, pause), error);
      }
      if (!this.stopped) await this.sleep(pause);
    }
  }
}
