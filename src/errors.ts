/**
 * Errors a user can fix: a bad flag, a missing or malformed file, a model from
 * another configuration. The CLI prints `error: <message>` on one line and
 * exits non-zero, with no stack trace; anything else is a bug and keeps its
 * stack. Messages name the file or flag, say what was expected and what was
 * found, and list the valid choices where there are some.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** True for errors that the CLI reports as one line. */
export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}
