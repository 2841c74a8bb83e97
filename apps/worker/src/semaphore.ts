// The worker's job slots: `size` jobs at once, plus `reserved` slots that only interactive jobs (playground
// generations) may take, so a short job someone is watching never waits behind long batch work. Waiting
// interactive jobs are also served first when a slot frees.

export class Semaphore {
  private active = 0;
  private readonly waiting: { interactive: boolean; go: () => void }[] = [];

  constructor(
    private readonly size: number,
    private readonly reserved = 0,
  ) {}

  private fits(interactive: boolean): boolean {
    return this.active < this.size + (interactive ? this.reserved : 0);
  }

  /** Resolves with a release function once a slot is free for this kind of job. */
  async acquire(interactive = false): Promise<() => void> {
    if (!this.fits(interactive)) await new Promise<void>((go) => this.waiting.push({ interactive, go }));
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.wake();
    };
  }

  private wake(): void {
    const i = this.waiting.findIndex((w) => w.interactive && this.fits(true));
    const j = i >= 0 ? i : this.waiting.findIndex((w) => this.fits(w.interactive));
    if (j >= 0) this.waiting.splice(j, 1)[0].go();
  }
}
