#!/usr/bin/env node
// state-writer.js plays the Sigil app for the LevelDB state harness
// (exporter/states_test.go): it writes signed sigil records into the
// sublevel "sigils" of a classic-level database (JSON.stringify, crypto HMAC
// with testdata/keys/current.key, as the app and make-leveldb.js do) with a
// small write buffer, so that memtables switch, flush and compact often, and
// stops in the way --mode says, leaving whatever state C++ LevelDB leaves:
//
//   kill        write until the harness sends SIGKILL (at a random moment)
//   switch      await db.close() right after the Nth memtable switch (a new
//               journal appeared): the old journal usually stays live
//   compaction  await db.close() while a compaction runs: right after LOG
//               says one started, or right after a flush added a table;
//               half the time with a compactRange running too
//   bulk        --count records of about 1 KiB in db.batch() chunks of
//               5,000 with the default write buffer, then await db.close():
//               the bulk load of issue 9
//
// The workload (all but bulk) mixes single puts, batches of puts and
// deletes, rewrites of existing records (validly re-signed), deletes, and
// keys outside the sublevel. --sessions K first runs K whole sessions
// (open, write, close) so the state has a rolled MANIFEST and a LOG.old.
//
// Usage: node state-writer.js <dir> --mode M [--seed S] [--sessions K]
//          [--write-buffer BYTES] [--count N]
// stdout: "writing" once the last session has started writing (the harness
// waits for it before a kill), "closed <n>" after a clean close (n: records
// the writer believes are in the sublevel; the harness trusts Node's own
// count instead).
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const path = require('path')
const { ClassicLevel } = require('classic-level')
const { readKeys, sha256hex, hmachex, prng } = require('./common')

function parseArgs (argv) {
  const o = { dir: null, mode: null, seed: 1, sessions: 0, writeBuffer: 64 << 10, count: 200000 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--mode') o.mode = argv[++i]
    else if (a === '--seed') o.seed = Number(argv[++i])
    else if (a === '--sessions') o.sessions = Number(argv[++i])
    else if (a === '--write-buffer') o.writeBuffer = Number(argv[++i])
    else if (a === '--count') o.count = Number(argv[++i])
    else if (!a.startsWith('--') && o.dir === null) o.dir = a
    else throw new Error(`unknown argument ${a}`)
  }
  if (!o.dir || !['kill', 'switch', 'compaction', 'bulk'].includes(o.mode)) {
    throw new Error('usage: state-writer.js <dir> --mode kill|switch|compaction|bulk [--seed S] [--sessions K] [--write-buffer B] [--count N]')
  }
  return o
}

