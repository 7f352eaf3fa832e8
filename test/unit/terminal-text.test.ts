import { describe, expect, it } from 'vitest';
import { escapeTerminal } from '../../src/util/terminal-text.js';

describe('escapeTerminal', () => {
  it.each([
    ['an OSC sequence that retitles the terminal', '\u001b]0;pwned\u0007ci-bot', '\\x1b]0;pwned\\x07ci-bot'],
    ['a colour sequence', 'a\u001b[31mred', 'a\\x1b[31mred'],
    ['a carriage return that overwrites the line', 'good\rEVIL', 'good\\rEVIL'],
    ['a backspace and a bell', 'a\bb\u0007', 'a\\x08b\\x07'],
    ['NUL and DEL', 'a\u0000b\u007f', 'a\\x00b\\x7f'],
    ['a C1 CSI', 'a\u009b31m', 'a\\x9b31m'],
    ['a right-to-left override', 'evil\u202etxt.exe', 'evil\\u202etxt.exe'],
    ['a bidi isolate', 'x\u2066y\u2069', 'x\\u2066y\\u2069'],
  ])('makes %s visible', (_name, input, expected) => {
    expect(escapeTerminal(input)).toBe(expected);
    expect(escapeTerminal(input)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('keeps newlines, tabs and ordinary text, accents and emoji included', () => {
    const text = 'Zoë Müller <zoe@example.com>\n\tcommit 1a2b3c — 🚀 ok\\x';
    expect(escapeTerminal(text)).toBe(text);
  });
});
