// The undo log that makes ADD all-or-nothing: every step that changed the kernel (or called an
// IPAM plugin) records how to take it back; on failure the steps are undone newest first.

interface Step {
  what: string;
  undo: () => void;
}

export class UndoLog {
  private steps: Step[] = [];

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
    for (const step of this.steps.reverse()) {
      try {
        step.undo();
      } catch (e) {
        failures.push(`undo ${step.what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.steps = [];
    return failures;
  }

  /** Steps recorded so far (a failure before any change leaves it at 0). */
  get size(): number {
    return this.steps.length;
  }
}
