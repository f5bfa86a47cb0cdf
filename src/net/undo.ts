// The undo log that makes ADD all-or-nothing: every step that changed the kernel (or called an
// IPAM plugin) records how to take it back; on failure the steps are undone newest first.
import { CniError, ErrCode, errorText } from "../cni/errors";

interface Step {
  what: string;
  undo: () => void;
}

export class UndoLog {
  private steps: Step[] = [];
  private running = -1;

  /**
   * While a rollback runs: how many steps it has run before the current one (0 for the first),
   * so an undo can tell whether other undos ran since its previous one. -1 outside a rollback.
   */
  get undoing(): number {
    return this.running;
  }

  /** Remembers how to undo a change that has just succeeded. */
  push(what: string, undo: () => void): void {
    this.steps.push({ what, undo });
  }

  /**
   * Undoes every recorded step, newest first. A failing undo does not stop the others; the
   * failures are returned so the caller can report them next to the original error.
   */
  rollback(): string[] {
    const failures: string[] = [];
    let i = 0;
    for (const step of this.steps.reverse()) {
      this.running = i++;
      try {
        step.undo();
      } catch (e) {
        failures.push(`undo ${step.what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.running = -1;
    this.steps = [];
    return failures;
  }
}

/** Rolls `log` back after `e` and returns the error to report, with any failed undo in its details. */
export function rolledBack(e: unknown, log: UndoLog): CniError {
  const failures = log.rollback();
  const err = e instanceof CniError ? e : new CniError(ErrCode.Internal, errorText(e));
  if (failures.length === 0) return err;
  return new CniError(err.code, err.message, [err.details, `rollback incomplete: ${failures.join("; ")}`].filter(Boolean).join("; "));
}
