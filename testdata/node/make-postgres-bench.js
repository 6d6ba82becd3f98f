#!/usr/bin/env node
// make-postgres-bench.js writes COPY text-format rows for a benchmark table
// of sigil records as an app stores them: id, data json, checksum,
// signature, type, created_at, about 1 KiB a row, signed with real Node
// crypto (SHA-256 of JSON.stringify(data), HMAC-SHA256 with the first key
// file) exactly as testdata/node/make-postgres.js signs. Node built-ins only.
//
//   node testdata/node/make-postgres-bench.js KEYTYPE COUNT | \
//     psql -c "\copy TABLE (id, data, checksum, signature, type, created_at) FROM STDIN"
//
// KEYTYPE: text (random "sig_" ids, as an app's id generator gives),
// bigint (1..COUNT, as a bigserial gives) or uuid (crypto.randomUUID).
// Rows are written in creation order, so text and uuid keys are
// uncorrelated with the heap order and bigint keys follow it.
'use strict'

const crypto = require('crypto')
const { readKeys, sha256hex, hmachex, prng } = require('./common')

const [keyType, countArg] = process.argv.slice(2)
const count = Number(countArg)
if (!['text', 'bigint', 'uuid'].includes(keyType) || !(count > 0)) {
  process.stderr.write('usage: make-postgres-bench.js text|bigint|uuid COUNT\n')
  process.exit(2)
}
const [key] = readKeys() // testdata/keys/current.key
const rnd = prng(42)
const words = ['amber', 'basalt', 'cinder', 'delta', 'ember', 'fjord', 'garnet', 'harbor', 'indigo', 'jasper']
const w = () => words[Math.floor(rnd() * words.length)]
const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

function id (i) {
  switch (keyType) {
    case 'bigint': return String(i + 1)
    case 'uuid': return crypto.randomUUID()
    default: return 'sig_' + Array.from({ length: 16 }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('')
  }
}

function data (i) {
  return {
    owner: { name: `${w()} ${w()}`, tier: Math.floor(rnd() * 5), email: `${w()}.${w()}@example.com` },
    title: Array.from({ length: 6 }, w).join(' '),
    amounts: Array.from({ length: 8 }, () => Math.round(rnd() * 1e6) / 100),
    ratio: rnd(),
    active: rnd() < 0.5,
    parent: rnd() < 0.3 ? null : `sigil-${String(Math.floor(rnd() * 1e6)).padStart(7, '0')}`,
    tags: Array.from({ length: 8 }, w),
    notes: Array.from({ length: 4 }, () => Array.from({ length: 14 }, w).join(' ')),
    seq: i
  }
}

// copyText escapes a value for COPY's text format.
const copyText = (s) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')

const out = []
let pending = 0
const base = Date.parse('2024-05-01T12:00:00.000Z')
for (let i = 0; i < count; i++) {
  const d = JSON.stringify(data(i))
  const checksum = sha256hex(d)
  const signature = hmachex(key, d)
  const created = new Date(base + i * 1000).toISOString()
  out.push([id(i), copyText(d), checksum, signature, 'sigil', created].join('\t'))
  if (++pending === 5000) {
    process.stdout.write(out.join('\n') + '\n')
    out.length = 0
    pending = 0
  }
}
if (out.length) process.stdout.write(out.join('\n') + '\n')
