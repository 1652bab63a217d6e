#!/usr/bin/env node
// `npx atlas-ports …` and npm scripts: the very same command line as the native program, run by
// the addon in this process (same flags, same output, same exit statuses).
'use strict'
const { runCli } = require('..')
process.exitCode = runCli(process.argv.slice(2))