// files counts the journals and tables in the directory and returns the
// newest journal's number.
function files (dir) {
  let logs = 0
  let tables = 0
  let newestLog = -1
  for (const n of fs.readdirSync(dir)) {
    const m = /^(\d+)\.(log|ldb|sst)$/.exec(n)
    if (!m) continue
    if (m[2] === 'log') { logs++; newestLog = Math.max(newestLog, Number(m[1])) } else tables++
  }
  return { logs, tables, newestLog }
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const [key] = readKeys() // the current key
  const rnd = prng(o.seed)
  const pick = (n) => Math.floor(rnd() * n)
  const record = (id, data) => {
    const p = JSON.stringify(data || {})
    return JSON.stringify({ id, data, checksum: sha256hex(p), signature: hmachex(key, p), createdAt: '2024-05-01T12:00:00.000Z' })
  }

  if (o.mode === 'bulk') {
    const db = new ClassicLevel(o.dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    const sigils = db.sublevel('sigils', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await db.open()
    let ops = []
    for (let i = 0; i < o.count; i++) {
      const id = `sigil-${String(i).padStart(7, '0')}`
      // Random text, as real notes compress little: flushes take as long as real ones.
      ops.push({ type: 'put', key: id, value: record(id, { n: i, owner: `user-${i % 97}`, note: crypto.randomBytes(660 + (i % 30)).toString('base64') }) })
      if (ops.length === 5000) { await sigils.batch(ops); ops = [] }
    }
    if (ops.length) await sigils.batch(ops)
    console.log('writing')
    await db.close()
    console.log(`closed ${o.count}`)
    return
  }

  const live = new Set() // ids the writer believes are in the sublevel
  let next = 0
  const fresh = () => {
    const n = next++
    // A hash prefix spreads ids over the key space, so every table range gets writes.
    return `${sha256hex(`${o.seed}-${n}`).slice(0, 6)}-s${n}`
  }
  const anyLive = () => {
    if (live.size === 0) return null
    const k = pick(Math.min(live.size, 64)) // one of the oldest few: cheap, and they sit in tables
    let i = 0
    for (const id of live) if (i++ === k) return id
    return null
  }
  const value = (id) => record(id, { n: next, owner: `user-${pick(97)}`, note: 'n'.repeat(100 + pick(1400)), tags: ['a', String(pick(9))] })

  // step does one app operation and returns how many journal records it wrote.
  const step = async (db, sigils) => {
    const r = rnd()
    if (r < 0.45) { // one put, as a request handler does
      const id = fresh()
      await sigils.put(id, value(id))
      live.add(id)
    } else if (r < 0.75) { // a batch of puts, with a rewrite and a delete in it
      const ops = []
      const n = 2 + pick(40)
      for (let i = 0; i < n; i++) {
        const id = fresh()
        ops.push({ type: 'put', key: id, value: value(id) })
      }
      const old = anyLive()
      if (old !== null && rnd() < 0.5) ops.push({ type: 'put', key: old, value: value(old) })
      const gone = anyLive()
      if (gone !== null && gone !== old && rnd() < 0.5) ops.push({ type: 'del', key: gone })
      await sigils.batch(ops)
      for (const op of ops) { if (op.type === 'put') live.add(op.key); else live.delete(op.key) }
    } else if (r < 0.85) { // a rewrite
      const id = anyLive()
      if (id !== null) await sigils.put(id, value(id))
    } else if (r < 0.95) { // a delete
      const id = anyLive()
      if (id !== null) { await sigils.del(id); live.delete(id) }
    } else { // app metadata outside the sublevel
      await db.put(`meta-${pick(50)}`, String(next))
    }
  }

  const session = async (stop) => {
    const db = new ClassicLevel(o.dir, { keyEncoding: 'utf8', valueEncoding: 'utf8', writeBufferSize: o.writeBuffer })
    const sigils = db.sublevel('sigils', { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await db.open()
    await stop(db, sigils)
    await db.close()
  }

  // Earlier sessions: a few hundred operations each, then a clean close.
  for (let s = 0; s < o.sessions; s++) {
    await session(async (db, sigils) => {
      const n = 100 + pick(600)
      for (let i = 0; i < n; i++) await step(db, sigils)
    })
  }

  await session(async (db, sigils) => {
    console.log('writing')
    if (o.mode === 'kill') {
      for (;;) await step(db, sigils) // until SIGKILL
    }
    const start = files(o.dir)
    // stepUntil writes until changed(before, after) held for n steps,
    // comparing the files after each step with those before it.
    const stepUntil = async (n, changed) => {
      let seen = 0
      let before = start
      while (seen < n) {
        await step(db, sigils)
        const after = files(o.dir)
        if (changed(before, after)) seen++
        before = after
      }
    }
    if (o.mode === 'switch') {
      await stepUntil(1 + pick(4), (before, after) => after.newestLog !== before.newestLog)
      return
    }
    // compaction: close while a compaction runs. C++ LevelDB logs
    // "Compacting ..." when one starts and "compacted to: ..." when it is
    // done; close as soon as the last such line of LOG is a start. Half the
    // time after the 1st or 2nd, otherwise after the 1st-6th flush that added
    // a table (a background compaction often follows); half the time with a
    // compactRange running as well, which the close interrupts.
    const running = () => {
      const log = fs.readFileSync(path.join(o.dir, 'LOG'), 'utf8')
      const start = log.lastIndexOf('Compacting ')
      return start >= 0 && log.indexOf('compacted to', start) < 0
    }
    if (rnd() < 0.5) {
      const want = 1 + pick(2)
      let seen = 0
      for (let i = 0; i < 20000 && seen < want; i++) {
        await step(db, sigils)
        if (running()) {
          seen++
          if (seen < want) while (running()) await step(db, sigils)
        }
      }
    } else {
      await stepUntil(1 + pick(6), (before, after) => after.tables > before.tables)
    }
    if (rnd() < 0.5) db.compactRange('!', '~').catch(() => {})
  })
  console.log(`closed ${live.size}`)
}

main().catch((err) => { console.error(`state-writer: ${err.stack || err.message}`); process.exit(1) })
