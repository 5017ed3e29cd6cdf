// pow.js: the shopper page's proof-of-work solver, run as a Web Worker so
// that the page stays responsive while it searches. Given a challenge and a
// difficulty d, it finds a string s such that SHA-256(challenge ":" s)
// begins with d zero bits (the server checks it with one hash), posting
// its progress every 4096 tries.
//
// SHA-256 is written out here rather than taken from crypto.subtle, which
// pages served over plain HTTP (other than localhost) do not have and which
// costs an await per hash. Its constants are derived, not typed: the first
// 32 bits of the fractional parts of the square roots (initial state) and
// cube roots (round constants) of the first primes, by exact integer roots.
'use strict';

function primes(n) {
  const out = [];
  for (let c = 2; out.length < n; c++) {
    if (out.every((p) => c % p !== 0)) out.push(c);
  }
  return out;
}

// iroot returns the integer k-th root of x (a BigInt), rounded down:
// Newton's method on the integers, from above the root.
function iroot(x, k) {
  const kb = BigInt(k);
  let r = BigInt(Math.ceil(Math.pow(Number(x), 1 / k)));
  while (r ** kb <= x) r += 1n;
  for (;;) {
    const next = ((kb - 1n) * r + x / r ** (kb - 1n)) / kb;
    if (next >= r) break;
    r = next;
  }
  while (r ** kb > x) r -= 1n;
  return r;
}

// frac32 is the first 32 bits of the fractional part of p^(1/k).
function frac32(p, k) {
  return Number(iroot(BigInt(p) << BigInt(32 * k), k) & 0xffffffffn);
}

const P = primes(64);
const K = Uint32Array.from(P, (p) => frac32(p, 3));
const H0 = Uint32Array.from(P.slice(0, 8), (p) => frac32(p, 2));

const rotr = (x, n) => (x >>> n) | (x << (32 - n));

// sha256 returns the digest of bytes (a Uint8Array) as 8 words.
function sha256(bytes) {
  const len = bytes.length;
  const blocks = ((len + 9 + 63) >> 6) << 6;
  const m = new Uint8Array(blocks);
  m.set(bytes);
  m[len] = 0x80;
  const bitsLen = len * 8;
  m[blocks - 4] = bitsLen >>> 24; m[blocks - 3] = bitsLen >>> 16; m[blocks - 2] = bitsLen >>> 8; m[blocks - 1] = bitsLen;
  const h = Uint32Array.from(H0);
  const w = new Uint32Array(64);
  for (let off = 0; off < blocks; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + 4 * i;
      w[i] = (m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
      const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return h;
}

// zeroBits counts the leading zero bits of a digest.
function zeroBits(h) {
  let n = 0;
  for (const word of h) {
    if (word === 0) { n += 32; continue; }
    return n + Math.clz32(word);
  }
  return n;
}

self.onmessage = (e) => {
  const { challenge, difficulty } = e.data;
  const enc = new TextEncoder();
  const started = Date.now();
  for (let i = 0; ; i++) {
    const s = i.toString(36);
    if (zeroBits(sha256(enc.encode(challenge + ':' + s))) >= difficulty) {
      self.postMessage({ solution: s, tries: i + 1, ms: Date.now() - started });
      return;
    }
    if ((i & 4095) === 4095) self.postMessage({ progress: i + 1, expected: 2 ** difficulty });
  }
};
