/**
 * Waits bounded by a deadline: a timeout signal on `setTimeout` (so fake clocks drive it, unlike
 * `AbortSignal.timeout`), and a race of any promise against a signal, so that no wait of a call —
 * a secret or token fetch, the breaker's half-open verdict, a backoff — outlives the call's deadline.
 */

/** A signal that aborts after `ms`, with a `TimeoutError` reason as `AbortSignal.timeout` gives. */
export interface TimeoutSignal {
  readonly signal: AbortSignal;
  /** Stops the timer (call it once the guarded work is over, so no timer outlives it). */
  clear(): void;
}

/**
 * A signal that aborts after `ms` (at least 1), or when `parent` aborts, whichever comes first.
 * Its timer is `unref`'d: it never keeps the process alive.
 */
export function timeoutSignal(ms: number, parent?: AbortSignal): TimeoutSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')),
    Math.max(1, ms),
  );
  (timer as { unref?: () => void }).unref?.();
  let onParentAbort: (() => void) | undefined;
  if (parent) {
    if (parent.aborted) controller.abort(parent.reason);
    else {
      onParentAbort = () => controller.abort(parent.reason);
      parent.addEventListener('abort', onParentAbort, { once: true });
    }
  }
  return {
    signal: controller.signal,
    clear() {
      clearTimeout(timer);
      if (onParentAbort) parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/**
 * `promise`, unless `signal` aborts first: then rejects with `onAbort()`. The promise itself runs on
 * (nothing can cancel it), but the caller stops waiting for it; its later rejection is swallowed.
 *
 * @param settleMicrotasks - on abort, how many microtask turns `promise` gets to settle first, so
 *   that a callee which watches the same signal answers with its own, more precise error (a secret
 *   store's `DEPENDENCY_UNAVAILABLE` rather than a bare timeout). Microtasks only: no timer, so the
 *   wait is not a clock's and ends within the same tick. @default 0
 */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => unknown,
  settleMicrotasks = 0,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const abort = async () => {
      for (let turn = 0; turn < settleMicrotasks && !settled; turn++) await Promise.resolve();
      if (settled) return;
      settled = true;
      promise.catch(() => undefined);
      reject(onAbort());
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        if (settled) return;
        settled = true;
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        if (settled) return;
        settled = true;
        reject(error);
      },
    );
  });
}

/** Waits `ms`, or rejects with `onAbort()` as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined, onAbort: () => unknown): Promise<void> {
  if (signal?.aborted) return Promise.reject(onAbort());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(onAbort());
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}
