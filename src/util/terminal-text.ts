/**
 * Recorded text (an author, a revision, a commit message) comes from whoever wrote it: a CI job
 * can record `--author $'\e]0;…\a'`. Printed raw, escape sequences would retitle, recolour or
 * rewrite the reader's terminal, or hide lines. escapeTerminal makes every such character visible.
 */

// C0 controls except \t and \n, DEL, C1 controls, and the Unicode bidirectional overrides and
// isolates that reorder what a line appears to say ("Trojan Source").
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with each control character replaced by a visible escape: `\x1b` for ESC (so an escape
 * sequence prints as text and does nothing), `\r` for carriage return, `\u202e` for a bidi
 * override. Newlines and tabs are kept; everything else is returned unchanged.
 */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const code = char.charCodeAt(0);
    if (char === '\r') return '\\r';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
