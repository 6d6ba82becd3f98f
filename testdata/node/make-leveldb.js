#!/usr/bin/env node
// make-leveldb.js writes a LevelDB of sigil records exactly as the Sigil app
// does (classic-level, utf8 sublevel "sigils", JSON.stringify, crypto HMAC),
// with valid edge cases and planted corruptions, plus a manifest
// expected.json next to the database directory.
//
// Regenerate the committed database (from the repository root):
//
//   (cd testdata/node && npm ci) &&
//   rm -rf testdata/leveldb/sigils-db testdata/leveldb/expected.json &&
//   node testdata/node/make-leveldb.js testdata/leveldb/sigils-db --count 300
//
// The committed uncompacted database, as a running app leaves it (closed
// without a final compaction: live journals, tables on several levels):
//
//   rm -rf testdata/leveldb/sigils-db-uncompacted testdata/leveldb/expected-uncompacted.json &&
//   node testdata/node/make-leveldb.js testdata/leveldb/sigils-db-uncompacted --count 300 \
//     --no-compact --manifest testdata/leveldb/expected-uncompacted.json
//
// The committed one holds two live journals (the close landed right after a
// memtable switch) and tables on levels 0 and 2; the close races the flush,
// so a rerun may leave one journal: rerun until `ls *.log` shows two.
//
// Benchmark databases: --count 200000 (or 2000000) into a scratch directory.
//
// Usage: node make-leveldb.js <dir> [--count N] [--seed S] [--no-compact [--write-buffer BYTES]]
//
// --no-compact writes with a small write buffer (default 8 KiB) and closes
// right after the last write, without the reopen and compaction: records
// stay in the journals and in tables on several levels.
//
// The manifest is written to <dir>/../expected.json unless --manifest PATH
// is given:
//   prefix          the key prefix of the records ("!sigils!")
//   total_records   records under the prefix (valid + edge cases + planted)
//   failures        [{key, id, check}] planted failures without a schema
//   schema_failures [{key, id, check}] extra failures when a schema that
//                   requires `createdAt` to be a string is configured
//   edge_cases      ids of valid edge cases that must pass
//   keys            key files, current first, relative to the repository root
//   outside_prefix  keys written outside the prefix (must be ignored)
'use strict'

const fs = require('fs')
const path = require('path')
const { ClassicLevel } = require('classic-level')

const { keyFiles, readKeys, sha256hex, hmachex, prng } = require('./common')

function parseArgs (argv) {
  const o = { dir: null, count: 2000, seed: 1, manifest: null, compact: true, writeBuffer: 8 << 10 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--count') o.count = Number(argv[++i])
    else if (a === '--seed') o.seed = Number(argv[++i])
    else if (a === '--manifest') o.manifest = argv[++i]
    else if (a === '--no-compact') o.compact = false
    else if (a === '--write-buffer') o.writeBuffer = Number(argv[++i])
    else if (!a.startsWith('--') && o.dir === null) o.dir = a
    else throw new Error(`unknown argument ${a}`)
  }
  if (!o.dir || !Number.isInteger(o.count) || o.count < 0) {
    throw new Error('usage: make-leveldb.js <dir> [--count N] [--seed S] [--manifest PATH] [--no-compact [--write-buffer BYTES]]')
  }
  o.manifest = o.manifest || path.join(path.dirname(path.resolve(o.dir)), 'expected.json')
  return o
}



// What the app computes: the canonical payload is JSON.stringify(data || {}).
const payload = (data) => JSON.stringify(data || {})

const words = ['amber', 'basalt', 'cinder', 'delta', 'ember', 'fjord', 'garnet', 'harbor',
  'indigo', 'jasper', 'kelp', 'lumen', 'marrow', 'nickel', 'onyx', 'pylon', 'quartz', 'rune']

function realisticData (rnd, i) {
  const w = () => words[Math.floor(rnd() * words.length)]
  const sentence = (n) => Array.from({ length: n }, w).join(' ')
  return {
    owner: { name: `${w()} ${w()}`, email: `${w()}.${i}@example.org`, tier: Math.floor(rnd() * 5) },
    title: sentence(6),
    description: sentence(40),
    tags: Array.from({ length: 1 + Math.floor(rnd() * 6) }, w),
    amounts: Array.from({ length: 8 }, () => Math.round(rnd() * 1e6) / 100),
    ratio: rnd(),
    active: rnd() < 0.5,
    parent: rnd() < 0.3 ? null : `sigil-${String(Math.floor(rnd() * 1e6)).padStart(7, '0')}`,
    history: Array.from({ length: 3 }, (_, k) => ({ at: 1700000000000 + i * 1000 + k, by: w(), op: w() })),
    geo: { lat: Math.round((rnd() * 180 - 90) * 1e6) / 1e6, lon: Math.round((rnd() * 360 - 180) * 1e6) / 1e6 }
  }
}

