#!/usr/bin/env node
// make-postgres.js writes SQL files that load sigil records into PostgreSQL
// the way the Sigil app stores them (JSON.stringify, crypto SHA-256 and
// HMAC-SHA256, keys from testdata/keys), with valid edge cases and planted
// corruptions, plus a manifest expected.json. Node built-ins only.
//
// Regenerate the committed files (from the repository root):
//
//   node testdata/node/make-postgres.js testdata/postgres
//
// Files written into <dir>:
//   sigils.sql      columnar table sigils(id text, data json, checksum text,
//                   signature text, created_at text), no unique constraint,
//                   index (id COLLATE "C"); the record is row_to_json(row).
//   sigil_docs.sql  document tables sigil_docs(id text primary key, doc json)
//                   and sigil_docs_text(id text primary key, doc text); the
//                   record is the doc column.
//   expected.json   keys: key files, current first, relative to the repo root
//                   tables.<name>:
//                     record_column  "" (whole row) or the document column
//                     total_records  rows in the table
//                     failures       [{key, id, check}] planted failures, in
//                                    scan order (bytewise by key)
//                     edge_cases     ids of valid edge cases that must pass
//                     rows           [{key, value}] in scan order; value is
//                                    the exact stored text of `data` (sigils)
//                                    or `doc` (document tables), or null
'use strict'

const fs = require('fs')
const path = require('path')

const { keyFiles, readKeys, sha256hex, hmachex, prng } = require('./common')

const payload = (data) => JSON.stringify(data || {})


const words = ['amber', 'basalt', 'cinder', 'delta', 'ember', 'fjord', 'garnet', 'harbor', 'indigo', 'jasper']

function realisticData (rnd, i) {
  const w = () => words[Math.floor(rnd() * words.length)]
  return {
    owner: { name: `${w()} ${w()}`, tier: Math.floor(rnd() * 5) },
    title: Array.from({ length: 5 }, w).join(' '),
    amounts: Array.from({ length: 4 }, () => Math.round(rnd() * 1e6) / 100),
    ratio: rnd(),
    active: rnd() < 0.5,
    parent: rnd() < 0.3 ? null : `sigil-${String(Math.floor(rnd() * 1e6)).padStart(7, '0')}`
  }
}

// sqlText quotes a string as a standard SQL literal (standard_conforming_strings on).
const sqlText = (s) => (s === null || s === undefined) ? 'NULL' : `'${String(s).replace(/'/g, "''")}'`

// sign returns checksum and signature as Node computes them when it
// verifies the stored data text: over JSON.stringify(JSON.parse(text) || {}).
function sign (dataText, key) {
  const p = payload(dataText === null ? null : JSON.parse(dataText))
  return { checksum: sha256hex(p), signature: hmachex(key, p) }
}

