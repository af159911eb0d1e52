import { printableLine } from './text';

/**
 * The one base class for keymend's own errors. Subclasses end in `Error` and set `name`,
 * so a log line or a CLI message says which kind of failure it was.
 */
export class KeymendError extends Error {
  override readonly name: string = 'KeymendError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Input that keymend could not read or that breaks a documented rule (a CLI exits 2 on it). */
export class InputError extends KeymendError {
  override readonly name: string = 'InputError';
}

/** A policy document that is not valid IAM policy grammar. The message names the problem. */
export class PolicyParseError extends KeymendError {
  override readonly name: string = 'PolicyParseError';
}

/** An account snapshot that fails validation. `field` is the JSON path of the bad field. */
export class SnapshotError extends KeymendError {
  override readonly name: string = 'SnapshotError';
  readonly field: string;
  /**
   * The field and the message are kept printable (commons/text.ts `printableLine`): both may quote
   * a hostile file's bytes, and the message reaches a terminal.
   */
  constructor(field: string, message: string) {
    const printableField = printableLine(field, 300);
    super(`${printableField}: ${printableLine(message)}`);
    this.field = printableField;
  }
}

/** A configuration value (an environment variable) that is missing or wrong. `variable` names it. */
export class ConfigError extends KeymendError {
  override readonly name: string = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

/** A command line that breaks the command's usage (a missing or unknown option). A CLI exits 2 on it. */
export class UsageError extends KeymendError {
  override readonly name: string = 'UsageError';
}

/**
 * An undo refused because what is in the account is not what keymend wrote (a grant id that names
 * someone else's grant, an inline policy whose document changed): keymend undoes only its own changes.
 */
export class NotKeymendsChangeError extends KeymendError {
  override readonly name: string = 'NotKeymendsChangeError';
}

/**
 * A key that exists but that keymend may not read: KMS denied one of the calls that read it (its key
 * policy admits neither keymend's role nor, through the IAM delegation statement, IAM policies).
 * `call` is the denied action, `key` the key ARN (or the reference the event gave).
 */
export class KeyUnreadableError extends KeymendError {
  override readonly name: string = 'KeyUnreadableError';
  constructor(
    readonly key: string,
    readonly call: string,
    options?: { cause?: unknown },
  ) {
    super(`${call} on ${key} was denied: the key policy does not admit this role`, options);
  }
}

/**
 * Another account keymend cannot act in: its member role could not be assumed (an account outside the
 * organization, or one the member StackSet has not reached). `account` names it.
 */
export class AccountUnreachableError extends KeymendError {
  override readonly name: string = 'AccountUnreachableError';
  constructor(
    readonly account: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