// record builds a record object the way the app does.
function record (id, data, key, extra) {
  const p = payload(data)
  const rec = { id, checksum: sha256hex(p), signature: hmachex(key, p), createdAt: '2024-05-01T12:00:00.000Z' }
  if (data !== undefined) rec.data = data
  return Object.assign(rec, extra || {})
}

// rawRecord builds the stored text around a hand-written `data` text, so that
// the stored key order, number spelling or duplicates are exactly as given.
// Checksum and signature are what Node computes when it verifies the stored
// text: JSON.stringify(JSON.parse(stored).data || {}).
function rawRecord (id, dataText, key) {
  const p = payload(JSON.parse(dataText))
  return `{"id":${JSON.stringify(id)},"data":${dataText},"checksum":"${sha256hex(p)}","signature":"${hmachex(key, p)}"}`
}

function deep (levels) {
  let v = { leaf: 'bottom' }
  for (let i = 0; i < levels; i++) v = { level: i, next: v }
  return v
}

function edgeCases (cur, prev) {
  const s = (rec) => JSON.stringify(rec)
  return [
    ['edge-rotated-key', s(record('edge-rotated-key', { note: 'signed before rotation' }, prev))],
    ['edge-data-absent', s(record('edge-data-absent', undefined, cur))],
    ['edge-data-null', s(record('edge-data-null', null, cur))],
    ['edge-data-false', s(record('edge-data-false', false, cur))],
    ['edge-data-zero', s(record('edge-data-zero', 0, cur))],
    ['edge-data-empty-string', s(record('edge-data-empty-string', '', cur))],
    ['edge-pretty-printed', JSON.stringify(record('edge-pretty-printed', { a: [1, 2, { b: 'c' }], d: 'e' }, cur), null, 2)],
    ['edge-v8-key-order', s(record('edge-v8-key-order', { b: 1, 2: 2, a: 3, 1: 4, 4294967295: 5, '01': 6 }, cur))],
    ['edge-v8-key-order-raw', rawRecord('edge-v8-key-order-raw', '{"b":1,"2":2,"a":3,"1":4,"4294967295":5,"01":6,"4294967294":7}', cur)],
    ['edge-duplicate-keys-raw', rawRecord('edge-duplicate-keys-raw', '{"x":1,"y":2,"x":3}', cur)],
    ['edge-numbers-raw', rawRecord('edge-numbers-raw', '{"big":1e21,"small":1e-7,"negzero":-0,"tiny":5e-324,"e":1E3,"frac":1.50,"int":12345678901234567890}', cur)],
    ['edge-lone-surrogate', s(record('edge-lone-surrogate', { hi: '\ud800', lo: 'x\udfff', pair: '\ud83d\ude00' }, cur))],
    ['edge-escapes', s(record('edge-escapes', { c: '\u0000\u0001\b\f\n\r\t"\\/<>&\u2028\u2029\u007f' }, cur))],
    ['edge-20kb-string', s(record('edge-20kb-string', { blob: 'sigil-'.repeat(3414) }, cur))],
    ['edge-deep-nesting', s(record('edge-deep-nesting', deep(200), cur))],
    ['edge-unicode', s(record('edge-unicode', { 名前: 'シジル', emoji: '🔏🧿✨', mixed: 'Zürich – Ελλάδα' }, cur))],
    ['edge-no-checksum', s((() => { const r = record('edge-no-checksum', { n: 1 }, cur); delete r.checksum; return r })())]
  ]
}

