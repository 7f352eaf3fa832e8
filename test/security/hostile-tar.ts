/**
 * Builds hostile tar archives byte by byte, the way an attacker would: ustar headers with any
 * type, mode and size, PAX extended headers (path, linkpath, size), and GNU long-name (`L`) and
 * long-link (`K`) headers, which tar-stream can read but not write. Every field is set on purpose.
 */

export type MemberType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface Member {
  name: string;
  type?: MemberType;
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  /** The size the header declares; default the body's length. */
  size?: number;
  /** PAX records put in an extended header before this member. */
  pax?: Record<string, string>;
  /** Carry the name in a GNU `L` header (and the link target in a `K` header). */
  gnu?: boolean;
}

const TYPEFLAG: Record<MemberType | 'pax' | 'gnu-name' | 'gnu-link', string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
  pax: 'x',
  'gnu-name': 'L',
  'gnu-link': 'K',
};

/** One 512-byte ustar header. Names longer than the field are cut (the long headers carry them). */
function header(name: string, typeflag: string, size: number, options: { mode?: number; linkname?: string } = {}): Buffer {
  const block = Buffer.alloc(512);
  const put = (offset: number, length: number, value: string) => block.write(value.slice(0, length), offset, length, 'utf8');
  const octal = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  put(0, 100, name);
  octal(100, 8, options.mode ?? 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  // Sizes beyond 8 GiB do not fit in 11 octal digits: use the GNU base-256 form.
  if (size >= 8 ** 11) {
    block[124] = 0x80;
    block.writeBigUInt64BE(BigInt(size), 128);
  } else octal(124, 12, size);
  octal(136, 12, 0);
  block.write('        ', 148, 8, 'latin1');
  put(156, 1, typeflag);
  put(157, 100, options.linkname ?? '');
  block.write('ustar\0', 257, 6, 'latin1');
  block.write('00', 263, 2, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

function padded(body: Buffer): Buffer {
  const rest = body.length % 512;
  return rest === 0 ? body : Buffer.concat([body, Buffer.alloc(512 - rest)]);
}

function paxRecords(records: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(records).map(([key, value]) => {
      // The record's length counts its own digits.
      const text = ` ${key}=${value}\n`;
      const base = Buffer.byteLength(text);
      let length = base + String(base).length;
      if (String(length).length !== String(base).length) length = base + String(length).length;
      return Buffer.from(`${length}${text}`);
    }),
  );
}

/** The archive's bytes: members in the order given, then the two zero blocks. */
export function hostileTar(members: readonly Member[]): Buffer {
  const blocks: Buffer[] = [];
  for (const m of members) {
    const body = Buffer.from(m.body ?? '');
    if (m.pax) {
      const records = paxRecords(m.pax);
      blocks.push(header('PaxHeader', TYPEFLAG.pax, records.length), padded(records));
    }
    if (m.gnu) {
      const name = Buffer.from(`${m.name}\0`);
      blocks.push(header('././@LongLink', TYPEFLAG['gnu-name'], name.length), padded(name));
      if (m.linkname !== undefined) {
        const link = Buffer.from(`${m.linkname}\0`);
        blocks.push(header('././@LongLink', TYPEFLAG['gnu-link'], link.length), padded(link));
      }
    }
    const type = m.type ?? 'file';
    const size = m.size ?? (type === 'file' ? body.length : 0);
    blocks.push(
      header(m.name, TYPEFLAG[type], size, { mode: m.mode ?? (type === 'directory' ? 0o755 : 0o644), linkname: m.linkname ?? '' }),
    );
    if (type === 'file' && body.length > 0) blocks.push(padded(body));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
