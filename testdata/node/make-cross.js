#!/usr/bin/env node
// make-cross.js writes the same sigil records into a LevelDB (classic-level,
// utf8 sublevel "sigils", as the app does) and into an SQL file for a
// PostgreSQL table, with planted differences between the two stores, for
// the exporter's cross-store comparison. Every record is valid in its own
// store (JSON.stringify, crypto SHA-256 and HMAC-SHA256, keys from
// testdata/keys): the only findings are the differences between the stores.
//
// Regenerate the committed files (from the repository root):
//
//   (cd testdata/node && npm ci) &&
//   rm -rf testdata/cross/sigils-db && node testdata/node/make-cross.js testdata/cross
//
// Files written into <dir>:
//   sigils-db/      LevelDB; records under the prefix "!sigils!"
//   sigils.sql      table sigils(id text, data json, checksum text,
//                   signature text, created_at text), index (id COLLATE "C");
//                   the record is row_to_json(row)
//   expected.json   prefix, keys (key files, current first, relative to the
//                   repository root), leveldb_records, postgres_records,
//                   in_both (ids in both stores), differences [{key, id,
//                   check, what}] in bytewise key order: check "missing" for
//                   a record in one store only (what: "only-leveldb" or
//                   "only-postgres"), "checksum" for a record whose data
//                   differ ("data-differs"); same_despite_bytes: ids stored
//                   with different bytes whose canonical data are equal
//                   (must not be reported)
//
// Usage: node make-cross.js <dir> [--count N]
'use strict'

const fs = require('fs')
const path = require('path')
const { ClassicLevel } = require('classic-level')

const { keyFiles, readKeys, sha256hex, hmachex, prng } = require('./common')

// What the app computes when it verifies a stored data text.
const payload = (dataText) => JSON.stringify((dataText === null ? null : JSON.parse(dataText)) || {})


const words = ['amber', 'basalt', 'cinder', 'delta', 'ember', 'fjord', 'garnet', 'harbor', 'indigo', 'jasper']

function realisticData (rnd) {
  const w = () => words[Math.floor(rnd() * words.length)]
  return {
    owner: { name: `${w()} ${w()}`, tier: Math.floor(rnd() * 5) },
    title: Array.from({ length: 4 }, w).join(' '),
    amounts: Array.from({ length: 3 }, () => Math.round(rnd() * 1e6) / 100),
    active: rnd() < 0.5
  }
}

function parseArgs (argv) {
  const o = { dir: null, count: 40 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--count') o.count = Number(argv[++i])
    else if (!a.startsWith('--') && o.dir === null) o.dir = a
    else throw new Error(`unknown argument ${a}`)
  }
  if (!o.dir || !Number.isInteger(o.count) || o.count < 32) {
    throw new Error('usage: make-cross.js <dir> [--count N >= 32]')
  }
  return o
}

// A record in one store: the stored data text (null: SQL NULL / JSON null)
// and the key that signs it.
const entry = (dataText, key) => ({ dataText, key })

// leveldbValue is the stored record text, as the app writes it.
function leveldbValue (id, e) {
  const p = payload(e.dataText)
  return `{"id":${JSON.stringify(id)},"data":${e.dataText === null ? 'null' : e.dataText},"checksum":"${sha256hex(p)}","signature":"${hmachex(e.key, p)}","createdAt":"2024-05-01T12:00:00.000Z"}`
}

const sqlText = (s) => (s === null || s === undefined) ? 'NULL' : `'${String(s).replace(/'/g, "''")}'`

