#!/usr/bin/env node
// live-writer.js plays the Sigil app for exporter/live_test.go: it keeps a
// classic-level database open and writes signed sigil records into the
// sublevel "sigils" continuously (JSON.stringify, crypto HMAC with
// testdata/keys/current.key), as the app does, while the exporter walks the
// same database. Fresh ids land all over the key space (ahead of and behind
// the exporter's cursor), and some records are rewritten with new, validly
// signed data. A small write buffer makes LevelDB flush and compact (and
// delete table files) many times during the run.
//
// When the time is up it stops writing, reads every record back through its
// own handle, and exits 1 on any error or on any record that does not read
// back exactly as last written (or any record it did not write).
//
// Usage (from the repository root, after `(cd testdata/node && npm ci)`):
//
//   node testdata/node/live-writer.js <dir> [--seconds S] [--rate N] [--write-buffer BYTES]
//
// stdout, one line each:
//   ready <n>      the database exists and holds n records
//   written <n>    writing stopped; n records are in the sublevel
//   verified <n>   every one of the n records read back as written
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const { ClassicLevel } = require('classic-level')

const repoRoot = path.resolve(__dirname, '..', '..')

function parseArgs (argv) {
  const o = { dir: null, seconds: 10, rate: 1000, writeBuffer: 128 << 10 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--seconds') o.seconds = Number(argv[++i])
    else if (a === '--rate') o.rate = Number(argv[++i])
    else if (a === '--write-buffer') o.writeBuffer = Number(argv[++i])
    else if (!a.startsWith('--') && o.dir === null) o.dir = a
    else throw new Error(`unknown argument ${a}`)
  }
  if (!o.dir || !(o.seconds > 0) || !(o.rate > 0)) {
    throw new Error('usage: live-writer.js <dir> [--seconds S] [--rate N] [--write-buffer BYTES]')
  }
  return o
}

const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const key = fs.readFileSync(path.join(repoRoot, 'testdata/keys/current.key'), 'utf8').trim()
  const sign = (data) => {
    const p = JSON.stringify(data || {})
    return { checksum: sha256hex(p), signature: crypto.createHmac('sha256', key).update(p).digest('hex') }
  }
  const record = (id, data) => JSON.stringify(Object.assign({ id, data }, sign(data), { createdAt: new Date().toISOString() }))

  const db = new ClassicLevel(o.dir, { keyEncoding: 'utf8', valueEncoding: 'utf8', writeBufferSize: o.writeBuffer })
  const sigils = db.sublevel('sigils', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await db.open()
  await db.put('app-meta', 'not a record: outside the sublevel')

  const written = new Map() // id -> the value last written
  let seq = 0
  const fresh = () => {
    const n = seq++
    // A hash prefix spreads new ids over the whole key space.
    const id = `${sha256hex(String(n)).slice(0, 8)}-live-${n}`
    return [id, record(id, { n, owner: `user-${n % 97}`, note: 'x'.repeat(200 + (n % 300)), tags: ['a', 'b', String(n % 7)] })]
  }
  // put writes [id, value] pairs: a batch, or one put as a request handler would.
  const put = async (ops) => {
    if (ops.length > 1) await sigils.batch(ops.map(([id, value]) => ({ type: 'put', key: id, value })))
    else await sigils.put(ops[0][0], ops[0][1])
    for (const [id, value] of ops) written.set(id, value)
  }

  // A first batch, so that the database exists before the exporter starts.
  await put(Array.from({ length: 200 }, fresh))
  console.log(`ready ${written.size}`)

  const perTick = Math.max(1, Math.round(o.rate / 100))
  const end = Date.now() + o.seconds * 1000
  const ids = [...written.keys()]
  for (let tick = 0; Date.now() < end; tick++) {
    const ops = Array.from({ length: perTick }, fresh)
    if (tick % 5 === 0) { // rewrite an older record, validly re-signed
      const id = ids[Math.floor(Math.random() * ids.length)]
      ops.push([id, record(id, { rewritten: tick, note: 'y'.repeat(100) })])
    }
    if (tick % 2 === 0) await put(ops)
    else for (const op of ops) await put([op])
    for (const [id] of ops) ids.push(id)
    await sleep(10)
  }
  console.log(`written ${written.size}`)

  // Read everything back through the app's own handle.
  let bad = 0
  let seen = 0
  for await (const [id, value] of sigils.iterator()) {
    seen++
    const want = written.get(id)
    if (want === undefined) {
      console.error(`live-writer: unexpected record ${id}`)
      bad++
    } else if (value !== want) {
      console.error(`live-writer: record ${id} reads back differently`)
      bad++
    }
  }
  if (seen !== written.size) {
    console.error(`live-writer: ${seen} records read back, ${written.size} written`)
    bad++
  }
  await db.close()
  if (bad > 0) process.exit(1)
  console.log(`verified ${seen}`)
}

main().catch((err) => { console.error(`live-writer: ${err.stack || err.message}`); process.exit(1) })
