// CNI error codes (SPEC "Error" section plus the Go library's extra constants).
export const ErrCode = {
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNS: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginNotAvailableLimitedConnectivity: 51,
  Internal: 999,
} as const;

/** The one error type plugins throw for user-visible failures; the entry point prints it. */
export class CniError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details = "",
  ) {
    super(msg);
  }

  /** The spec's error object; `details` is omitted when empty, as upstream's skel does. */
  toJSON(): { code: number; msg: string; details?: string } {
    return this.details ? { code: this.code, msg: this.message, details: this.details } : { code: this.code, msg: this.message };
  }
}

/** The message of any thrown value. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Wraps any error as a CniError, keeping the code of one that already is. Others become 999. */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  return new CniError(ErrCode.Internal, errorText(err));
}

/** Prefixes the message of `err` with the step that failed, keeping its code and details. */
function wrapError(step: string, err: unknown): CniError {
  const e = asCniError(err);
  return new CniError(e.code, `${step}: ${e.message}`, e.details);
}

/** Runs one named step; a failure is reported as "<step>: <error>", keeping a CniError's code. */
export function step<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw wrapError(what, e);
  }
}
