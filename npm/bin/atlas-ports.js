#!/usr/bin/env node
// `npx atlas-ports …` and npm scripts: the very same command line as the native program, run by
// the addon in this process (same flags, same output, same exit statuses). This process exists
// only to run it, so `atlas-ports run` may replace it with its command, signals and all.
'use strict'
let atlas
try {
  atlas = require('..')
} catch (e) {
  process.stderr.write(`atlas-ports: error: ${e.message}\n`)
  process.exit(2)
}
process.exitCode = atlas.runCli(process.argv.slice(2), { replaceProcess: true })
