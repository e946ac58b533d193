import { deflateSync } from "node:zlib";
import type { DefaultRoute } from "./reply.ts";

// A user's picture as GitHub's web host serves it at /<login>.png (github.com
// and Enterprise Server redirect it to their avatar host; the fake answers it
// directly): a 40×40 PNG in a colour of the login, for every login it is asked.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A size×size RGB PNG of one colour. */
export function solidPng(size: number, rgb: [number, number, number]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits per channel, RGB, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: size }, () => rgb).flat())]);
  const pixels = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(pixels)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

export const avatarRoutes: DefaultRoute[] = [
  {
    method: "GET",
    route: "/{login}.png",
    handle: (_call, params) => {
      const code = [...(params.login ?? "")].reduce((sum, ch) => sum + ch.charCodeAt(0), 0);
      return {
        status: 200,
        headers: { "content-type": "image/png", "cache-control": "max-age=300" },
        body: solidPng(40, [(code * 37) % 256, (code * 91) % 256, (code * 53) % 256]),
      };
    },
  },
];
