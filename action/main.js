'use strict';
// The action's main step: obtain buildrole and run `buildrole up`.
require('./lib.js').main().then((code) => { process.exitCode = code; });
