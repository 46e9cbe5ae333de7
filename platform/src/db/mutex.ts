/** Releases a held {@link Mutex}; calling it more than once is a no-op. */
export type Release = () => void;

/**
 * A FIFO async mutex. Waiters are served in arrival order, so a steady stream of short
 * queries cannot starve a transaction that is waiting for the connection.
 */
export class Mutex {
  #locked = false;
  readonly #queue: Array<(release: Release) => void> = [];

  get locked(): boolean {
    return this.#locked;
  }

  acquire(): Promise<Release> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<Release>((resolve) => this.#queue.push(resolve));
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next(this.#releaser());
      else this.#locked = false;
    };
  }
}
