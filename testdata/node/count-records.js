#!/usr/bin/env node
// count-records.js opens each LevelDB given, with Node's own LevelDB
// (classic-level: C++ LevelDB recovers the journals as the app would on its
// next start), and prints one JSON line per database:
//
//   {"dir": ..., "count": N, "sha256": ...}
//
// count is the number of keys under --prefix (default "!sigils!"), and
// sha256 is over every such key and value in iteration order (key, NUL,
// value, NUL), the ground truth the harness compares the exporter's walk
// with. Opening recovers and rewrites the directory: give it a copy.
//
// Usage: node count-records.js [--prefix P] <dir>...
'use strict'

const crypto = require('crypto')
const { ClassicLevel } = require('classic-level')

async function main () {
  const args = process.argv.slice(2)
  let prefix = '!sigils!'
  const dirs = []
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--prefix') prefix = args[++i]
    else dirs.push(args[i])
  }
  if (dirs.length === 0) throw new Error('usage: count-records.js [--prefix P] <dir>...')
  // The first key after every key starting with prefix (prefixes here are ASCII).
  const limit = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
  for (const dir of dirs) {
    const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false })
    await db.open()
    const h = crypto.createHash('sha256')
    let count = 0
    const nul = Buffer.from([0])
    for await (const [k, v] of db.iterator({ gte: Buffer.from(prefix), lt: Buffer.from(limit) })) {
      count++
      h.update(k); h.update(nul); h.update(v); h.update(nul)
    }
    await db.close()
    console.log(JSON.stringify({ dir, count, sha256: h.digest('hex') }))
  }
}

main().catch((err) => { console.error(`count-records: ${err.stack || err.message}`); process.exit(1) })