// columnarRows: [id, dataText|null, checksum, signature, created_at, check|null, edge]
function columnarRows (cur, prev) {
  const rnd = prng(7)
  const rows = []
  const add = (id, dataText, key, over, check, edge) => {
    const s = sign(dataText, key)
    Object.assign(s, over || {})
    rows.push({ id, data: dataText, checksum: s.checksum, signature: s.signature, created_at: '2024-05-01T12:00:00.000Z', check: check || null, edge: !!edge })
  }
  for (let i = 0; i < 40; i++) {
    add(`sigil-${String(i).padStart(4, '0')}`, JSON.stringify(realisticData(rnd, i)), i % 10 === 9 ? prev : cur)
  }
  add('edge-rotated-key', JSON.stringify({ note: 'signed before rotation' }), prev, null, null, true)
  add('edge-v8-key-order', JSON.stringify({ b: 1, 2: 2, a: 3, 1: 4 }), cur, null, null, true)
  add('edge-whitespace-data', '{ "a" : 1,\n  "b": [1, 2, {"c": "d"}] }', cur, null, null, true)
  add('edge-duplicate-keys', '{"x":1,"y":2,"x":3}', cur, null, null, true)
  add('edge-null-data', null, cur, null, null, true)
  add('edge-falsy-data', '0', cur, null, null, true)
  add('edge-unicode-\u00fc\u2603', JSON.stringify({ s: '\u00e9\u2603\ud83d\ude00 \u2028 </script> "q" \\ \t' }), cur, null, null, true)
  add('Edge-Upper', JSON.stringify({ upper: true }), cur, null, null, true)
  add('~edge-tilde', JSON.stringify({ last: true }), cur, null, null, true)
  add('edge-o\'quote', JSON.stringify({ q: "it's" }), cur, null, null, true)
  // Planted.
  add('dup-1', JSON.stringify({ copy: 1 }), cur)
  add('bad-checksum-wrong', JSON.stringify({ v: 1 }), cur, { checksum: sha256hex('{"v":2}') }, 'checksum')
  add('bad-checksum-uppercase', JSON.stringify({ v: 3 }), cur, { checksum: sha256hex('{"v":3}').toUpperCase() }, 'checksum')
  const tampered = sign(JSON.stringify({ amount: 10 }), cur)
  add('bad-data-tampered', JSON.stringify({ amount: 1000 }), cur, tampered, 'checksum')
  add('bad-signature-wrong', JSON.stringify({ v: 4 }), cur, { signature: hmachex(cur, '{"v":"other"}') }, 'signature')
  add('bad-signature-unknown-key', JSON.stringify({ v: 5 }), 'a-key-nobody-configured', null, 'signature')
  add('bad-fields-null-signature', JSON.stringify({ v: 6 }), cur, { signature: null }, 'fields')
  add('bad-fields-empty-signature', JSON.stringify({ v: 7 }), cur, { signature: '' }, 'fields')
  add('dup-1', JSON.stringify({ copy: 2 }), cur, null, 'duplicate')
  return rows
}

// docRows: [id, docText|null, check|null, edge] for the document tables.
function docRows (cur, prev, variant) {
  const rnd = prng(11)
  const rows = []
  const rec = (id, dataText, key, over) => {
    const s = sign(dataText, key)
    const head = `{"id":${JSON.stringify(id)},"data":${dataText === null ? 'null' : dataText}`
    const o = Object.assign({ checksum: s.checksum, signature: s.signature, createdAt: '2024-05-01T12:00:00.000Z' }, over || {})
    return head + ',' + JSON.stringify(o).slice(1)
  }
  const add = (id, doc, check, edge) => rows.push({ id, doc, check: check || null, edge: !!edge })
  for (let i = 0; i < 30; i++) {
    const id = `sigil-${String(i).padStart(4, '0')}`
    add(id, rec(id, JSON.stringify(realisticData(rnd, i)), i % 10 === 9 ? prev : cur))
  }
  add('edge-rotated-key', rec('edge-rotated-key', '{"n":1}', prev), null, true)
  add('edge-v8-key-order-raw', rec('edge-v8-key-order-raw', '{"b":1,"2":2,"a":3,"1":4,"4294967295":5,"01":6}', cur), null, true)
  add('edge-duplicate-keys-raw', rec('edge-duplicate-keys-raw', '{"x":1,"y":2,"x":3}', cur), null, true)
  add('edge-pretty-doc', JSON.stringify(JSON.parse(rec('edge-pretty-doc', '{"p":[1,2]}', cur)), null, 2), null, true)
  add('edge-unicode-\u00fc', rec('edge-unicode-\u00fc', JSON.stringify({ s: '\u00e9\ud83d\ude00\u2028' }), cur), null, true)
  add('bad-key-mismatch', rec('bad-key-mismatch-other-id', '{"k":1}', cur), 'key')
  add('bad-checksum-wrong', rec('bad-checksum-wrong', '{"k":2}', cur, { checksum: sha256hex('{"k":3}') }), 'checksum')
  add('bad-signature-wrong', rec('bad-signature-wrong', '{"k":4}', cur, { signature: hmachex(cur, '{"k":5}') }), 'signature')
  add('bad-fields-no-signature', rec('bad-fields-no-signature', '{"k":6}', cur, { signature: undefined }), 'fields')
  add('bad-decode-array', '[1,2,3]', 'decode')
  add('bad-decode-null-doc', null, 'decode')
  if (variant === 'text') {
    add('bad-decode-truncated', rec('bad-decode-truncated', '{"k":7}', cur).slice(0, 30), 'decode')
  }
  return rows
}

