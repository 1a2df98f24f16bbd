// One error class for every checkpoint failure, so callers can tell a bad file from a bad argument.

/** A file that could not be read or written; the message starts with the file (or entry) name. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  /** The file (or "file: entry") the message is about. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** A short, printable rendering of untrusted text for error messages (no control characters). */
export function quote(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}