// planted returns [key, value (string or Buffer), id, check, schemaOnly].
function planted (cur) {
  const unknown = 'a-key-nobody-configured'
  const ok = (id, extra) => record(id, { v: id }, cur, extra)
  const wrongSum = sha256hex('{"something":"else"}')
  return [
    ['bad-decode-not-json', '{"id":"bad-decode-not-json", this is not json', 'bad-decode-not-json', 'decode'],
    ['bad-decode-array', JSON.stringify([ok('bad-decode-array')]), 'bad-decode-array', 'decode'],
    ['bad-decode-invalid-utf8', Buffer.concat([Buffer.from('{"id":"bad-decode-invalid-utf8","data":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), 'bad-decode-invalid-utf8', 'decode'],
    ['bad-fields-no-signature', JSON.stringify((() => { const r = ok('bad-fields-no-signature'); delete r.signature; return r })()), 'bad-fields-no-signature', 'fields'],
    ['bad-fields-empty-id', JSON.stringify(ok('')), '', 'fields'],
    ['bad-key-mismatch', JSON.stringify(ok('bad-key-mismatch-other-id')), 'bad-key-mismatch-other-id', 'key'],
    ['bad-checksum-wrong', JSON.stringify(ok('bad-checksum-wrong', { checksum: wrongSum })), 'bad-checksum-wrong', 'checksum'],
    ['bad-checksum-malformed', JSON.stringify(ok('bad-checksum-malformed', { checksum: 'not-a-hex-digest' })), 'bad-checksum-malformed', 'checksum'],
    ['bad-signature-wrong', JSON.stringify(ok('bad-signature-wrong', { signature: hmachex(cur, '{"v":"tampered"}') })), 'bad-signature-wrong', 'signature'],
    ['bad-signature-unknown-key', JSON.stringify(record('bad-signature-unknown-key', { v: 1 }, unknown)), 'bad-signature-unknown-key', 'signature'],
    ['bad-schema-createdat', JSON.stringify(ok('bad-schema-createdat', { createdAt: 1714564800000 })), 'bad-schema-createdat', 'schema', true]
  ]
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const [cur, prev] = readKeys()
  const rnd = prng(o.seed)

  const db = new ClassicLevel(o.dir, Object.assign({ keyEncoding: 'utf8', valueEncoding: 'utf8' }, o.compact ? {} : { writeBufferSize: o.writeBuffer }))
  const sigils = db.sublevel('sigils', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  const meta = db.sublevel('meta', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()

  let ops = []
  const flush = async () => { if (ops.length) { await sigils.batch(ops); ops = [] } }
  for (let i = 0; i < o.count; i++) {
    const id = `sigil-${String(i).padStart(7, '0')}`
    const key = i % 10 === 9 ? prev : cur // some records predate the rotation
    ops.push({ type: 'put', key: id, value: JSON.stringify(record(id, realisticData(rnd, i), key)) })
    if (ops.length === (o.compact ? 1000 : 25)) await flush() // small batches fill many memtables
  }
  await flush()

  const edges = edgeCases(cur, prev)
  for (const [k, v] of edges) await sigils.put(k, v)
  const bad = planted(cur)
  for (const [k, v] of bad) {
    if (Buffer.isBuffer(v)) await sigils.put(k, v, { valueEncoding: 'buffer' })
    else await sigils.put(k, v)
  }

  // Keys outside the prefix: app metadata, and keys sorting before and after "!sigils!".
  const outside = [['schema-version', '3'], ['last-migration', '"2024-04-30"']]
  for (const [k, v] of outside) await meta.put(k, v)
  await db.put('!sigils', 'not a record: a key just before the prefix')
  await db.put('!sigilt!x', 'not a record: a key just after the prefix')
  await db.put('zzz-top-level', 'not a record')
  await db.close()

  // Reopen and compact, as a long-running app eventually does, so the
  // records sit in sorted table files (.ldb) rather than only in the journal.
  if (o.compact) {
    const db2 = new ClassicLevel(o.dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await db2.open()
    await db2.compactRange('!', '~')
    await db2.close()
  }

  const manifest = {
    prefix: '!sigils!',
    total_records: o.count + edges.length + bad.length,
    failures: bad.filter((b) => !b[4]).map(([k, , id, check]) => ({ key: k, id, check })),
    schema_failures: bad.filter((b) => b[4]).map(([k, , id, check]) => ({ key: k, id, check })),
    edge_cases: edges.map(([k]) => k),
    keys: keyFiles,
    outside_prefix: outside.length + 3
  }
  fs.writeFileSync(o.manifest, JSON.stringify(manifest, null, 2) + '\n')
}

main().catch((err) => { console.error(`make-leveldb: ${err.message}`); process.exit(1) })
