/** Quotes a string for POSIX sh: single quotes, with embedded single quotes spliced in. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}