function sqlRow (id, e) {
  const p = payload(e.dataText)
  return `INSERT INTO sigils (id, data, checksum, signature, created_at) VALUES (${sqlText(id)}, ${sqlText(e.dataText)}, ${sqlText(sha256hex(p))}, ${sqlText(hmachex(e.key, p))}, '2024-05-01T12:00:00.000Z');\n`
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const [cur, prev] = readKeys()
  const rnd = prng(23)
  const id = (i) => `sigil-${String(i).padStart(4, '0')}`

  // The common records, identical in both stores.
  const lvl = new Map()
  const pg = new Map()
  for (let i = 0; i < o.count; i++) {
    const e = entry(JSON.stringify(realisticData(rnd)), i % 10 === 9 ? prev : cur)
    lvl.set(id(i), e)
    pg.set(id(i), e)
  }
  const differences = []
  const plant = (key, check, what) => differences.push({ key, id: key, check, what })

  // One-sided: a common record lost by one store, and records only one
  // store ever had (first and last in key order, to cover a merge's ends).
  pg.delete(id(7))
  plant(id(7), 'missing', 'only-leveldb')
  lvl.delete(id(20))
  plant(id(20), 'missing', 'only-postgres')
  lvl.set('aaa-only-leveldb', entry(JSON.stringify({ only: 'leveldb' }), cur))
  plant('aaa-only-leveldb', 'missing', 'only-leveldb')
  pg.set('zzz-only-postgres', entry(JSON.stringify({ only: 'postgres' }), cur))
  plant('zzz-only-postgres', 'missing', 'only-postgres')

  // Different data in each store, each validly signed where it is.
  for (const [i, other] of [[3, { amount: 999 }], [31, { owner: { name: 'mallory', tier: 0 } }]]) {
    pg.set(id(i), entry(JSON.stringify(other), cur))
    plant(id(i), 'checksum', 'data-differs')
  }
  // Different bytes, same canonical data: must not be reported.
  const same = []
  const pretty = lvl.get(id(12)).dataText
  pg.set(id(12), entry(JSON.stringify(JSON.parse(pretty), null, 2), cur))
  same.push(id(12))
  lvl.set('same-v8-key-order', entry(JSON.stringify({ b: 1, 2: 2, a: 3 }), cur))
  pg.set('same-v8-key-order', entry('{"b":1,"2":2,"a":3}', cur))
  same.push('same-v8-key-order')
  lvl.set('same-falsy-data', entry('{}', cur))
  pg.set('same-falsy-data', entry(null, cur))
  same.push('same-falsy-data')
  // Same data signed with the older key in one store: not a difference.
  lvl.set(id(11), entry(lvl.get(id(11)).dataText, prev))
  same.push(id(11))

  const bytewise = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))
  fs.mkdirSync(o.dir, { recursive: true })

  const db = new ClassicLevel(path.join(o.dir, 'sigils-db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  const sigils = db.sublevel('sigils', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()
  await sigils.batch([...lvl].map(([k, e]) => ({ type: 'put', key: k, value: leveldbValue(k, e) })))
  await db.put('zzz-not-a-record', 'outside the prefix')
  await db.close()
  const db2 = new ClassicLevel(path.join(o.dir, 'sigils-db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db2.open()
  await db2.compactRange('!', '~')
  await db2.close()

  let sql = '-- Generated by testdata/node/make-cross.js: do not edit.\nSET client_encoding = \'UTF8\';\nSET standard_conforming_strings = on;\n' +
    'DROP TABLE IF EXISTS sigils;\n' +
    'CREATE TABLE sigils (id text, data json, checksum text, signature text, created_at text);\n' +
    'CREATE INDEX sigils_id_c ON sigils (id COLLATE "C");\n'
  for (const k of [...pg.keys()].sort(bytewise)) sql += sqlRow(k, pg.get(k))
  fs.writeFileSync(path.join(o.dir, 'sigils.sql'), sql)

  const manifest = {
    prefix: '!sigils!',
    keys: keyFiles,
    leveldb_records: lvl.size,
    postgres_records: pg.size,
    in_both: [...lvl.keys()].filter((k) => pg.has(k)).length,
    differences: differences.sort((a, b) => bytewise(a.key, b.key)),
    same_despite_bytes: same.sort(bytewise)
  }
  fs.writeFileSync(path.join(o.dir, 'expected.json'), JSON.stringify(manifest, null, 2) + '\n')
}

main().catch((err) => { console.error(`make-cross: ${err.message}`); process.exit(1) })