const cmp = (a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id))
// Stable sort: duplicates keep insertion order, as ctid order does in a fresh table.
const scanOrder = (rows) => rows.map((r, i) => [r, i]).sort((x, y) => cmp(x[0], y[0]) || x[1] - y[1]).map((x) => x[0])

function manifest (rows, recordColumn, valueOf) {
  const ordered = scanOrder(rows)
  return {
    record_column: recordColumn,
    total_records: rows.length,
    failures: ordered.filter((r) => r.check).map((r) => ({ key: r.id, id: r.id === 'bad-key-mismatch' ? 'bad-key-mismatch-other-id' : r.id, check: r.check })),
    edge_cases: ordered.filter((r) => r.edge).map((r) => r.id),
    rows: ordered.map((r) => ({ key: r.id, value: valueOf(r) }))
  }
}

function main () {
  const dir = process.argv[2]
  if (!dir) throw new Error('usage: make-postgres.js <dir>')
  const [cur, prev] = readKeys()
  fs.mkdirSync(dir, { recursive: true })
  const head = '-- Generated by testdata/node/make-postgres.js: do not edit.\nSET client_encoding = \'UTF8\';\nSET standard_conforming_strings = on;\n'

  const col = columnarRows(cur, prev)
  let sql = head + 'DROP TABLE IF EXISTS sigils;\n' +
    'CREATE TABLE sigils (id text, data json, checksum text, signature text, created_at text);\n' +
    'CREATE INDEX sigils_id_c ON sigils (id COLLATE "C");\n'
  for (const r of col) {
    sql += `INSERT INTO sigils (id, data, checksum, signature, created_at) VALUES (${sqlText(r.id)}, ${sqlText(r.data)}, ${sqlText(r.checksum)}, ${sqlText(r.signature)}, ${sqlText(r.created_at)});\n`
  }
  fs.writeFileSync(path.join(dir, 'sigils.sql'), sql)

  const docsJSON = docRows(cur, prev, 'json')
  const docsText = docRows(cur, prev, 'text')
  // The json table holds the text table's documents but its one that is
  // not JSON at all: the SQL writes each document once, into the text
  // table, and copies them in the same (ctid) order; a json cast keeps the
  // text exactly.
  const onlyText = docsText.filter((r) => !docsJSON.some((j) => j.id === r.id))
  if (JSON.stringify(docsText.filter((r) => !onlyText.includes(r))) !== JSON.stringify(docsJSON)) {
    throw new Error('sigil_docs is no longer sigil_docs_text without its text-only rows: write both tables out')
  }
  sql = head
  for (const [table, type] of [['sigil_docs', 'json'], ['sigil_docs_text', 'text']]) {
    sql += `DROP TABLE IF EXISTS ${table};\n` +
      `CREATE TABLE ${table} (id text PRIMARY KEY, doc ${type});\n` +
      `CREATE INDEX ${table}_id_c ON ${table} (id COLLATE "C");\n`
  }
  for (const r of docsText) sql += `INSERT INTO sigil_docs_text (id, doc) VALUES (${sqlText(r.id)}, ${sqlText(r.doc)});\n`
  sql += 'INSERT INTO sigil_docs (id, doc) SELECT id, doc::json FROM sigil_docs_text' +
    ` WHERE id NOT IN (${onlyText.map((r) => sqlText(r.id)).join(', ')}) ORDER BY ctid;\n`
  fs.writeFileSync(path.join(dir, 'sigil_docs.sql'), sql)

  const out = {
    keys: keyFiles,
    tables: {
      sigils: manifest(col, '', (r) => r.data),
      sigil_docs: manifest(docsJSON, 'doc', (r) => r.doc),
      sigil_docs_text: manifest(docsText, 'doc', (r) => r.doc)
    }
  }
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(out, null, 2) + '\n')
}

main()
