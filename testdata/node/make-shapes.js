#!/usr/bin/env node
// make-shapes.js writes sigil records of one shape, exactly as the Sigil app
// writes them (classic-level, utf8 sublevel "sigils", JSON.stringify, crypto
// HMAC with testdata/keys/current.key), for the benchmarks by record shape
// of docs/PERFORMANCE.md. Every record is valid: `check` must find no
// failure.
//
//   node make-shapes.js <dir> --shape NAME [--count N]   a LevelDB at <dir>
//   node make-shapes.js --sample N                        N records of every
//                                                         shape, as JSON, on stdout
//
// The committed sample used by the Go benchmarks (BenchmarkVerifyShape):
//
//   node testdata/node/make-shapes.js --sample 16 > testdata/bench/shapes.json
//
// Shapes (about 1 KiB of data each, deterministic):
//   number-dense   {glyph, n, tags:[…], strokes:[{x,y,p} ×45]}: drawings
//   long-ascii     one ~900-character ASCII text and a few short fields
//   non-ascii      CJK, accented, emoji text with quotes, newlines, tabs
//                  and control characters (JSON escapes)
//   many-keys      60 array-index keys ("0".."59") and 24 named keys
//   deep           25 levels of {depth, tag, next, w} with small arrays
//   non-canonical  number-dense data stored pretty-printed (half) or with
//                  its keys reordered by hand, index keys after names (half):
//                  not JSON.stringify's form, so it is re-encoded
'use strict'

const { readKeys, sha256hex, hmachex: hmacWith, prng } = require('./common')

const [key] = readKeys() // testdata/keys/current.key
const hmachex = (s) => hmacWith(key, s)

const words = ['amber', 'basalt', 'cinder', 'delta', 'ember', 'fjord', 'garnet', 'harbor',
  'indigo', 'jasper', 'kelp', 'lumen', 'marrow', 'nickel', 'onyx', 'pylon', 'quartz', 'rune']
const intl = ['シジル', '印章', 'Zürich', 'Ελλάδα', 'Ærø', 'über', '🔏', '🧿', '✨', '한글', 'Кириллица', 'naïve', 'café']

const numberDense = (rnd, i) => ({
  glyph: `g${i % 4096}`,
  n: i,
  tags: Array.from({ length: 3 }, () => words[Math.floor(rnd() * words.length)]),
  strokes: Array.from({ length: 45 }, () => ({ x: Math.floor(rnd() * 1024), y: Math.floor(rnd() * 1024), p: Math.round(rnd() * 100) / 100 }))
})

const shapes = {
  'number-dense': numberDense,
  'long-ascii': (rnd, i) => {
    let text = ''
    while (text.length < 900) text += words[Math.floor(rnd() * words.length)] + (rnd() < 0.1 ? '. ' : ' ')
    return { title: `note ${i}`, body: text, author: 'ops@example.org', rev: i % 7 }
  },
  'non-ascii': (rnd, i) => {
    let text = ''
    while (text.length < 380) {
      const r = rnd()
      text += r < 0.55 ? intl[Math.floor(rnd() * intl.length)] : r < 0.7 ? '"quoted"' : r < 0.8 ? '\n' : r < 0.87 ? '\t' : r < 0.93 ? '\\' : r < 0.96 ? '\u0001' : ' '
      text += ' '
    }
    return { text, title: intl[i % intl.length], n: i }
  },
  'many-keys': (rnd, i) => {
    const o = {}
    for (let k = 0; k < 24; k++) o[`field_${words[k % words.length]}_${k}`] = Math.floor(rnd() * 1000)
    for (let k = 59; k >= 0; k--) o[k] = k % 3 ? Math.floor(rnd() * 100) : 'v' // V8 puts these first, ascending
    return o
  },
  deep: (rnd, i) => {
    let v = { leaf: i }
    for (let d = 0; d < 25; d++) v = { depth: d, tag: words[d % words.length], next: v, w: [d % 3] }
    return v
  },
  'non-canonical': (rnd, i) => numberDense(rnd, i)
}

// stored returns the record text for one record of a shape.
function stored (shape, rnd, i) {
  const id = `sigil-${String(i).padStart(7, '0')}`
  const data = shapes[shape](rnd, i)
  const p = JSON.stringify(data)
  const rec = { id, data, checksum: sha256hex(p), signature: hmachex(p), createdAt: '2024-05-01T12:00:00.000Z' }
  if (shape !== 'non-canonical') return JSON.stringify(rec)
  if (i % 2 === 0) return JSON.stringify(rec, null, 2)
  // Keys reordered as another writer might store them: strokes before glyph,
  // and inside each stroke p, y, x; an index key after the names.
  const strokes = data.strokes.map((s) => `{"p":${s.p},"y":${s.y},"x":${s.x}}`).join(',')
  const dataText = `{"strokes":[${strokes}],"tags":${JSON.stringify(data.tags)},"n":${data.n},"glyph":${JSON.stringify(data.glyph)},"0":true}`
  const q = JSON.stringify(JSON.parse(dataText)) // what Node verifies
  return `{"id":${JSON.stringify(id)},"data":${dataText},"checksum":"${sha256hex(q)}","signature":"${hmachex(q)}","createdAt":"2024-05-01T12:00:00.000Z"}`
}

async function writeDB (dir, shape, count) {
  const { ClassicLevel } = require('classic-level')
  const db = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  const sigils = db.sublevel('sigils', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()
  const rnd = prng(7)
  let ops = []
  for (let i = 0; i < count; i++) {
    ops.push({ type: 'put', key: `sigil-${String(i).padStart(7, '0')}`, value: stored(shape, rnd, i) })
    if (ops.length === 1000) { await sigils.batch(ops); ops = [] }
  }
  if (ops.length) await sigils.batch(ops)
  await db.close()
  const db2 = new ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db2.open()
  await db2.compactRange('!', '~')
  await db2.close()
}

function main () {
  const argv = process.argv.slice(2)
  const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined }
  if (opt('--sample')) {
    const n = Number(opt('--sample'))
    const out = {}
    for (const shape of Object.keys(shapes)) {
      const rnd = prng(7)
      out[shape] = Array.from({ length: n }, (_, i) => stored(shape, rnd, i))
    }
    process.stdout.write(JSON.stringify({ generator: 'testdata/node/make-shapes.js', key_file: 'testdata/keys/current.key', shapes: out }, null, 1) + '\n')
    return
  }
  const dir = argv[0]
  const shape = opt('--shape')
  const count = Number(opt('--count') || 200000)
  if (!dir || dir.startsWith('--') || !shapes[shape] || !Number.isInteger(count)) {
    throw new Error(`usage: make-shapes.js <dir> --shape (${Object.keys(shapes).join('|')}) [--count N]`)
  }
  return writeDB(dir, shape, count)
}

Promise.resolve().then(main).catch((err) => { console.error(`make-shapes: ${err.message}`); process.exit(1) })
